"""Scan benchmark: keysentry scan vs betterleaks fs vs detect-secrets scan, side by side.

Builds (once, cached under bench/.work/) the 150+ MB tree of real JavaScript from
bench/jstree.py with its three planted keys, checks that every tool finds all
three, then times in one run:

- ``keysentry scan TREE --format json --output FILE``
- ``betterleaks fs --isolate-rule deepseek-api-key --silent --output FILE TREE``
- ``detect-secrets scan --all-files TREE`` (once: it takes minutes)

keysentry, betterleaks, kingfisher (its DeepSeek rule) and ripgrep (the same regex,
``rg --text``) take turns for ``--runs`` rounds after one warm-up round
(which also fills the page cache), and the median wall time is reported. Usage::

    /work/venv/bin/python bench/scan_bench.py [--runs 5] [--detect-secrets full|sample|skip]

Targets (issue 2 §8, issue 17): keysentry's wall time <= betterleaks's, <= 0.6x
kingfisher's, <= 2.5x ripgrep's, and >= 100x faster than detect-secrets, on 2 cores.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jstree
from measure import (
    BETTERLEAKS_DEEPSEEK,
    KEY_REGEX,
    KINGFISHER_DEEPSEEK,
    Run,
    compile_bytecode,
    installed,
    measure,
)

KEYSENTRY, BETTERLEAKS, DETECT_SECRETS, KINGFISHER, RIPGREP = (
    installed(n) for n in ("keysentry", "betterleaks", "detect-secrets", "kingfisher", "rg")
)
READ_FLOOR = Path(__file__).resolve().parent / "read_floor.py"


@dataclass(frozen=True)
class Tool:
    name: str
    argv: list[str]
    found: Callable[[], set[str]]  # sha256 of each key found, read from the tool's report
    ok_codes: tuple[int, ...]
    cwd: Path | None = None
    skips: str = ""  # planted files the tool skips by design (a glob), and why


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keysentry_tool(tree: Path, out: Path) -> Tool:
    def found() -> set[str]:
        report = json.loads(out.read_text())
        return {f["fingerprint"].removeprefix("sha256:") for f in report["findings"]}

    argv = [KEYSENTRY, "scan", str(tree), "--format", "json", "--output", str(out)]
    return Tool("keysentry", argv, found, (1,))


def other_keysentry_tool(src: Path, tree: Path, out: Path) -> Tool:
    """keysentry from another checkout's src/ (the same interpreter and dependencies)."""
    tool = keysentry_tool(tree, out)
    argv = ["env", f"PYTHONPATH={src}", sys.executable, "-m", "keysentry", *tool.argv[1:]]
    return Tool("keysentry (other)", argv, tool.found, tool.ok_codes)


def betterleaks_tool(tree: Path, out: Path) -> Tool:
    def found() -> set[str]:
        return {_sha256(f["match"]["value"]) for f in json.loads(out.read_text())["findings"]}

    argv = [
        BETTERLEAKS,
        "fs",
        *BETTERLEAKS_DEEPSEEK,
        "--silent",
        "--log-level",
        "error",
        "--output",
        str(out),
        str(tree),
    ]
    return Tool("betterleaks", argv, found, (1,))


def kingfisher_tool(tree: Path, out: Path, codes: tuple[int, ...] = (200,)) -> Tool:
    """kingfisher on the DeepSeek rule; ``codes``: the exits that count as a run (200:
    findings; an archive it cannot open exits 0 or 205 with none)."""

    def found() -> set[str]:
        return {_sha256(f["finding"]["snippet"]) for f in json.loads(out.read_text())["findings"]}

    argv = [
        KINGFISHER,
        "scan",
        str(tree),
        *KINGFISHER_DEEPSEEK,
        "--format",
        "json",
        "--output",
        str(out),
    ]
    return Tool("kingfisher", argv, found, codes)


def ripgrep_tool(tree: Path, out: Path) -> Tool:
    """The regex alone, no boundary or placeholder rules: the floor for reading the tree."""

    def found() -> set[str]:
        return {_sha256(line) for line in out.read_text().split()}

    argv = [
        "sh",
        "-c",
        'exec "$0" --no-ignore --hidden --text --only-matching --no-filename'
        ' --no-line-number "$1" "$2" > "$3"',
        RIPGREP,
        KEY_REGEX,
        str(tree),
        str(out),
    ]
    return Tool("ripgrep", argv, found, (0,))


