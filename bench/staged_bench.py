"""Pre-commit latency: keysentry on staged content beside betterleaks and detect-secrets.

Two temporary repositories each stage 20 Python files of 400 lines (real code: the
first 400 lines of standard-library modules): in the "blocked" one two of the files
hold a key built at run time, in the "clean" one none does. Each round runs every
tool once, in a rotating order, on the same staged state; the report gives each
tool's median wall and CPU time and their ratios to ``betterleaks git --staged``.

keysentry's modules are byte-compiled first (``compileall``), as ``pip install`` and
the pre-commit framework's install leave them: with PYTHONDONTWRITEBYTECODE set and
no ``__pycache__``, every run would compile the sources again (about 80 ms here),
which no installed hook pays.

    .venv/bin/python bench/staged_bench.py --runs 15 [--importtime]
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

from measure import BETTERLEAKS_DEEPSEEK, installed

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


def build_repo(root: Path, keys: bool = True) -> tuple[Path, list[str]]:
    repo = root / ("repo" if keys else "clean")
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# bench\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    names = []
    for i, code in enumerate(stdlib_sources()):
        lines = code.splitlines(keepends=True)
        if keys and i in (3, 14):  # the planted keys, built now so no key lives in this file
            key = "sk-" + secrets.token_hex(16)
            lines[LINES // 2] = f'DEEPSEEK_API_KEY = "{key}"\n'
        name = f"app/module_{i:02d}.py"
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text("".join(lines))
        names.append(name)
    git(repo, "add", "app")
    return repo, names


def commands(names: list[str]) -> dict[str, list[str]]:
    betterleaks = installed("betterleaks")
    return {
        "keysentry hook": [sys.executable, "-m", "keysentry", "hook"],
        # what the pre-commit framework runs: the staged files' names as arguments
        "keysentry hook FILES": [sys.executable, "-m", "keysentry", "hook", *names],
        "keysentry scan --staged": [sys.executable, "-m", "keysentry", "scan", "--staged"],
        "betterleaks git --staged": [betterleaks, "git", "--staged", "--no-banner", "."],
        "betterleaks git --staged --isolate-rule deepseek-api-key": [
            betterleaks,
            "git",
            "--staged",
            "--no-banner",
            *BETTERLEAKS_DEEPSEEK,
            ".",
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


def compile_keysentry() -> None:
    """What an installed hook has: every module byte-compiled (pip and pre-commit's
    install do it), so no run pays for compiling the sources (PYTHONDONTWRITEBYTECODE)."""
    import keysentry

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(keysentry.__file__).parent)],
        check=True,
    )


def measure(
    repo: Path, cmds: dict[str, list[str]], runs: int, expect: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every command `runs` times in rotating order: wall and CPU times by command."""
    times: dict[str, list[float]] = {name: [] for name in [*cmds, *REFERENCES]}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    for name, cmd in cmds.items():  # warm the page cache; every tool must agree on the state
        _, _, code = timed(cmd, repo)
        if code != expect and not name.startswith("detect-secrets"):  # it flags stdlib code
            raise SystemExit(f"{name} exited {code}, expected {expect}")
    everything = {**cmds, **REFERENCES}
    order = list(everything)
    for run in range(runs):
        shift = run % len(order)
        for name in order[shift:] + order[:shift]:
            wall, used, _ = timed(everything[name], repo)
            times[name].append(wall)
            cpu[name].append(used)
    return times, cpu


def report(title: str, times: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    base = statistics.median(times["betterleaks git --staged"])
    base_cpu = statistics.median(cpu["betterleaks git --staged"])
    print(f"\n{title}")
    print(f"{'command':58} {'wall':>7} {'ratio':>6} {'cpu':>7} {'ratio':>6}")
    for name, values in times.items():
        wall, used = statistics.median(values), statistics.median(cpu[name])
        print(
            f"{name:58} {wall * 1000:5.0f}ms {wall / base:5.2f}x"
            f" {used * 1000:5.0f}ms {used / base_cpu:5.2f}x"
        )


def import_breakdown(repo: Path, runs: int) -> None:
    """`python -X importtime` of the hook: the fastest of `runs` runs for each module,
    grouped by top-level package (what start-up costs, and whose it is)."""
    best: dict[str, int] = {}
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "keysentry", "hook"],
            cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=False,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line[13:]:
                continue
            own, total, name = line[12:].split("|")
            if not own.strip().isdigit():
                continue
            name = name.rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            key = name.strip()
            value = (int(own), depth)
            best[key] = min(best.get(key, value), value)
    groups: dict[str, float] = {}
    for name, (own, _) in best.items():
        group = (
            ".".join(name.split(".")[:2]) if name.startswith("keysentry") else name.split(".")[0]
        )
        groups[group] = groups.get(group, 0.0) + own / 1000
    total = sum(groups.values())
    print(f"\nimport time of `keysentry hook` (blocked commit; fastest of {runs}): {total:.1f} ms")
    for group, ms in sorted(groups.items(), key=lambda item: -item[1])[:15]:
        print(f"  {group:40} {ms:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime", action="store_true", help="also break start-up down")
    args = parser.parse_args()
    compile_keysentry()
    root = Path(tempfile.mkdtemp(prefix="keysentry-staged-bench-"))
    try:
        repo, names = build_repo(root)
        clean, clean_names = build_repo(root, keys=False)
        blocked = measure(repo, commands(names), args.runs, expect=1)
        accepted = measure(clean, commands(clean_names), args.runs, expect=0)
        if args.importtime:
            import_breakdown(repo, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{FILES} staged Python files x {LINES} lines; median of {args.runs} runs;")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    report("blocked commit (2 keys staged):", *blocked)
    report("clean commit (no key staged):", *accepted)
    print("ratios are to `betterleaks git --staged`; cpu = user + system time of the process tree")


if __name__ == "__main__":
    main()
