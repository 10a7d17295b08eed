"""SARIF that GitHub code scanning ingests (issue 16 §2): the upload limits, and paths
relative to the repository root in every CI format and in baselines, whatever the scan
argument. Real CLI in a real git repository."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from conftest import git, new_key, run_keysentry, validate_gitlab, validate_sarif
from keysentry.audits.scan_files import scan_paths
from keysentry.config import Config
from keysentry.formats import sarif
from keysentry.formats.rules import rule_id


def test_sarif_holds_at_most_5000_results_a_rule_and_says_what_it_left_out(tmp_path):
    many = sarif.MAX_RESULTS_PER_RULE + 100
    lines = "".join(f'DEEPSEEK_API_KEY_{i} = "{new_key()}"\n' for i in range(many))
    (tmp_path / "keys.py").write_text(lines)
    result = run_keysentry(
        "scan",
        ".",
        "--format",
        "sarif",
        "-o",
        "k.sarif",
        "--report",
        "jsonl=k.jsonl",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    run = validate_sarif(json.loads((tmp_path / "k.sarif").read_text()))["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS_PER_RULE
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]][
        -1
    ] == sarif.MAX_RESULTS_PER_RULE  # the first ones, in report order
    (invocation,) = run["invocations"]
    assert invocation["properties"]["resultsDropped"] == 100
    (notice,) = invocation["toolExecutionNotifications"]
    assert notice["level"] == "warning"
    assert f"holds {sarif.MAX_RESULTS_PER_RULE} of {many} results" in notice["message"]["text"]
    assert "100 of deepseek-api-key/in-repository" in notice["message"]["text"]
    assert f"keysentry: note: the SARIF report holds {sarif.MAX_RESULTS_PER_RULE} of {many}" in (
        result.stderr
    )
    assert invocation["executionSuccessful"] is True  # dropped results are not a failed scan
    assert len((tmp_path / "k.jsonl").read_text().splitlines()) == many + 1  # jsonl has them all


def test_the_run_limit_applies_after_the_rule_limit(tmp_path):
    (tmp_path / "server.py").write_text(
        "".join(f'DEEPSEEK_API_KEY_{i} = "{new_key()}"\n' for i in range(5))
    )
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "app.js").write_text(
        "".join(f'fetch("https://api.deepseek.com",{{key:"{new_key()}"}});\n' for _ in range(3))
    )
    findings = scan_paths([str(tmp_path)], Config()).sorted_findings()
    capped = sarif.cap(findings, per_rule=2, total=3)
    assert [rule_id(f) for f in capped.kept] == [
        "deepseek-api-key/client-side",
        "deepseek-api-key/client-side",
        "deepseek-api-key/in-repository",
    ]
    assert capped.dropped_by_rule == {
        "deepseek-api-key/client-side": 1,
        "deepseek-api-key/in-repository": 4,
    }
    assert sarif.cap(findings).note() is None


def test_scan_dist_names_dist_app_js_in_every_format_and_in_baselines(git_repo, tmp_path):
    (git_repo / "dist").mkdir()
    (git_repo / "web").mkdir()
    key = new_key()
    (git_repo / "dist" / "app.js").write_text(
        f'fetch("https://api.deepseek.com",{{headers:{{Authorization:"Bearer {key}"}}}})\n'
    )
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "build")
    for cwd, arg in (
        (git_repo, "dist"),
        (git_repo / "web", "../dist"),
        (tmp_path, str(git_repo / "dist")),
    ):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        result = run_keysentry(
            "scan",
            arg,
            "--format",
            "json",
            "--report",
            f"sarif={out / 'k.sarif'}",
            "--report",
            f"gitlab={out / 'gl.json'}",
            "--report",
            f"junit={out / 'j.xml'}",
            cwd=cwd,
        )
        assert result.returncode == 1, result.stderr
        assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["dist/app.js"]
        run = validate_sarif(json.loads((out / "k.sarif").read_text()))["runs"][0]
        artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "dist/app.js", "uriBaseId": "%SRCROOT%"}, (cwd, arg)
        gitlab = validate_gitlab(json.loads((out / "gl.json").read_text()))
        assert [v["location"]["file"] for v in gitlab["vulnerabilities"]] == ["dist/app.js"]
        assert ET.parse(out / "j.xml").getroot().find("testsuite/testcase").get("file") == (
            "dist/app.js"
        )
    created = run_keysentry(
        "baseline", "create", "../dist", "--accept-client", cwd=git_repo / "web"
    )
    assert created.returncode == 0, created.stderr
    baseline = json.loads((git_repo / "web" / ".keysentry-baseline.json").read_text())
    assert [loc["path"] for e in baseline["entries"] for loc in e["locations"]] == ["dist/app.js"]
    # the same baseline accepts the key whichever folder the next scan starts from
    checked = run_keysentry(
        "scan",
        ".",
        "--baseline",
        str(git_repo / "web" / ".keysentry-baseline.json"),
        cwd=git_repo,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
