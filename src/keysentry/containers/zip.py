"""The zip family (.zip, .jar, .apk, .crx, .docx ...): members decompressed within the budget.

Each member has its own ratio limit (its output against its compressed size), so one
very compressible member stops alone. Entries whose data overlap another's (the
overlapping-entry zip bomb: thousands of entries sharing one compressed stream) are
found from the central directory and local headers before anything is inflated.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from keysentry.containers.compressed import zstd_stream
from keysentry.containers.limits import Budget, ContainerError, LimitedStream, Limits
from keysentry.containers.members import Member, name_warnings, seekable

if TYPE_CHECKING:
    import zipfile

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length
ZSTD_METHOD = 93  # APPNOTE 6.3.7; deflate, bzip2 (12) and lzma (14) zipfile reads itself


def overlapping(archive: zipfile.ZipFile, source: BinaryIO) -> list[tuple[zipfile.ZipInfo, str]]:
    """Entries whose local header lies inside the data of an entry before it, with its name."""
    shared: list[tuple[zipfile.ZipInfo, str]] = []
    data_end, owner = -1, ""
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.is_dir():
            continue
        if info.header_offset < data_end:
            shared.append((info, owner))
            continue
        source.seek(info.header_offset)
        header = source.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size:
            continue  # zipfile says why when the entry is opened
        _, name_len, extra_len = _LOCAL_HEADER.unpack(header)
        data_end = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        data_end += info.compress_size
        owner = info.filename
    return shared


def _zipfile_has_zstd() -> bool:
    import zipfile

    return hasattr(zipfile, "ZIP_ZSTANDARD")  # Python 3.14


def _raw_data(source: BinaryIO, info: zipfile.ZipInfo, limits: Limits) -> BinaryIO:
    """A member's compressed bytes, for a method zipfile cannot read (zstd before 3.14)."""
    source.seek(info.header_offset)
    signature, name_len, extra_len = _LOCAL_HEADER.unpack(source.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ContainerError("no local header where the directory says")
    source.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    if info.compress_size > limits.max_in_memory:
        raise ContainerError(f"compressed member over {limits.max_in_memory >> 20} MiB")
    return io.BytesIO(source.read(info.compress_size))


def zip_members(
    stream: BinaryIO, limits: Limits, budget: Budget, skipped: Callable[[str, str], None]
) -> Iterator[Member]:
    """Members of a zip (and .jar, .apk, .crx, .docx ...); encrypted ones are skipped."""
    import zipfile  # imported when met: the pre-commit hook starts faster

    source = seekable(stream, limits, "a nested zip")
    try:
        archive = zipfile.ZipFile(source)
        shared = overlapping(archive, source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise ContainerError(f"not a readable zip archive ({exc})") from exc
    if shared:
        first, owner = shared[0]
        skipped(
            first.filename,
            f"{len(shared)} zip entries overlap the compressed data of others (this one"
            f" overlaps {owner}): an overlapping-entry zip bomb; those entries were not scanned",
        )
    left_out = {id(info) for info, _ in shared}
    with archive:
        for info in archive.infolist():
            if info.is_dir() or id(info) in left_out:
                continue
            if info.flag_bits & 0x1:
                skipped(info.filename, "encrypted zip member: not scanned")
                continue
            if info.compress_type == ZSTD_METHOD and not _zipfile_has_zstd():
                try:
                    raw = _raw_data(source, info, limits)
                except (ContainerError, struct.error, OSError) as exc:
                    skipped(info.filename, f"cannot be read ({exc}): not scanned")
                    continue
                stream = zstd_stream(raw, budget)
                yield Member(info.filename, stream, name_warnings(info.filename))
                stream.close()
                continue
            try:
                opened = archive.open(info)
            except (NotImplementedError, zipfile.BadZipFile, OSError, ValueError) as exc:
                skipped(info.filename, f"cannot be read ({exc}): not scanned")
                continue
            size = info.compress_size

            def produce(n: int, opened: Any = opened) -> bytes:
                return opened.read(n)

            member = LimitedStream(produce, lambda size=size: size, budget)
            yield Member(info.filename, member, name_warnings(info.filename))
            opened.close()
