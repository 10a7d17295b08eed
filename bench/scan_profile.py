"""Where a directory scan's time goes: each stage timed on its own, in this process.

On the JavaScript tree of bench/jstree.py (page cache warm), one process, CPU time:

- start-up: ``keysentry scan`` of a one-line file (interpreter, imports), as a command;
- walk: the file enumeration (sources/files.py), no reads;
- read: opening and reading every file whole, no scanning (the Python read floor);
- key pass: the detector's search for plain keys over every file's bytes;
- trigger pass: the decoders' multi-needle search alone;
- decoders: ``decoders.find_encoded`` over every file (trigger pass, shape tests, decodes);
- scan, 1 process / 2 processes: ``scan_paths`` whole, as ``keysentry scan`` runs it;

then which decoder needles hit how often on this tree, and a cProfile of the one-process
scan (its top functions by own time). Usage::

    .venv/bin/python bench/scan_profile.py [--work DIR] [--top 25] [--no-decode]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jstree
from keysentry import decoders
from keysentry.audits.scan_files import scan_paths
from keysentry.config import Config
from keysentry.engine.detector import find_candidates
from keysentry.model.report import Report
from keysentry.sources.files import file_entries

KEYSENTRY = str(Path(sys.executable).parent / "keysentry")


def _cpu() -> float:
    """CPU time of this process and of its finished children (the scan's workers)."""
    usage = os.times()
    return usage.user + usage.system + usage.children_user + usage.children_system


def _timed(label: str, work: Callable[[], object], size_mb: float) -> object:
    """Run work once warm, then timed (best of three); print wall and CPU."""
    work()
    best_wall, best_cpu, result = 1e9, 1e9, None
    for _ in range(3):
        wall, cpu = time.perf_counter(), _cpu()
        result = work()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, _cpu() - cpu)
    rate = f"{size_mb / best_cpu:8.0f} MB/s" if best_cpu > 0 else ""
    print(f"  {label:34s} {best_wall:7.3f} s wall {best_cpu:7.3f} s CPU {rate}", flush=True)
    return result


def _startup() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "one.txt"
        small.write_text("nothing here\n")
        argv = [KEYSENTRY, "scan", str(small), "--format", "json", "--output", str(small) + ".j"]
        best_wall, best_cpu = 1e9, 1e9
        for _ in range(5):
            wall = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
            _, _, usage = os.wait4(proc.pid, 0)
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, usage.ru_utime + usage.ru_stime)
    print(
        f"  {'start-up (scan of a one-line file)':34s} {best_wall:7.3f} s wall"
        f" {best_cpu:7.3f} s CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=jstree.WORK)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-decode", action="store_true", help="profile --no-decode")
    args = parser.parse_args()
    tree = jstree.build(args.work)
    jstree.plant_keys(tree)
    facts = jstree.facts(tree)
    mb = facts.bytes / 1e6
    config = Config(decode=not args.no_decode)
    print(
        f"tree: {tree}: {facts.files} files, {mb:.1f} MB; load average"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("stage (best of 3, one process unless said)")
    _startup()
    # the scans first: a fork copies this process, and the bytes read below would weigh on it
    _timed("scan, 1 process (scan_paths)", lambda: scan_paths([str(tree)], config, jobs=1), mb)
    _timed("scan, 2 processes (scan_paths)", lambda: scan_paths([str(tree)], config, jobs=2), mb)
    entries = _timed(
        "walk (enumerate files)", lambda: list(file_entries([str(tree)], config, Report())), mb
    )
    assert isinstance(entries, list)

    def read_all() -> list[bytes]:
        datas = []
        for entry in entries:
            with open(entry.fs_path, "rb", buffering=0) as handle:
                datas.append(handle.read())
        return datas

    datas = _timed("read (open + read, no scan)", read_all, mb)
    assert isinstance(datas, list)
    _timed("key pass (find_candidates)", lambda: [find_candidates(d) for d in datas], mb)
    matcher = decoders._MATCHER
    _timed(
        "trigger pass (needles alone)",
        lambda: [matcher.find_matches_as_indexes(d) for d in datas],
        mb,
    )
    _timed("decoders (find_encoded)", lambda: [decoders.find_encoded(d) for d in datas], mb)

    hits: Counter[str] = Counter()
    for data in datas:
        for index, _, _ in matcher.find_matches_as_indexes(data):
            hits[decoders.TRIGGERS[index].decode("latin-1").encode("unicode_escape").decode()] += 1
    print("trigger hits on this tree:", ", ".join(f"{n} {c}" for n, c in hits.most_common()))
    datas.clear()

    profile = cProfile.Profile()
    profile.enable()
    scan_paths([str(tree)], config, jobs=1)
    profile.disable()
    print(f"cProfile of the one-process scan, top {args.top} by own time:")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
