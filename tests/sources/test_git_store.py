"""Reading an object store in this process gives what ``git cat-file --batch-all-objects``
gives (packs with offset and ref deltas, loose objects, an object stored twice), and a
damaged store raises StoreError (then git reads it), never anything else."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import commit_file, git, git_env
from keysentry.sources.git_store import StoreError, read_store, readable_store


def _gits_objects(repo: Path) -> dict[str, tuple[str, bytes]]:
    out = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=repo,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    found, at = {}, 0
    while at < len(out):
        end = out.index(b"\n", at)
        oid, kind, size = out[at:end].split()
        found[oid.decode()] = (kind.decode(), out[end + 1 : end + 1 + int(size)])
        at = end + 1 + int(size) + 1
    return found


def _ours(git_dir: Path) -> dict[str, tuple[str, bytes]]:
    found = {}
    for obj, content in read_store(git_dir):
        assert obj.oid not in found  # each object once
        found[obj.oid] = (obj.kind, content.read())
    return found


def _history(repo: Path, commits: int = 12) -> None:
    rng = random.Random(7)
    lines = [f"line {i} {rng.random()}" for i in range(200)]
    for number in range(commits):
        for _ in range(5):
            lines[rng.randrange(len(lines))] = f"changed {rng.random()}"
        commit_file(repo, f"src/mod_{number % 3}.py", "\n".join(lines) + "\n", f"c{number}")
    git(repo, "tag", "-a", "-m", "release", "v1")


def test_loose_objects_then_packs_with_offset_deltas(git_repo):
    _history(git_repo)
    assert _ours(git_repo / ".git") == _gits_objects(git_repo)  # loose only
    git(git_repo, "gc", "-q", "--aggressive")  # deep offset deltas
    commit_file(git_repo, "late.txt", "late\n", "late")  # loose beside the pack
    assert readable_store(git_repo / ".git")
    assert _ours(git_repo / ".git") == _gits_objects(git_repo)


def test_ref_deltas_and_an_object_both_packed_and_loose(git_repo):
    _history(git_repo)
    listed = git(git_repo, "rev-list", "--objects", "--all")
    pack = git_repo / ".git" / "objects" / "pack" / "ref"
    subprocess.run(  # no --delta-base-offset: deltas name their base by id
        ["git", "pack-objects", "-q", str(pack)],
        cwd=git_repo,
        input=listed.encode(),
        env=git_env(),
        check=True,
        capture_output=True,
    )
    assert _ours(git_repo / ".git") == _gits_objects(git_repo)


def test_alternates_are_left_to_git(git_repo, tmp_path):
    _history(git_repo, 2)
    clone = tmp_path / "shared"
    git(tmp_path, "clone", "-q", "--shared", str(git_repo), str(clone))
    assert not readable_store(clone / ".git")


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("packed")
    git(repo, "init", "-q", "-b", "main")
    _history(repo, 6)
    git(repo, "gc", "-q")
    return repo


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_damaged_pack_or_index_raises_store_error_only(packed, data):
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "repo"
        shutil.copytree(packed / ".git", copy)
        pack_dir = copy / "objects" / "pack"
        target = data.draw(st.sampled_from(sorted(pack_dir.glob("pack-*.[pi][ad][cx]*"))))
        raw = bytearray(target.read_bytes())
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        if data.draw(st.booleans()):
            del raw[data.draw(st.integers(0, len(raw) - 1)) :]
        target.write_bytes(bytes(raw))
        try:
            for _, content in read_store(copy):
                content.read()
        except StoreError:
            pass
