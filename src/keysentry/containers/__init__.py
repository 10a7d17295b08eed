"""Containers: what is unpacked before scanning (gzip, brotli, xz/lzma,
bzip2, zstd, the zip family, tar, asar).

Each is recognised by its first bytes (sniff.py) and opened as streams within one
budget (limits.py). The registries below are what engine/layers.py dispatches on; their
names are the layer names findings list in ``decoded_from`` (model/target.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from keysentry.containers.limits import Budget, LimitedStream
    from keysentry.containers.members import MemberReader

# The readers are imported with the first container a scan meets (module __getattr__):
# most scans meet none, and every start-up would pay for importing them all.
MEMBER_READERS: dict[str, MemberReader]
STREAM_DECODERS: dict[str, Callable[[BinaryIO, Budget], LimitedStream]]


def __getattr__(name: str) -> object:
    if name not in ("MEMBER_READERS", "STREAM_DECODERS"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from keysentry.containers.asar import asar_members
    from keysentry.containers.compressed import (
        brotli_stream,
        bzip2_stream,
        gzip_stream,
        xz_stream,
        zstd_stream,
    )
    from keysentry.containers.tar import tar_members
    from keysentry.containers.zip import zip_members

    registries = {
        "MEMBER_READERS": {"zip": zip_members, "tar": tar_members, "asar": asar_members},
        "STREAM_DECODERS": {
            "gzip": gzip_stream,
            "brotli": brotli_stream,
            "xz": xz_stream,
            "bzip2": bzip2_stream,
            "zstd": zstd_stream,
        },
    }
    globals().update(registries)
    return registries[name]
