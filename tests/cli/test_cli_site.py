"""``keysentry site`` end to end: the real CLI against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from itertools import pairwise

import jsonschema
import pytest

import site_support as served_by
from conftest import SARIF_SCHEMA, new_key, run_keysentry, run_on_tty
from keysentry.model.key import fingerprint, redact
from site_support import AppKeys, Reply, Site, app_site, build_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    keys = AppKeys(*(new_key() for _ in range(6)))
    return keys, build_app(tmp_path_factory.mktemp("app"), keys)


@pytest.fixture
def served(app):
    keys, dist = app
    with Site() as site, Site() as cdn:
        app_site(site, cdn, dist, keys)
        yield keys, site, cdn


def all_keys(keys: AppKeys) -> list[str]:
    return [
        keys.lazy_chunk,
        keys.map_only,
        keys.service_worker,
        keys.inline_state,
        keys.next_chunk,
        keys.cdn,
    ]


def test_text_report_has_one_entry_per_key_with_every_url(served, tmp_path):
    keys, site, cdn = served
    done = run_keysentry("site", site.url("/"), "--allow-origin", cdn.origin, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    for key in all_keys(keys):
        assert key not in out + done.stderr
        assert sum(line.startswith(redact(key)) for line in out.splitlines()) == 1
    lazy = out[out.index(redact(keys.lazy_chunk)) :].split("\n\n", 1)[0]
    assert "anyone can download it from 2 URL(s)" in lazy  # the chunk and its map
    assert site.url("/assets/chunks/settings-") in lazy
    assert ".js.map:" in lazy and "original source ../../../src/routes/settings.js:2" in lazy
    assert "6 distinct key(s) in 2 page(s)" in out
    assert "keysentry guide --from" in out


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "gitlab", "junit", "markdown"])
def test_every_report_format_names_the_url(served, tmp_path, fmt):
    keys, site, cdn = served
    done = run_keysentry(
        "site", site.url("/"), "--allow-origin", cdn.origin, "-f", fmt, cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert cdn.url("/lib/vendor.js") in out
    for key in all_keys(keys):
        assert key not in out
    if fmt == "json":
        report = json.loads(out)
        assert report["command"] == "site"
        finding = next(f for f in report["findings"] if f["url"] == cdn.url("/lib/vendor.js"))
        assert finding["source"] == "site" and finding["path"] == "/lib/vendor.js"
        assert finding["status"] == 200 and finding["exposure"] == "client"
        assert finding["exposure_evidence"] == [
            f"served to browsers by {cdn.url('/lib/vendor.js')} (HTTP 200)"
        ]
        assert report["stats"]["pages"] == 2 and report["stats"]["complete"] is True
        [in_map] = (f for f in report["findings"] if f["fingerprint"] == fingerprint(keys.map_only))
        assert in_map["url"].endswith(".js.map") and in_map["original_line"] == 1
        assert in_map["original_source"].endswith("src/config.js")
        assert report["stats"]["bytes_fetched"] > 0 and report["stats"]["maps"] >= 3
        assert report["stats"]["responses_http1_1"] == report["stats"]["responses_200"] + (
            report["stats"].get("responses_404", 0)
        )
    elif fmt == "sarif":
        sarif = json.loads(out)
        jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
        locations = [
            r["locations"][0]["physicalLocation"]["artifactLocation"]
            for r in sarif["runs"][0]["results"]
        ]
        assert {"uri": cdn.url("/lib/vendor.js")} in locations
        assert all(loc["uri"].startswith("http://127.0.0.1:") for loc in locations)
    elif fmt == "junit":
        ET.fromstring(out)


def test_guide_from_a_site_report_revokes_first_then_redeploys_and_retires_old_urls(
    served, tmp_path
):
    keys, site, cdn = served
    report = tmp_path / "site.json"
    done = run_keysentry(
        "site",
        site.url("/"),
        "--allow-origin",
        cdn.origin,
        "-f",
        "json",
        "-o",
        str(report),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    guide = run_keysentry("guide", "--from", str(report), cwd=tmp_path)
    assert guide.returncode == 1, guide.stderr
    out = guide.stdout
    entry = out[out.index("Key 1: ") : out.index("Key 2: ")]
    assert (
        entry.index("1. Revoke the key now")
        < entry.index("LIVE ON THE WEB")
        < entry.index("Delete the key")
        < entry.index("purge the CDN")
        < entry.index("old URLs stop answering")
    )
    assert "$ keysentry site http://127.0.0.1:" in entry
    assert "Hashed chunks and source maps of old builds often stay on the CDN" in entry
    checklist = json.loads(
        run_keysentry("guide", "--from", str(report), "-f", "json", cwd=tmp_path).stdout
    )
    [step] = [
        i
        for i in checklist["checklist"]
        if i["key"] == fingerprint(keys.cdn) and i["step"] == "site-redeploy"
    ]
    [command] = step["commands"]
    assert command == f"keysentry site {cdn.url('/lib/vendor.js')} --max-depth 0 --no-map-probe"
    # the old URL still answers: the re-run proves the key is still served ...
    args = command.split()[1:]
    assert run_keysentry(*args, cwd=tmp_path).returncode == 1
    # ... and once it is gone from the CDN, the same command reports nothing
    del cdn.routes["/lib/vendor.js"]
    gone = run_keysentry(*args, cwd=tmp_path)
    assert gone.returncode == 0, gone.stdout + gone.stderr


def test_staging_headers_cookies_and_user_agent_are_sent(tmp_path):
    key = new_key()
    with Site() as site:
        site.routes["/"] = Reply(f"<p>{key}</p>".encode())
        done = run_keysentry(
            "site",
            site.url("/"),
            "--header",
            "Authorization: Bearer t0k",
            "--cookie",
            "session=abc; theme=dark",
            "-q",
            cwd=tmp_path,
        )
    assert done.returncode == 1, done.stderr
    headers = site.request_headers[site.requests.index("/")]
    assert headers["Authorization"] == "Bearer t0k"
    assert "session=abc" in headers["Cookie"] and "theme=dark" in headers["Cookie"]
    assert headers["User-Agent"].startswith("keysentry/")


def test_an_incomplete_crawl_exits_2_and_says_why(tmp_path):
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/a.js"></script>')
        site.routes["/a.js"] = Reply(b"oops", 503)
        done = run_keysentry("site", site.url("/"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"keysentry: {site.url('/a.js')}: HTTP 503" in done.stderr
    assert "crawl incomplete: 1 error(s)" in done.stdout


def test_bad_options_are_usage_errors(tmp_path):
    for args in (["--header", "no-colon"], ["--max-bytes", "lots"], ["--allow-origin", "ftp://x"]):
        done = run_keysentry("site", "http://127.0.0.1:9/", *args, cwd=tmp_path)
        assert done.returncode == 2 and "Invalid value" in done.stderr, done.stderr


def test_the_proxy_comes_from_the_environment(tmp_path):
    key = new_key()
    asked: list[str] = []

    def forward(handler):  # a forward proxy sees absolute URLs; this one answers itself
        asked.append(handler.path)
        body = f"<p>{key}</p>".encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with Site() as site, Site() as proxy:
        proxy.routes[site.url("/")] = forward
        env = {"HTTP_PROXY": proxy.origin, "NO_PROXY": "", "no_proxy": ""}
        done = run_keysentry("site", site.url("/"), "-f", "json", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert site.url("/") in asked and site.requests == []
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["fingerprint"] == fingerprint(key)


def test_exclude_globs_match_url_paths_and_those_urls_are_never_fetched(served, tmp_path):
    keys, site, cdn = served
    done = run_keysentry(
        "site", site.url("/"), "--allow-origin", cdn.origin, "-f", "jsonl",
        "--exclude", "assets/chunks/", "--exclude", "/next", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    found = {f["fingerprint"] for f in lines if f["type"] == "finding"}
    assert fingerprint(keys.lazy_chunk) not in found  # only its chunk and the chunk's map
    assert fingerprint(keys.inline_state) not in found  # only the /next page
    assert {fingerprint(keys.service_worker), fingerprint(keys.cdn)} <= found
    asked = [path.split("?", 1)[0] for path in site.requests]
    assert not [p for p in asked if p.startswith("/assets/chunks/") or p == "/next"], asked
    assert "/assets/main.js" in asked
    [summary] = [line for line in lines if line["type"] == "summary"]
    assert summary["stats"]["skipped_excluded"] >= 2
    assert summary["stats"]["complete"] is True  # an excluded URL is asked for, not missed


def test_site_sarif_points_every_result_at_its_url_with_a_region_and_says_if_incomplete(
    served, tmp_path
):
    _, site, cdn = served
    site.routes["/assets/sw.js"] = Reply(b"unavailable", 503)  # makes the audit incomplete
    done = run_keysentry(
        "site", site.url("/"), "--allow-origin", cdn.origin, "-f", "sarif", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    sarif = json.loads(done.stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    run = sarif["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    for result in run["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"].startswith("http://127.0.0.1:")
        assert physical["region"]["startLine"] >= 1 and physical["region"]["endLine"] >= 1
        assert result["partialFingerprints"]["primaryLocationLineHash"].endswith(":1")


def test_a_progress_line_on_a_terminal_and_none_with_quiet(served, tmp_path):
    keys, site, cdn = served
    shown = run_on_tty("site", site.url("/"), "--allow-origin", cdn.origin, cwd=tmp_path)
    assert "keysentry: responses " in shown and "MB fetched  findings " in shown
    assert not any(key in shown for key in all_keys(keys))
    quiet = run_on_tty("site", site.url("/"), "--allow-origin", cdn.origin, "-q", cwd=tmp_path)
    assert "keysentry: responses" not in quiet


# ---- the CLI runs one thread, so its workers are forked processes: the crawl's rules
# ---- (redirect checks, --max-bytes, --rate, --concurrency) must hold across them


def test_a_redirect_to_an_excluded_path_is_not_fetched(tmp_path):
    key = new_key()
    with Site() as site:
        site.routes["/"] = Reply(b'<script src="/app.js"></script><a href="/old">old</a>')
        site.routes["/app.js"] = Reply(b"", 302, {"Location": "/private/app.js"})
        site.routes["/old"] = Reply(b"", 301, {"Location": "/private/"})
        site.routes["/private/app.js"] = site.routes["/private/"] = Reply(f"k='{key}'".encode())
        done = run_keysentry(
            "site", site.url("/"), "--exclude", "private/", "-f", "json", cwd=tmp_path
        )
    assert done.returncode == 0, done.stderr
    assert {"/app.js", "/old"} <= set(site.requests)
    assert not [p for p in site.requests if p.startswith("/private/")], site.requests
    report = json.loads(done.stdout)
    assert report["findings"] == [] and report["stats"]["skipped_excluded"] == 2
    assert report["stats"]["complete"] is True


def test_max_bytes_holds_exactly_across_worker_processes(tmp_path):
    with Site() as site:
        held = served_by.HeldScripts(site, [new_key() for _ in range(4)], 1 << 20)
        done = run_keysentry(
            "site", site.url("/"), "--max-bytes", "1536k", "--concurrency", "4",
            "--no-map-probe", "-f", "json", cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert not held.together.broken  # all four were in flight at once
    stats = json.loads(done.stdout)["stats"]
    missing = stats["responses_404"] * len(b"not found")  # the guessed files' 404s
    assert stats["bytes_decoded"] + missing == 1536 << 10
    assert stats["skipped_max_bytes"] >= 3 and stats["complete"] is False


def test_rate_and_concurrency_hold_across_worker_processes(tmp_path):
    paced, held = served_by.Recorder(), served_by.Recorder(hold=0.3)
    with Site() as site:
        served_by.scripts_site(site, paced, 8)
        done = run_keysentry(
            "site", site.url("/"), "--rate", "5", "--concurrency", "4", "--no-map-probe",
            "-q", cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    gaps = sorted(b - a for a, b in pairwise(paced.arrivals))
    assert len(paced.arrivals) == 8 and gaps[len(gaps) // 2] >= 0.15  # 0.2 s apart
    with Site() as site:
        served_by.scripts_site(site, held, 9)
        done = run_keysentry(
            "site", site.url("/"), "--concurrency", "3", "--no-map-probe", "-q", cwd=tmp_path
        )
    assert done.returncode == 0, done.stderr
    assert len(held.arrivals) == 9 and held.most_in_flight == 3


def section_of(guide: str, key: str) -> str:
    """The guide's section for key (``Key N: sk-ab12...``), up to the next key's."""
    return next(e for e in guide.split("\nKey ")[1:] if redact(key) in e.split("\n", 1)[0])


def test_a_site_key_the_build_inlined_leads_the_guide_to_the_env_file_that_defines_it(tmp_path):
    """A deployed Vite-style bundle: the site report names the source line and the
    variable it reads; the guide, run in the project, names the .env line to fix, and
    run elsewhere, the source line and the variable."""
    project = tmp_path / "project"
    project.mkdir()
    key, literal = new_key(), new_key()
    dist = served_by.build_inlined_app(project, key, literal)
    (project / ".env.production").write_text(f"VITE_DEEPSEEK_API_KEY={key}\n")
    report = tmp_path / "site.json"
    with Site() as site:
        served_by.inlined_app_site(site, dist)
        text = run_keysentry("site", site.url("/"), cwd=tmp_path)
        done = run_keysentry("site", site.url("/"), "-f", "json", "-o", str(report), cwd=tmp_path)
    assert done.returncode == 1 and text.returncode == 1, done.stderr
    assert key not in text.stdout + text.stderr
    assert "original source ../../src/config.js:2; reads VITE_DEEPSEEK_API_KEY" in text.stdout
    in_project = run_keysentry("guide", "--from", str(report), cwd=project)
    assert in_project.returncode == 1, in_project.stderr
    entry = section_of(in_project.stdout, key)
    assert ".env.production:1" in entry and "defines VITE_DEEPSEEK_API_KEY" in entry
    (tmp_path / "elsewhere").mkdir()
    elsewhere = run_keysentry("guide", "--from", str(report), cwd=tmp_path / "elsewhere")
    entry = section_of(elsewhere.stdout, key)
    assert "../../src/config.js:2 (reads VITE_DEEPSEEK_API_KEY, which the build inlines)" in entry
    assert key not in in_project.stdout + elsewhere.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab", "junit", "markdown"])
def test_a_key_in_a_url_or_a_map_source_name_is_never_shown(tmp_path, fmt):
    """A script served under a folder named with a key, and a map whose source is a file
    named with one: no report format and no guide shows either key (the keys in the
    bodies are reported, redacted, at those URLs)."""
    in_url, in_body, in_name, in_map = (new_key() for _ in range(4))
    source_map = {
        "version": 3,
        "sources": [f"src/{in_name}.js"],
        "sourcesContent": [f"const deepseek = '{in_map}';\n"],
        "mappings": "AAAA",
    }
    with Site() as site:
        site.routes["/"] = Reply(f'<script src="/{in_url}/app.js"></script>'.encode())
        site.routes[f"/{in_url}/app.js"] = Reply(
            f'var deepseek="{in_body}";\n//# sourceMappingURL=app.js.map\n'.encode()
        )
        site.routes[f"/{in_url}/app.js.map"] = Reply(
            json.dumps(source_map).encode(), headers={"Content-Type": "application/json"}
        )
        done = run_keysentry("site", site.url("/"), "-f", fmt, cwd=tmp_path)
        saved = run_keysentry("site", site.url("/"), "-f", "json", "-o", "r.json", cwd=tmp_path)
    assert done.returncode == 1 and saved.returncode == 1, done.stderr
    guide = run_keysentry("guide", "--from", "r.json", cwd=tmp_path)
    guide_json = run_keysentry("guide", "--from", "r.json", "-f", "json", cwd=tmp_path)
    shown = "".join(
        [done.stdout, done.stderr, (tmp_path / "r.json").read_text(), guide.stdout, guide.stderr,
         guide_json.stdout]
    )  # fmt: skip
    assert in_url not in shown and in_name not in shown
    assert redact(in_url) in done.stdout and redact(in_body) in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    found = {f["fingerprint"]: f for f in report["findings"]}
    assert {fingerprint(in_body), fingerprint(in_map)} <= set(found)
    assert found[fingerprint(in_map)]["original_source"] == f"src/{redact(in_name)}.js"
    # the guide's re-run command cannot hold a URL shown redacted: it says so instead
    [step] = [
        s for s in json.loads(guide_json.stdout)["checklist"]
        if s["key"] == fingerprint(in_body) and s["step"] == "site-redeploy"
    ]  # fmt: skip
    assert step["commands"] == []
    assert any("1 of these URLs hold a key in the URL itself" in d for d in step["details"])
