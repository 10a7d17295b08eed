"""Issue 17 §1: a file made of decoder triggers (encoded-``s`` needles) no longer stalls a
scan; every control key, plain or encoded, is still found. The timeouts are hang guards
(the pre-flood code needed minutes for these files); the one-second figure for the hook is
measured by bench/flood_bench.py, not asserted here."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import git, new_key, run_keysentry
from keysentry.config import Config
from keysentry.decoders import DEEP_TRIGGERS
from keysentry.decoders import TRIGGERS as TRIGGERS_OF_DECODERS
from keysentry.engine.scanner import Scanner
from keysentry.model.key import fingerprint, redact
from keysentry.model.target import ScanTarget

TRIGGERS = [
    *TRIGGERS_OF_DECODERS,
    # variations: wrapped, after a valid prefix (each passes the first cheap checks)
    b"c2st\n",
    b"H4sIAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
    b"\\x73\\x6b\\x2d\\x30",
    b"sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ== ",
    # the deep-base64 passes: a layer-3 needle, and run starts, glued into one long run
    # (decoded layer after layer) and apart (each start tested)
    DEEP_TRIGGERS[0],
    DEEP_TRIGGERS[-1],
    DEEP_TRIGGERS[-1] + b" ",
]
HANG_GUARD = 120  # seconds; the flood before the fix took 36-40 s for 256 KB of \x73


def _flood_with_controls(trigger: bytes, size: int) -> tuple[bytes, list[str]]:
    keys = [new_key() for _ in range(3)]
    plain = f"const a = '{keys[0]}';\n".encode()
    b64 = b"const b = '" + base64.b64encode(f"token={keys[1]}".encode()) + b"';\n"
    escaped = ("const c = '" + "".join(f"\\x{ord(c):02x}" for c in keys[2]) + "';\n").encode()
    flood = trigger * (size // len(trigger))
    half = len(flood) // 2
    return plain + flood[:half] + b"\n" + b64 + flood[half:] + b"\n" + escaped, keys


FLOOD = 256 << 10  # per trigger: before the fix, 256 KB of \\x73 alone took 36-40 s


def test_every_trigger_flooded_still_finds_every_control_key(tmp_path: Path) -> None:
    planted: dict[str, list[str]] = {}
    for index, trigger in enumerate(TRIGGERS):
        data, keys = _flood_with_controls(trigger, FLOOD)
        (tmp_path / f"flood{index:02d}.js").write_bytes(data)
        planted[f"flood{index:02d}.js"] = keys
    result = run_keysentry("scan", "--format", "json", ".", cwd=tmp_path, timeout=HANG_GUARD)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    for name, keys in planted.items():
        mine = {f["fingerprint"]: f["decoded_from"] for f in findings if f["path"] == name}
        assert sorted(mine) == sorted(map(fingerprint, keys)), (name, TRIGGERS[int(name[5:7])])
        assert mine[fingerprint(keys[1])] == ["base64"]
        assert mine[fingerprint(keys[2])] == ["js-escape"]


def test_past_the_budget_is_counted_and_said_never_silently_dropped() -> None:
    # junk that has the whole shape of an escaped key: each one is decoded, up to the budget
    junk = "".join(f"\\x{ord(c):02x}" for c in "sk-" + "ab" * 16) + "x"
    control = new_key()
    data = (junk * 5000 + "\n" + control).encode()
    scanner = Scanner(Config())
    found = scanner.scan_bytes(data, ScanTarget("junk.js"))
    assert [f.secret for f in found] == [control]
    assert scanner.report.stats["decoder_hits_over_budget"] == 5000 - 4096
    assert any("decoder budget" in note and "junk.js" in note for note in scanner.report.notes)


def test_the_hook_on_a_staged_flood_blocks_on_every_control_key(git_repo: Path) -> None:
    planted = []
    for index, trigger in enumerate((b"%73", b"c2st", b"\\x73")):
        data, keys = _flood_with_controls(trigger, 1 << 20)
        (git_repo / f"flood{index}.js").write_bytes(data)
        planted += keys
    git(git_repo, "add", ".")
    result = run_keysentry("hook", cwd=git_repo, timeout=HANG_GUARD)
    assert result.returncode == 1, result.stderr
    for key in planted:
        assert redact(key) in result.stdout + result.stderr
        assert key not in result.stdout + result.stderr
