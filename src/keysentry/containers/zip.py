"""The zip family (.zip, .jar, .apk, .crx, .docx ...): members decompressed within the budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from keysentry.containers.limits import Budget, ContainerError, LimitedStream, Limits
from keysentry.containers.members import Member, name_warnings, seekable


def zip_members(
    stream: BinaryIO, limits: Limits, budget: Budget, skipped: Callable[[str, str], None]
) -> Iterator[Member]:
    """Members of a zip (and .jar, .apk, .crx, .docx ...); encrypted ones are skipped."""
    import zipfile  # imported when met: the pre-commit hook starts faster

    try:
        archive = zipfile.ZipFile(seekable(stream, limits, "a nested zip"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ContainerError(f"not a readable zip archive ({exc})") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                skipped(info.filename, "encrypted zip member: not scanned")
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
