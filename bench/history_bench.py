"""History-audit benchmark: keysentry history vs betterleaks git vs the cat-file floor.

Builds (once, cached under bench/.work/) a repository of 10,000+ commits and more
than 1 GB of unique blob content with ``git fast-import``, plants keys in files,
a commit message, a removed file, a side branch and an evil merge, then times, in
one run and side by side:

- ``keysentry history REPO --format json``
- ``betterleaks git REPO --isolate-rule deepseek-api-key``
- ``git cat-file --batch-all-objects --batch | wc -c`` (reading every object once:
  the floor the issue names; it reads in object-id order, which defeats git's
  delta-base cache on a deltified pack)
- the same with ``--unordered`` (pack order: the real cost of reading every object
  once, and what keysentry itself reads)

Wall time, CPU time (user + system of the whole process tree) and peak RSS (summed
over the process tree, sampled from /proc every 50 ms) are printed with ratios.
The machine may be shared: the load average is printed with the figures, and CPU
time is the steadier measure. Usage::

    /work/venv/bin/python bench/history_bench.py [--commits 10000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from measure import BETTERLEAKS_DEEPSEEK, KEY_REGEX, KINGFISHER_DEEPSEEK, Run, installed, measure

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
KEYSENTRY = [sys.executable, "-m", "keysentry"]
BETTERLEAKS = installed("betterleaks")
KINGFISHER = installed("kingfisher")
RIPGREP = installed("rg")

FILES = 300
LINES_PER_FILE = 1100
CHANGED_FILES_PER_COMMIT = 2
EDIT_FRACTION = 0.15
WORDS = [
    "alpha", "beta", "gamma", "delta", "config", "client", "request", "response", "handler",
    "session", "token", "cache", "retry", "timeout", "buffer", "stream", "parse", "render",
    "encode", "decode", "value", "result", "user", "account", "order", "invoice", "payment",
    "queue", "worker", "task", "mask", "disk", "risk",
]


def _line(rng: random.Random) -> bytes:
    a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
    n = rng.randrange(1 << 30)
    style = rng.randrange(50)
    if style < 20:
        return f"    {a}_{b} = compute_{c}({n}, '{rng.getrandbits(64):016x}')".encode()
    if style < 35:
        return f"def {a}_{b}_{n}(self, {c}): return self.{a}.get('{c}-{n}')".encode()
    if style == 35:
        # near misses (1 line in 50) the detector must look at and reject
        return f"    # {a}-{b}: see {c}-sk-{n:x} and task-{rng.getrandbits(48):012x}".encode()
    return f"    logger.debug('{a} {b} {c} %s', {n})".encode()


@dataclass
class Planted:
    keys: list[str]  # every key the history holds (blobs and messages)


def _blob(out: list[bytes], data: bytes) -> None:
    out.append(b"data %d\n" % len(data))
    out.append(data)
    out.append(b"\n")


def generate(repo: Path, commits: int, seed: int = 20260101) -> Planted:
    """Write the history through git fast-import; returns the planted keys."""
    rng = random.Random(seed)
    pool = [_line(rng) for _ in range(60_000)]
    files = [[rng.randrange(len(pool)) for _ in range(LINES_PER_FILE)] for _ in range(FILES)]
    paths = [f"src/pkg{i % 17}/module_{i}.py".encode() for i in range(FILES)]
    keys = ["sk-" + rng.randbytes(16).hex() for _ in range(8)]
    plant_at = {
        commits // 10: (b"config/settings.py", b"DEEPSEEK_API_KEY = '%s'\n", 0),
        commits // 4: (
            b"web/dist/app.js", b"const apiKey=\"%s\";fetch('https://api.deepseek.com')\n", 1
        ),
        commits // 3: (b".env", b"DEEPSEEK_API_KEY=%s\n", 2),  # removed 10 commits later
        commits - 5: (b"scripts/deploy.sh", b"export DEEPSEEK_API_KEY=%s\n", 3),
    }
    message_key_at = commits // 2
    side_branch_at = commits // 5
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", "--depth=50"],
        cwd=repo,
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    when = 1_600_000_000
    mark = 0
    last_main = 0
    for i in range(commits):
        out: list[bytes] = []
        ops: list[bytes] = []
        for f in rng.sample(range(FILES), CHANGED_FILES_PER_COMMIT):
            idx = files[f]
            for _ in range(int(LINES_PER_FILE * EDIT_FRACTION)):
                idx[rng.randrange(len(idx))] = rng.randrange(len(pool))
            data = b"\n".join([pool[j] for j in idx]) + b"\n"
            ops.append(b"M 100644 inline " + paths[f] + b"\n")
            out_data: list[bytes] = []
            _blob(out_data, data)
            ops.append(b"".join(out_data))
        if i in plant_at:
            path, template, k = plant_at[i]
            ops.append(b"M 100644 inline " + path + b"\n")
            body: list[bytes] = []
            _blob(body, template % keys[k].encode())
            ops.append(b"".join(body))
        if i == commits // 3 + 10:
            ops.append(b"D .env\n")
        message = f"change {i}: update modules".encode()
        if i == message_key_at:
            message += f"\n\ntemporary: DEEPSEEK_API_KEY={keys[4]}".encode()
        mark += 1
        when += 60
        out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.append(b"author Dev <dev@example.com> %d +0000\n" % when)
        out.append(b"committer Dev <dev@example.com> %d +0000\n" % when)
        _blob(out, message)
        if last_main:
            out.append(b"from :%d\n" % last_main)
        out.extend(ops)
        out.append(b"\n")
        last_main = mark
        if i == side_branch_at:
            # a side branch with a key, merged back by an evil merge that adds another key
            mark += 1
            side = mark
            out.append(b"commit refs/heads/feature\nmark :%d\n" % side)
            out.append(b"author Dev <dev@example.com> %d +0000\n" % when)
            out.append(b"committer Dev <dev@example.com> %d +0000\n" % when)
            _blob(out, b"feature work")
            out.append(b"from :%d\n" % last_main)
            out.append(b"M 100644 inline feature/client.py\n")
            _blob(out, b"client = OpenAI(api_key='%s', base_url='https://api.deepseek.com')\n"
                  % keys[5].encode())
            out.append(b"\n")
            mark += 1
            out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
            out.append(b"author Dev <dev@example.com> %d +0000\n" % when)
            out.append(b"committer Dev <dev@example.com> %d +0000\n" % when)
            _blob(out, b"Merge branch 'feature'")
            out.append(b"from :%d\nmerge :%d\n" % (last_main, side))
            out.append(b"M 100644 inline feature/client.py\n")
            _blob(out, b"client = OpenAI(api_key='%s', base_url='https://api.deepseek.com')\n"
                  % keys[5].encode())
            out.append(b"M 100644 inline feature/evil.py\n")
            _blob(out, b"DEEPSEEK_API_KEY = '%s'\n" % keys[6].encode())
            out.append(b"\n")
            last_main = mark
        if i % 1000 == 999:
            out.append(b"reset refs/tags/v%d\nfrom :%d\n\n" % (i // 1000, last_main))
        proc.stdin.write(b"".join(out))
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return Planted(keys=keys[:7])


def ensure_repo(commits: int) -> tuple[Path, Planted]:
    repo = WORK / f"history-{commits}"
    meta = repo / ".git" / "keysentry-bench.json"
    if meta.exists():
        return repo, Planted(**json.loads(meta.read_text()))
    if repo.exists():
        shutil.rmtree(repo)
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"generating {repo} ({commits} commits) with git fast-import...", file=sys.stderr)
    started = time.monotonic()
    planted = generate(repo, commits)
    print(f"  done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    meta.write_text(json.dumps(planted.__dict__))
    return repo, planted


def repo_facts(repo: Path) -> tuple[int, int]:
    commits = int(subprocess.check_output(["git", "rev-list", "--all", "--count"], cwd=repo))
    out = subprocess.check_output(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
        cwd=repo,
    )
    blob_bytes = sum(int(s) for t, s in (line.split() for line in out.splitlines()) if t == b"blob")
    return commits, blob_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each command (median)")
    parser.add_argument(
        "--skip-id-order-floor", action="store_true",
        help="leave out the object-id-order cat-file run (minutes; the pack-order floor stays)",
    )
    args = parser.parse_args()
    repo, planted = ensure_repo(args.commits)
    commits, blob_bytes = repo_facts(repo)
    print(f"repository: {repo}")
    print(f"  {commits} commits, {blob_bytes / 1e9:.2f} GB of unique blob content,"
          f" {len(planted.keys)} planted keys; {os.cpu_count()} cores")
    report_path = WORK / "history-report.json"
    leaks_path = WORK / "betterleaks-report.json"
    kingfisher_path = WORK / "kingfisher-report.json"
    ripgrep_path = WORK / "ripgrep-history.txt"
    commands: dict[str, list[str]] = {
        "keysentry history": [
            *KEYSENTRY, "history", str(repo), "--format", "json", "--output", str(report_path)
        ],
        "betterleaks git": [
            BETTERLEAKS, "git", str(repo), *BETTERLEAKS_DEEPSEEK, "--no-banner",
            "--output", str(leaks_path), "--log-level", "error",
        ],
        "kingfisher": [
            KINGFISHER, "scan", str(repo), *KINGFISHER_DEEPSEEK, "--format", "json",
            "--output", str(kingfisher_path),
        ],
        # the pack-order stream through the same regex: reading plus the cheapest search
        "cat-file | ripgrep": [
            "sh", "-c", "git cat-file --batch-all-objects --batch --unordered"
            f" | {RIPGREP} --text --only-matching --no-line-number '{KEY_REGEX}' > {ripgrep_path}",
        ],
        # the floor the issue names: every object once, in object-id order
        "cat-file floor": ["sh", "-c", "git cat-file --batch-all-objects --batch | wc -c"],
        # the same in pack order (what keysentry reads): the real floor
        "cat-file --unordered": [
            "sh", "-c", "git cat-file --batch-all-objects --batch --unordered | wc -c"
        ],
    }
    if args.skip_id_order_floor:
        del commands["cat-file floor"]
    results: dict[str, list[Run]] = {name: [] for name in commands}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          " (a shared machine: timings are noisy; rounds rotate the order)")
    order = list(commands)
    for round_no in range(args.rounds):
        shift = round_no % len(order)
        for name in order[shift:] + order[:shift]:
            argv = commands[name]
            run = measure(argv, cwd=repo)
            results[name].append(run)
            print(f"  {name:22s} {run.wall:7.2f} s wall {run.cpu:7.2f} s cpu"
                  f" {run.tree_rss_mb:7.1f} MB  exit {run.returncode}", file=sys.stderr)
    ours = json.loads(report_path.read_text())
    found = {f["fingerprint"] for f in ours["findings"]}
    theirs = json.loads(leaks_path.read_text() or "[]")
    items = theirs.get("findings") or [] if isinstance(theirs, dict) else theirs
    their_secrets = [
        (item.get("match") or {}).get("value") or item.get("Secret") or "" for item in items
    ]
    from keysentry.model.finding import fingerprint

    planted_fps = {fingerprint(k) for k in planted.keys}
    their_fps = {fingerprint(s) for s in their_secrets if s.startswith("sk-")}
    kf_items = json.loads(kingfisher_path.read_text() or "{}").get("findings") or []
    kf_fps = {fingerprint(i["finding"]["snippet"]) for i in kf_items}
    rg_fps = {fingerprint(k) for k in ripgrep_path.read_text().split()}
    print(f"planted keys found: keysentry {len(planted_fps & found)}/{len(planted_fps)},"
          f" betterleaks {len(planted_fps & their_fps)}/{len(planted_fps)},"
          f" kingfisher {len(planted_fps & kf_fps)}/{len(planted_fps)},"
          f" cat-file | ripgrep {len(planted_fps & rg_fps)}/{len(planted_fps)}")
    wall = {name: statistics.median(r.wall for r in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(r.cpu for r in runs) for name, runs in results.items()}
    rss = {name: max(r.tree_rss_mb for r in runs) for name, runs in results.items()}
    print(f"{'command':24s} {'wall s':>8s} {'cpu s':>8s} {'peak RSS MB':>12s}")
    for name in commands:
        print(f"{name:24s} {wall[name]:8.2f} {cpu[name]:8.2f} {rss[name]:12.1f}")
    ks = "keysentry history"
    for other, target in (("betterleaks git", 0.5), ("kingfisher", 0.4),
                          ("cat-file floor", 1.5), ("cat-file --unordered", 1.0),
                          ("cat-file | ripgrep", 1.0)):
        if other not in wall:
            continue
        print(f"keysentry / {other}: wall {wall[ks] / wall[other]:.2f}x,"
              f" cpu {cpu[ks] / cpu[other]:.2f}x (target <= {target}x)")
    print(f"keysentry peak RSS (process tree) = {rss[ks]:.0f} MB (target < 500 MB)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

if __name__ == "__main__":
    main()
