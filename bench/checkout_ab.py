"""Two checkouts of keysentry side by side: did a change (a refactor) make it slower?

    python bench/checkout_ab.py --old /path/to/old-venv/bin/python [--rounds 7] [--commits 2000]

Runs the same three workloads as bench/scan_bench.py, bench/staged_bench.py and
bench/history_bench.py (the JavaScript tree, the staged commit of 20 files x 400
lines, a fast-import history) with the checkout installed in ``--old``'s environment
and with this one (``sys.executable``), alternating old/new in every round so that
machine load hits both alike, and prints medians and new/old ratios. It also counts
the modules ``keysentry hook`` imports in each (a figure the load cannot move) and the
median of ``python -X importtime`` totals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import history_bench
import jstree
import staged_bench
from measure import measure

HOOK_MODULES = (
    "import runpy, sys; sys.argv = ['keysentry', 'hook'];"
    "\ntry: runpy.run_module('keysentry', run_name='__main__')"
    "\nexcept SystemExit: pass"
    "\nprint(len(sys.modules))"
)


def import_total_us(python: str, cwd: Path) -> int:
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "keysentry", "hook"],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip
    total = 0
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if not name.startswith("  ") and cumulative.strip().isdigit():
                total += int(cumulative)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="python of the old checkout's environment")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--commits", type=int, default=2000)
    args = parser.parse_args()
    new = sys.executable
    print(f"load average at start: {os.getloadavg()}")
    tree = jstree.build()
    history_repo, _ = history_bench.ensure_repo(args.commits)
    with tempfile.TemporaryDirectory() as scratch:
        staged_repo, _ = staged_bench.build_repo(Path(scratch))
        out = Path(scratch) / "out.json"
        workloads = {
            "scan (JS tree)": (["scan", str(tree), "--format", "json", "-o", str(out)], None),
            "hook (staged commit)": (["hook"], staged_repo),
            f"history ({args.commits} commits)": (
                ["history", str(history_repo), "--format", "json", "-o", str(out)], None),
        }  # fmt: skip
        times: dict[tuple[str, str], list[float]] = {}
        for name, (argv, cwd) in workloads.items():
            for python in (args.old, new):  # warm-up: page cache, and a check it runs
                run = measure([python, "-m", "keysentry", *argv], cwd)
                if run.returncode not in (0, 1):
                    raise SystemExit(f"{python} {name}: exit {run.returncode}\n{run.stderr}")
            for index in range(args.rounds):
                order = (args.old, new) if index % 2 == 0 else (new, args.old)
                for python in order:
                    run = measure([python, "-m", "keysentry", *argv], cwd)
                    times.setdefault((name, python), []).append(run.wall)
        modules = {
            p: subprocess.run([p, "-c", HOOK_MODULES], cwd=staged_repo, capture_output=True,
                              text=True, check=False).stdout.strip().splitlines()[-1]
            for p in (args.old, new)
        }  # fmt: skip
        imports: dict[str, list[int]] = {args.old: [], new: []}
        for index in range(args.rounds * 2):
            for python in (args.old, new) if index % 2 == 0 else (new, args.old):
                imports[python].append(import_total_us(python, staged_repo))
    print(f"\n{'workload':<28} {'old (median)':>13} {'new (median)':>13} {'new/old':>8}")
    for name in workloads:
        old_t = statistics.median(times[(name, args.old)])
        new_t = statistics.median(times[(name, new)])
        print(f"{name:<28} {old_t:>12.3f}s {new_t:>12.3f}s {new_t / old_t:>8.2f}")
    old_i, new_i = (statistics.median(imports[p]) / 1000 for p in (args.old, new))
    print(f"{'hook import time (-X importtime)':<28} {old_i:>11.1f}ms {new_i:>11.1f}ms"
          f" {new_i / old_i:>8.2f}")
    print(f"{'modules the hook imports':<28} {modules[args.old]:>13} {modules[new]:>13}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
