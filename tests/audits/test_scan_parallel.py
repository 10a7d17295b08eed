"""Large scans run on every core, and report exactly what a one-process scan reports."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry
from keysentry.audits import pool
from keysentry.audits import scan_files as scan
from keysentry.model.key import fingerprint

FILES = 2_200  # enough per-file work to pass the threshold for starting workers


def build_tree(root: Path) -> list[str]:
    """FILES small JavaScript files in nested folders; keys in some; returns the keys found."""
    keys = []
    for i in range(FILES):
        folder = root / f"pkg{i % 7}" / f"dist{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        body = f"export const value{i} = {i};\n"
        if i % 150 == 0:
            key = new_key()
            keys.append(key)
            body += f'const DEEPSEEK_API_KEY = "{key}";\n' * (1 + i % 2)
        if i % 400 == 0:
            body += f'const allowed = "{new_key()}"; // keysentry: allow\n'
        (folder / f"chunk-{i:05d}.js").write_text(body)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(f"token = {new_key()}\n")
    return keys


def test_parallel_scan_reports_exactly_what_one_process_reports(tmp_path: Path) -> None:
    tree, other = tmp_path / "tree", tmp_path / "other"
    keys = build_tree(tree)
    other.mkdir()
    last_key = new_key()
    (other / "settings.py").write_text(f"DEEPSEEK_API_KEY = '{last_key}'\n")
    work = sum(scan.FILE_COST + p.stat().st_size for p in tree.rglob("*.js"))
    assert work >= scan.PARALLEL_MIN_WORK, "the tree must be big enough for the worker pool"

    args = ["scan", "--format", "json", str(tree), str(tmp_path / "missing"), str(other)]
    one = run_keysentry(*args, "--jobs", "1")
    two = run_keysentry(*args, "--jobs", "2")

    assert one.returncode == two.returncode == 1
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    report = json.loads(two.stdout)
    found = [f["fingerprint"] for f in report["findings"]]
    assert set(found) == {fingerprint(k) for k in [*keys, last_key]}
    assert len(found) == sum(1 + (i * 150) % 2 for i in range(len(keys))) + 1
    assert [e["path"] for e in report["errors"]] == [str(tmp_path / "missing")]
    assert report["stats"]["files_scanned"] == FILES + 1
    assert report["stats"]["suppressed_inline"] == len(range(0, FILES, 400))


def test_jobs_must_be_positive(tmp_path: Path) -> None:
    result = run_keysentry("scan", "--jobs", "0", str(tmp_path))
    assert result.returncode == 2
    assert "--jobs" in result.stderr


def _pid_after_a_while(n: int) -> tuple[int, int]:
    time.sleep(0.01)
    return n * n, os.getpid()


def test_ordered_map_runs_tasks_in_workers_and_keeps_their_order() -> None:
    results = list(pool.ordered_map(_pid_after_a_while, range(40), workers=2))
    assert [square for square, _ in results] == [n * n for n in range(40)]
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids
    assert len(pids) == 2


def _fail_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("task 7 is bad")
    return n


def _die_on_three(n: int) -> int:
    if n == 3:
        os._exit(9)  # a worker killed mid-task (out of memory, kill -9)
    return n


def test_ordered_map_raises_a_workers_exception_in_the_caller() -> None:
    with pytest.raises(ValueError, match="task 7 is bad"):
        list(pool.ordered_map(_fail_on_seven, range(20), workers=2))


def test_ordered_map_reports_a_worker_that_died() -> None:
    with pytest.raises(pool.WorkerDied):
        list(pool.ordered_map(_die_on_three, range(20), workers=2))


def test_one_job_means_no_workers() -> None:
    assert pool.available_workers(1) == 1
