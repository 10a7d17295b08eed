"""Container images: a ``docker save`` tarball (``manifest.json``) or an OCI image layout
(``index.json`` and ``blobs/sha256/…``, as a tar or, in containers/image_layout.py, as a
folder). Each layer is a tar (maybe gzip or zstd) inside the image, scanned like any nested
archive. This module adds what only the image knows, once the whole image was read: the
layer order (from ``manifest.json``, or from ``index.json`` through the image index and
manifest blobs it points at, nested indexes included), the path each file has in the
running container (``image_path``), and whether a later layer deleted it with a whiteout
(``.wh.NAME``, or ``.wh..wh..opq`` for a whole folder), which hides the file from the
container but leaves its bytes in the image for anyone who pulls it. The image
configuration is a JSON blob (or ``config.json``), scanned as the JSON it is."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from posixpath import normpath
from typing import BinaryIO

from keysentry.containers.members import read_bounded
from keysentry.containers.sniff import PeekedStream
from keysentry.model.finding import Finding
from keysentry.model.pattern import lazy
from keysentry.model.target import MEMBER_SEPARATOR

MANIFEST = "manifest.json"  # docker save
INDEX = "index.json"  # OCI image layout
MAX_MANIFEST = 1 << 20  # a manifest, an index or an image configuration: JSON this small
MAX_KEPT = 8 << 20  # JSON blobs kept per image while its tar is read (manifests, indexes)
MAX_INDEX_DEPTH = 4  # an index pointing at an index ... (image-spec allows nesting)
MAX_MANIFESTS = 256  # image manifests followed from one index.json
DELETED = "deleted in a later layer, still in the image"
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_DIGEST = lazy(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)\Z")

Blob = Callable[[str], "bytes | None"]  # a blob's bytes by its path ("blobs/sha256/…")
Split = Callable[[Finding], "tuple[str, str] | None"]  # a finding's (layer, path in layer)


def clean(name: str) -> str:
    return normpath(name.lstrip("/")).removeprefix("./")


def layer_order(manifest: bytes) -> list[str]:
    """The layers of the first image in a docker-save ``manifest.json``, bottom first."""
    import json  # with the first image: json's import is not free, and most scans meet none

    try:
        images = json.loads(manifest)
        layers = images[0]["Layers"]
    except (ValueError, LookupError, TypeError):
        return []
    return [normpath(layer) for layer in layers if isinstance(layer, str)]


def blob_path(descriptor: object) -> str | None:
    """``blobs/sha256/<hex>`` for an OCI descriptor (``{"digest": "sha256:<hex>", …}``)."""
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    match = _DIGEST.match(digest) if isinstance(digest, str) else None
    return f"blobs/{match[1]}/{match[2]}" if match else None


def oci_layer_orders(index: bytes, blob: Blob) -> list[list[str]]:
    """The layers of every image manifest an OCI ``index.json`` reaches (an index may point
    at indexes, to MAX_INDEX_DEPTH), each bottom first, as blob paths."""
    import json  # with the first image (as in layer_order)

    orders: list[list[str]] = []
    pending: list[tuple[bytes, int]] = [(index, 0)]
    seen: set[str] = set()
    while pending and len(orders) < MAX_MANIFESTS:
        data, depth = pending.pop(0)
        try:
            document = json.loads(data)
        except ValueError:
            continue
        if not isinstance(document, dict):
            continue
        layers = document.get("layers")
        if isinstance(layers, list):  # an image manifest
            orders.append([p for p in map(blob_path, layers) if p is not None])
            continue
        manifests = document.get("manifests")
        if depth >= MAX_INDEX_DEPTH or not isinstance(manifests, list):
            continue
        for descriptor in manifests:
            path = blob_path(descriptor)
            if path is None or path in seen:
                continue
            seen.add(path)
            content = blob(path)
            if content is not None:
                pending.append((content, depth + 1))
    return orders


@dataclass
class ImageParts:
    """What a tar tells about an image as its members go by: ``manifest.json``,
    ``index.json`` and the small JSON blobs (manifests, indexes), within MAX_KEPT."""

    manifest: bytes | None = None
    index: bytes | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)
    kept: int = 0

    def take(self, name: str, stream: BinaryIO) -> BinaryIO:
        """The member's stream, to scan as usual; what the image needs is kept on the way."""
        if "blobs/" not in name and not name.endswith(".json"):
            return stream  # most members of most tars: one test each
        path = clean(name)
        if path in (MANIFEST, INDEX):
            data = read_bounded(stream, MAX_MANIFEST, f"an image's {path}")
            if path == MANIFEST:
                self.manifest = data
            else:
                self.index = data
            return io.BytesIO(data)
        if not path.startswith("blobs/") or self.kept >= MAX_KEPT:
            return stream
        first = stream.read(1)
        if first != b"{":  # a layer (gzip, zstd, tar): not JSON
            return PeekedStream(first, stream)
        head = first + stream.read(MAX_MANIFEST)
        if len(head) <= MAX_MANIFEST:
            self.blobs[path] = head
            self.kept += len(head)
        return PeekedStream(head, stream)

    def layer_orders(self) -> list[list[str]]:
        if self.manifest is not None and (order := layer_order(self.manifest)):
            return [order]
        if self.index is not None:
            return oci_layer_orders(self.index, self.blobs.get)
        return []


def _deletes(names: Sequence[str], path: str) -> bool:
    """Whether a layer holding these member names hides path (a whiteout of it or of a
    folder above it, or an opaque folder above it)."""
    for name in map(clean, names):
        folder, _, leaf = name.rpartition("/")
        if leaf == _OPAQUE:
            if path.startswith(folder + "/" if folder else ""):
                return True
        elif leaf.startswith(_WHITEOUT):
            hidden = (folder + "/" if folder else "") + leaf[len(_WHITEOUT) :]
            if path == hidden or path.startswith(hidden + "/"):
                return True
    return False


def in_tar(image: str) -> Split:
    """(layer, path) of a finding named ``image!<layer>!<path>``."""

    def split(finding: Finding) -> tuple[str, str] | None:
        parts = finding.path.split(MEMBER_SEPARATOR)
        if len(parts) < 3 or parts[0] != image:
            return None
        return normpath(parts[1]), MEMBER_SEPARATOR.join(parts[2:])

    return split


def annotate_layers(
    found: list[Finding], orders: list[list[str]], split: Split, names: Callable[[str], list[str]]
) -> None:
    """Give each finding inside a layer its ``image_path`` (and ``image_note`` when a later
    layer of its image deleted it); ``names`` lists a layer's member names."""
    for finding in found:
        where = split(finding)
        if where is None:
            continue
        layer, inside = where
        order = next((o for o in orders if layer in o), None)
        if order is None:
            continue
        path = clean(inside)
        finding.image_path = "/" + path
        for later in order[order.index(layer) + 1 :]:
            if _deletes(names(later), path):
                finding.image_note = DELETED
                break


def annotate(
    found: list[Finding], image: str, parts: ImageParts, names: dict[str, list[str]]
) -> int:
    """Annotate the findings of an image read as the tar ``image``; returns how many
    layers its manifest (or index) lists."""
    orders = parts.layer_orders()
    if orders:
        annotate_layers(
            found,
            orders,
            in_tar(image),
            lambda layer: names.get(image + MEMBER_SEPARATOR + layer, []),
        )
    return sum(map(len, orders))
