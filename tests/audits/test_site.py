"""``keysentry site`` audits: a real esbuild app and hostile servers, all on 127.0.0.1."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from itertools import pairwise
from pathlib import Path

import brotli
import pytest
import zstandard

from conftest import new_key
from keysentry.audits.site import audit_site
from keysentry.config import Config
from keysentry.model.key import fingerprint
from keysentry.sources.site import SiteOptions
from site_support import (
    AppKeys,
    HeldScripts,
    Recorder,
    Reply,
    Site,
    app_site,
    build_app,
    build_inlined_app,
    inlined_app_site,
    scripts_site,
)

FAST = SiteOptions(timeout=2.0, concurrency=2)


def by_key(report, key):
    return [f for f in report.findings if f.fingerprint == fingerprint(key)]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    keys = AppKeys(*(new_key() for _ in range(6)))
    return keys, build_app(tmp_path_factory.mktemp("app"), keys)


def test_every_place_a_browser_gets_a_key_from(app):
    keys, dist = app
    with Site() as site, Site() as cdn:
        app_site(site, cdn, dist, keys)
        options = SiteOptions(allow_origins=(cdn.origin,), timeout=5.0)
        report = audit_site([site.url("/")], Config(), options)
    assert report.errors == []
    lazy = by_key(report, keys.lazy_chunk)
    chunk = next(f for f in lazy if f.site.url.endswith(".js"))
    assert "/assets/chunks/settings-" in chunk.site.url
    assert chunk.path == chunk.site.url.removeprefix(site.origin)
    body = (dist / chunk.path.lstrip("/")).read_text()
    line = body.splitlines()[chunk.line - 1]
    assert line[chunk.column - 1 :].startswith(keys.lazy_chunk)
    assert chunk.exposure == "client" and chunk.severity == "critical"
    assert chunk.exposure_evidence == [f"served to browsers by {chunk.site.url} (HTTP 200)"]
    assert chunk.site.referrer.endswith("/assets/main.js")
    # where to fix it: the chunk's map (fetched by the crawl) places the key in its source
    assert (chunk.original_source, chunk.original_line) == ("../../../src/routes/settings.js", 2)

    [dropped] = by_key(report, keys.map_only)  # the minifier dropped the comment
    assert dropped.site.url.endswith(".js.map")
    assert dropped.original_source.endswith("src/config.js") and dropped.original_line == 1
    assert "sourcesContent" in dropped.exposure_evidence[1]
    assert keys.map_only not in "".join(p.read_text() for p in dist.rglob("*.js"))

    [worker, *_] = (f for f in by_key(report, keys.service_worker) if f.path.endswith("sw.js"))
    assert worker.site.url == site.url("/assets/sw.js")
    [state] = by_key(report, keys.inline_state)
    assert state.site.url == site.url("/next") and state.site.content_type == "text/html"
    [next_chunk] = by_key(report, keys.next_chunk)
    assert next_chunk.site.url == site.url("/_next/static/chunks/pages/about-9a2c.js")
    [vendor] = by_key(report, keys.cdn)
    assert vendor.site.url == cdn.url("/lib/vendor.js")
    assert report.stats["pages"] == 2 and report.stats["maps"] >= 3
    assert report.stats["bytes_fetched"] > 0


def test_a_cdn_script_off_scope_is_an_error_and_the_rest_is_found(app):
    keys, dist = app
    with Site() as site, Site() as cdn:
        app_site(site, cdn, dist, keys)
        report = audit_site([site.url("/")], Config(), FAST)
    assert cdn.requests == []
    [error] = report.errors
    assert error.path == cdn.url("/lib/vendor.js") and error.message.startswith("off-scope")
    assert by_key(report, keys.lazy_chunk) and not by_key(report, keys.cdn)
    assert report.exit_code() == 1


def test_no_map_probe_asks_for_no_map_nothing_names(app):
    keys, dist = app
    with Site() as site, Site() as cdn:
        app_site(site, cdn, dist, keys)
        audit_site([site.url("/")], Config(), SiteOptions(probe_maps=False))
    assert "/_next/static/chunks/pages/about-9a2c.js.map" not in site.requests
    with Site() as site, Site() as cdn:
        app_site(site, cdn, dist, keys)
        audit_site([site.url("/")], Config(), FAST)
    assert "/_next/static/chunks/pages/about-9a2c.js.map" in site.requests


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_key_the_build_inlined_is_traced_to_the_variable_its_source_reads(tmp_path, concurrency):
    """Vite's way (import.meta.env.VITE_*, replaced at build time): the bundle holds the
    key, its source only the variable's name. The crawl hands the places of the bundle's
    keys to the worker that reads its map (with one worker the map waits its turn; with
    more, the map's request waits for the bundle's scan), so the report says which line
    of which source reads which variable: what to fix, and what to rotate it out of."""
    key, other = new_key(), new_key()
    build_inlined_app(tmp_path, key, other)
    with Site() as site:
        inlined_app_site(site, tmp_path / "dist")
        options = SiteOptions(timeout=5.0, concurrency=concurrency)
        report = audit_site([site.url("/")], Config(), options)
    assert report.errors == []
    [inlined] = by_key(report, key)  # the map's sourcesContent holds only the variable
    assert inlined.site.url == site.url("/assets/index-4f2a.js")
    assert (inlined.original_source, inlined.original_line) == ("../../src/config.js", 2)
    assert inlined.original_variable == "VITE_DEEPSEEK_API_KEY"
    assert inlined.exposure_evidence == [f"served to browsers by {inlined.site.url} (HTTP 200)"]
    literal = [f for f in by_key(report, other) if f.site.url.endswith(".js")]
    assert [(f.original_source, f.original_line, f.original_variable) for f in literal] == [
        ("../../src/config.js", 3, None)
    ]


@pytest.mark.parametrize("header", ["SourceMap", "X-SourceMap"])
def test_a_source_map_named_by_a_header_is_read_as_a_map(header):
    key = new_key()
    source_map = (
        '{"version":3,"sources":["src/secret.js"],"names":[],"mappings":"",'
        f'"sourcesContent":["// key {key}\\n"]}}'
    )
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/app.js"></script>')
        site.routes["/app.js"] = Reply(b"x=1", headers={header: "/maps/app"})
        json_type = {"Content-Type": "application/json"}
        site.routes["/maps/app"] = Reply(source_map.encode(), headers=json_type)
        report = audit_site([site.url("/")], Config(), FAST)
    [finding] = by_key(report, key)
    assert finding.site.url == site.url("/maps/app")
    assert finding.original_source == "src/secret.js"


def test_the_same_body_at_two_urls_is_scanned_once_and_reported_at_both():
    key = new_key()
    page = b'<script src="/a.js"></script><script src="/b.js"></script>'
    with Site() as site:
        site.routes["/"] = Reply(page)
        site.routes["/a.js"] = site.routes["/b.js"] = Reply(f'k="{key}"'.encode())
        report = audit_site([site.url("/")], Config(), FAST)
    assert {f.site.url for f in by_key(report, key)} == {site.url("/a.js"), site.url("/b.js")}
    assert report.stats["responses_repeated"] == 1


def test_max_depth_and_max_bytes_stop_the_crawl_and_say_so():
    deep_key, big_key = new_key(), new_key()
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/a.js"></script>')
        site.routes["/a.js"] = Reply(b'import "./b.js";')
        site.routes["/b.js"] = Reply(f'import "./c.js"; k="{deep_key}"'.encode())
        site.routes["/c.js"] = Reply(b"x=1")
        options = SiteOptions(max_depth=2, probe_maps=False, timeout=5.0)
        deep = audit_site([site.url("/")], Config(), options)
        assert "/b.js" in site.requests and "/c.js" not in site.requests
    assert by_key(deep, deep_key) and deep.stats["skipped_max_depth"] == 1
    [error] = deep.errors
    assert error.message.startswith("--max-depth 2 reached: 1 URL(s) were not fetched")
    filler = b"/*" + b"x" * (1 << 20) + b"*/"
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/a.js"></script><script src="/b.js"></script>')
        site.routes["/a.js"] = Reply(f'k="{big_key}";'.encode() + filler)
        site.routes["/b.js"] = Reply(filler)
        options = SiteOptions(max_bytes=1 << 20, concurrency=1, probe_maps=False, timeout=5.0)
        capped = audit_site([site.url("/")], Config(), options)
        assert "/b.js" not in site.requests
    assert by_key(capped, big_key) and capped.stats["skipped_max_bytes"] >= 1
    assert any(e.message.startswith("--max-bytes 1,048,576 reached") for e in capped.errors)
    assert capped.exit_code() == 1


def test_robots_txt_seeds_pages_and_is_obeyed_only_when_asked():
    key = new_key()
    with Site() as site:
        site.routes["/robots.txt"] = Reply(b"User-agent: *\nDisallow: /private/\n")
        site.routes["/"] = Reply(b"<p>home</p>")
        site.routes["/private/"] = Reply(f"<p>{key}</p>".encode())
        seeded = audit_site([site.url("/")], Config(), FAST)
        obeyed = audit_site([site.url("/")], Config(), SiteOptions(respect_robots=True))
    assert by_key(seeded, key)
    assert not by_key(obeyed, key) and obeyed.stats["skipped_robots"] == 1


def test_compressed_responses_are_scanned_decoded_at_their_own_lines():
    keys = {name: new_key() for name in ("gzip", "br", "zstd", "deflate")}
    encode = {
        "gzip": gzip.compress,
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
        "deflate": zlib.compress,
    }
    with Site() as site:
        site.routes["/"] = Reply(
            "".join(f'<script src="/{name}.js"></script>' for name in keys).encode()
        )
        for name, key in keys.items():
            body = f'// {name}\nwindow.k = "{key}";\n'.encode()
            site.routes[f"/{name}.js"] = Reply(
                encode[name](body), headers={"Content-Encoding": name}
            )
        report = audit_site([site.url("/")], Config(), FAST)
    assert report.errors == []
    for name, key in keys.items():
        [found] = by_key(report, key)
        assert (found.site.url, found.line, found.column) == (site.url(f"/{name}.js"), 2, 13)
        assert found.decoded_from == []  # the encoding is HTTP's, not a layer of the file


def test_inline_state_of_any_framework_is_scanned_with_its_page():
    key = new_key()
    page = f'<script>window.__NUXT__={{config:{{public:{{deepseekKey:"{key}"}}}}}}</script>'
    with Site() as site:
        site.routes["/"] = Reply(page.encode())
        report = audit_site([site.url("/")], Config(), FAST)
    [found] = by_key(report, key)
    assert found.site.url == site.url("/") and found.provider == "deepseek"


# ---- hostile servers: each bounded in time and memory, and reported ----


def test_a_redirect_loop_and_an_endless_chain_are_reported():
    def hop(handler):
        number = int(handler.path.rsplit("/", 1)[1])
        handler.send_response(302)
        handler.send_header("Location", f"/hop/{number + 1}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with Site() as site:
        site.routes["/"] = Reply(b'<a href="/loop/a">a</a><a href="/hop/0">h</a>')
        site.routes["/loop/a"] = Reply(b"", 301, {"Location": "/loop/b"})
        site.routes["/loop/b"] = Reply(b"", 301, {"Location": "/loop/a"})
        for number in range(100):
            site.routes[f"/hop/{number}"] = hop
        report = audit_site([site.url("/")], Config(), FAST)
    messages = {e.path: e.message for e in report.errors}
    assert messages[site.url("/loop/a")].startswith("redirect loop: ")
    assert messages[site.url("/hop/0")].startswith("more than 10 redirects")
    assert sum(p.startswith("/hop/") for p in site.requests) == 11


def test_a_redirect_off_scope_is_not_followed():
    with Site() as site, Site() as other:
        site.routes["/"] = Reply(b'<script src="/go.js"></script>')
        site.routes["/go.js"] = Reply(b"", 302, {"Location": other.url("/x.js")})
        report = audit_site([site.url("/")], Config(), FAST)
    assert other.requests == []
    assert report.errors[0].message.startswith("off-scope: redirects to")


def test_a_redirect_goes_through_the_exclude_robots_and_seen_checks_of_a_link():
    hidden, other = new_key(), new_key()
    with Site() as site:
        site.routes["/robots.txt"] = Reply(b"User-agent: *\nDisallow: /closed/\n")
        site.routes["/"] = Reply(
            b'<script src="/app.js"></script><script src="/b.js"></script>'
            b'<a href="/old">old</a><a href="/shut">shut</a><script src="/again.js"></script>'
        )
        site.routes["/app.js"] = Reply(b"", 302, {"Location": "/private/app.js"})
        site.routes["/old"] = Reply(b"", 301, {"Location": "/private/page"})
        site.routes["/shut"] = Reply(b"", 302, {"Location": "/closed/page"})
        site.routes["/again.js"] = Reply(b"", 302, {"Location": "/b.js"})  # linked already
        site.routes["/b.js"] = Reply(f'k="{other}"'.encode())
        for path in ("/private/app.js", "/private/page", "/closed/page"):
            site.routes[path] = Reply(f'k="{hidden}"'.encode())
        config = Config(exclude=["private/"])
        options = SiteOptions(timeout=5.0, concurrency=2, probe_maps=False, respect_robots=True)
        report = audit_site([site.url("/")], config, options)
    assert {"/app.js", "/old", "/shut", "/again.js"} <= set(site.requests)
    assert not [p for p in site.requests if p.startswith(("/private/", "/closed/"))]
    assert site.requests.count("/b.js") == 1
    assert not by_key(report, hidden)
    assert [f.site.url for f in by_key(report, other)] == [site.url("/b.js")]
    assert report.stats["skipped_excluded"] == 2
    assert report.stats["skipped_robots"] == 2  # the page robots.txt names, and the redirect
    assert report.stats["redirects_to_known_urls"] == 1
    assert report.errors == []  # what the user excluded or robots.txt closes is not a gap


def test_max_bytes_holds_exactly_with_every_response_in_flight_at_once():
    budget = 1536 << 10
    with Site() as site:
        held = HeldScripts(site, [new_key() for _ in range(4)], 1 << 20)
        options = SiteOptions(max_bytes=budget, concurrency=4, probe_maps=False, timeout=10.0)
        report = audit_site([site.url("/")], Config(), options)
    assert not held.together.broken  # all four were in flight at once
    missing = report.stats["responses_404"] * len(b"not found")  # the guessed files' 404s
    assert report.stats["bytes_decoded"] + missing == budget  # not a byte over, with 4 MiB served
    cut = [e for e in report.errors if e.message.startswith("--max-bytes: the crawl's budget")]
    assert len(cut) >= 3 and report.stats["skipped_max_bytes"] == len(cut)
    assert any(by_key(report, key) for key in held.keys)  # what was read was scanned
    summary = f"--max-bytes 1,572,864 reached: {len(cut)} URL(s) were not fetched or were cut"
    assert any(e.message.startswith(summary) for e in report.errors)


def test_a_response_that_never_ends_is_cut_at_the_timeout_and_its_start_scanned():
    key = new_key()
    gone = []

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/javascript")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(f'k="{key}";\n'.encode())
        try:
            for _ in range(20_000):  # about 200 s: far past any timeout the test sets
                handler.wfile.write(b"/*" + b"x" * 1000 + b"*/\n")
                handler.wfile.flush()
                time.sleep(0.01)
        except OSError:
            gone.append(True)  # the crawler hung up

    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/stream.js"></script>')
        site.routes["/stream.js"] = endless
        report = audit_site([site.url("/")], Config(), SiteOptions(timeout=2.0))
    assert by_key(report, key)
    [error] = report.errors
    assert error.path == site.url("/stream.js") and error.message.startswith("timeout")
    assert report.exit_code() == 1


def test_a_10_gb_content_length_is_refused_unread():
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/javascript")
        handler.send_header("Content-Length", str(10 << 30))
        handler.end_headers()
        handler.wfile.write(b"x" * 65536)

    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/huge.js"></script>')
        site.routes["/huge.js"] = huge
        tracemalloc.start()
        report = audit_site([site.url("/")], Config(), FAST)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    [error] = report.errors
    assert "Content-Length 10,737,418,240 bytes" in error.message
    assert peak < 32 << 20


def test_a_gzip_bomb_stops_at_the_decompression_budget_and_its_start_is_scanned():
    key = new_key()
    # gzip members back to back are one gzip body: 1 GiB of zeros in about 1 MB
    bomb = gzip.compress(f'k="{key}";\n'.encode()) + gzip.compress(b"\0" * (1 << 20)) * 1024
    assert len(bomb) < 2 << 20
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/bomb.js"></script>')
        site.routes["/bomb.js"] = Reply(bomb, headers={"Content-Encoding": "gzip"})
        tracemalloc.start()
        report = audit_site([site.url("/")], Config(), FAST)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert by_key(report, key)
    [error] = report.errors
    assert "possible decompression bomb" in error.message
    assert peak < 128 << 20  # a few copies of the ratio floor's 16 MiB, not 1 GiB


def test_invalid_utf8_and_invalid_html_are_scanned_and_followed():
    page_key, script_key = new_key(), new_key()
    page = b"\xff\xfe<html><scr<ipt><div <<<>" + page_key.encode() + b"\xc3(<script src=/a.js>"
    with Site() as site:
        site.routes["/"] = Reply(page)
        site.routes["/a.js"] = Reply(f'var k="{script_key}"'.encode())
        report = audit_site([site.url("/")], Config(), FAST)
    assert by_key(report, page_key) and by_key(report, script_key)
    assert report.errors == []


def test_other_origins_file_and_javascript_links_are_never_fetched():
    with Site() as site, Site() as other:
        site.routes["/"] = Reply(
            f'<a href="{other.url("/page")}">o</a><a href="file:///etc/passwd">f</a>'
            '<a href="javascript:fetch(1)">j</a><a href="data:text/html,hi">d</a>'
            '<a href="/ok">ok</a>'.encode()
        )
        site.routes["/ok"] = Reply(b"fine")
        report = audit_site([site.url("/")], Config(), FAST)
    assert other.requests == []
    assert "/ok" in site.requests
    assert report.stats["skipped_off_scope"] == 1 and report.errors == []


def test_ten_thousand_links_stop_at_max_pages_and_say_so():
    page = b"".join(b'<a href="/p/%d">p</a>' % i for i in range(10_000))
    with Site() as site:
        site.routes["/"] = Reply(page)
        for i in range(10_000):
            site.routes[f"/p/{i}"] = Reply(b"page")
        report = audit_site([site.url("/")], Config(), SiteOptions(max_pages=20, concurrency=4))
    assert sum(p.startswith("/p/") for p in site.requests) == 19  # + the start page
    [error] = report.errors
    assert error.message.startswith("--max-pages 20 reached: 9,981 URL(s) were not fetched")


def test_tls_to_a_plain_http_server_is_a_tls_error():
    with Site() as site:
        report = audit_site([site.url("/").replace("http://", "https://")], Config(), FAST)
    assert report.errors and all("TLS error" in e.message for e in report.errors)
    assert report.exit_code() == 2


def test_nothing_listening_is_an_error_not_a_crash(tmp_path: Path):
    with Site() as site:
        url = site.url("/")
    report = audit_site([url, "ftp://example.com/"], Config(), FAST)
    messages = [e.message for e in report.errors]
    assert any("not an http or https URL" in m for m in messages)
    assert any(m.startswith("cannot connect") for m in messages)


# ---- pacing: what the server saw, not how long the test took ----


def test_rate_spaces_requests_at_one_over_n_seconds():
    recorder = Recorder()
    with Site() as site:
        scripts_site(site, recorder, 10)
        options = SiteOptions(rate=5.0, concurrency=4, probe_maps=False, timeout=10.0)
        report = audit_site([site.url("/")], Config(), options)
    assert report.errors == [] and len(recorder.arrivals) == 10
    gaps = sorted(b - a for a, b in pairwise(recorder.arrivals))
    # 5 requests a second: 0.2 s apart; a request delayed on a loaded machine can shorten
    # the gap after it, so the median gap is what must hold (with a generous margin)
    assert gaps[len(gaps) // 2] >= 0.15
    unpaced = Recorder()
    with Site() as site:
        scripts_site(site, unpaced, 10)
        options = SiteOptions(concurrency=4, probe_maps=False, timeout=10.0)
        audit_site([site.url("/")], Config(), options)
    quick = sorted(b - a for a, b in pairwise(unpaced.arrivals))
    assert quick[len(quick) // 2] < gaps[len(gaps) // 2]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds_the_requests_in_flight(concurrency):
    recorder = Recorder(hold=0.3)
    with Site() as site:
        scripts_site(site, recorder, 9)
        options = SiteOptions(concurrency=concurrency, probe_maps=False, timeout=10.0)
        report = audit_site([site.url("/")], Config(), options)
    assert report.errors == [] and len(recorder.arrivals) == 9
    assert recorder.most_in_flight == concurrency
