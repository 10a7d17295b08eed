"""remote.origin.url read from a repository's config file agrees with ``git config``,
whatever the file holds (or it says None and git is asked)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import git
from keysentry.sources.git_config import plain_origin_url

SECTIONS = ['[core]', '[remote "origin"]', '[Remote "origin"]', '[remote "Origin"]',
            '[remote "upstream"]', '[remote.origin]', '[include]', '[branch "main"]']  # fmt: skip
NAMES = ["url", "URL", "fetch", "pushurl", "bare"]
VALUES = st.text(alphabet=st.sampled_from('abc:/@.-_ #;"\\\t=x'), min_size=0, max_size=24)


def git_answer(config: Path) -> str:
    done = subprocess.run(
        ["git", "config", "--file", str(config), "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.rstrip("\n") if done.returncode == 0 else ""


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(SECTIONS),
            st.tuples(st.sampled_from(NAMES), VALUES).map(lambda p: f"\t{p[0]} = {p[1]}"),
            st.sampled_from(["", "# a comment", "; another", "\turl"]),
        ),
        max_size=12,
    )
)
def test_a_plain_answer_is_gits_answer(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config"
        config.write_text("\n".join(lines) + "\n")
        ours = plain_origin_url(Path(folder))
        if ours is None:
            return  # not plain: the caller asks git
        valid = subprocess.run(
            ["git", "config", "--file", str(config), "--list"], capture_output=True, check=False
        )
        if valid.returncode == 0:
            assert ours == git_answer(config), config.read_text()


def test_a_real_repository_and_a_linked_worktree(git_repo: Path, tmp_path: Path) -> None:
    git(git_repo, "remote", "add", "origin", "git@example.com:org/app.git")
    assert plain_origin_url(git_repo / ".git") == "git@example.com:org/app.git"
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "start")
    git(git_repo, "worktree", "add", "-q", str(tmp_path / "linked"))
    linked = Path(git(tmp_path / "linked", "rev-parse", "--absolute-git-dir").strip())
    assert plain_origin_url(linked) is None  # its config is the main repository's: git says
    git(git_repo, "config", "remote.origin.url", "https://example.com/a b.git")
    assert plain_origin_url(git_repo / ".git") is None  # git quoted it
    (git_repo / ".git" / "config").unlink()
    assert plain_origin_url(git_repo / ".git") is None
