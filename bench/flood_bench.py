"""Decoder-trigger floods (issue 17 §1): the pre-commit hook on 1 MB of each trigger.

For each encoded-``s`` needle, a git repository with one staged file holding 1 MB of it
(and a control key) is checked by ``keysentry hook`` as the hook runs it; wall time is
the median of ``--runs``, and CPU (user + system) beside it. Target: under one second
for every trigger. The control key
must be reported each time, or the timing means nothing.

Usage::

    .venv/bin/python bench/flood_bench.py [--runs 3] [--megabytes 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keysentry.decoders import DEEP_TRIGGERS
from keysentry.decoders import TRIGGERS as TRIGGERS_OF_DECODERS

TRIGGERS = [
    *TRIGGERS_OF_DECODERS,
    # variations: wrapped, after a valid prefix (each passes the first cheap checks)
    b"c2st\n",
    b"H4sIAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
    b"\\x73\\x6b\\x2d\\x30",
    b"sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ== ",
    # the deep-base64 passes' needles, glued into one run and apart
    *DEEP_TRIGGERS,
    *(start + b" " for start in DEEP_TRIGGERS[-3:]),
]
KEYSENTRY = [sys.executable, "-m", "keysentry"]


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _hook_time(repo: Path, control: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``keysentry hook``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [*KEYSENTRY, "hook"], cwd=repo, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if result.returncode != 1 or control[:7] not in result.stdout + result.stderr:
        raise SystemExit(f"the hook missed the control key:\n{result.stdout}{result.stderr}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = parser.parse_args()
    size = int(args.megabytes * (1 << 20))
    print(
        f"machine: {os.cpu_count()} cores, load average at start"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared: other sessions run too)"
    )
    worst_wall = worst_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="flood-bench-") as tmp:
        repo = Path(tmp)
        _git(repo, "init", "-q", "-b", "main")
        for trigger in TRIGGERS:
            control = "sk-" + secrets.token_hex(16)
            body = trigger * (size // len(trigger))
            (repo / "flood.js").write_bytes(body + f"\nconst k = '{control}';\n".encode())
            _git(repo, "add", "flood.js")
            times = [_hook_time(repo, control) for _ in range(args.runs)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            worst_wall, worst_cpu = max(worst_wall, wall), max(worst_cpu, cpu)
            print(f"  {trigger!r:42s} {wall:6.2f} s wall {cpu:6.2f} s CPU", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    cpu_met, wall_met = worst_cpu < 1, worst_wall < 1
    print(
        f"worst case for {args.megabytes:g} MB: {worst_wall:.2f} s wall, {worst_cpu:.2f} s CPU"
        " (target < 1 s; on a loaded machine wall is CPU stretched by the wait for a core):"
        f" CPU {'met' if cpu_met else 'NOT MET'}, wall {'met' if wall_met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
