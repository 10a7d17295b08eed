"""Several reports from one scan, the step summary, and the options a team sets once."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry, validate_gitlab


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one client-side and one server-side key."""
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.js").write_text(f'const k="{new_key()}"; // api.deepseek.com\n')
    (tmp_path / "server.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    return tmp_path


def test_format_and_output_still_write_one_report(project):
    result = run_keysentry("scan", ".", "--format", "sarif", "--output", "out.sarif", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert len(json.loads((project / "out.sarif").read_text())["runs"][0]["results"]) == 2


def test_report_option_writes_several_formats_from_one_scan(project):
    result = run_keysentry(
        "scan", ".", "--format", "text",
        "--report", "sarif=r.sarif", "--report", "junit=r.xml", "--report", "json=r.json",
        "--report", "gitlab=gl.json", "--report", "github=annotations.txt",
        cwd=project,
    )
    assert result.returncode == 1, result.stderr
    assert "2 finding(s)" in result.stdout  # the main report still goes to stdout
    sarif = json.loads((project / "r.sarif").read_text())
    report = json.loads((project / "r.json").read_text())
    junit = ET.parse(project / "r.xml").getroot()
    gitlab = validate_gitlab(json.loads((project / "gl.json").read_text()))
    fingerprints = {f["fingerprint"] for f in report["findings"]}
    assert len(fingerprints) == 2
    assert {r["partialFingerprints"]["keyFingerprint/v1"] for r in sarif["runs"][0]["results"]} \
        == fingerprints
    assert junit.get("failures") == "2" and len(gitlab["vulnerabilities"]) == 2
    assert (project / "annotations.txt").read_text().count("::error ") == 2


def test_show_secrets_reaches_json_reports_only_and_makes_them_private(project):
    result = run_keysentry(
        "scan", ".", "--show-secrets", "--report", "json=full.json", "--report", "sarif=s.sarif",
        cwd=project,
    )
    assert result.returncode == 1
    full = json.loads((project / "full.json").read_text())
    assert all(f["secret"].startswith("sk-") for f in full["findings"])
    assert (project / "full.json").stat().st_mode & 0o077 == 0
    sarif = (project / "s.sarif").read_text()
    assert not any(f["secret"] in sarif for f in full["findings"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [("sarif", "expected FORMAT=PATH"), ("yaml=out.yml", "unknown format 'yaml'")],
)
def test_a_bad_report_spec_is_a_usage_error(project, spec, message):
    result = run_keysentry("scan", ".", "--report", spec, cwd=project)
    assert result.returncode == 2
    assert message in result.stderr and "--report" in result.stderr


def test_an_unwritable_report_is_named_and_the_exit_code_says_so(tmp_path):
    (tmp_path / "clean.txt").write_text("nothing here\n")
    result = run_keysentry("scan", ".", "--report", "sarif=no/such/dir/r.sarif", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write the sarif report to no/such/dir/r.sarif" in result.stderr


def test_markdown_to_the_step_summary_appends(project):
    summary = project / "summary.md"
    summary.write_text("## earlier step\n")
    result = run_keysentry(
        "scan", ".", "--report", f"markdown={summary}", cwd=project,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1
    text = summary.read_text()
    assert text.startswith("## earlier step\n## 🔑 keysentry: 2 DeepSeek API key finding(s)")


# --- configuration ------------------------------------------------------------------------


def test_fail_on_in_the_configuration_sets_the_default_and_the_flag_wins(project):
    (project / ".keysentry.toml").write_text('fail_on = "never"\n')
    assert run_keysentry("scan", ".", cwd=project).returncode == 0
    assert run_keysentry("scan", ".", "--fail-on", "any", cwd=project).returncode == 1
    (project / ".keysentry.toml").write_text('fail_on = "client"\n')
    (project / "dist" / "app.js").unlink()
    assert run_keysentry("scan", ".", cwd=project).returncode == 0  # only a server-side key


def test_baseline_in_the_configuration_is_relative_to_the_config_file(project):
    sub = project / "sub"
    sub.mkdir()
    refused = run_keysentry("baseline", "create", cwd=project)
    assert refused.returncode == 2  # dist/app.js holds a client-side key
    assert "--accept-client" in refused.stderr and "§2.2" in refused.stderr
    assert not (project / ".keysentry-baseline.json").exists()
    assert run_keysentry("baseline", "create", "--accept-client", cwd=project).returncode == 0
    (project / "pyproject.toml").write_text(
        '[tool.keysentry]\nbaseline = ".keysentry-baseline.json"\n'
    )
    (project / ".git").mkdir()  # the config search stops at the repository root
    result = run_keysentry("scan", "..", cwd=sub)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 finding(s) of keys accepted" in result.stderr


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('fail_on = "sometimes"', "'fail_on' must be one of any, client, never"),
        ("fail_on = 1", "'fail_on' must be a string"),
        ('reports = ["sarif"]', "'reports' must be a table"),
        ("reports = { sarif = 1 }", "every item of 'reports' must be a string"),
        ('reports = { pdf = "r.pdf" }', "'reports' has unknown format 'pdf'"),
        ('baseline = ["a"]', "'baseline' must be a string"),
        ('ci_dist = "dist"', "'ci_dist' must be a list"),
        ('fail-on = "any"', "unknown key 'fail-on'"),
    ],
)
def test_configuration_errors_name_the_key(project, toml, message):
    (project / ".keysentry.toml").write_text(toml + "\n")
    result = run_keysentry("scan", ".", cwd=project)
    assert result.returncode == 2
    assert message in result.stderr and ".keysentry.toml" in result.stderr
