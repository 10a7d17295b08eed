"""``keysentry site`` over HTTPS and HTTP/2: a real hypercorn server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from conftest import new_key, run_keysentry
from h2_support import H2Site
from keysentry.audits.site import audit_site
from keysentry.config import Config
from keysentry.model.key import fingerprint
from keysentry.sources.site import SiteOptions
from site_support import AppKeys, build_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    keys = AppKeys(*(new_key() for _ in range(6)))
    return keys, build_app(tmp_path_factory.mktemp("app"), keys)


def app_routes(dist) -> dict[str, bytes]:
    files = (p for p in dist.rglob("*") if p.is_file())
    routes = {"/" + p.relative_to(dist).as_posix(): p.read_bytes() for p in files}
    routes["/"] = b'<!doctype html><script type="module" src="/assets/main.js"></script>'
    return routes


def test_http2_is_spoken_when_the_server_offers_it_and_the_lazy_chunk_key_is_found(app, tmp_path):
    keys, dist = app
    with H2Site(tmp_path, app_routes(dist)) as site:
        options = SiteOptions(timeout=10.0, ca_bundle=str(site.ca_file))
        report = audit_site([site.url("/")], Config(), options)
    assert report.errors == []
    [chunk] = (
        f
        for f in report.findings
        if f.fingerprint == fingerprint(keys.lazy_chunk) and f.site.url.endswith(".js")
    )
    assert chunk.site.url.startswith(site.url("/assets/chunks/settings-"))
    assert any(f.fingerprint == fingerprint(keys.map_only) for f in report.findings)
    # every response came over HTTP/2, as the client's stats and the server's log both say
    assert {s.http_version for s in site.served} == {"2"}
    answered = sum(v for k, v in report.stats.items() if k[len("responses_") :].isdigit())
    assert report.stats["responses_http2"] == answered == len(site.served)
    assert "responses_http1_1" not in report.stats


def test_an_untrusted_certificate_is_an_error_naming_the_url(tmp_path):
    with H2Site(tmp_path, {"/": b"<p>hi</p>"}) as site:
        report = audit_site([site.url("/")], Config(), SiteOptions(timeout=10.0))
    assert site.served == []  # the handshake failed: nothing was asked
    start = next(e for e in report.errors if e.path == site.url("/"))
    assert start.message.startswith("TLS error: the certificate is not trusted")
    assert "--ca-bundle" in start.message
    assert report.exit_code() == 2


def test_the_ca_comes_from_ca_bundle_or_ssl_cert_file(tmp_path):
    key = new_key()
    with H2Site(tmp_path, {"/": f"<p>{key}</p>".encode()}) as site:
        untrusted = run_keysentry("site", site.url("/"), "-q", cwd=tmp_path)
        bundle = run_keysentry(
            "site", site.url("/"), "--ca-bundle", str(site.ca_file), "-f", "json", cwd=tmp_path
        )
        env = {"SSL_CERT_FILE": str(site.ca_file)}
        from_env = run_keysentry("site", site.url("/"), "-f", "json", env=env, cwd=tmp_path)
    assert untrusted.returncode == 2, untrusted.stdout + untrusted.stderr
    assert f"keysentry: {site.url('/')}: TLS error: the certificate is not trusted" in (
        untrusted.stderr
    )
    for done in (bundle, from_env):
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(key)]
        assert report["stats"]["responses_http2"] >= 1


def test_a_ca_bundle_that_is_not_pem_is_a_usage_error(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    done = run_keysentry("site", "https://127.0.0.1:9/", "--ca-bundle", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and "--ca-bundle" in done.stderr, done.stderr
