"""CI report formats: SARIF, GitHub annotations, Markdown summary, GitLab, JUnit.

Reports come from real scans: files on disk, a real git history (commit findings) and
the scanner fed an archive member's bytes under its ``outer.zip!inner.js`` location.
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import jsonschema
import pytest

from conftest import SARIF_SCHEMA, git, new_key, validate_gitlab, validate_sarif
from keysentry.audits.history import audit
from keysentry.audits.scan_files import scan_paths
from keysentry.config import Config
from keysentry.formats import FORMATS, RenderOptions
from keysentry.formats import github as github_format
from keysentry.formats import gitlab as gitlab_format
from keysentry.model.report import Report, ScanError

CI_FORMATS = ("sarif", "github", "markdown", "gitlab", "junit")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, dict[str, str]]:
    """Findings of every location kind: client bundle, server file, archive member,
    commit blob, commit message; plus one unreadable path. Formats only read it."""
    tmp_path = tmp_path_factory.mktemp("mixed")
    keys = {name: new_key() for name in ("client", "server", "member", "commit", "message")}
    tree = tmp_path / "tree"
    (tree / "dist").mkdir(parents=True)
    (tree / "dist" / "app.js").write_text(
        f'fetch("https://api.deepseek.com",{{headers:{{Authorization:"Bearer {keys["client"]}"}}}})'
    )
    (tree / "server.py").write_text(f'DEEPSEEK_API_KEY = "{keys["server"]}"\n')
    with zipfile.ZipFile(tree / "release.zip", "w") as archive:
        archive.writestr("static/main.js", f"// deepseek\nconst key = '{keys['member']}';\n")
    report = scan_paths([str(tree)], Config())
    report.errors.append(ScanError("locked/secret.txt", "Permission denied"))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "config.py").write_text(f"# deepseek\nKEY = '{keys['commit']}'\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", f"configure {keys['message']}")
    audit(repo, Config(), report)
    return report, keys


def render(report: Report, fmt: str, **options: object) -> str:
    return FORMATS[fmt](report, RenderOptions(command="scan", **options))  # type: ignore[arg-type]


def by_path(findings: list, path: str) -> dict:
    return next(f for f in findings if path in json.dumps(f))


@pytest.mark.parametrize("fmt", CI_FORMATS)
def test_ci_formats_never_hold_a_full_key_even_with_show_secrets(mixed, fmt):
    report, keys = mixed
    out = render(report, fmt, show_secrets=True)
    for key in keys.values():
        assert key not in out
        assert key[-32:] not in out
        assert f"{key[:7]}...{key[-4:]}" in out  # the redacted form tells keys apart


def test_sarif_validates_against_the_2_1_0_schema(mixed):
    report, _ = mixed
    sarif = json.loads(render(report, "sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema)
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["results"]) == len(report.findings) == 5


def test_sarif_has_one_rule_per_kind_with_help_and_ranks_client_exposure_first(mixed):
    report, _ = mixed
    run = json.loads(render(report, "sarif"))["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert len(rules) == len(run["tool"]["driver"]["rules"])  # ids unique
    for rule in rules.values():
        assert len(rule["help"]["text"]) > 200 and "Revoke" in rule["help"]["text"]
        assert rule["shortDescription"]["text"]
    severity = {rid: float(r["properties"]["security-severity"]) for rid, r in rules.items()}
    client = severity["deepseek-api-key/client-side"]
    assert client >= 9.0  # GitHub's "critical" band
    assert all(client > s for rid, s in severity.items() if not rid.endswith("client-side"))
    assert 7.0 <= severity["deepseek-api-key/in-repository"] < 9.0  # "high"
    used = {r["ruleId"] for r in run["results"]}
    assert {"deepseek-api-key/client-side", "deepseek-api-key/in-history"} <= used
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_locations_for_files_archive_members_and_commits(mixed):
    report, _ = mixed
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]

    client = by_path(results, "dist/app.js")
    region = client["locations"][0]["physicalLocation"]["region"]
    assert client["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dist/app.js"
    assert region["startLine"] == 1 and region["endColumn"] - region["startColumn"] == 35
    assert client["level"] == "error" and client["ruleId"].endswith("client-side")

    member = by_path(results, "static/main.js")
    physical = member["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "release.zip"  # the file in the repository
    assert "region" not in physical  # the line is inside the member, not the zip
    logical = member["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "release.zip!static/main.js"
    assert member["properties"]["archiveMember"] == "static/main.js"

    in_commit = next(r for r in results if r["properties"]["location"] == "config.py")
    assert in_commit["ruleId"] == "deepseek-api-key/in-history"
    assert in_commit["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "config.py"
    assert in_commit["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert re.fullmatch(r"[0-9a-f]{40}", in_commit["properties"]["commit"])

    # a commit message points at a stable pseudo-artifact git never tracks, the commit's own
    message = next(r for r in results if r["properties"]["location"] == "(commit message)")
    commit = in_commit["properties"]["commit"]
    physical = message["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {
        "uri": f".git/keysentry/commit-message/{commit}", "uriBaseId": "%SRCROOT%"
    }
    assert physical["region"]["startLine"] == 1 and physical["region"]["endLine"] == 1
    assert message["properties"]["commit"] == commit
    assert commit[:12] in message["message"]["text"]
    assert message["locations"][0]["logicalLocations"][0]["name"] == "(commit message)"


def test_every_sarif_result_has_what_github_code_scanning_needs(mixed):
    report, _ = mixed
    run = validate_sarif(json.loads(render(report, "sarif")))["runs"][0]
    for result in run["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not physical["artifactLocation"]["uri"].startswith(("/", "file:"))
        if "region" in physical:
            assert physical["region"]["endLine"] == physical["region"]["startLine"]
        assert re.fullmatch(r"[0-9a-f]{64}:1", result["partialFingerprints"][
            "primaryLocationLineHash"
        ])
    assert len({r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]}) == 5
    # the fixture could not read one path: GitHub is told the run is incomplete
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"


def test_a_complete_scan_is_a_successful_execution(tmp_path):
    (tmp_path / "a.env").write_text(f"DEEPSEEK_API_KEY={new_key()}\n")
    report = scan_paths([str(tmp_path)], Config())
    sarif = json.loads(render(report, "sarif"))
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert validate_gitlab(json.loads(render(report, "gitlab")))["scan"]["status"] == "success"


def test_sarif_fingerprints_follow_the_key_not_the_line(tmp_path):
    key = new_key()
    (tmp_path / "a.env").write_text(f"DEEPSEEK_API_KEY={key}\n")
    first = json.loads(render(scan_paths([str(tmp_path)], Config()), "sarif"))
    (tmp_path / "a.env").write_text(f"# moved down\n\nDEEPSEEK_API_KEY={key}\n")
    (tmp_path / "b.env").write_text(f"DEEPSEEK_API_KEY={key}\n")
    second = json.loads(render(scan_paths([str(tmp_path)], Config()), "sarif"))
    one = first["runs"][0]["results"][0]
    again = by_path(second["runs"][0]["results"], "a.env")
    other = by_path(second["runs"][0]["results"], "b.env")
    assert one["partialFingerprints"]["keyFingerprint/v1"].startswith("sha256:")
    assert one["partialFingerprints"] == again["partialFingerprints"]
    assert again["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    for name in ("keyAtPath/v1", "primaryLocationLineHash"):  # GitHub's alert identity
        assert other["partialFingerprints"][name] != one["partialFingerprints"][name]


def test_a_key_in_compressed_content_points_at_the_file_without_a_line(tmp_path):
    with gzip.open(tmp_path / "bundle.js.gz", "wt") as packed:
        packed.write(f"\n\nconst k = '{new_key()}'; // deepseek\n")
    (tmp_path / "name!with!bangs.js").write_text(f"const k = '{new_key()}';\n")
    results = json.loads(render(scan_paths([str(tmp_path)], Config()), "sarif"))["runs"][0]
    packed_result = by_path(results["results"], "bundle.js.gz")
    physical = packed_result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "bundle.js.gz" and "region" not in physical
    plain = by_path(results["results"], "bangs.js")
    assert plain["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "name!with!bangs.js"  # a ! in a file name is not an archive member
    )
    assert plain["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_sarif_reports_unscanned_paths_as_notifications(mixed):
    report, _ = mixed
    invocation = json.loads(render(report, "sarif"))["runs"][0]["invocations"][0]
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert texts == ["locked/secret.txt: Permission denied"]
    assert invocation["properties"]["complete"] is False


# --- GitHub annotations -------------------------------------------------------------------

_ANNOTATION = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def unescape(text: str) -> str:
    """What the Actions runner does to a workflow command's values."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    match = _ANNOTATION.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in (match.group(2) or "").split(",") if p)
    return match.group(1), {k: unescape(v) for k, v in props.items()}, unescape(match.group(3))


