"""Organisation benchmark: ``keysentry org`` vs a shell loop of ``keysentry history`` vs kingfisher.

Builds (once, cached under bench/.work/org/) 200 generated repositories with
``git fast-import`` (each 30 commits over 40 files of Python-like text, about 0.5 MB of
objects; a third hold one of 20 keys shared across repositories, in a file, a removed
file or a commit message; every fifth is bare) plus a copy (``git clone --mirror``) of a
real project's history: pallets/click (5,100 commits, 33 MB pack) when its mirror is on
this machine (/work/.mirror/pallets+click/repo, or --real PATH), else this repository's
own history. One more key is planted in the copy on a side branch. Then, side by side
in one run:

- ``keysentry org --discover DIR --format json`` on its default LocalCluster (one worker
  process per core);
- a shell loop: ``for r in ...; do keysentry history "$r" --format json; done``;
- ``kingfisher scan DIR --git-history full -n --no-update-check --rule
  betterleaks.deepseek-api-key --format json``.

Each tool must find every planted key (a timing of a tool that missed keys means
nothing). keysentry org's own timing line splits its wall time into starting the
cluster, scheduling (wall time the workers were not auditing) and auditing, and gives
the throughput per worker, so a reader can size a cluster. The machine may be shared:
the load average is printed with the figures. Usage::

    .venv/bin/python bench/org_bench.py [--repos 200] [--rounds 1] [--real PATH]
        [--only org,kingfisher]   # (the loop alone takes a minute)
        [--work DIR]              # the cached inputs elsewhere (read only)
        [--other-src DIR]         # another checkout's src/ timed beside, as "org (other)"

keysentry's modules are byte-compiled first (measure.compile_bytecode), as an installed
copy has them. Each round prints org's wall time over kingfisher's in that round, so a
reader sees how steady the ratio is, not only the medians.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import KINGFISHER_DEEPSEEK, Run, compile_bytecode, installed, measure

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "org"
ORG, OTHER, KINGFISHER_NAME = "keysentry org", "org (other)", "kingfisher"
KEYSENTRY = [sys.executable, "-m", "keysentry"]
KINGFISHER = installed("kingfisher")
REAL_MIRROR = Path("/work/.mirror/pallets+click/repo")
FILES, COMMITS, LINES = 40, 30, 120
SHARED_KEYS = 20
WORDS = ["alpha", "beta", "config", "client", "request", "handler", "session", "cache"]
_TIMING = re.compile(
    r"cluster ready in ([\d.]+) s, audits ([\d.]+) s \(([\d.]+) s of worker time.*?"
    r"([\d.]+) repositories/s and ([\d.]+) MB/s per worker"
)


def _data(text: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(text), text)


def generate(repo: Path, number: int, keys: list[str], rng: random.Random) -> str | None:
    """One repository through fast-import; the key it holds (or None)."""
    bare = number % 5 == 4
    subprocess.run(
        ["git", "init", "-q", "-b", "main", *(["--bare"] if bare else []), str(repo)], check=True
    )
    key = keys[number % SHARED_KEYS] if number % 3 == 0 else None
    plant = rng.randrange(COMMITS)
    out: list[bytes] = []
    files = [
        [f"    {rng.choice(WORDS)}_{i} = compute({rng.getrandbits(40)})" for i in range(LINES)]
        for _ in range(FILES)
    ]
    for i in range(COMMITS):
        out.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        out.append(b"committer Dev <dev@example.com> %d +0000\n" % (1_600_000_000 + i * 60))
        message = f"change {i}".encode()
        if key and number % 9 == 6 and i == plant:
            message += f"\n\nDEEPSEEK_API_KEY={key}".encode()
        out.append(_data(message))
        if i:
            out.append(b"from :%d\n" % i)
        for f in rng.sample(range(FILES), 3):
            lines = files[f]
            for _ in range(12):
                lines[rng.randrange(LINES)] = f"    {rng.choice(WORDS)} = {rng.getrandbits(40)}"
            out.append(b"M 100644 inline src/mod_%d.py\n" % f + _data("\n".join(lines).encode()))
        if key and number % 9 != 6 and i == plant:
            out.append(b"M 100644 inline config/settings.py\n")
            out.append(_data(f'DEEPSEEK_API_KEY = "{key}"'.encode()))
        if key and number % 9 == 3 and i == plant + 1:
            out.append(b"D config/settings.py\n")
    out.append(b"done\n")
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, input=b"".join(out), check=True
    )
    if not bare:
        subprocess.run(["git", "reset", "-q", "--hard"], cwd=repo, check=True)
    return key


def copy_real(source: Path, target: Path, key: str) -> None:
    """A mirror clone of a real project's history, with one key on a side branch."""
    subprocess.run(["git", "clone", "-q", "--mirror", str(source), str(target)], check=True)
    head = subprocess.run(
        ["git", "symbolic-ref", "HEAD"], cwd=target, capture_output=True, text=True, check=True
    ).stdout.strip()
    stream = (
        b"commit refs/heads/keysentry-bench\n"
        b"committer Bench <bench@example.com> 1700000000 +0000\n"
        + _data(b"bench: a planted key")
        + f"from {head}^0\n".encode()
        + b"M 100644 inline bench/settings.py\n"
        + _data(f'DEEPSEEK_API_KEY = "{key}"'.encode())
        + b"done\n"
    )
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"], cwd=target, input=stream, check=True
    )


