"""audits/publish.py directly: baseline, render, write, exit code, the same for every command."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from conftest import new_key
from keysentry.audits.publish import PublishError, ReportTarget, Request, publish
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.model.report import EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE
from keysentry.model.target import ScanTarget


def report_with(*keys: str):
    scanner = Scanner(Config())
    for index, key in enumerate(keys):
        scanner.scan_bytes(f"DEEPSEEK_API_KEY = '{key}'\n".encode(), ScanTarget(f"s{index}.py"))
    return scanner.report


def test_the_report_goes_to_stdout_and_the_exit_code_follows_fail_on():
    key = new_key()
    published = publish(report_with(key), Request("scan", format="json"), Config())
    assert published.exit_code == EXIT_FOUND and published.before == []
    assert published.stdout is not None and key not in published.stdout
    assert json.loads(published.stdout)["findings"][0]["path"] == "s0.py"
    never = publish(report_with(key), Request("scan", fail_on="never"), Config())
    assert never.exit_code == EXIT_CLEAN


def test_files_holding_full_keys_are_private_and_extra_reports_are_written(tmp_path: Path):
    key = new_key()
    out, sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    request = Request(
        "scan", format="json", output=out, show_secrets=True,
        targets=(ReportTarget("sarif", sarif),),
    )  # fmt: skip
    published = publish(report_with(key), request, Config())
    assert published.stdout is None and published.exit_code == EXIT_FOUND
    assert key in out.read_text() and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert key not in sarif.read_text()  # SARIF never holds the key


def test_a_report_that_cannot_be_written_makes_a_clean_scan_incomplete(tmp_path: Path):
    request = Request("scan", output=tmp_path / "missing-dir" / "r.txt")
    published = publish(report_with(), request, Config())
    assert published.exit_code == EXIT_INCOMPLETE
    assert any("cannot write the report" in line for line in published.after)


def test_a_baseline_drops_accepted_keys_and_an_unusable_one_stops_publishing(tmp_path: Path):
    from keysentry.audits import baseline

    accepted, new = new_key(), new_key()
    path = tmp_path / "baseline.json"
    path.write_text(baseline.create(report_with(accepted).findings).to_json())
    published = publish(report_with(accepted, new), Request("scan", baseline=path), Config())
    assert published.exit_code == EXIT_FOUND
    assert any("accepted" in line for line in published.after)
    assert published.stdout is not None and new[:7] in published.stdout
    path.write_text("{not json")
    with pytest.raises(PublishError, match="baseline error"):
        publish(report_with(new), Request("scan", baseline=path), Config())


def test_each_repositorys_sarif_is_capped_and_the_note_names_the_file(tmp_path: Path):
    from keysentry.audits.org import report_file_name
    from keysentry.formats.sarif import MAX_RESULTS_PER_RULE
    from keysentry.model.finding import RepositoryRef
    from keysentry.model.report import AUDITED, RepositoryOutcome

    many = MAX_RESULTS_PER_RULE + 100
    report = report_with(new_key())
    [found] = report.findings  # the same finding on many lines: what a generated file holds
    report.findings[:] = [
        dataclasses.replace(found, line=i + 1, fingerprint=f"sha256:{i:064x}")
        for i in range(many + 1)
    ]
    big, small = RepositoryRef("/srv/big"), RepositoryRef("/srv/small")
    for index, finding in enumerate(report.findings):
        finding.repository = big if index < many else small
    report.repositories += [
        RepositoryOutcome(big, AUDITED, findings=many, keys=many),
        RepositoryOutcome(small, AUDITED, findings=1, keys=1),
    ]
    out = tmp_path / "sarif"
    request = Request("org", format="jsonl", targets=(ReportTarget("sarif-dir", out),))
    published = publish(report, request, Config())
    assert published.exit_code == EXIT_FOUND  # a capped upload file is not an incomplete audit
    name = report_file_name("/srv/big", "sarif")
    [note] = [line for line in published.after if line.startswith("note: ")]
    assert note.startswith(f"note: {name}: the SARIF report holds {MAX_RESULTS_PER_RULE} of")
    run = json.loads((out / name).read_text())["runs"][0]
    assert len(run["results"]) == MAX_RESULTS_PER_RULE
    assert run["invocations"][0]["properties"]["resultsDropped"] == 100
    small_run = json.loads((out / report_file_name("/srv/small", "sarif")).read_text())["runs"][0]
    assert len(small_run["results"]) == 1
