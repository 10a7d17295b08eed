"""Project-scan benchmark: `keysentry scan .` on an app with a virtualenv and node_modules.

The quick start's case (issue 15): a small app whose folder also holds the virtualenv
the user just made and the npm dependencies. Builds (under a temporary folder) an app
with two planted keys (one in src/, one in a dist/ bundle), a real ``python -m venv``
with pip, and a copy of tests/js/node_modules; then times, alternating for ``--runs``
rounds after one warm-up round:

- ``keysentry scan TREE`` (default: dependency folders skipped)
- ``keysentry scan TREE --include-deps`` (every file, as before issue 15)
- ``kingfisher scan TREE -n --no-update-check --rule betterleaks.deepseek-api-key``
- ``betterleaks fs --isolate-rule deepseek-api-key TREE``
- ``rg -c 'sk-[0-9a-f]{32}' TREE`` (a floor: one regex, no decoding)

and prints the files each keysentry run scanned, the median wall times, the ratios to
the default scan and the load average (the machine is shared: ratios say more than
seconds). Usage::

    .venv/bin/python bench/project_scan_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import BETTERLEAKS_DEEPSEEK, KINGFISHER_DEEPSEEK, installed, measure

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str | None:
    """The tool's command (measure.installed), or None where it is not installed."""
    found = installed(name)
    return found if os.path.isabs(found) else None


def build(tree: Path) -> list[str]:
    keys = ["sk-" + secrets.token_hex(16) for _ in range(2)]
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "config.py").write_text(f"DEEPSEEK_API_KEY = '{keys[0]}'\n")
    (tree / "dist" / "assets").mkdir(parents=True)
    (tree / "dist" / "assets" / "main.js").write_text(
        f'fetch("https://api.deepseek.com",{{headers:{{a:"{keys[1]}"}}}});\n'
    )
    subprocess.run([sys.executable, "-m", "venv", str(tree / ".venv")], check=True)
    shutil.copytree(ROOT / "tests" / "js" / "node_modules", tree / "node_modules", symlinks=True)
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    keysentry = _tool("keysentry") or "keysentry"
    with tempfile.TemporaryDirectory(prefix="keysentry-project-") as tmp:
        tree = Path(tmp) / "app"
        keys = build(tree)
        out = Path(tmp) / "report.json"
        commands: dict[str, list[str]] = {
            "keysentry scan (default)": [
                keysentry,
                "scan",
                str(tree),
                "-f",
                "json",
                "-o",
                str(out),
            ],
            "keysentry scan --include-deps": [
                keysentry,
                "scan",
                str(tree),
                "--include-deps",
                "-f",
                "json",
                "-o",
                str(out),
            ],
        }
        if kingfisher := _tool("kingfisher"):
            commands["kingfisher"] = [
                kingfisher,
                "scan",
                str(tree),
                *KINGFISHER_DEEPSEEK,
            ]
        if betterleaks := _tool("betterleaks"):
            commands["betterleaks"] = [
                betterleaks,
                "fs",
                *BETTERLEAKS_DEEPSEEK,
                "--silent",
                "--log-level",
                "error",
                str(tree),
            ]
        if rg := _tool("rg"):
            commands["ripgrep (floor)"] = [
                rg,
                "-c",
                "--no-ignore",
                "-uu",
                r"sk-[0-9a-f]{32}",
                str(tree),
            ]
        files = {}
        for name in ("keysentry scan (default)", "keysentry scan --include-deps"):
            subprocess.run(commands[name], check=False, capture_output=True)
            report = json.loads(out.read_text())
            found = {f["fingerprint"] for f in report["findings"]}
            assert len(found) >= len(keys), f"{name} missed a planted key"
            files[name] = (report["stats"]["files_scanned"], report["stats"].get("skipped_dirs", 0))
        walls: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm-up: page cache
            measure(argv)
        for _ in range(args.runs):
            for name, argv in commands.items():
                walls[name].append(measure(argv).wall)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
        " (a shared machine: compare ratios, not seconds)"
    )
    for name, (scanned, skipped) in files.items():
        print(f"{name}: {scanned:,} files scanned, {skipped} folder(s) skipped")
    base = statistics.median(walls["keysentry scan (default)"])
    for name, runs in walls.items():
        median = statistics.median(runs)
        print(f"{name:32} median {median:7.3f} s   x{median / base:5.2f} of the default scan")


if __name__ == "__main__":
    main()
