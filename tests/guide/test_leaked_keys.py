"""guide/leaked_keys.py directly: findings grouped per key, from a fresh report or a saved one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
_FINDING = st.fixed_dictionaries(
    {"fingerprint": st.just("sha256:" + "ab" * 32)},
    optional={
        name: _JSON
        for name in (
            "path",
            "line",
            "column",
            "source",
            "commit",
            "refs",
            "pushed",
            "exposure_evidence",
            "decoded_from",
            "verification",
            "secret",
            "snippet",
        )
    },
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(findings=st.lists(_FINDING, max_size=3))
def test_any_saved_report_loads_or_is_refused_with_a_reason(tmp_path_factory, findings):
    path = tmp_path_factory.mktemp("reports") / "report.json"
    path.write_text(json.dumps({"findings": findings}))
    try:
        loaded = from_report_file(path)
    except ReportFileError as exc:
        assert str(path) in str(exc)
        return
    assert all(k.fingerprint.startswith("sha256:") for k in loaded.keys)
