"""Exposure benchmark: how often the §2.2 verdict is right on the labelled fixture set,
and what the project model costs.

Builds the labelled trees of tests/exposure (exposure_fixtures.py: one file per path
and content rule; project_fixtures.py: one skeleton per ecosystem, with real
create-vite and create-next-app output) in a temporary folder, scans each once with
``keysentry scan . --format json`` and compares every finding's verdict with its label:

- client→client: client-labelled keys judged client (a miss hides a §2.2 violation);
- server→server: server-labelled keys judged exactly server;
- unknown share: keys judged unknown, over all keys (the scan's
  ``stats.exposure_unknown_share``).

Cost: the wall time of each scan (median of ``--runs``), and, in process, the time
to judge every finding of the set with the project model and without it (a Judge
whose project lookup is switched off), so the model's own share is seen apart from
the scan. The project model's effect on a large scan is measured by
bench/scan_bench.py (run it before and after a change). Usage::

    .venv/bin/python bench/exposure_bench.py [--runs 3]
    PYTHONPATH=/work/main/src .venv/bin/python bench/exposure_bench.py --verdicts-only

(the second scores another checkout's verdicts on this branch's labelled set).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import measure

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "exposure")]

from exposure_fixtures import CASES, materialise  # noqa: E402
from project_fixtures import PROJECT_CASES, layered, plant, scaffold  # noqa: E402

from keysentry.config import Config  # noqa: E402
from keysentry.exposure import Judge  # noqa: E402

KEYSENTRY = str(Path(sys.executable).parent / "keysentry")


class NoProjects(Judge):
    """The judge without the project model: path, content and per-key signals only."""

    def project(self, disk: str) -> None:
        return None


def _scan(root: Path, runs: int) -> tuple[dict[str, object], list[float]]:
    walls = []
    out = root.parent / f"{root.name}.json"
    for _ in range(runs):
        run = measure([KEYSENTRY, "scan", ".", "--format", "json", "--output", str(out)], cwd=root)
        assert run.returncode == 1, run.stderr
        walls.append(run.wall)
    return json.loads(out.read_text()), walls


def _judge_all(judge_type: type[Judge], root: Path, findings: list[dict[str, object]]) -> float:
    """Seconds to judge every finding of the set again, in process, with a fresh judge."""
    os.chdir(root)
    judge = judge_type(Config())
    started = time.perf_counter()
    for finding in findings:
        path = str(finding["path"])
        disk = path.split("!", 1)[0]
        data = (root / disk).read_bytes()
        lines = data.split(b"\n")
        line, column = int(str(finding["line"])), int(str(finding["column"]))
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
        judge.assess(path, data, offset, offset + 35, str(root / disk))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--verdicts-only",
        action="store_true",
        help="skip the in-process cost (to score another checkout's keysentry on this set,"
        " with PYTHONPATH=OTHER/src)",
    )
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average at start {load} (shared: noisy)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        rules, skeletons = base / "rules", base / "projects"
        rules.mkdir()
        skeletons.mkdir()
        keys: dict[str, str] = {}
        for path, key in materialise(rules).items():
            keys[key] = next(c.verdict for c in CASES if c.path == path)
        scaffold(skeletons)
        for path, key in plant(skeletons).items():
            keys[key] = next(c.verdict for c in PROJECT_CASES if c.path == path)
        for key in layered(skeletons).values():
            keys[key] = "client"
        labels = {"sha256:" + hashlib.sha256(k.encode()).hexdigest(): v for k, v in keys.items()}
        rows = []
        judged: list[tuple[str, str]] = []
        sample: dict[Path, list[dict[str, object]]] = {}
        for name, root in (("rules", rules), ("projects", skeletons)):
            report, walls = _scan(root, args.runs)
            findings = report["findings"]  # type: ignore[index]
            sample[root] = [f for f in findings if f["fingerprint"] in labels]
            for f in sample[root]:
                judged.append((labels[f["fingerprint"]], f["exposure"]))
            rows.append((name, len(sample[root]), statistics.median(walls)))
        print(f"\n{'set':10} {'keys':>5} {'scan wall s':>12}")
        for name, count, wall in rows:
            print(f"{name:10} {count:5d} {wall:12.2f}")
        print()
        for label in ("client", "server", "unknown"):
            total = sum(1 for want, _ in judged if want == label)
            right = sum(1 for want, got in judged if want == label and got == label)
            if total:
                print(f"{label}→{label}: {right}/{total} ({right / total:.0%})")
        unknown = sum(1 for _, got in judged if got == "unknown")
        print(f"unknown share: {unknown}/{len(judged)} ({unknown / len(judged):.1%})")
        wrong = [(w, g) for w, g in judged if w != g]
        print(f"misjudged: {len(wrong)}")
        if args.verdicts_only:
            return
        cwd = os.getcwd()
        try:
            for root, findings in sample.items():
                with_model = statistics.median(
                    _judge_all(Judge, root, findings) for _ in range(args.runs)
                )
                without = statistics.median(
                    _judge_all(NoProjects, root, findings) for _ in range(args.runs)
                )
                extra = (with_model - without) * 1000
                print(
                    f"judging {len(findings)} findings of {root.name}: {with_model * 1000:.1f} ms"
                    f" with the project model, {without * 1000:.1f} ms without (+{extra:.1f} ms,"
                    " cold caches each time)"
                )
        finally:
            os.chdir(cwd)


if __name__ == "__main__":
    main()