def read_floor_tool(tree: Path) -> Tool:
    """Not a scanner: Python walking the tree and reading every file in two processes."""
    argv = [sys.executable, str(READ_FLOOR), str(tree), "--processes", "2"]
    return Tool("python read floor", argv, set, (0,))


def detect_secrets_tool(tree: Path, out: Path, keys: list[str]) -> Tool:
    # The baseline stores SHA-1 hashes of secrets; map the planted keys' back.
    by_sha1 = {hashlib.sha1(k.encode()).hexdigest(): _sha256(k) for k in keys}

    def found() -> set[str]:
        results = json.loads(out.read_text())["results"]
        hashes = {s["hashed_secret"] for secrets in results.values() for s in secrets}
        return {by_sha1[h] for h in hashes if h in by_sha1}

    # detect-secrets silently skips paths outside its working directory: run it from the parent.
    argv = [
        "sh",
        "-c",
        'exec "$0" scan --all-files "$1" > "$2"',
        DETECT_SECRETS,
        tree.name,
        str(out),
    ]
    return Tool(
        "detect-secrets",
        argv,
        found,
        (0,),
        cwd=tree.parent,
        skips="*.map: detect-secrets never scans .map files",
    )


def _run(tool: Tool) -> Run:
    run = measure(tool.argv, cwd=tool.cwd)
    if run.returncode not in tool.ok_codes:
        raise SystemExit(f"{tool.name} exited {run.returncode}:\n{run.stderr[-2000:]}")
    return run


def _check(tool: Tool, keys: list[str], tree: Path | None = None) -> None:
    """The tool found every planted key (but those in files it skips by design)."""
    note = ""
    if tool.skips and tree is not None:
        pattern, why = tool.skips.split(": ", 1)
        skipped = b"".join(p.read_bytes() for p in (tree / jstree.PLANTED).rglob(pattern))
        note = f" (and not the one(s) in {pattern}: {why})"
        keys = [k for k in keys if k.encode() not in skipped]
    wanted = {_sha256(k) for k in keys}
    missed = len(wanted - tool.found())
    print(f"  {tool.name}: found {len(wanted) - missed}/{len(wanted)} planted keys{note}")
    if missed:
        raise SystemExit(f"{tool.name} missed {missed} planted key(s); its timing means nothing")


def _sample(tree: Path, dest: Path, megabytes: float) -> Path:
    """Hard links to the planted files and to every n-th other file, about megabytes in all.

    Every n-th file in path order keeps the mix of the whole tree (minified
    bundles, source maps, plain modules), so the sample's speed stands for it.
    """
    if dest.exists():
        shutil.rmtree(dest)
    files = sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_file())
    total = sum((tree / rel).stat().st_size for rel in files)
    stride = max(1, round(total / (megabytes * 1e6)))
    for index, rel in enumerate(files):
        if index % stride == 0 or jstree.PLANTED in rel.parts:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(tree / rel, dest / rel)
    return dest


def _bytes_but_maps(tree: Path) -> int:
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and p.suffix != ".map")


