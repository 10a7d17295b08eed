"""One ordering rule: severity, then exposure (client-side first), then pushed.

Every command and format orders by ``model.finding.urgency``; this pins that the
finding order, the guide's key order and the history text's key order agree.
"""

from __future__ import annotations

from conftest import new_key
from keysentry.formats import RenderOptions
from keysentry.formats.history_text import render
from keysentry.guide.leaked_keys import group
from keysentry.model.finding import Finding, HistoryPlacement
from keysentry.model.report import Report
from keysentry.model.target import SourceKind


def finding(severity: str, exposure: str, pushed: bool) -> Finding:
    return Finding(
        secret=new_key(), path=f"{severity}-{exposure}-{pushed}.js", line=1, column=1,
        provider="deepseek", confidence="high", provider_evidence="", snippet="",
        source=SourceKind.BLOB, severity=severity, exposure=exposure,
        history=HistoryPlacement(commit="a" * 40, pushed=pushed),
    )


def test_every_ordering_follows_severity_then_exposure_then_pushed():
    expected = [
        finding("critical", "client", False),
        finding("high", "server", True),
        finding("high", "unknown", False),
        finding("medium", "client", True),  # severity decides first
        finding("medium", "server", False),
    ]
    shuffled = [expected[i] for i in (4, 2, 0, 3, 1)]
    assert sorted(shuffled, key=Finding.sort_key) == expected
    assert [k.fingerprint for k in group(shuffled)] == [f.fingerprint for f in expected]
    text = render(Report(findings=shuffled), RenderOptions(command="history"))
    positions = [text.index(f.redacted) for f in expected]
    assert positions == sorted(positions)