def test_github_annotations_point_at_file_line_and_column(mixed):
    report, _ = mixed
    lines = render(report, "github").splitlines()
    parsed = [parse_annotation(line) for line in lines if line.startswith("::")]
    client = next(p for p in parsed if p[1].get("file") == "dist/app.js")
    assert client[0] == "error"
    finding = next(f for f in report.findings if f.path == "dist/app.js")
    assert client[1]["line"] == "1" and client[1]["col"] == str(finding.column)
    assert client[1]["title"].startswith("DeepSeek API key in client-side code: sk-")
    member = next(p for p in parsed if p[1].get("file") == "release.zip")
    assert "line" not in member[1]  # the line belongs to the member, not the zip
    assert "release.zip!static/main.js" in member[2]
    commit = next(p for p in parsed if p[1].get("file") == "config.py")
    assert commit[1]["line"] == "2" and "commit" in commit[1]["title"]
    error = next(p for p in parsed if "Permission denied" in p[2])
    assert error[0] == "error" and "scan incomplete" in error[1]["title"]
    assert lines[-1].startswith("keysentry: 5 finding(s)")


def test_github_annotation_escaping_survives_hostile_paths(tmp_path):
    key = new_key()
    name = "we,ird:name%41.env"
    (tmp_path / name).write_text(f"DEEPSEEK_API_KEY={key}\n")
    report = scan_paths([str(tmp_path)], Config())
    report.errors.append(ScanError("bad\r\npath", "50% done: no"))
    lines = render(report, "github").splitlines()
    _, props, message = parse_annotation(lines[0])
    assert props["file"] == name  # the comma and colon did not end the property
    assert set(props) == {"file", "line", "endLine", "col", "endColumn", "title"}
    assert f"{name}:1:" in message
    _, props, message = parse_annotation(lines[1])
    assert message == "bad\r\npath: 50% done: no"
    assert "\r" not in lines[1] and len(lines) == 3
    assert github_format.escape_property("a%b:c,d\ne") == "a%25b%3Ac%2Cd%0Ae"
    assert github_format.escape_data("a%b:c,d\re") == "a%25b:c,d%0De"


