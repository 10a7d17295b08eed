"""Where a repository is, and its ref names, read from its own files without starting git.

``keysentry org`` audits hundreds of small repositories, and a git process costs a few
milliseconds of CPU whatever it does: asking ``git rev-parse`` where a repository is
and ``git for-each-ref`` what its refs are named was half of what a small repository
without keys started. Where git's own layout is simple and stable, it is read here:

- a work tree whose ``.git`` is a folder, or a bare repository (``core.bare = true``),
  with a plain config file (sources/git_config.py), repository format 0 and no
  extensions, no ``core.worktree``, owned by this user, and no ``GIT_*`` variable
  that moves the repository;
- ref names: the files under ``refs/`` and the names in ``packed-refs`` (the files
  ref store; not reftable).

Anything else returns None, and the caller asks git (sources/git.py), which knows every
rule: ``.git`` files (linked worktrees, submodules), ``safe.directory``, includes,
reftable, a repository reached from a folder inside it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from keysentry.sources.git import Repository
from keysentry.sources.git_config import plain_config

# variables under which git finds another repository, or other objects, than the folder says
MOVES_REPOSITORY = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)  # fmt: skip
PACKED_REFS_LIMIT = 64 << 20  # larger: git reads it (it may hold millions of refs)


def plain_repository(path: Path) -> Repository | None:
    """The repository whose top (work tree, or bare git directory) is path; None when
    git's rules go beyond the plain layout (then ``Git.repository()`` answers)."""
    if any(os.environ.get(name) for name in MOVES_REPOSITORY):
        return None
    try:
        top = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    dot_git = path / ".git"
    try:
        dot = os.lstat(dot_git)
    except FileNotFoundError:
        git_dir, work_tree = path, None
    except OSError:
        return None
    else:
        if not stat.S_ISDIR(dot.st_mode):  # a .git file (or link): git follows it
            return None
        git_dir, work_tree = dot_git, path
    if not _is_git_dir(git_dir) or not _owned(git_dir, work_tree):
        return None
    config = plain_config(git_dir)
    if config is None:
        return None
    core: dict[str, str | None] = {}
    for variable in config:
        if variable.section == "extensions":
            return None
        if variable.section == "core" and variable.subsection is None:
            core[variable.name] = variable.value
    if core.get("repositoryformatversion", "0") != "0" or "worktree" in core:
        return None
    bare = core.get("bare", "false" if work_tree is not None else None)
    if bare != ("false" if work_tree is not None else "true"):
        return None  # a .git folder that says bare, or a git folder that does not
    return Repository(
        Path(os.path.realpath(git_dir)),
        Path(os.path.realpath(work_tree)) if work_tree is not None else None,
        _shallow(git_dir),
    )


def _is_git_dir(folder: Path) -> bool:
    return (
        os.path.isfile(folder / "HEAD")
        and os.path.isdir(folder / "objects")
        and os.path.isdir(folder / "refs")
        and not os.path.lexists(folder / "commondir")  # a linked worktree's
    )


def _owned(git_dir: Path, work_tree: Path | None) -> bool:
    """git refuses a repository another user owns (``safe.directory``): it says so."""
    uid = os.geteuid()
    try:
        return all(os.stat(p).st_uid == uid for p in (git_dir, work_tree) if p is not None)
    except OSError:
        return False


def _shallow(git_dir: Path) -> bool:
    try:
        return os.path.getsize(git_dir / "shallow") > 0
    except OSError:
        return False


def plain_ref_names(git_dir: Path) -> list[bytes] | None:
    """Every ref's name (``refs/...``, as bytes), sorted as ``for-each-ref`` sorts them;
    None when the refs are not plain files (reftable) or cannot be read. A name git
    would skip (a broken ref) may be listed: ask git about any name that matters."""
    root = os.fsencode(git_dir)
    if os.path.lexists(os.path.join(root, b"reftable")):
        return None
    names: set[bytes] = set()
    try:
        _loose(os.path.join(root, b"refs"), b"refs", names)
        names.update(_packed(os.path.join(root, b"packed-refs")))
    except (OSError, ValueError):
        return None
    return sorted(names)


def _loose(folder: bytes, prefix: bytes, names: set[bytes]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            name = prefix + b"/" + entry.name
            if entry.is_dir(follow_symlinks=False):
                _loose(entry.path, name, names)
            elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                names.add(name)


def _packed(path: bytes) -> list[bytes]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(PACKED_REFS_LIMIT + 1)
    except FileNotFoundError:
        return []
    if len(data) > PACKED_REFS_LIMIT:
        raise ValueError("packed-refs too large to read here")
    names = []
    for line in data.splitlines():
        if not line or line.startswith((b"#", b"^")):
            continue
        _, sep, name = line.partition(b" ")
        if not sep or not name:
            raise ValueError("not a packed-refs line")
        names.append(name)
    return names
