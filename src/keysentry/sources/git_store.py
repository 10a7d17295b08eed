"""Every object of a small object store, read in this process: packs and loose objects.

``git cat-file --batch-all-objects --batch`` costs a process and a pipe; for the small
repositories an organisation is mostly made of, that is more than reading the store
here. Git's storage formats are stable and documented (gitformat-pack(5), loose objects
are ``zlib(type size\\0content)``): pack index v2, packs v2/v3 with offset and ref
deltas, loose objects. Each object comes once (the first copy in pack order, then
loose), as ``cat-file --batch-all-objects --unordered`` gives them.

Only a plain store is read here (:func:`readable_store`): no alternates, SHA-1 ids,
at most ``SMALL_STORE`` bytes on disk and ``CONTENT_LIMIT`` of content. Anything this
reader does not follow raises :class:`StoreError` part way, and the caller reads the
store again through git, which goes on past damaged objects and says why.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from keysentry.sources.git_files import SMALL_STORE, plain_head, plain_sha1, store_size
from keysentry.sources.git_links import BLOB_MODES, tree_entry
from keysentry.sources.git_objects import GitObject, ObjectContent

CONTENT_LIMIT = 64 << 20  # declared content bytes above which git reads the store
_IDX_MAGIC = b"\xfftOc\x00\x00\x00\x02"
_KINDS = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
# a delta's copy instruction: bits 0-3 say which offset bytes follow, bits 4-6 which
# length bytes; per instruction byte, (is a length byte, its shift) for each that follows
_COPY_FIELDS = [
    tuple((bit >= 4, 8 * (bit - 4 if bit >= 4 else bit)) for bit in range(7) if op & (1 << bit))
    for op in range(256)
]


class StoreError(ValueError):
    """Something in the store this reader does not follow (git reads it instead)."""


def readable_store(git_dir: Path) -> bool:
    """Whether the object store is one this reader takes: no alternates (objects
    elsewhere), and every pack with its index."""
    objects = os.path.join(git_dir, "objects")
    if os.path.lexists(os.path.join(objects, "info", "alternates")):
        return False
    try:
        names = set(os.listdir(os.path.join(objects, "pack")))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return all(name[:-5] + ".idx" in names for name in names if name.endswith(".pack"))


def read_store(git_dir: Path) -> Iterator[tuple[GitObject, ObjectContent]]:
    """Every object once: each pack's in offset order, then the loose ones."""
    objects = os.path.join(git_dir, "objects")
    seen: set[bytes] = set()
    try:
        packs = sorted(n for n in os.listdir(os.path.join(objects, "pack")) if n.endswith(".pack"))
    except FileNotFoundError:
        packs = []
    for name in packs:
        path = os.path.join(objects, "pack", name)
        yield from _Pack(path, path[:-5] + ".idx").objects(seen)
    yield from _loose(objects, seen)


def read_objects(git_dir: Path, oids: list[str]) -> Iterator[tuple[GitObject, ObjectContent]]:
    """Given objects in the order given (``missing`` for one the store lacks)."""
    objects = os.path.join(git_dir, "objects")
    pack_dir = os.path.join(objects, "pack")
    try:
        names = sorted(n for n in os.listdir(pack_dir) if n.endswith(".pack"))
    except FileNotFoundError:
        names = []
    packs = [
        _Pack(os.path.join(pack_dir, n), os.path.join(pack_dir, n[:-5] + ".idx")) for n in names
    ]
    for oid in oids:
        raw = bytes.fromhex(oid)
        found = next((pack.get(raw) for pack in packs if raw in pack.at), None)
        if found is None:
            found = _loose_object(objects, raw)
        if found is None:
            yield GitObject(oid, "missing", 0), ObjectContent(io.BytesIO(), 0)
        else:
            yield _content(raw, *found)


