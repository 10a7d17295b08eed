"""The shared values: where bytes are (ScanTarget), a finding and its placement, a report."""

from __future__ import annotations

import json

import pytest

from conftest import new_key
from keysentry.model.finding import Finding, HistoryPlacement, SitePlacement, severity_rank
from keysentry.model.key import fingerprint, redact, redact_text
from keysentry.model.location import locate
from keysentry.model.report import EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE, Report, ScanError
from keysentry.model.target import MEMBER_SEPARATOR, ScanTarget, SourceKind


def finding(key: str, **fields) -> Finding:
    values = {
        "path": "app.js", "line": 3, "column": 9, "provider": "deepseek",
        "confidence": "high", "provider_evidence": "'deepseek' on the same line",
        "snippet": redact_text(f"k = '{key}'"), **fields,
    }  # fmt: skip
    return Finding(secret=key, **values)


def test_member_targets_chain_names_and_make_them_printable():
    outer = ScanTarget("dist/site.zip", fs_path="/repo/dist/site.zip")
    inner = outer.member("assets/app.tgz").member("pkg/\x1b[31mindex.js")
    assert inner.path == "dist/site.zip!assets/app.tgz!pkg/\\x1b[31mindex.js"
    assert inner.members == ("assets/app.tgz", "pkg/\\x1b[31mindex.js")
    assert inner.fs_path == "/repo/dist/site.zip"  # exposure reads the archive's folders
    assert inner.source is SourceKind.FILE and MEMBER_SEPARATOR == "!"


def test_source_kinds_say_what_is_history_and_what_is_a_message():
    assert {k for k in SourceKind if k.is_history} == {
        SourceKind.BLOB, SourceKind.COMMIT_MESSAGE, SourceKind.TAG_MESSAGE}
    assert SourceKind.TAG_MESSAGE.is_message and not SourceKind.BLOB.is_message
    assert str(SourceKind.STAGED) == "staged"


def test_a_finding_never_serialises_its_key_unless_asked():
    key = new_key()
    found = finding(key)
    assert found.fingerprint == fingerprint(key) and found.redacted == redact(key)
    text = json.dumps(found.to_dict())
    assert key not in text and found.redacted in text
    assert found.to_dict(show_secret=True)["secret"] == key


def test_history_placement_round_trips_through_a_saved_report():
    key = new_key()
    placed = HistoryPlacement(
        commit="a" * 40, commits=["a" * 40], author="A <a@example.com>",
        date="2026-01-01T00:00:00+00:00", refs=["refs/remotes/origin/main"], refs_total=1,
        in_head=False, pushed=True, blob="b" * 40, merge=True,
    )  # fmt: skip
    original = finding(key, source=SourceKind.BLOB, history=placed)
    saved = original.to_dict()
    assert [k for k in saved if k in ("commit", "pushed", "blob", "merge")] == [
        "commit", "pushed", "blob", "merge"]
    back = Finding.from_dict(json.loads(json.dumps(saved)))
    assert back.history == placed
    assert back.secret == "" and back.fingerprint == original.fingerprint  # no key in the file
    assert back.to_dict() == saved


def test_locate_splits_archive_members_and_gives_messages_no_file():
    key = new_key()
    member = finding(key, path="dist/site.zip!js/app.js", decoded_from=["zip"])
    where = locate(member)
    assert (where.file, where.member, where.has_region) == ("dist/site.zip", "js/app.js", False)
    named = finding(key, path="odd!name.js")  # a "!" that no archive layer added
    assert locate(named).file == "odd!name.js"
    gz = finding(key, path="dist/app.js.gz", decoded_from=["gzip"])
    assert locate(gz).unpacked and not locate(gz).has_region
    message = finding(
        key, path="(commit message)", source=SourceKind.COMMIT_MESSAGE,
        history=HistoryPlacement(commit="c" * 40),
    )
    where = locate(message)
    assert where.file is None and where.commit == "c" * 40
    assert where.label.endswith(f"in commit {'c' * 12}")


def test_severity_orders_critical_first_and_unknown_last():
    assert sorted(["low", "bogus", "critical", "high"], key=severity_rank) == [
        "critical", "high", "low", "bogus"]


def test_report_exit_codes_and_printable_problems():
    report = Report()
    assert report.exit_code() == EXIT_CLEAN
    report.errors.append(ScanError("bad\x1b]0;name", "cannot read"))
    report.notes.append("line\nbreak")
    assert report.exit_code() == EXIT_INCOMPLETE
    assert report.problem_lines() == ["bad\\x1b]0;name: cannot read", "note: line\\nbreak"]
    report.findings.append(finding(new_key(), exposure="server"))
    assert report.exit_code() == EXIT_FOUND
    assert report.exit_code("client") == EXIT_INCOMPLETE  # server key, incomplete scan
    assert report.exit_code("never") == EXIT_INCOMPLETE


def test_site_placement_round_trips_and_is_the_location_ci_formats_give():
    key = new_key()
    served = SitePlacement(
        url="https://app.example.com/assets/a.js?v=2", status=200,
        content_type="text/javascript", referrer="https://app.example.com/",
    )  # fmt: skip
    original = finding(key, path="/assets/a.js", source=SourceKind.SITE, site=served)
    saved = original.to_dict()
    assert list(saved)[-4:] == ["url", "status", "content_type", "referrer"]
    back = Finding.from_dict(json.loads(json.dumps(saved)))
    assert back.site == served and back.to_dict() == saved
    where = locate(back)
    assert (where.file, where.member, where.has_region) == (served.url, None, True)
    with pytest.raises(ValueError, match="status must be int"):
        Finding.from_dict({**saved, "status": "200"})


def test_fingerprint_is_the_sha256_every_other_tool_computes() -> None:
    import hashlib  # what a user (or a SIEM) checks a reported fingerprint against

    for key in (new_key() for _ in range(50)):
        assert fingerprint(key) == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
