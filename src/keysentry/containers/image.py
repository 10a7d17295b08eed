"""Container images saved as a tarball (``docker save``; also its OCI-layout form, which
keeps a ``manifest.json`` beside ``index.json``): each layer is a tar inside the image's
tar, scanned like any nested archive. This module adds what only the image knows, once
the whole tarball was read: the layer order from ``manifest.json``, the path each file
has in the running container (``image_path``), and whether a later layer deleted it
with a whiteout (``.wh.NAME``, or ``.wh..wh..opq`` for a whole folder), which hides the
file from the container but leaves its bytes in the image for anyone who pulls it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from posixpath import normpath

from keysentry.model.finding import Finding
from keysentry.model.target import MEMBER_SEPARATOR

MANIFEST = "manifest.json"
MAX_MANIFEST = 1 << 20
DELETED = "deleted in a later layer, still in the image"
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


def layer_order(manifest: bytes) -> list[str]:
    """The layers of the first image in a docker-save ``manifest.json``, bottom first."""
    try:
        images = json.loads(manifest)
        layers = images[0]["Layers"]
    except (ValueError, LookupError, TypeError):
        return []
    return [normpath(layer) for layer in layers if isinstance(layer, str)]


def _clean(name: str) -> str:
    return normpath(name.lstrip("/")).removeprefix("./")


def _deletes(names: Sequence[str], path: str) -> bool:
    """Whether a layer holding these member names hides path (a whiteout of it or of a
    folder above it, or an opaque folder above it)."""
    for name in map(_clean, names):
        folder, _, leaf = name.rpartition("/")
        if leaf == _OPAQUE:
            if path.startswith(folder + "/" if folder else ""):
                return True
        elif leaf.startswith(_WHITEOUT):
            hidden = (folder + "/" if folder else "") + leaf[len(_WHITEOUT) :]
            if path == hidden or path.startswith(hidden + "/"):
                return True
    return False


def annotate(found: list[Finding], image: str, manifest: bytes, names: dict[str, list[str]]) -> int:
    """Give each finding inside a layer of ``image`` its ``image_path`` (and ``image_note``
    when a later layer deleted it); returns how many layers the manifest lists."""
    layers = layer_order(manifest)
    position = {layer: i for i, layer in enumerate(layers)}
    for finding in found:
        parts = finding.path.split(MEMBER_SEPARATOR)
        if len(parts) < 3 or parts[0] != image or normpath(parts[1]) not in position:
            continue
        index = position[normpath(parts[1])]
        path = _clean(MEMBER_SEPARATOR.join(parts[2:]))
        finding.image_path = "/" + path
        for later in layers[index + 1 :]:
            if _deletes(names.get(f"{image}{MEMBER_SEPARATOR}{later}", []), path):
                finding.image_note = DELETED
                break
    return len(layers)