# --- Markdown summary ---------------------------------------------------------------------


def test_markdown_summary_is_a_table_that_scanned_text_cannot_break(tmp_path):
    key = new_key()
    name = "x|<img src=x onerror=alert(1)>[link](https:evil).env"
    (tmp_path / name).write_text(f"DEEPSEEK_API_KEY={key}\n")
    out = render(scan_paths([str(tmp_path)], Config()), "markdown")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 3  # header, separator and one finding
    assert rows[2].count(" | ") == rows[0].count(" | ")  # the | in the name is escaped
    assert "<img" not in out and "&lt;img" in out
    assert "](https" not in out
    assert "Revoke" in out and key[:7] in out


def test_markdown_summary_says_clean_and_lists_errors():
    report = Report(errors=[ScanError("gone.js", "No such file or directory")])
    report.stats["files_scanned"] = 3
    out = render(report, "markdown")
    assert out.startswith("## ✅ keysentry: no DeepSeek API keys found")
    assert "3 file(s)" in out and "Scan incomplete: 1 error(s)" in out and "gone.js" in out


# --- GitLab secret-detection report -------------------------------------------------------

def test_gitlab_report_has_what_the_security_dashboard_ingests(mixed):
    report, _ = mixed
    data = validate_gitlab(json.loads(render(report, "gitlab")))
    assert data["scan"]["status"] == "failure"  # the fixture has an unreadable path
    vulns = data["vulnerabilities"]
    assert len(vulns) == 5 and len({v["id"] for v in vulns}) == 5
    client = next(v for v in vulns if v["location"]["file"] == "dist/app.js")
    assert client["severity"] == "Critical"
    assert client["identifiers"][0]["value"] == "deepseek-api-key/client-side"
    assert client["location"]["commit"]["sha"] == gitlab_format.NO_COMMIT
    commit = next(v for v in vulns if v["location"]["file"] == "config.py")
    assert re.fullmatch(r"[0-9a-f]{40}", commit["location"]["commit"]["sha"])
    assert commit["location"]["start_line"] == 2
    assert commit["location"]["commit"]["author"] == "Test Author <author@example.com>"
    member = next(v for v in vulns if "static/main.js" in v["location"]["file"])
    assert member["location"]["file"] == "release.zip!static/main.js"
    assert data["scan"]["messages"][0]["level"] == "warn"
    again = json.loads(render(report, "gitlab"))
    assert [v["id"] for v in again["vulnerabilities"]] == [v["id"] for v in vulns]  # stable


# --- JUnit --------------------------------------------------------------------------------


def test_junit_has_a_failing_case_per_finding_and_an_error_per_unscanned_path(mixed):
    report, _ = mixed
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "5", "1")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == 5
    client = next(c for c in failures if c.get("file") == "dist/app.js")
    assert client.get("line") == "1"
    assert client.find("failure").get("type") == "deepseek-api-key/client-side"
    errors = [c for c in cases if c.find("error") is not None]
    assert errors[0].find("error").get("message") == "Permission denied"


def test_junit_is_well_formed_for_a_clean_scan_and_control_characters():
    clean = ET.fromstring(render(Report(), "junit"))
    case = clean.find("testsuite/testcase")
    assert case is not None and case.get("name") == "no DeepSeek API keys found"
    assert clean.get("failures") == "0"
    odd = Report(errors=[ScanError("a\x01b\ufffe", "bad\x0bthing")])
    root = ET.fromstring(render(odd, "junit"))  # would raise on invalid XML characters
    assert root.find("testsuite/testcase/error").get("message") == "bad\\x0bthing"