def head_files(git_dir: Path, names: Iterable[str]) -> dict[str, str] | None:
    """The text of each named file at the top of HEAD's tree (``HEAD:name``), read in
    this process from a small plain store; None when git should be asked instead."""
    if not (store_size(git_dir) <= SMALL_STORE and plain_sha1(git_dir) and readable_store(git_dir)):
        return None
    known, head = plain_head(git_dir)
    if not known:
        return None
    found: dict[str, str] = {}
    try:
        kind, commit = _one(git_dir, head.hex()) if head is not None else ("missing", b"")
        if kind == "tag" or (kind != "commit" and head is not None):
            return None  # HEAD naming a tag or a missing object: git's rules
        if head is None:
            return found
        tree = commit.partition(b"\n")[0].removeprefix(b"tree ").decode("ascii")
        kind, listing = _one(git_dir, tree)
        if kind != "tree":
            return None
        for name in names:
            entry = tree_entry(listing, name.encode())
            if entry is not None and entry[0] in BLOB_MODES:
                found[name] = _one(git_dir, entry[1].hex())[1].decode("utf-8", "replace")
    except (StoreError, OSError, ValueError):
        return None
    return found


def _one(git_dir: Path, oid: str) -> tuple[str, bytes]:
    obj, content = next(read_objects(git_dir, [oid]))
    return obj.kind, content.read()


def _content(oid: bytes, kind: str, data: bytes) -> tuple[GitObject, ObjectContent]:
    return GitObject(oid.hex(), kind, len(data)), ObjectContent(io.BytesIO(data), len(data))


def _loose(objects: str, seen: set[bytes]) -> Iterator[tuple[GitObject, ObjectContent]]:
    for prefix in sorted(os.listdir(objects)):
        if len(prefix) != 2 or not all(c in "0123456789abcdef" for c in prefix):
            continue
        for rest in sorted(os.listdir(os.path.join(objects, prefix))):
            if len(rest) != 38:
                continue
            try:
                oid = bytes.fromhex(prefix + rest)
            except ValueError:
                continue
            if oid in seen:
                continue
            seen.add(oid)
            found = _loose_object(objects, oid)
            if found is not None:
                yield _content(oid, *found)


def _loose_object(objects: str, oid: bytes) -> tuple[str, bytes] | None:
    """(kind, content) of a loose object; None when there is no such file."""
    name = oid.hex()
    try:
        with open(os.path.join(objects, name[:2], name[2:]), "rb") as handle:
            raw = _inflate(handle.read())
    except FileNotFoundError:
        return None
    header, nul, data = raw.partition(b"\0")
    kind, _, size = header.partition(b" ")
    if not nul or kind.decode("ascii", "replace") not in _KINDS.values():
        raise StoreError(f"loose object {name}: not an object header")
    if not size.isdigit() or int(size) != len(data):
        raise StoreError(f"loose object {name}: size does not match")
    return kind.decode("ascii"), data


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error as exc:
        raise StoreError(f"cannot inflate: {exc}") from exc


