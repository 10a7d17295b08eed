"""Decoding benchmark: what decoders and archives cost, and keysentry vs betterleaks on a .tgz.

1. On the 150+ MB JavaScript tree of bench/jstree.py (three planted keys),
   ``keysentry scan TREE`` (decoding on, the default) against
   ``keysentry scan --no-decode TREE``, alternating, median of ``--runs``.
   Target (issue 4 §5): decoding costs at most 25% more wall time.
2. A .tgz of at least 200 MB (compressed) of that JavaScript, built once and cached
   under bench/.work/ (the tree, planted keys included, then copies of it without
   them until the archive is big enough): ``keysentry scan ARCHIVE`` against
   ``betterleaks fs --isolate-rule deepseek-api-key ARCHIVE``, both of which must
   find the planted keys inside it. Target: keysentry at least as fast.
3. A .tar.xz and a .tar.zst of the tree (issue 12 §4), cached the same way:
   keysentry, betterleaks and kingfisher (``kingfisher scan PATH -n --no-update-check
   --rule betterleaks.deepseek-api-key``) side by side; each row says how many planted
   keys the tool found inside (a peer that does not open the format finds none, and its
   time is then only what it costs to pass the file by).

Usage::

    .venv/bin/python bench/decode_bench.py [--runs 3] [--tgz-mb 200] [--skip-tgz]
        [--skip-xz-zst] [--baseline OTHER/src]

``--baseline`` times another checkout's keysentry (same interpreter) in the same rounds,
so that a change's cost is a ratio measured in one run.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import hashlib
import io
import json
import lzma
import os
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path

import jstree
from measure import Run, compile_bytecode
from scan_bench import (
    Tool,
    _check,
    _row,
    _run,
    betterleaks_tool,
    keysentry_tool,
    kingfisher_tool,
    other_keysentry_tool,
)


def _timed(tools: list, runs: int) -> dict[str, list[Run]]:
    timed: dict[str, list[Run]] = {}
    for round_no in range(runs):
        for name, tool in tools if round_no % 2 == 0 else tools[::-1]:
            run = _run(tool)
            timed.setdefault(name, []).append(run)
            print(f"  round {round_no + 1}: {name:22s} {run.wall:7.2f} s", flush=True)
    return timed


def _cpu(runs: dict[str, list[Run]], first: str, second: str) -> float:
    """Ratio of median CPU times: steadier than wall time on a shared machine."""
    return statistics.median(r.cpu for r in runs[first]) / statistics.median(
        r.cpu for r in runs[second]
    )


def build_compressed_tar(tree: Path, work: Path, kind: str) -> tuple[Path, list[str]]:
    """The tree (three keys planted) as one .tar.xz or .tar.zst, cached; the keys' sha256."""
    archive, stamp = work / f"jstree.tar.{kind}", work / f"jstree.tar.{kind}.keys"
    if archive.exists() and stamp.exists():
        return archive, json.loads(stamp.read_text())
    keys = jstree.plant_keys(tree)
    print(f"building {archive} (once) ...", file=sys.stderr, flush=True)
    partial = archive.with_suffix(".partial")
    with open(partial, "wb") as raw:
        if kind == "xz":
            packed: io.BufferedIOBase = lzma.LZMAFile(raw, "wb", preset=3)  # noqa: SIM115 (closed below)
        else:
            import zstandard

            packed = zstandard.ZstdCompressor(level=3).stream_writer(raw)
        with packed, tarfile.open(fileobj=packed, mode="w|") as tar:
            tar.add(tree, "package")
    partial.rename(archive)
    hashes = [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    stamp.write_text(json.dumps(hashes))
    return archive, hashes


def _found_inside(tool: Tool, hashes: list[str]) -> str:
    got = len(set(hashes) & tool.found())  # type: ignore[attr-defined]
    return f"{got}/{len(hashes)} keys"


def build_tgz(tree: Path, work: Path, min_bytes: int) -> tuple[Path, list[str]]:
    """The cached archive and the sha256 of the keys planted in it (the keys are not kept)."""
    archive, stamp = work / f"jstree-{min_bytes // 1_000_000}mb.tgz", work / "jstree.tgz.keys"
    if archive.exists() and stamp.exists():
        return archive, json.loads(stamp.read_text())
    keys = jstree.plant_keys(tree)
    print(f"building {archive} (once; this takes a few minutes) ...", file=sys.stderr, flush=True)
    partial = archive.with_suffix(".partial")
    with (
        open(partial, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        copy = 0
        while copy == 0 or raw.tell() < min_bytes:
            for folder, dirs, names in os.walk(tree):
                dirs.sort()
                rel = Path(folder).relative_to(tree)
                if copy and jstree.PLANTED in rel.parts:
                    continue
                for name in sorted(names):
                    tar.add(Path(folder) / name, f"package/copy{copy}/{rel / name}")
            copy += 1
    partial.rename(archive)
    hashes = [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    stamp.write_text(json.dumps(hashes))
    return archive, hashes


def _check_hashes(tool: object, hashes: list[str]) -> None:
    missed = len(set(hashes) - tool.found())  # type: ignore[attr-defined]
    name = tool.name  # type: ignore[attr-defined]
    print(f"  {name}: found {len(hashes) - missed}/{len(hashes)} planted keys")
    if missed:
        raise SystemExit(f"{name} missed {missed} planted key(s); its timing means nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (median; default 3)")
    parser.add_argument("--tgz-mb", type=int, default=200, help="archive size, compressed MB")
    parser.add_argument("--skip-tgz", action="store_true", help="no .tgz comparison")
    parser.add_argument("--skip-xz-zst", action="store_true", help="no .tar.xz/.tar.zst part")
    parser.add_argument("--work", type=Path, default=jstree.WORK)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's src/ (e.g. `git archive main src | tar -x -C DIR`): its"
        " keysentry, decoding on and off, timed in the same rounds as this one",
    )
    args = parser.parse_args()

    tree = jstree.build(args.work)
    facts = jstree.facts(tree)
    print(
        f"machine: {os.cpu_count()} cores, load average at start"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(compile_bytecode())
    with tempfile.TemporaryDirectory(prefix="decode-bench-") as tmp:  # reports only
        reports = Path(tmp)
        keys = jstree.plant_keys(tree)
        print(f"1. tree {tree}: {facts.files} files, {facts.bytes / 1e6:.1f} MB")
        on = keysentry_tool(tree, reports / "on.json")
        off = keysentry_tool(tree, reports / "off.json")
        off.argv.append("--no-decode")
        tree_tools = [("keysentry", on), ("keysentry --no-decode", off)]
        if args.baseline:
            compileall.compile_dir(args.baseline / "keysentry", quiet=1)  # as compile_bytecode()
            base_on = other_keysentry_tool(args.baseline, tree, reports / "base-on.json")
            base_off = other_keysentry_tool(args.baseline, tree, reports / "base-off.json")
            base_off.argv.append("--no-decode")
            tree_tools += [("baseline", base_on), ("baseline --no-decode", base_off)]
        for _, tool in tree_tools:
            _run(tool)
            _check(tool, keys)
        tree_runs = _timed(tree_tools, args.runs)

        tgz_runs: dict[str, list[Run]] = {}
        if not args.skip_tgz:
            archive, hashes = build_tgz(tree, args.work, args.tgz_mb * 1_000_000)
            size = archive.stat().st_size
            print(f"2. archive {archive}: {size / 1e6:.0f} MB compressed")
            ks = keysentry_tool(archive, reports / "tgz-keysentry.json")
            bl = betterleaks_tool(archive, reports / "tgz-betterleaks.json")
            for tool in (ks, bl):
                _run(tool)
                _check_hashes(tool, hashes)
            tgz_runs = _timed([("keysentry", ks), ("betterleaks", bl)], args.runs)

        packed_runs: dict[str, tuple[str, dict[str, list[Run]], dict[str, str]]] = {}
        if not args.skip_xz_zst:
            for kind in ("xz", "zst"):
                archive, hashes = build_compressed_tar(tree, args.work, kind)
                print(f"3. archive {archive}: {archive.stat().st_size / 1e6:.0f} MB compressed")
                tools = [
                    keysentry_tool(archive, reports / f"{kind}-keysentry.json"),
                    betterleaks_tool(archive, reports / f"{kind}-betterleaks.json"),
                    kingfisher_tool(archive, reports / f"{kind}-kingfisher.json", (0, 200, 205)),
                ]
                seen = {}
                for tool in tools:
                    _run(tool)
                    seen[tool.name] = _found_inside(tool, hashes)
                    print(f"  {tool.name}: found {seen[tool.name]} inside", flush=True)
                runs = _timed([(t.name, t) for t in tools], args.runs)
                packed_runs[kind] = (archive.name, runs, seen)

    print()
    print(
        f"{'tool':16s} {'wall s':>9s} {'CPU s':>8s} {'max proc MB':>12s} {'tree MB':>10s}"
        f" {'runs':>5s}"
    )
    for name, runs in tree_runs.items():
        print(_row(name, runs, "JS tree, median"))
    for name, runs in tgz_runs.items():
        print(_row(name, runs, ".tgz, median"))
    for label, runs_by_tool, seen in packed_runs.values():
        for name, runs in runs_by_tool.items():
            print(_row(name, runs, f"{label}, median, found {seen[name]}"))
    print()
    on_wall = statistics.median(r.wall for r in tree_runs["keysentry"])
    off_wall = statistics.median(r.wall for r in tree_runs["keysentry --no-decode"])
    ratio = on_wall / off_wall
    print(
        f"decoding on / off wall (JS tree)    = {ratio:.2f}  (target <= 1.25)"
        f" {'met' if ratio <= 1.25 else 'NOT MET'}"
    )
    cpu = _cpu(tree_runs, "keysentry", "keysentry --no-decode")
    print(
        f"decoding on / off CPU (JS tree)     = {cpu:.2f}  (target <= 1.25)"
        f" {'met' if cpu <= 1.25 else 'NOT MET'}"
    )
    if args.baseline:
        print(
            f"baseline: decoding on / off CPU     = "
            f"{_cpu(tree_runs, 'baseline', 'baseline --no-decode'):.2f}; this / baseline CPU:"
            f" on {_cpu(tree_runs, 'keysentry', 'baseline'):.2f},"
            f" off {_cpu(tree_runs, 'keysentry --no-decode', 'baseline --no-decode'):.2f}"
        )
    if tgz_runs:
        ks_wall = statistics.median(r.wall for r in tgz_runs["keysentry"])
        bl_wall = statistics.median(r.wall for r in tgz_runs["betterleaks"])
        print(
            f"keysentry / betterleaks wall (.tgz) = {ks_wall / bl_wall:.2f}  (target <= 1.00)"
            f" {'met' if ks_wall <= bl_wall else 'NOT MET'}"
        )
        cpu = _cpu(tgz_runs, "keysentry", "betterleaks")
        print(f"keysentry / betterleaks CPU (.tgz)  = {cpu:.2f}")
    for label, runs_by_tool, _ in packed_runs.values():
        ks_wall = statistics.median(r.wall for r in runs_by_tool["keysentry"])
        for peer in ("betterleaks", "kingfisher"):
            peer_wall = statistics.median(r.wall for r in runs_by_tool[peer])
            print(f"keysentry / {peer} wall ({label}) = {ks_wall / peer_wall:.2f}")


if __name__ == "__main__":
    main()
