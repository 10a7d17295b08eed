"""An OCI image layout as a folder (``oci-layout``, ``index.json``, ``blobs/sha256/…``, what
``skopeo copy … oci:DIR`` or ``umoci`` writes): its blobs are scanned as the files they are
(a layer is a gzip or zstd tar, the configuration JSON), and once the scan is done the
findings inside layers are given their ``image_path`` and ``image_note`` as for an image
tar (containers/image.py). The whiteouts of later layers are read from their member
names, within the scan's decompression budget."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from keysentry import containers
from keysentry.containers.image import (
    INDEX,
    MAX_MANIFEST,
    Split,
    annotate_layers,
    oci_layer_orders,
)
from keysentry.containers.limits import Budget, ContainerError, Limits
from keysentry.containers.sniff import peek, sniff
from keysentry.model.finding import Finding
from keysentry.model.report import Report, ScanError
from keysentry.model.target import MEMBER_SEPARATOR, STREAM_LAYERS

LAYOUT_MARKER = "oci-layout"
_INDEX_NAME = os.fsencode(INDEX)  # INDEX as a walked file's path (bytes) ends with it
_IN_BLOBS = re.compile(r"(?:(.*)/)?(blobs/[^/]+/[^/]+)\Z")


def _is_layout(root: str) -> bool:
    return os.path.isfile(os.path.join(root, INDEX)) and os.path.isfile(
        os.path.join(root, LAYOUT_MARKER)
    )


def after_scan(report: Report, first: int, fs_path: bytes, limits: Limits) -> None:
    """What a scanned file (``fs_path``, as walked) adds as part of an OCI layout folder:
    its index.json counts the image once; the findings (``report.findings[first:]``)
    inside a layer are annotated. Every other file, the common case, costs two tests."""
    if fs_path.endswith(_INDEX_NAME):
        folder, name = os.path.split(os.fsdecode(fs_path))
        if name == INDEX and _is_layout(folder or "."):
            report.stats["container_images"] += 1
    if len(report.findings) > first:
        path = os.fsdecode(fs_path)
        if os.sep + "blobs" + os.sep in os.sep + path:
            annotate_file(report.findings[first:], path, limits, report.errors)


def _read_blob(root: str) -> Callable[[str], bytes | None]:
    def blob(path: str) -> bytes | None:
        try:
            with open(os.path.join(root, path), "rb") as handle:
                data = handle.read(MAX_MANIFEST + 1)
        except OSError:
            return None
        return data if len(data) <= MAX_MANIFEST else None

    return blob


def _member_names(path: str, shown: str, limits: Limits, errors: list[ScanError]) -> list[str]:
    """The member names of a layer blob (a tar, maybe gzip/zstd/xz/bzip2 compressed)."""
    from keysentry.containers.tar import tar_members  # with the first layer blob found

    budget = Budget(limits)
    names: list[str] = []

    def skipped(name: str, message: str) -> None:
        errors.append(ScanError(f"{shown}{MEMBER_SEPARATOR}{name}", message))

    try:
        with open(path, "rb") as handle:
            head, stream = peek(handle)
            kind = sniff(head, "")
            if kind in STREAM_LAYERS:
                stream = containers.STREAM_DECODERS[kind](stream, budget)
                head, stream = peek(stream)
                kind = sniff(head, "")
            if kind == "tar":
                names = [member.name for member in tar_members(stream, limits, budget, skipped)]
    except (OSError, ContainerError) as exc:
        errors.append(ScanError(shown, f"an image layer's whiteouts were not read: {exc}"))
    return names


def annotate_file(
    found: list[Finding], fs_path: str, limits: Limits, errors: list[ScanError]
) -> None:
    """Annotate the findings inside one scanned file, if it is a layer blob of an OCI
    layout folder (``DIR/blobs/sha256/<hex>`` beside ``DIR/index.json``)."""
    match = _IN_BLOBS.match(fs_path.replace(os.sep, "/"))
    inside = [f for f in found if MEMBER_SEPARATOR in f.path]
    if match is None or not inside or not _is_layout(root := match[1] or "."):
        return
    index = _read_blob(root)(INDEX)
    orders = [] if index is None else oci_layer_orders(index, _read_blob(root))
    layer = match[2]
    shown = inside[0].path.partition(MEMBER_SEPARATOR)[0]  # the blob as the report names it

    def split(finding: Finding) -> tuple[str, str] | None:
        file, _, rest = finding.path.partition(MEMBER_SEPARATOR)
        return (layer, rest) if file == shown else None

    def names(later: str) -> list[str]:
        return _member_names(os.path.join(root, later), later, limits, errors)

    splitter: Split = split
    annotate_layers(inside, orders, splitter, names)
