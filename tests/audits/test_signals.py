"""Signals (issue 17 §11): a stopped scan exits 2 with "interrupted" in its report and what
it found until then, no traceback; forked workers never outlive the command, even when
it is killed with SIGKILL.

The scans are held at a known point without timing: a directory scan large enough for
worker processes ends with a FIFO, which blocks the worker that opens it until the test
lets go; a history audit's forked readers are stopped with SIGSTOP as soon as they exist.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from conftest import KEYSENTRY, fast_import_commits, new_key
from keysentry.audits.scan_files import PARALLEL_MIN_WORK
from keysentry.model.key import fingerprint

HANG_GUARD = 60.0  # seconds: a hang fails the test instead of stalling the run

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def python_children(pid: int) -> set[int]:
    """The forked workers (they run this Python; git's processes do not)."""
    found = set()
    for child in children(pid):
        try:
            exe = os.readlink(f"/proc/{child}/exe")
        except OSError:
            continue
        if "python" in Path(exe).name:
            found.add(child)
    return found


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


@contextmanager
def fifo_held_open(fifo: Path) -> Iterator[None]:
    """Wait until the scan has the FIFO open, then hold it there (open, never written)."""
    fd = -1

    def opened() -> bool:
        nonlocal fd
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            return False
        return True

    wait_for(opened, "a worker to open the FIFO")
    try:
        yield
    finally:
        os.close(fd)


@pytest.fixture
def stalling_tree(tmp_path: Path) -> tuple[Path, Path, str]:
    """A tree big enough for workers, the control key scanned first, and a FIFO last."""
    tree = tmp_path / "tree"
    tree.mkdir()
    control = new_key()
    (tree / "zz_control.env").write_text(f"TOKEN={control}\n")  # first: the walk is reversed
    block = os.urandom(3 << 19).hex()  # 3 MiB of text without a key
    for i in range(PARALLEL_MIN_WORK // len(block) + 4):
        (tree / f"f{i:03}.txt").write_text(block)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return tree, fifo, control


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KEYSENTRY, *args, "-f", "json"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def finished(proc: subprocess.Popen[str]) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=HANG_GUARD)
    return proc.returncode, json.loads(out), err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signalled_scan_reports_what_it_found_exits_2_and_leaves_no_worker(stalling_tree, sig):
    tree, fifo, control = stalling_tree
    proc = start("scan", str(tree), str(fifo), cwd=tree.parent)
    with fifo_held_open(fifo):
        workers = python_children(proc.pid)
        assert workers, "the scan should run in worker processes"
        time.sleep(0.2)  # the control key's batch is long done; let its result be merged
        os.kill(proc.pid, sig)
        code, report, stderr = finished(proc)

    assert code == 2, stderr
    assert f"interrupted by {sig.name}" in report["errors"][-1]["message"]
    assert report["stats"]["complete"] is False
    assert fingerprint(control) in {f["fingerprint"] for f in report["findings"]}
    assert "Traceback" not in stderr
    wait_for(lambda: not any(alive(w) for w in workers), "the workers to end")


def test_workers_die_with_a_scan_killed_by_sigkill(stalling_tree):
    tree, fifo, _ = stalling_tree
    proc = start("scan", str(tree), str(fifo), cwd=tree.parent)
    with fifo_held_open(fifo):
        workers = python_children(proc.pid)
        assert workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=HANG_GUARD)
        wait_for(lambda: not any(alive(w) for w in workers), "the workers to die with it")


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c-to-the-group", "sigterm"])
def test_a_signalled_history_audit_ends_cleanly(git_repo, group):
    """Forked readers held with SIGSTOP; then Ctrl-C (SIGINT to the whole process group,
    git included, as a terminal sends it) or SIGTERM to keysentry alone."""
    fast_import_commits(git_repo, 6000, {10: new_key()})
    proc = start("history", str(git_repo), cwd=git_repo)
    readers: set[int] = set()

    def stopped_readers() -> bool:
        # a python child is a forked reader, or git between fork and exec: one still python
        # a moment later is a reader
        for child in python_children(proc.pid) - readers:
            time.sleep(0.03)
            if child in python_children(proc.pid):
                os.kill(child, signal.SIGSTOP)
                readers.add(child)
        return len(readers) >= 2

    wait_for(stopped_readers, "the forked readers")
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    code, report, stderr = finished(proc)

    assert code == 2, stderr
    name = "SIGINT" if group else "SIGTERM"
    assert any(f"interrupted by {name}" in e["message"] for e in report["errors"])
    assert "Traceback" not in stderr
    wait_for(lambda: not any(alive(r) for r in readers), "the readers to end")
