"""Pre-commit latency: keysentry on staged content beside betterleaks and detect-secrets.

A temporary repository stages 20 Python files of 400 lines each (real code: the
first 400 lines of standard-library modules), two of them holding a key built at
run time. Each round runs every tool once, in a rotating order, on the same
staged state; the report gives each tool's median wall time and its ratio to
``betterleaks git --staged``.

    /work/venv/bin/python bench/staged_bench.py --runs 15
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

FILES = 20
LINES = 400
BIN = Path(sys.executable).parent
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "NO_COLOR": "1",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def stdlib_sources() -> list[str]:
    """Real Python code: the first LINES lines of FILES standard-library modules."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chosen = []
    for path in sorted(stdlib.glob("*.py")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        if len(lines) >= LINES:
            chosen.append("".join(lines[:LINES]))
        if len(chosen) == FILES:
            return chosen
    raise SystemExit("not enough standard-library modules of 400 lines")


def build_repo(root: Path) -> tuple[Path, list[str]]:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# bench\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    names = []
    for i, code in enumerate(stdlib_sources()):
        lines = code.splitlines(keepends=True)
        if i in (3, 14):  # the planted keys, built now so no key lives in this file
            key = "sk-" + secrets.token_hex(16)
            lines[LINES // 2] = f'DEEPSEEK_API_KEY = "{key}"\n'
        name = f"app/module_{i:02d}.py"
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text("".join(lines))
        names.append(name)
    git(repo, "add", "app")
    return repo, names


def commands(names: list[str]) -> dict[str, list[str]]:
    betterleaks = str(BIN / "betterleaks")
    return {
        "keysentry hook": [sys.executable, "-m", "keysentry", "hook"],
        "keysentry scan --staged": [sys.executable, "-m", "keysentry", "scan", "--staged"],
        "betterleaks git --staged": [betterleaks, "git", "--staged", "--no-banner", "."],
        "betterleaks git --staged --isolate-rule deepseek-api-key": [
            betterleaks, "git", "--staged", "--no-banner", "--isolate-rule",
            "deepseek-api-key", ".",
        ],
        "detect-secrets-hook": [str(BIN / "detect-secrets-hook"), *names],
    }


# Not scanners: what any Python hook pays to start, and what importing GitPython
# would add (why the staged path runs git directly).
REFERENCES = {
    "(python -c pass)": [sys.executable, "-c", "pass"],
    "(python -c 'import git')": [sys.executable, "-c", "import git"],
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall time, CPU time (the process and everything it waited for, such as git), exit code.

    CPU time is the steadier figure on a machine shared with other work.
    """
    cpu, start = _child_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=GIT_ENV, capture_output=True, check=False)
    return time.perf_counter() - start, _child_cpu() - cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="keysentry-staged-bench-"))
    try:
        repo, names = build_repo(root)
        cmds = commands(names)
        times: dict[str, list[float]] = {name: [] for name in [*cmds, *REFERENCES]}
        cpu: dict[str, list[float]] = {name: [] for name in times}
        for name, cmd in cmds.items():  # warm the page cache; every tool must find the keys
            _, _, code = timed(cmd, repo)
            if code != 1:
                raise SystemExit(f"{name} exited {code}, expected 1 (keys found)")
        cmds.update(REFERENCES)
        order = list(cmds)
        for run in range(args.runs):
            shift = run % len(order)
            for name in order[shift:] + order[:shift]:
                wall, used, _ = timed(cmds[name], repo)
                times[name].append(wall)
                cpu[name].append(used)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = statistics.median(times["betterleaks git --staged"])
    base_cpu = statistics.median(cpu["betterleaks git --staged"])
    print(f"{FILES} staged Python files x {LINES} lines, 2 keys; median of {args.runs} runs;")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'command':58} {'wall':>7} {'ratio':>6} {'cpu':>7} {'ratio':>6}")
    for name, values in times.items():
        wall, used = statistics.median(values), statistics.median(cpu[name])
        print(
            f"{name:58} {wall * 1000:5.0f}ms {wall / base:5.2f}x"
            f" {used * 1000:5.0f}ms {used / base_cpu:5.2f}x"
        )
    print("ratios are to `betterleaks git --staged`; cpu = user + system time of the process tree")

if __name__ == "__main__":
    main()
