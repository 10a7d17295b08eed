"""The tree parser that rules out missing objects reads any tree git writes, and never
takes something else for one."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import git, git_env
from keysentry.sources.git_links import Links

MODES = {"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree", "160000": "commit"}
NAMES = (
    st.text(alphabet=st.sampled_from("ab z.-_é\t"), min_size=1, max_size=12)
    .map(str.encode)
    .filter(lambda n: n not in (b".", b".."))
)


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(
        NAMES,
        st.tuples(st.sampled_from(sorted(MODES)), st.binary(min_size=20, max_size=20)),
        max_size=8,
    )
)
def test_every_tree_git_writes_is_followed_and_gitlinks_are_not_named(entries) -> None:
    with tempfile.TemporaryDirectory() as folder:
        git(Path(folder), "init", "-q", "--bare")
        listing = b"".join(
            b"%s %s %s\t%s\n" % (mode.encode(), MODES[mode].encode(), oid.hex().encode(), name)
            for name, (mode, oid) in entries.items()
        )
        made = subprocess.run(
            ["git", "mktree", "--missing"], cwd=folder, input=listing, capture_output=True,
            env=git_env(), check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        tree = made.stdout.strip().decode()
        content = subprocess.run(
            ["git", "cat-file", "tree", tree], cwd=folder, capture_output=True, check=True
        ).stdout
    links = Links()
    links.add(tree, "tree", content)
    assert links.followed
    assert links.named == {oid for mode, oid in entries.values() if mode != "160000"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_anything_else_is_not_followed_or_names_only_ids(content: bytes) -> None:
    links = Links()
    links.add("ab" * 20, "tree", content)
    assert not links.followed or all(len(oid) == 20 for oid in links.named)