class _Pack:
    def __init__(self, pack: str, idx: str) -> None:
        with open(idx, "rb") as handle:
            index = handle.read()
        with open(pack, "rb") as handle:
            self.data = handle.read()
        if index[:8] != _IDX_MAGIC or len(index) < 8 + 1024:
            raise StoreError(f"{idx}: not a version 2 pack index")
        if self.data[:4] != b"PACK" or self.data[4:8] not in (b"\0\0\0\2", b"\0\0\0\3"):
            raise StoreError(f"{pack}: not a version 2 or 3 pack")
        count = struct.unpack(">I", index[8 + 1020 : 8 + 1024])[0]
        at = 8 + 1024
        if len(index) < at + 28 * count + 40:  # ids, CRCs, offsets; two checksums
            raise StoreError(f"{idx}: truncated")
        ids = index[at : at + 20 * count]
        at += 24 * count  # ids, then one CRC each
        small = struct.unpack(f">{count}I", index[at : at + 4 * count])
        large = index[at + 4 * count :]
        offsets = []
        try:
            for value in small:
                if value & 0x80000000:
                    (value,) = struct.unpack_from(">Q", large, 8 * (value & 0x7FFFFFFF))
                offsets.append(value)
        except struct.error as exc:
            raise StoreError(f"{idx}: a large offset past its table") from exc
        self.ids = [ids[20 * i : 20 * i + 20] for i in range(count)]
        self.offsets = offsets
        self.at = dict(zip(self.ids, offsets, strict=True))
        ordered = sorted(offsets)
        self.end = dict(zip(ordered, [*ordered[1:], len(self.data) - 20], strict=True))
        self.cache: dict[int, tuple[int, bytes]] = {}
        self.declared = 0

    def get(self, oid: bytes) -> tuple[str, bytes]:
        kind, data = self._read(self.at[oid], 0)
        return _KINDS[kind], data

    def objects(self, seen: set[bytes]) -> Iterator[tuple[GitObject, ObjectContent]]:
        for offset, oid in sorted(zip(self.offsets, self.ids, strict=True)):
            kind, data = self._read(offset, 0)
            if oid in seen:
                continue
            seen.add(oid)
            yield _content(oid, _KINDS[kind], data)

    def _read(self, offset: int, depth: int) -> tuple[int, bytes]:
        cached = self.cache.get(offset)
        if cached is not None:
            return cached
        try:
            return self._entry(offset, depth)
        except (IndexError, struct.error) as exc:
            raise StoreError(f"pack entry at {offset}: truncated") from exc

    def _entry(self, offset: int, depth: int) -> tuple[int, bytes]:
        if depth > 100 or offset not in self.end:
            raise StoreError(f"pack entry at {offset}: not an object this reader follows")
        data = self.data
        byte = data[offset]
        kind, size, shift, at = (byte >> 4) & 7, byte & 15, 4, offset + 1
        while byte & 0x80:
            byte = data[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        if kind == _OFS_DELTA:
            byte = data[at]
            at += 1
            back = byte & 0x7F
            while byte & 0x80:
                byte = data[at]
                at += 1
                back = ((back + 1) << 7) | (byte & 0x7F)
            kind, base = self._read(offset - back, depth + 1)
            body = _apply(base, self._inflated(at, offset, size))
        elif kind == _REF_DELTA:
            base_at = self.at.get(data[at : at + 20])
            if base_at is None:
                raise StoreError("a delta against an object outside its pack")
            kind, base = self._read(base_at, depth + 1)
            body = _apply(base, self._inflated(at + 20, offset, size))
        elif kind in _KINDS:
            body = self._inflated(at, offset, size)
        else:
            raise StoreError(f"pack entry at {offset}: unknown type {kind}")
        self.declared += len(body)
        if self.declared > CONTENT_LIMIT:
            raise StoreError("more content than this reader holds at once")
        self.cache[offset] = (kind, body)
        return kind, body

    def _inflated(self, start: int, offset: int, size: int) -> bytes:
        """An entry's data (an object's content, or a delta), of the size its header says."""
        body = _inflate(self.data[start : self.end[offset]])
        if len(body) != size:
            raise StoreError(f"pack entry at {offset}: size does not match")
        return body


def _varint(delta: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = delta[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _apply(base: bytes, delta: bytes) -> bytes:
    """A delta's result (gitformat-pack(5): copy-from-base and insert instructions)."""
    try:
        source, at = _varint(delta, 0)
        target, at = _varint(delta, at)
        if source != len(base):
            raise StoreError("a delta against the wrong base")
        out = bytearray()
        end = len(delta)
        while at < end:
            op = delta[at]
            at += 1
            if op & 0x80:  # copy: offset and length bytes, as the low bits say
                start = length = 0
                for is_length, shift in _COPY_FIELDS[op]:
                    if is_length:
                        length |= delta[at] << shift
                    else:
                        start |= delta[at] << shift
                    at += 1
                length = length or 0x10000
                if start + length > len(base):
                    raise StoreError("a delta copies past its base")
                out += base[start : start + length]
            elif op:
                out += delta[at : at + op]
                at += op
            else:
                raise StoreError("a delta with a reserved instruction")
    except IndexError as exc:
        raise StoreError("a truncated delta") from exc
    if len(out) != target:
        raise StoreError("a delta of the wrong size")
    return bytes(out)
