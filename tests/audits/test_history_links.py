"""A small store read in one stream (as ``keysentry org`` reads each repository) tells itself
that no object is missing; whatever the damage, it reports the count ``git rev-list``
gives (the path two streams take), so the in-stream check never hides a missing object."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import commit_file, git, git_env, new_key
from keysentry.audits.history import audit
from keysentry.config import Config
from keysentry.model.key import fingerprint


def _missing(repo: Path, streams: int) -> tuple[int, set[str]]:
    report = audit(repo, Config(), streams=streams)
    return report.stats["objects_missing"], {f.fingerprint for f in report.findings}


def _unlink_loose(repo: Path, oid: str) -> None:
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def _healthy(repo: Path) -> str:
    """Commits with folders, an annotated tag, a reflog, a submodule's commit (gitlink)
    and a key: nothing missing."""
    key = new_key()
    commit_file(repo, "app/config.py", f"KEY = '{key}'\n", "config")
    commit_file(repo, "docs/a/b/readme.md", "deep\n", "docs")
    git(repo, "tag", "-a", "-m", "release", "v1")
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", f"160000,{'ab' * 20},vendor/lib"],
        cwd=repo,
        env=git_env(),
        check=True,
    )
    git(repo, "commit", "-q", "-m", "a submodule")
    return key


DAMAGE = ["none", "blob", "tree", "ref", "reflog", "packed"]


@pytest.mark.parametrize("damage", DAMAGE)
def test_one_stream_counts_missing_objects_as_rev_list_does(git_repo, damage):
    key = _healthy(git_repo)
    if damage == "blob":
        commit_file(git_repo, "lost.txt", "lost\n", "lost")
        _unlink_loose(git_repo, git(git_repo, "rev-parse", "HEAD:lost.txt").strip())
    elif damage == "tree":
        commit_file(git_repo, "gone/x.txt", "x\n", "gone")
        _unlink_loose(git_repo, git(git_repo, "rev-parse", "HEAD:gone").strip())
    elif damage == "ref":
        (git_repo / ".git" / "refs" / "heads" / "lost").write_text("cd" * 20 + "\n")
    elif damage == "reflog":
        log = git_repo / ".git" / "logs" / "refs" / "heads" / "old"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"{'0' * 40} {'ef' * 20} A <a@example.com> 1700000000 +0000\tgone\n")
    elif damage == "packed":
        git(git_repo, "gc", "-q")
        (git_repo / ".git" / "packed-refs").open("a").write(f"{'12' * 20} refs/tags/lost\n")
    one, found = _missing(git_repo, streams=1)
    two, found_two = _missing(git_repo, streams=2)
    assert one == two
    # a ref or reflog naming a missing object stops rev-list itself: both say what it says
    assert (one > 0) == (damage in ("blob", "tree"))
    assert fingerprint(key) in found and found == found_two


def test_shallow_and_partial_clones_count_as_git_does(git_repo, tmp_path):
    _healthy(git_repo)
    commit_file(git_repo, "more.txt", "more\n", "more")
    git(git_repo, "config", "uploadpack.allowFilter", "true")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", git_repo.as_uri(), str(shallow))
    partial = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--no-checkout", "--filter=blob:none", git_repo.as_uri(),
        str(partial))  # fmt: skip
    assert _missing(shallow, 1)[0] == _missing(shallow, 2)[0] == 0  # the boundary is no damage
    assert _missing(partial, 1)[0] == _missing(partial, 2)[0] > 0


def test_a_store_that_is_no_longer_small_is_left_to_rev_list(git_repo, monkeypatch):
    from keysentry.sources import git_history

    _healthy(git_repo)
    commit_file(git_repo, "lost.txt", "lost\n", "lost")
    _unlink_loose(git_repo, git(git_repo, "rev-parse", "HEAD:lost.txt").strip())
    monkeypatch.setattr(git_history, "SMALL_STORE", 0)
    assert os.path.isdir(git_repo / ".git" / "objects")
    assert _missing(git_repo, 1)[0] == 1


def test_a_corrupt_object_read_in_process_is_read_again_by_git(git_repo):
    """The in-process reader stops at what it cannot inflate; git then reads the store
    again, going on past the object: the report is the one two git streams give."""
    key = _healthy(git_repo)
    commit_file(git_repo, "bad.txt", "soon corrupt\n", "bad")
    bad = git(git_repo, "rev-parse", "HEAD:bad.txt").strip()
    loose = git_repo / ".git" / "objects" / bad[:2] / bad[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"x\x9c not zlib at all")
    one = audit(git_repo, Config(), streams=1)
    two = audit(git_repo, Config(), streams=2)
    assert fingerprint(key) in {f.fingerprint for f in one.findings}
    assert one.errors  # git says what became of it (here: a missing object)
    assert [(e.path, e.message) for e in one.errors] == [(e.path, e.message) for e in two.errors]
    assert one.stats == two.stats


def _rendered(repo: Path, streams: int) -> list[dict]:
    from keysentry.formats import FORMATS, RenderOptions

    report = audit(repo, Config(), streams=streams)
    return json.loads(FORMATS["json"](report, RenderOptions(command="history")))["findings"]


@pytest.mark.parametrize("head", ["branch", "detached", "tag", "unborn"])
def test_placing_keys_from_the_stream_matches_git_field_for_field(git_repo, head):
    """Where each key lives (commits, refs, pushed, HEAD, tags) worked out from the
    store read in process is what git's rev-list, rev-parse, ls-tree and cat-file say."""
    kept, removed, merged, tagged = (new_key() for _ in range(4))
    commit_file(git_repo, "app/config.py", f"KEY = '{kept}'\n", "config")
    commit_file(git_repo, "old.env", f"DEEPSEEK_API_KEY={removed}\n", "old")
    git(git_repo, "rm", "-q", "old.env")
    git(git_repo, "commit", "-q", "-m", "remove")
    git(git_repo, "update-ref", "refs/remotes/origin/main", "HEAD~1")  # pushed before removal
    git(git_repo, "checkout", "-q", "-b", "side", "HEAD~2")
    commit_file(git_repo, "side.py", f"S = '{merged}'\n", "side")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    git(git_repo, "tag", "-a", "-m", f"release {tagged}", "v1", "HEAD~1")
    git(git_repo, "pack-refs", "--all")
    if head == "detached":
        git(git_repo, "checkout", "-q", "--detach", "HEAD~1")
    elif head == "tag":
        (git_repo / ".git" / "HEAD").write_text(git(git_repo, "rev-parse", "v1") + "")
    elif head == "unborn":
        git(git_repo, "symbolic-ref", "HEAD", "refs/heads/nothing-yet")
    one, two = _rendered(git_repo, 1), _rendered(git_repo, 2)
    assert one == two
    assert {f["fingerprint"] for f in one} >= {fingerprint(k) for k in (kept, removed, merged)}