def build(count: int, real: Path, work: Path) -> tuple[Path, set[str], list[Path], str]:
    """The directory of repositories, the planted keys, the repositories, and the real one."""
    manifest = work / f"manifest-{count}.json"
    root = work / f"repos-{count}"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        return root, set(data["keys"]), [Path(p) for p in data["repos"]], data["real"]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(20261201)
    keys = ["sk-" + rng.randbytes(16).hex() for _ in range(SHARED_KEYS + 1)]
    planted: set[str] = set()
    repos = []
    for number in range(count):
        repo = (
            root
            / f"team-{number % 7}"
            / (f"svc-{number:03d}" + (".git" if number % 5 == 4 else ""))
        )
        repo.parent.mkdir(exist_ok=True)
        if found := generate(repo, number, keys, rng):
            planted.add(found)
        repos.append(repo)
    real_copy = root / "real" / f"{real.parent.name if real.name == 'repo' else real.name}.git"
    real_copy.parent.mkdir()
    copy_real(real, real_copy, keys[-1])
    planted.add(keys[-1])
    repos.append(real_copy)
    manifest.write_text(
        json.dumps({"keys": sorted(planted), "repos": [str(r) for r in repos], "real": str(real)})
    )
    return root, planted, repos, str(real)


def found_in(path: Path, keys: set[str]) -> set[str]:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return {k for k in keys if k in text}


def fingerprints(path: Path) -> set[str]:
    try:
        return {f["fingerprint"] for f in json.loads(path.read_text())["findings"]}
    except (OSError, ValueError, KeyError):
        return set()


def org_command(root: Path, out: Path, src: Path | None = None) -> list[str]:
    """``keysentry org`` over the directory (from another checkout's src/ when given)."""
    run = ["env", f"PYTHONPATH={src}", *KEYSENTRY] if src is not None else KEYSENTRY
    return [*run, "org", "--discover", str(root), "--format", "json", "-o", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--real", type=Path, default=None, help="a real project's git dir")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated tools to run (of: org, loop, kingfisher); default: all",
    )
    parser.add_argument(
        "--work", type=Path, default=WORK, help="where the inputs are built (or were: read only)"
    )
    parser.add_argument(
        "--other-src",
        type=Path,
        help="another checkout's src/ timed beside as 'org (other)', e.g. before a change:"
        " git archive main src | tar -x -C /tmp/before (then /tmp/before/src)",
    )
    args = parser.parse_args()
    real = args.real or (REAL_MIRROR if REAL_MIRROR.exists() else HERE.parent / ".git")
    root, planted, repos, real_name = build(args.repos, real, args.work)
    from keysentry.model.key import fingerprint

    wanted = {fingerprint(k) for k in planted}
    with tempfile.TemporaryDirectory(prefix="org-bench-") as tmp:
        _bench(args, Path(tmp), root, planted, wanted, repos, real_name)


