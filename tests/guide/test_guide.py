"""keysentry guide: the playbook from saved reports, its formats, and the purge file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from conftest import new_key, run_keysentry
from keysentry.guide import playbook as guide
from keysentry.guide.leaked_keys import GuideInput, group
from keysentry.guide.purge import REPLACEMENT
from keysentry.guide.render_markdown import code, md
from keysentry.model.finding import Finding
from keysentry.model.key import fingerprint, redact


def project(folder: Path) -> dict[str, str]:
    """A server-side key in Python, and a client-side key in a Vite .env file."""
    keys = {"server": new_key(), "client": new_key()}
    (folder / "app.py").write_text(
        f'client = OpenAI(base_url="https://api.deepseek.com",\n    api_key="{keys["server"]}")\n'
    )
    (folder / ".env").write_text(f"VITE_DEEPSEEK_API_KEY={keys['client']}\n")
    return keys


def scan_report(folder: Path, *extra: str) -> Path:
    report = folder / "report.json"
    done = run_keysentry("scan", ".", "-f", "json", "-o", str(report), *extra, cwd=folder)
    assert done.returncode == 1, done.stderr
    return report


def checklist(folder: Path, report: Path) -> dict:
    done = run_keysentry("guide", "--from", str(report), "-f", "json", cwd=folder)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def test_guide_from_a_scan_report_gives_ordered_steps_per_key(tmp_path):
    keys = project(tmp_path)
    report = scan_report(tmp_path)
    done = run_keysentry("guide", "--from", str(report), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "2 leaked key(s)" in out
    for key in keys.values():
        assert redact(key) in out and fingerprint(key) in out
    assert "app.py:2:14" in out and ".env:1:23" in out
    assert "https://platform.deepseek.com/api_keys" in out
    # the client key (critical) comes first, and its steps include the client ones
    assert out.index(redact(keys["client"])) < out.index(redact(keys["server"]))
    titles = ["Revoke the key now", "Create a replacement", "Replace the key in code",
              "Rebuild and redeploy", "Check usage and billing", "Prevent a repeat"]
    positions = [out.index(t) for t in titles]
    assert positions == sorted(positions)
    assert "does not read git history" in out  # a scan report cannot say what was committed


def test_checklist_has_one_item_per_step_per_key_and_client_steps_only_for_client_leaks(tmp_path):
    keys = project(tmp_path)
    data = checklist(tmp_path, scan_report(tmp_path))
    steps: dict[str, list[str]] = {}
    for item in data["checklist"]:
        steps.setdefault(item["key"], []).append(item["step"])
        assert item["done"] is False
    client_steps = steps[fingerprint(keys["client"])]
    server_steps = steps[fingerprint(keys["server"])]
    assert client_steps == [guide.REVOKE, guide.REPLACE, guide.EDIT, guide.CLIENT,
                            guide.BILLING, guide.PREVENT]
    assert server_steps == [guide.REVOKE, guide.REPLACE, guide.EDIT, guide.BILLING,
                            guide.PREVENT]
    client_item = next(i for i in data["checklist"]
                       if i["key"] == fingerprint(keys["client"]) and i["step"] == guide.REPLACE)
    assert any("§2.2" in d and "server-side endpoint" in d for d in client_item["details"])
    assert data["purge"] is None  # nothing committed: no purge step, no commands
    facts = {k["fingerprint"]: k for k in data["keys"]}
    assert facts[fingerprint(keys["client"])]["client"] is True
    assert facts[fingerprint(keys["server"])]["client"] is False
    assert facts[fingerprint(keys["server"])]["provider"] == "deepseek"


def test_no_guide_format_holds_a_full_key(tmp_path):
    keys = project(tmp_path)
    report = scan_report(tmp_path, "--show-secrets")  # the input holds the keys in full
    assert keys["server"] in report.read_text()
    for fmt in ("text", "markdown", "json"):
        out = tmp_path / f"guide.{fmt}"
        done = run_keysentry("guide", "--from", str(report), "-f", fmt, "-o", str(out),
                             cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        written = out.read_text()
        for key in keys.values():
            assert key not in written and key not in done.stderr, fmt
            assert redact(key) in written and fingerprint(key) in written, fmt


def test_markdown_guide_is_an_incident_ticket(tmp_path):
    project(tmp_path)
    done = run_keysentry("guide", "--from", str(scan_report(tmp_path)), "-f", "markdown",
                         cwd=tmp_path)
    assert done.stdout.startswith("# Incident: leaked API keys")
    assert "| # | key | exposure | pushed | stage | where |" in done.stdout
    assert done.stdout.count("- [ ] **1. Revoke the key now**") == 2


def test_purge_file_holds_exactly_the_keys_with_mode_0600(tmp_path):
    keys = project(tmp_path)
    report = scan_report(tmp_path, "--show-secrets")
    purge_file = tmp_path / "purge.txt"
    done = run_keysentry("guide", "--from", str(report), "--write-purge-file", str(purge_file),
                         cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert stat.S_IMODE(purge_file.stat().st_mode) == 0o600
    lines = purge_file.read_text().splitlines()
    assert sorted(lines) == sorted(f"literal:{k}==>{REPLACEMENT}" for k in keys.values())
    assert "delete it" in done.stderr and str(purge_file) in done.stderr
    assert not any(k in done.stdout for k in keys.values())

    again = run_keysentry("guide", "--from", str(report), "--write-purge-file", str(purge_file),
                          cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr

    purge_file.write_text("something else\n")
    purge_file.chmod(0o644)
    forced = run_keysentry("guide", "--from", str(report), "--write-purge-file", str(purge_file),
                           "--force", cwd=tmp_path)
    assert forced.returncode == 1, forced.stderr
    assert sorted(purge_file.read_text().splitlines()) == sorted(lines)
    assert stat.S_IMODE(purge_file.stat().st_mode) == 0o600  # even over a wider file


def test_no_purge_file_from_a_report_without_keys_in_full(tmp_path):
    project(tmp_path)
    report = scan_report(tmp_path)  # no --show-secrets
    purge_file = tmp_path / "purge.txt"
    done = run_keysentry("guide", "--from", str(report), "--write-purge-file", str(purge_file),
                         cwd=tmp_path)
    assert done.returncode == 2
    assert not purge_file.exists()
    assert "purge file not written" in done.stderr and "--show-secrets" in done.stderr
    assert "Revoke the key now" in done.stdout  # the guide itself is still given


def test_unusable_from_report_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    done = run_keysentry("guide", "--from", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert str(bad) in done.stderr and "not a keysentry JSON report" in done.stderr
    missing = run_keysentry("guide", "--from", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.json" in missing.stderr


def test_from_reads_only_a_bounded_regular_file(tmp_path):
    """`guide --from` on a FIFO nobody writes, a device or a pathologically nested JSON file
    ends at once with an error naming the file (exit 2), not a hang, a memory blow-up or a
    traceback."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    for path, said in ((fifo, "a FIFO"), (Path("/dev/zero"), "a device"),
                       (nested, "not a keysentry JSON report")):
        done = run_keysentry("guide", "--from", str(path), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert str(path) in done.stderr and said in done.stderr
        assert "Traceback" not in done.stderr


def test_guide_outside_a_repository_says_so(tmp_path):
    done = run_keysentry("guide", cwd=tmp_path)
    assert done.returncode == 2
    assert "git" in done.stderr and "--from" in done.stderr


def group_dicts(dicts):
    """Findings as a saved JSON report holds them, grouped the way the guide groups them."""
    return group(Finding.from_dict(d) for d in dicts)


def _history_finding(key: str, commit: str, pushed: bool, source: str = "blob") -> dict:
    return {
        "fingerprint": fingerprint(key), "redacted": redact(key), "secret": key,
        "path": "config.py", "line": 3, "column": 9, "provider": "deepseek",
        "confidence": "high", "provider_evidence": "'deepseek' on the same line",
        "source": source, "exposure": "server", "exposure_evidence": [],
        "commit": commit, "refs": ["refs/heads/main"], "pushed": pushed,
    }


def test_purge_step_and_force_push_follow_what_was_committed_and_pushed():
    local, pushed = new_key(), new_key()
    only_local = group_dicts([_history_finding(local, "a" * 40, pushed=False)])
    book = guide.build(GuideInput("repo", only_local), purge_file="p.txt", purge_written=True)
    assert [s.id for s in book.plans[0].steps][3] == guide.PURGE
    assert book.purge is not None
    assert not any("push --force" in c for c in book.purge.commands)
    assert "--replace-message" not in " ".join(book.purge.commands)

    both = group_dicts([_history_finding(local, "a" * 40, pushed=False),
                  _history_finding(pushed, "b" * 40, pushed=True, source="commit-message")])
    book = guide.build(GuideInput("repo", both), purge_file="p.txt", purge_written=True)
    assert book.plans[0].facts.fingerprint == fingerprint(pushed)  # pushed ranks first
    commands = "\n".join(book.purge.commands) if book.purge else ""
    assert "git push --force --mirror origin" in commands
    assert "--replace-text p.txt --replace-message p.txt" in commands
    assert any("re-clone" in line for line in book.purge.aftermath)  # type: ignore[union-attr]
    assert any("Forks" in line for line in book.purge.aftermath)  # type: ignore[union-attr]

    uncommitted = group_dicts([{**_history_finding(local, "", pushed=False), "source": "file"}])
    book = guide.build(GuideInput("repo", uncommitted))
    assert book.purge is None
    assert guide.PURGE not in [s.id for s in book.plans[0].steps]


def test_live_keys_come_first():
    first, live = new_key(), new_key()
    findings = [_history_finding(first, "a" * 40, pushed=True),
                {**_history_finding(live, "", pushed=False), "source": "file",
                 "verification": {"status": "live", "is_available": True}}]
    keys = group_dicts(findings)
    assert keys[0].fingerprint == fingerprint(live)
    book = guide.build(GuideInput("repo", keys))
    assert book.live == 1
    assert book.plans[0].steps[0].details[0].startswith("LIVE")


def test_markdown_cannot_be_injected_through_a_path():
    assert md("<img src=x onerror=alert(1)>|[link](http://x)") == (
        "\\<img src=x onerror=alert(1)\\>\\|\\[link\\](http://x)"
    )
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
