"""Push-check benchmark: keysentry pre-receive vs keysentry history --range vs peers.

Builds a server-side bare repository with ``git fast-import`` (a generated history
whose files are real code: 400 standard-library modules of this Python, each commit
editing five of them, one inserted line each). On top of a 200-commit base (``main``),
four pushes are prepared and left unreferenced in the store, as receive-pack's
quarantine would hold them:

- typical: 10 commits, 50 changed files, no key (the common case: accepted)
- typical+key: the same with one key in one file (rejected: attribution runs)
- large: 1,000 commits, 5,000 changed files, no key
- large+keys: the same with a key in a file and one in a commit message

and, from a real project's history (``--real-repo``, default the local mirror of
pallets/click; skipped when absent), a second server whose ``main`` is a commit of that
history and whose store holds the next ~1,000 commits, merges included, unreferenced:

- real-large: those commits pushed onto ``main`` (no key: accepted)

Each push is checked by, side by side and round by round in rotating order:

- ``keysentry pre-receive`` (stdin ``<old> <new> refs/heads/main``, in the bare repo)
- ``keysentry history --range OLD..NEW --format json``
- ``betterleaks git --pre-receive`` (betterleaks's own pre-receive mode, same stdin)
- ``kingfisher scan REPO --branch NEW --since-commit OLD``
- the floor: ``git rev-list --objects OLD..NEW | git cat-file --batch | wc -c``

and, end to end, a real ``git push`` of the typical push and of the real one from a
clone to the server with the keysentry hook installed and without any hook (the
hook's real cost inside ``git push``, quarantine included). Every tool must find
what it can of the planted keys. The machine is shared: the load average is printed
with the figures.

    .venv/bin/python bench/push_bench.py [--runs 5] [--real-repo PATH] [--real-commits 1000]
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
from dataclasses import dataclass
from pathlib import Path

from measure import BETTERLEAKS_DEEPSEEK, KINGFISHER_DEEPSEEK, installed
from staged_bench import GIT_ENV, compile_keysentry  # the same identity, isolated config

FILES = 400
EDITS_PER_COMMIT = 5
BASE_COMMITS = 200
REAL_REPO = Path("/work/.mirror/pallets+click/repo")  # a bare mirror of github.com/pallets/click


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, input=stdin, capture_output=True, check=True
    )
    return done.stdout.decode()


def sources() -> list[tuple[str, list[str]]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chosen = []
    for path in sorted(stdlib.rglob("*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        if 100 <= len(lines) <= 3000:
            chosen.append((str(path.relative_to(stdlib)), lines))
        if len(chosen) == FILES:
            return chosen
    raise SystemExit(f"fewer than {FILES} standard-library modules")


def new_key() -> str:
    while True:  # betterleaks drops values of low entropy; redraw those
        key = "sk-" + secrets.token_hex(16)
        if len(set(key[3:])) >= 12:
            return key


@dataclass
class Prepared:
    name: str
    old: str
    new: str
    commits: int
    keys: list[str]


class History:
    """A fast-import stream writer that edits the real files commit by commit."""

    def __init__(self) -> None:
        self.files = {name: list(lines) for name, lines in sources()}
        self.names = sorted(self.files)
        self.stream: list[bytes] = []
        self.mark = 0
        self.time = 1_600_000_000

    def commit(
        self, ref: str, message: str, n: int, parent: str | None, key_line: str = ""
    ) -> None:
        self.mark += 1
        self.time += 60
        out = [
            f"commit {ref}\nmark :{self.mark}\n"
            f"committer Bench <bench@example.com> {self.time} +0000\n".encode(),
            b"data %d\n%s\n" % (len(message.encode()), message.encode()),
        ]
        if parent:
            out.append(f"from {parent}\n".encode())
        touched = [self.names[(n * 7 + i * 13) % len(self.names)] for i in range(EDITS_PER_COMMIT)]
        if parent is None or n == 0:
            touched = self.names if self.mark == 1 else touched
        for index, name in enumerate(dict.fromkeys(touched)):
            lines = self.files[name]
            if self.mark > 1:
                where = (n * 31 + index) % len(lines)
                lines.insert(where, f"# revision {n}.{index}: adjust {name}\n")
            if key_line and index == 0:
                lines.insert(len(lines) // 2, key_line)
            body = "".join(lines).encode()
            out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(body), body))
        self.stream.extend(out)

    def run(self, repo: Path) -> None:
        subprocess.run(
            ["git", "fast-import", "--quiet", "--depth=50"],
            cwd=repo,
            input=b"".join(self.stream),
            env=GIT_ENV,
            check=True,
        )
        self.stream = []


def build(root: Path) -> tuple[Path, list[Prepared]]:
    bare = root / "server.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    history = History()
    for n in range(BASE_COMMITS):
        history.commit("refs/heads/main", f"base {n}\n", n, None if n == 0 else f":{history.mark}")
    history.run(bare)
    base = git(bare, "rev-parse", "main").strip()
    snapshot = {name: list(lines) for name, lines in history.files.items()}
    plans = [
        ("typical", 10, 0),
        ("typical+key", 10, 1),
        ("large", 1000, 0),
        ("large+keys", 1000, 2),
    ]
    prepared = []
    for name, commits, planted in plans:
        history.files = {n: list(lines) for n, lines in snapshot.items()}
        keys = [new_key() for _ in range(planted)]
        ref = f"refs/bench/{name}"
        for n in range(commits):
            key_line = f'DEEPSEEK_API_KEY = "{keys[0]}"\n' if keys and n == commits // 2 else ""
            message = f"change {n}\n"
            if len(keys) > 1 and n == commits // 3:
                message = f"change {n}\n\ntemporary DEEPSEEK_API_KEY={keys[1]}\n"
            parent = base if n == 0 else f":{history.mark}"
            history.commit(ref, message, 10_000 + n, parent, key_line)
        history.run(bare)
        new = git(bare, "rev-parse", ref).strip()
        git(bare, "update-ref", "-d", ref)  # unreferenced, as a quarantined push is
        prepared.append(Prepared(name, base, new, commits, keys))
    git(bare, "repack", "-adq", "--keep-unreachable")  # one pack, the pushes kept
    return bare, prepared


def build_real(root: Path, source: Path, commits: int) -> tuple[Path, Prepared]:
    """A server whose main is the commit about `commits` commits below the source's HEAD;
    the commits above it are in its store, unreferenced, as a quarantined push holds them."""
    tip = git(source, "rev-parse", "HEAD^{commit}").strip()
    chain = git(source, "rev-list", "--first-parent", tip).split()
    low, high = 0, len(chain) - 1  # the first-parent ancestor with `commits` commits above it

    def above(index: int) -> int:
        return int(git(source, "rev-list", "--count", f"{chain[index]}..{tip}"))

    while low < high:
        middle = (low + high) // 2
        if above(middle) < commits:
            low = middle + 1
        else:
            high = middle
    base = chain[low]
    bare = root / "real.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(bare, "fetch", "-q", "--no-tags", str(source), f"{tip}:refs/heads/pushed")
    git(bare, "update-ref", "refs/heads/main", base)
    git(bare, "update-ref", "-d", "refs/heads/pushed")
    name = f"real-large ({source.parent.name if source.name == 'repo' else source.name})"
    return bare, Prepared(name, base, tip, above(low), [])


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, stdin: bytes = b"") -> tuple[float, float, int, bytes]:
    cpu, start = _child_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=GIT_ENV, input=stdin, capture_output=True, check=False)
    return (
        time.perf_counter() - start,
        _child_cpu() - cpu,
        done.returncode,
        done.stdout + done.stderr,
    )


def commands(bare: Path, push: Prepared) -> dict[str, tuple[list[str], bytes]]:
    line = f"{push.old} {push.new} refs/heads/main\n".encode()
    floor = (
        f"git rev-list --objects --no-object-names {push.old}..{push.new}"
        " | git cat-file --batch | wc -c"
    )
    return {
        "keysentry pre-receive": (
            [
                sys.executable,
                "-m",
                "keysentry",
                "pre-receive",
                "--timeout",
                "120",
                "--log",
                os.devnull,
            ],
            line,
        ),
        "keysentry history --range": (
            [
                sys.executable,
                "-m",
                "keysentry",
                "history",
                ".",
                "--range",
                f"{push.old}..{push.new}",
                "--format",
                "json",
                "--quiet",
            ],
            b"",
        ),
        "betterleaks git --pre-receive": (
            [
                installed("betterleaks"),
                "git",
                "--pre-receive",
                "--no-banner",
                "--log-level",
                "error",
                *BETTERLEAKS_DEEPSEEK,
                ".",
            ],
            line,
        ),
        "kingfisher --since-commit": (
            [
                installed("kingfisher"),
                "scan",
                ".",
                "--branch",
                push.new,
                "--since-commit",
                push.old,
                *KINGFISHER_DEEPSEEK,
            ],
            b"",
        ),
        "(floor: rev-list | cat-file)": (["sh", "-c", floor], b""),
    }


def found(output: bytes, keys: list[str]) -> int:
    text = output.decode("utf-8", "replace")
    return sum(1 for key in keys if key[:7] in text or key in text)


def end_to_end(root: Path, bare: Path, push: Prepared, runs: int) -> dict[str, float]:
    """Real `git push` of one prepared push, from a clone, to the server with and without
    the keysentry hook; the server's ref is put back after each push."""
    client = root / f"client-{bare.name}"
    if not client.exists():
        git(root, "clone", "-q", "--bare", str(bare), str(client))
    git(client, "fetch", "-q", str(bare), f"{push.new}:refs/heads/incoming")
    hook = bare / "hooks" / "pre-receive"
    times: dict[str, list[float]] = {"git push (no hook)": [], "git push (keysentry hook)": []}
    for run in range(runs):
        for name in sorted(times, reverse=run % 2 == 1):
            if name.endswith("(keysentry hook)"):
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "keysentry",
                        "install-hook",
                        "--pre-receive",
                        "--force",
                        str(bare),
                    ],
                    check=True,
                    capture_output=True,
                )
            elif hook.exists():
                hook.unlink()
            git(bare, "update-ref", "refs/heads/main", push.old)
            wall, _, code, out = timed(
                ["git", "push", "-q", str(bare), "incoming:refs/heads/main"], client
            )
            if code != 0:
                raise SystemExit(f"{name} failed: {out.decode(errors='replace')}")
            times[name].append(wall)
    git(bare, "update-ref", "refs/heads/main", push.old)
    if hook.exists():
        hook.unlink()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--real-repo", type=Path, default=REAL_REPO, help="a real history")
    parser.add_argument("--real-commits", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        f" on {os.cpu_count()} cores (a shared machine: figures are noisy)"
    )
    compile_keysentry()
    root = Path(tempfile.mkdtemp(prefix="keysentry-push-bench-"))
    try:
        bare, pushes = build(root)
        servers = [(bare, push) for push in pushes]
        if args.real_repo.exists():
            servers.append(build_real(root, args.real_repo, args.real_commits))
        else:
            print(f"(no {args.real_repo}: the real-history push is skipped)")
        for bare, push in servers:
            cmds = commands(bare, push)
            walls: dict[str, list[float]] = {name: [] for name in cmds}
            cpus: dict[str, list[float]] = {name: [] for name in cmds}
            hits: dict[str, int] = {}
            for name, (cmd, stdin) in cmds.items():  # warm-up; what each tool finds
                _, _, code, out = timed(cmd, bare, stdin)
                hits[name] = found(out, push.keys)
                if name.startswith("keysentry") and code != (1 if push.keys else 0):
                    raise SystemExit(f"{name} exited {code} on {push.name}: {out[-2000:]!r}")
            order = list(cmds)
            for run in range(args.runs):
                shift = run % len(order)
                for name in order[shift:] + order[:shift]:
                    wall, cpu, _, _ = timed(*cmds[name][:1], bare, cmds[name][1])
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            print(f"\n{push.name}: {push.commits} commits, {len(push.keys)} planted key(s)")
            print(f"  {'command':32} {'wall s':>8} {'cpu s':>8} {'x pre-receive':>14} found")
            reference = statistics.median(walls["keysentry pre-receive"])
            for name in cmds:
                wall = statistics.median(walls[name])
                keys = (
                    f"{hits[name]}/{len(push.keys)}"
                    if push.keys and not name.startswith("(")
                    else ""
                )
                print(
                    f"  {name:32} {wall:8.3f} {statistics.median(cpus[name]):8.3f}"
                    f" {wall / reference:14.2f} {keys}"
                )
        for bare, push in [servers[0], *servers[len(pushes) :]]:  # typical, and the real one
            print(f"\nend to end, {push.name} push (median of {args.runs}):")
            for name, wall in end_to_end(root, bare, push, args.runs).items():
                print(f"  {name:32} {wall:8.3f}")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
