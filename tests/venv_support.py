"""Virtualenvs with keysentry installed from a wheel of this working tree, as a user's
machine has them: built once per test session and shared by the xdist workers."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO_ROOT


def _venv(path: Path, wheel: Path) -> Path:
    subprocess.run([sys._base_executable, "-m", "venv", str(path)], check=True)
    subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return path / "bin"


def _shared(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "venvs"
    shared.mkdir(exist_ok=True)
    return shared


def _wheel(shared: Path) -> Path:
    """The wheel of this tree, built once (call with the lock held: builds write build/)."""
    wheels = shared / "wheels"
    if not list(wheels.glob("keysentry-*.whl")):
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
             str(REPO_ROOT)],
            check=True, capture_output=True,
        )  # fmt: skip
    (wheel,) = wheels.glob("keysentry-*.whl")
    return wheel


@pytest.fixture(scope="session")
def keysentry_wheel(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A wheel built from this working tree, shared by the xdist workers."""
    shared = _shared(tmp_path_factory, worker_id)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _wheel(shared)


@pytest.fixture(scope="session")
def keysentry_venvs(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Callable[..., tuple[Path, ...]]:
    """``keysentry_venvs("a/venv", "b/env")``: the bin folders of virtualenvs at those
    places (under one session folder), made once, in parallel."""
    shared = _shared(tmp_path_factory, worker_id)

    def make(*places: str) -> tuple[Path, ...]:
        with open(shared / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            wheel = _wheel(shared)
            todo = [shared / p for p in places if not (shared / p / "ready").exists()]
            with ThreadPoolExecutor(2) as pool:
                for made in pool.map(lambda p: _venv(p, wheel), todo):
                    (made.parent / "ready").write_text("")
        return tuple(shared / p / "bin" for p in places)

    return make