def _bench(
    args: argparse.Namespace,
    out: Path,
    root: Path,
    planted: set[str],
    wanted: set[str],
    repos: list[Path],
    real_name: str,
) -> None:
    from keysentry.model.key import fingerprint

    listing = " ".join(shlex.quote(str(r)) for r in repos)
    keysentry = " ".join(shlex.quote(a) for a in KEYSENTRY)
    loop = (
        f'i=0; for r in {listing}; do i=$((i+1)); {keysentry} history "$r" -q --format json'
        f" -o {out}/loop-$i.json || [ $? -eq 1 ]; done"
    )
    commands = {
        ORG: org_command(root, out / "org.json"),
        "history loop": ["bash", "-c", loop],
        KINGFISHER_NAME: [
            KINGFISHER,
            "scan",
            str(root),
            "--git-history",
            "full",
            *KINGFISHER_DEEPSEEK,
            "--format",
            "json",
            "--output",
            str(out / "kingfisher.json"),
        ],
    }
    short = {"org": ORG, "loop": "history loop", "kingfisher": KINGFISHER_NAME}
    if args.only:
        chosen = [short[name.strip()] for name in args.only.split(",")]
        commands = {name: commands[name] for name in chosen}
    if args.other_src is not None:
        compileall.compile_dir(str(args.other_src), quiet=1)  # as compile_bytecode() does
        commands[OTHER] = org_command(root, out / "other.json", args.other_src)
    print(
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        " (shared machine: figures are noisy)"
    )
    print(compile_bytecode())
    print(
        f"{len(repos)} repositories under {root} (the last: a mirror of {real_name}),"
        f" {len(planted)} planted keys"
    )
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    timing_lines: list[str] = []
    for round_ in range(args.rounds):
        order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
        for name in order:
            run = measure(commands[name])
            runs[name].append(run)
            if name == ORG:
                timing_lines += [ln for ln in run.stderr.splitlines() if "cluster ready" in ln]
        print(f"round {round_ + 1}: " + _round_line({n: r[-1] for n, r in runs.items()}))
    found = {
        ORG: fingerprints(out / "org.json"),
        OTHER: fingerprints(out / "other.json"),
        "history loop": set().union(*(fingerprints(p) for p in out.glob("loop-*.json"))),
        KINGFISHER_NAME: {fingerprint(k) for k in found_in(out / "kingfisher.json", planted)},
    }
    first = runs[next(iter(runs))]
    base = statistics.median(r.wall for r in runs.get(ORG, first))
    base_cpu = statistics.median(r.cpu for r in runs.get(ORG, first))
    print(
        f"\n{'tool':<14} {'wall s':>8} {'cpu s':>8} {'tree MB':>8} {'keys':>7} {'vs org':>7}"
        f" {'cpu vs org':>10}"
    )
    for name, measured in runs.items():
        wall = statistics.median(r.wall for r in measured)
        cpu = statistics.median(r.cpu for r in measured)
        rss = max(r.tree_rss_mb for r in measured)
        keys = f"{len(found[name] & wanted)}/{len(wanted)}"
        print(
            f"{name:<14} {wall:>8.2f} {cpu:>8.2f} {rss:>8.0f} {keys:>7} {wall / base:>6.2f}x"
            f" {cpu / base_cpu:>9.2f}x"
        )
        if measured[-1].returncode not in (0, 1, 200, 205):
            print(f"  {name} exited {measured[-1].returncode}: {measured[-1].stderr[-300:]}")
    if ORG in runs and KINGFISHER_NAME in runs:
        ratios = [o.wall / k.wall for o, k in zip(runs[ORG], runs[KINGFISHER_NAME], strict=True)]
        print(
            f"org / kingfisher wall, per round: {' '.join(f'{r:.2f}x' for r in ratios)}"
            f" (worst {max(ratios):.2f}x)"
        )
    for line in timing_lines:
        _print_split(line)
    try:
        outcomes = json.loads((out / "org.json").read_text())["repositories"]
        slowest = max(outcomes, key=lambda r: r.get("seconds", 0))
        print(
            f"slowest repository: {slowest['name']} {slowest['seconds']:.1f} s of worker time"
            f" (all {len(outcomes)}: {sum(r.get('seconds', 0) for r in outcomes):.1f} s)"
        )
    except (OSError, ValueError, KeyError):
        pass
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _round_line(last: dict[str, Run]) -> str:
    """One round's wall and CPU per tool, and org's wall over kingfisher's in it."""
    text = ", ".join(f"{name} {r.wall:.2f} s ({r.cpu:.2f} s CPU)" for name, r in last.items())
    if ORG in last and KINGFISHER_NAME in last:
        text += f"; org / kingfisher {last[ORG].wall / last[KINGFISHER_NAME].wall:.2f}x"
    return text


def _print_split(line: str) -> None:
    match = _TIMING.search(line)
    if match is None:
        return
    ready, audits, busy, rate, mbs = (float(g) for g in match.groups())
    workers = int(re.search(r"on (\d+) worker", line).group(1))  # type: ignore[union-attr]
    scheduling = max(audits - busy / workers, 0.0)
    print(
        f"\nkeysentry org split: {ready:.1f} s starting the LocalCluster, {audits:.1f} s"
        f" of audits on {workers} workers = {busy / workers:.1f} s auditing per worker +"
        f" {scheduling:.1f} s scheduling and waiting per worker; per worker {rate:.2f}"
        f" repositories/s and {mbs:.1f} MB/s of content scanned"
    )
    print(f"  {line.strip()}")


if __name__ == "__main__":
    main()
