"""guide/leaked_keys.py directly: findings grouped per key, from a fresh report or a saved one."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import new_key
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.guide.leaked_keys import ReportFileError, from_report, from_report_file, group
from keysentry.model.finding import HistoryPlacement
from keysentry.model.target import ScanTarget, SourceKind


def scanned(key: str):
    scanner = Scanner(Config())
    scanner.scan_bytes(f"deepseek = '{key}'\n".encode(), ScanTarget("app.py"))
    scanner.scan_bytes(f"deepseek = '{key}'\n".encode(), ScanTarget("app.py"))  # same place
    [staged] = scanner.scan_bytes(f"x='{key}'".encode(), ScanTarget("new.py", SourceKind.STAGED))
    [blob] = scanner.scan_bytes(f"k='{key}'".encode(), ScanTarget("old.py", SourceKind.BLOB))
    blob.history = HistoryPlacement(commit="a" * 40, commits=["a" * 40], pushed=True)
    return scanner.report, staged


def test_one_key_per_fingerprint_with_each_place_once():
    key = new_key()
    report, _ = scanned(key)
    [leaked] = group(report.findings)
    assert leaked.secret == key and len(leaked.findings) == 3
    assert [f.path for f in leaked.current_files] == ["app.py"]
    assert [f.path for f in leaked.staged] == ["new.py"]
    assert leaked.committed and leaked.pushed and leaked.commits == ["a" * 40]


def test_a_saved_report_groups_the_same_way_without_the_key(tmp_path: Path):
    from keysentry.formats import FORMATS, RenderOptions

    key = new_key()
    report, _ = scanned(key)
    path = tmp_path / "report.json"
    path.write_text(FORMATS["json"](report, RenderOptions(command="history")))
    saved = from_report_file(path)
    fresh = from_report(report, "repo")
    [a], [b] = saved.keys, fresh.keys
    assert a.fingerprint == b.fingerprint and a.secret is None and b.secret == key
    assert (a.committed, a.pushed, a.commits) == (b.committed, b.pushed, b.commits)
    assert [f.path for f in a.findings] == [f.path for f in b.findings]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a keysentry JSON report"),
        ('{"findings": [{"fingerprint": "md5:x"}]}', "finding 0 has no sha256: fingerprint"),
        ('{"findings": [{"fingerprint": "sha256:ab", "line": [1]}]}', "finding 0 is malformed"),
    ],
)
def test_unusable_report_files_name_the_file(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ReportFileError, match=message) as caught:
        from_report_file(path)
    assert str(path) in str(caught.value)
