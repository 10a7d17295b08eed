"""sources/git.py, the one git runner, and the git sources built on it, against real git."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from conftest import commit_file, git, git_env, new_key
from keysentry.sources.git import Git, GitError
from keysentry.sources.git_history import HistoryRepository
from keysentry.sources.git_index import BlobReader, GitIndexError, list_staged
from keysentry.sources.git_objects import read_batch
from keysentry.sources.git_refs import reaching_refs, ref_tips


def test_errors_are_gits_own_first_line(git_repo: Path):
    with pytest.raises(GitError) as caught:
        Git(git_repo).run("rev-parse", "--verify", "no-such-branch^{commit}")
    assert str(caught.value).startswith("Needed a single revision")
    assert not Git(git_repo).ok("cat-file", "-e", "0" * 40)


def test_repository_discovery_work_tree_bare_and_not_a_repository(git_repo: Path, tmp_path: Path):
    (git_repo / "sub").mkdir()
    found = Git(git_repo / "sub").repository()
    assert found.work_tree == git_repo.resolve() and not found.bare
    assert found.git_dir == (git_repo / ".git").resolve()
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    assert Git(bare).repository().bare
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match=r"^not a git repository$"):
        Git(plain, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}).repository()
    with pytest.raises(GitError, match=r"^no such directory$"):
        Git(tmp_path / "missing").repository()


def test_env_reaches_git_on_top_of_the_callers_environment(git_repo: Path, monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "From Caller")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "caller@example.com")
    ident = Git(git_repo, env={"GIT_AUTHOR_NAME": "From Env"}).run("var", "GIT_AUTHOR_IDENT")
    assert ident.startswith(b"From Env <caller@example.com>")


def test_spawned_git_reports_its_failure_through_the_drained_stderr(git_repo: Path):
    from keysentry.sources.git import failure

    commit_file(git_repo, "a.txt", "1\n")
    proc = Git(git_repo).spawn("log", "--no-such-option")
    assert proc.stdout is not None
    proc.stdout.read()
    assert proc.wait() != 0
    assert "unrecognized argument: --no-such-option" in failure(["log"], proc)


def test_the_staged_listing_names_what_the_next_commit_adds_and_blob_reader_streams_it(git_repo):
    key = new_key()
    commit_file(git_repo, "old.txt", "old\n")
    commit_file(git_repo, "gone.txt", "bye\n")
    (git_repo / "new.py").write_text(f"KEY = '{key}'\n")
    (git_repo / "old.txt").write_text("changed\n")
    git(git_repo, "add", "new.py", "old.txt")
    git(git_repo, "rm", "-q", "gone.txt")  # a deletion is never a leak
    index = list_staged(str(git_repo)).index()
    top, blobs = index.top, index.blobs
    assert Path(top.decode()) == git_repo.resolve()
    assert sorted(b.path for b in blobs) == [b"new.py", b"old.txt"]
    with BlobReader(str(git_repo)) as reader:
        contents = {b.path: c.read() for b, c in reader.blobs(blobs) if c is not None}
    assert contents[b"new.py"] == f"KEY = '{key}'\n".encode()
    with pytest.raises(GitIndexError):
        list_staged(str(git_repo.parent)).index()


def test_read_batch_parses_a_real_cat_file_stream_with_a_missing_object(git_repo: Path):
    commit_file(git_repo, "a.txt", "alpha\n")
    blob = git(git_repo, "rev-parse", "HEAD:a.txt").strip()
    request = f"{blob}\n{'0' * 40}\n".encode()
    out = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=git_repo, input=request, capture_output=True,
        check=True, env=git_env(),
    ).stdout
    seen = [(obj.oid, obj.kind, content.read()) for obj, content in read_batch(io.BytesIO(out))]
    assert seen == [(blob, "blob", b"alpha\n"), ("0" * 40, "missing", b"")]


def test_reaching_refs_names_every_ref_whose_history_holds_a_commit(git_repo: Path):
    first = commit_file(git_repo, "a.txt", "1\n")
    git(git_repo, "checkout", "-qb", "side")
    side = commit_file(git_repo, "b.txt", "2\n")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "tag", "-a", "v1", "-m", "release", first)
    repo = HistoryRepository(git_repo)
    tips = ref_tips(repo.run)
    reached = reaching_refs(repo.run, [first, side], tips, repo.head())
    assert sorted(reached[first]) == ["HEAD", "refs/heads/main", "refs/heads/side", "refs/tags/v1"]
    assert reached[side] == ["refs/heads/side"]


def test_one_cat_file_reads_the_staged_blobs_then_answers_rev_path_questions(git_repo):
    key = new_key()
    commit_file(git_repo, "with space.txt", f"{key}\n")
    (git_repo / "with space.txt").write_text("changed\n")
    git(git_repo, "add", "with space.txt")
    index = list_staged(str(git_repo)).index()
    with BlobReader(str(git_repo)) as reader:
        read = [(b.path, c.read()) for b, c in reader.blobs(index.blobs) if c is not None]
        assert read == [(b"with space.txt", b"changed\n")]
        answers = reader.contents(
            ["HEAD:with space.txt", "HEAD:no such file", "refs/remotes/none:x", "HEAD"]
        )
    assert answers == [f"{key}\n".encode(), None, None, None]  # HEAD itself is a commit
    assert index.remote_refs == []