def _row(name: str, runs: list[Run], note: str = "") -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    proc_rss = max(r.max_process_rss_mb for r in runs)
    tree_rss = max(r.tree_rss_mb for r in runs)
    return (
        f"{name:16s} {wall:9.2f} {cpu:8.2f} {proc_rss:12.0f} {tree_rss:10.0f} {len(runs):5d}"
        f"  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="timed rounds of keysentry and betterleaks (median; default 5)",
    )
    parser.add_argument(
        "--detect-secrets",
        choices=("full", "sample", "skip"),
        default="full",
        help="the whole tree once (default), a sample, extrapolated, or skip",
    )
    parser.add_argument(
        "--sample-mb",
        type=float,
        default=20.0,
        help="size of the detect-secrets sample (with --detect-secrets sample)",
    )
    parser.add_argument("--work", type=Path, default=jstree.WORK)
    parser.add_argument(
        "--other-src",
        type=Path,
        help="another checkout's src/ timed beside as 'keysentry (other)', e.g. before a"
        " change: git archive main src | tar -x -C /tmp/before (then /tmp/before/src)",
    )
    args = parser.parse_args()

    tree = jstree.build(args.work)
    keys = jstree.plant_keys(tree)
    facts = jstree.facts(tree)
    if facts.bytes < jstree.MIN_BYTES:
        raise SystemExit(f"{tree} holds only {facts.bytes / 1e6:.0f} MB")
    print(
        f"tree: {tree}: {facts.files} JavaScript files, {facts.bytes / 1e6:.1f} MB"
        f" ({_bytes_but_maps(tree) / 1e6:.1f} MB without .map files), {len(keys)} planted keys"
    )
    print(
        f"machine: {os.cpu_count()} cores, load average at start"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(compile_bytecode())

    with tempfile.TemporaryDirectory(prefix="scan-bench-", dir=args.work) as tmp:
        reports = Path(tmp)
        fast = [
            keysentry_tool(tree, reports / "keysentry.json"),
            betterleaks_tool(tree, reports / "betterleaks.json"),
            kingfisher_tool(tree, reports / "kingfisher.json"),
            ripgrep_tool(tree, reports / "ripgrep.txt"),
        ]
        if args.other_src is not None:
            compileall.compile_dir(str(args.other_src), quiet=1)
            fast.append(other_keysentry_tool(args.other_src, tree, reports / "other.json"))
        print("warm-up round (fills the page cache) and finding check:")
        for tool in fast:
            _run(tool)
            _check(tool, keys)
        fast.append(read_floor_tool(tree))  # finds nothing: timed, not checked
        timed: dict[str, list[Run]] = {tool.name: [] for tool in fast}
        for round_no in range(args.runs):  # each round in another order
            shift = round_no % len(fast)
            for tool in fast[shift:] + fast[:shift]:
                timed[tool.name].append(run := _run(tool))
                print(f"  round {round_no + 1}: {tool.name:12s} {run.wall:6.2f} s", flush=True)

        ds_runs: list[Run] = []
        ds_scale, ds_note = 1.0, "whole tree, 1 run"
        if args.detect_secrets != "skip":
            target = tree
            if args.detect_secrets == "sample":
                target = _sample(tree, args.work / "jstree-sample", args.sample_mb)
                # scaled by the bytes detect-secrets reads: it skips .map files
                ds_scale = _bytes_but_maps(tree) / _bytes_but_maps(target)
                ds_note = (
                    f"EXTRAPOLATED: ran on {jstree.facts(target).bytes / 1e6:.1f} MB,"
                    f" time x{ds_scale:.1f}"
                )
            ds = detect_secrets_tool(target, reports / "detect-secrets.json", keys)
            print("detect-secrets (one run; this takes minutes) ...", flush=True)
            ds_runs.append(_run(ds))
            _check(ds, keys, target)

    print()
    print(
        f"{'tool':16s} {'wall s':>9s} {'CPU s':>8s} {'max proc MB':>12s} {'tree MB':>10s}"
        f" {'runs':>5s}"
    )
    for name, runs in timed.items():
        print(_row(name, runs, "median"))
    ks = statistics.median(r.wall for r in timed["keysentry"])
    bl = statistics.median(r.wall for r in timed["betterleaks"])
    if ds_runs:
        scaled = [
            Run(
                r.wall * ds_scale,
                r.cpu * ds_scale,
                r.max_process_rss_mb,
                r.tree_rss_mb,
                r.returncode,
                "",
            )
            for r in ds_runs
        ]
        print(_row("detect-secrets", scaled, ds_note))
    print()
    kf = statistics.median(r.wall for r in timed["kingfisher"])
    rg = statistics.median(r.wall for r in timed["ripgrep"])
    print(
        f"keysentry / betterleaks wall    = {ks / bl:.2f}  (target <= 1.00)"
        f" {'met' if ks <= bl else 'NOT MET'}"
    )
    print(
        f"keysentry / kingfisher wall     = {ks / kf:.2f}  (target <= 0.60)"
        f" {'met' if ks <= 0.6 * kf else 'NOT MET'}"
    )
    print(
        f"keysentry / ripgrep wall        = {ks / rg:.2f}  (target <= 2.50)"
        f" {'met' if ks <= 2.5 * rg else 'NOT MET'}"
    )
    floor = statistics.median(r.wall for r in timed["python read floor"])
    print(
        f"python read floor / ripgrep     = {floor / rg:.2f}  (Python reading the tree in two"
        " processes, no scan)"
    )
    print(f"keysentry / python read floor   = {ks / floor:.2f}")
    print(
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        " (the machine is shared: other engineers' jobs run beside these timings)"
    )
    if ds_runs:
        ratio = ds_runs[0].wall * ds_scale / ks
        label = " (extrapolated)" if ds_scale != 1.0 else ""
        print(
            f"detect-secrets / keysentry wall = {ratio:.0f}x{label}  (target >= 100x)"
            f" {'met' if ratio >= 100 else 'NOT MET'}"
        )


if __name__ == "__main__":
    main()
