"""Where a repository is and what its refs are named, read from its files, agrees with
``git rev-parse`` and ``git for-each-ref``, or says None and git is asked."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import commit_file, git, git_env
from keysentry.sources.git import Git
from keysentry.sources.git_files import plain_ref_names, plain_repository


def _gits_refs(repo: Path) -> list[bytes]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)"],
        cwd=repo,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    return out.splitlines()


def test_work_trees_bare_mirror_and_shallow_repositories_as_git_says(git_repo, tmp_path):
    commit_file(git_repo, "a.txt", "one\n", "one")
    commit_file(git_repo, "a.txt", "two\n", "two")
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(git_repo), str(mirror))
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", git_repo.as_uri(), str(shallow))
    for path in (git_repo, bare, mirror, shallow):
        assert plain_repository(path) == Git(cwd=path).repository(), path
    assert plain_repository(shallow).shallow  # type: ignore[union-attr]


def test_anything_beyond_the_plain_layout_is_left_to_git(git_repo, tmp_path, monkeypatch):
    commit_file(git_repo, "sub/a.txt", "one\n", "one")
    assert plain_repository(git_repo / "sub") is None  # a folder inside: git searches up
    assert plain_repository(tmp_path / "nothing") is None
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", str(linked))
    assert plain_repository(linked) is None  # .git is a file
    assert Git(cwd=linked).repository().work_tree == linked.resolve()
    sha256 = tmp_path / "sha256"
    done = subprocess.run(
        ["git", "init", "-q", "--object-format=sha256", str(sha256)], capture_output=True
    )
    if done.returncode == 0:
        assert plain_repository(sha256) is None  # extensions.objectformat
    moved = tmp_path / "moved"
    git(tmp_path, "init", "-q", str(moved))
    git(moved, "config", "core.worktree", str(tmp_path))
    assert plain_repository(moved) is None
    monkeypatch.setenv("GIT_DIR", str(git_repo / ".git"))
    assert plain_repository(git_repo) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to give a folder to another user")
def test_a_repository_another_user_owns_is_left_to_git(tmp_path):
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    for folder, _, files in os.walk(other):
        os.chown(folder, 12345, 12345)
        for name in files:
            os.chown(os.path.join(folder, name), 12345, 12345)
    assert plain_repository(other) is None  # git refuses it (safe.directory), and says so


def test_ref_names_loose_packed_symbolic_and_odd_bytes_as_git_lists_them(git_repo):
    commit_file(git_repo, "a.txt", "one\n", "one")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    for name in ("refs/heads/feature/x", "refs/tags/v1", "refs/remotes/origin/main"):
        git(git_repo, "update-ref", name, head)
    git(git_repo, "tag", "-a", "-m", "release", "v2")
    git(git_repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    git(git_repo, "pack-refs", "--all")
    git(git_repo, "update-ref", "refs/heads/feature/x", head)  # loose and packed at once
    git(git_repo, "update-ref", "refs/heads/late", head)
    odd = git_repo / ".git" / "refs" / "heads"
    with open(os.fsencode(odd) + b"/caf\xe9", "w") as handle:  # not UTF-8: git lists it
        handle.write(head + "\n")
    assert plain_ref_names(git_repo / ".git") == _gits_refs(git_repo)


NAME = st.text(alphabet=st.sampled_from("abz09-_/"), min_size=1, max_size=12).filter(
    lambda n: "//" not in n and not n.startswith("/") and not n.endswith("/")
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(NAME, st.booleans()), min_size=1, max_size=6))
def test_any_refs_some_packed_as_git_lists_them(refs: list[tuple[str, bool]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder)
        git(repo, "init", "-q", "-b", "main")
        commit_file(repo, "a.txt", "one\n", "one")
        head = git(repo, "rev-parse", "HEAD").strip()
        for name, packed in refs:
            # a name that is a prefix folder of another fails, as it does for users
            subprocess.run(
                ["git", "update-ref", f"refs/heads/{name}", head], cwd=repo, capture_output=True
            )
            if packed:
                git(repo, "pack-refs", "--all")
        assert plain_ref_names(repo / ".git") == _gits_refs(repo)
