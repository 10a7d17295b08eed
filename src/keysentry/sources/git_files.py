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


def _packed_lines(path: bytes) -> list[bytes]:
    """packed-refs' ``<oid> <name>`` and ``^<peeled>`` lines (none when there is no file)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(PACKED_REFS_LIMIT + 1)
    except FileNotFoundError:
        return []
    if len(data) > PACKED_REFS_LIMIT:
        raise ValueError("packed-refs too large to read here")
    return [line for line in data.splitlines() if line and not line.startswith(b"#")]


def _packed(path: bytes) -> list[bytes]:
    names = []
    for line in _packed_lines(path):
        if line.startswith(b"^"):
            continue
        _, sep, name = line.partition(b" ")
        if not sep or not name:
            raise ValueError("not a packed-refs line")
        names.append(name)
    return names


ZERO = b"0" * 40
SMALL_STORE = 4 << 20  # object store bytes up to which a store is read and followed here


def plain_sha1(git_dir: Path) -> bool:
    """A plain config without extensions: SHA-1 object ids, the files ref store."""
    config = plain_config(git_dir)
    return config is not None and not any(v.section == "extensions" for v in config)


def plain_ref_oids(git_dir: Path) -> list[bytes] | None:
    """What ``rev-list --all --reflog`` starts from, as 20-byte ids: every ref's object
    (loose and packed, peeled tags too), a detached HEAD, and every reflog entry's old
    and new objects. None where git's rules go further: reftable, other worktrees'
    HEADs, grafts, a config that is not plain or has extensions (SHA-256 ids)."""
    if not plain_sha1(git_dir):
        return None
    root = os.fsencode(git_dir)
    for beyond in (b"reftable", b"worktrees", b"info/grafts", b"commondir"):
        if os.path.lexists(os.path.join(root, beyond)):
            return None
    found: list[bytes] = []
    try:
        for path in [os.path.join(root, b"HEAD"), *_files(os.path.join(root, b"refs"))]:
            with open(path, "rb") as handle:
                value = handle.read(4096).strip()
            if not value.startswith(b"ref: "):  # a symbolic ref: its target is a ref too
                found.append(_oid(value))
        for line in _packed_lines(os.path.join(root, b"packed-refs")):
            found.append(_oid(line.removeprefix(b"^").split(b" ", 1)[0]))
        for path in _files(os.path.join(root, b"logs")):
            with open(path, "rb") as handle:
                for entry in handle:
                    old, new = entry.split(b" ", 2)[:2]
                    found += [_oid(oid) for oid in (old, new) if oid != ZERO]
    except (OSError, ValueError):
        return None
    return found


def _oid(text: bytes) -> bytes:
    if len(text) != 40:
        raise ValueError("not an object id")
    return bytes.fromhex(text.decode("ascii"))


def _files(folder: bytes) -> list[bytes]:
    found: list[bytes] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found += _files(entry.path)
        else:
            found.append(entry.path)
    return found


def store_size(git_dir: Path) -> int:
    """Bytes of pack and loose object files under the git directory's objects/."""
    return _folder_bytes(os.path.join(git_dir, "objects"))


def _folder_bytes(folder: str) -> int:
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "info":
                        total += _folder_bytes(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return total


def plain_head(git_dir: Path) -> tuple[bool, bytes | None]:
    """(known, the object HEAD names: None when its branch is unborn); known is False
    when the files do not say plainly (then git resolves it)."""
    root = os.fsencode(git_dir)
    try:
        with open(os.path.join(root, b"HEAD"), "rb") as handle:
            value = handle.read(4096).strip()
        for _ in range(5):  # a symbolic ref to a symbolic ref ...
            if not value.startswith(b"ref: "):
                return True, _oid(value)
            name = value[5:]
            if not name.startswith(b"refs/") or b".." in name:
                return False, None
            try:
                with open(os.path.join(root, name), "rb") as handle:
                    value = handle.read(4096).strip()
                continue
            except FileNotFoundError:
                pass
            for line in _packed_lines(os.path.join(root, b"packed-refs")):
                oid, _, packed = line.partition(b" ")
                if packed == name and not line.startswith(b"^"):
                    return True, _oid(oid)
            return True, None  # an unborn branch
    except (OSError, ValueError):
        pass
    return False, None
