"""The OCI index walk (containers/image.py) on hostile input: random JSON and bytes for
``index.json`` and its blobs, cycles and deep nesting. It always ends, never raises, and
an image tar whose index is broken is still scanned whole."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import KEYSENTRY, new_key, tar_bytes
from keysentry.containers.image import MAX_INDEX_DEPTH, ImageParts, oci_layer_orders
from keysentry.model.key import fingerprint

INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_digests = st.sampled_from([f"sha256:{'a' * 64}", f"sha256:{'b' * 64}", "sha256:../../etc", "x"])


def _descriptor(digest: str) -> dict[str, str]:
    return {"mediaType": INDEX_TYPE, "digest": digest}


@settings(max_examples=200, deadline=None)
@given(
    index=st.one_of(st.binary(max_size=200), _json.map(lambda v: json.dumps(v).encode())),
    blobs=st.dictionaries(
        st.sampled_from(["blobs/sha256/" + "a" * 64, "blobs/sha256/" + "b" * 64]),
        st.one_of(
            st.binary(max_size=100),
            st.builds(
                lambda ds, layers: json.dumps(
                    {"manifests": [_descriptor(d) for d in ds], "layers": layers}
                ).encode(),
                st.lists(_digests, max_size=3),
                st.none() | st.lists(st.builds(lambda d: {"digest": d}, _digests), max_size=3),
            ),
        ),
    ),
)
def test_index_walk_never_raises(index: bytes, blobs: dict[str, bytes]) -> None:
    orders = oci_layer_orders(index, blobs.get)
    for order in orders:
        assert all(path.startswith("blobs/sha256/") and ".." not in path for path in order)


def test_a_cycle_and_a_deep_chain_end() -> None:
    a, b = "blobs/sha256/" + "a" * 64, "blobs/sha256/" + "b" * 64
    looping = json.dumps({"manifests": [_descriptor("sha256:" + "a" * 64)]}).encode()
    assert oci_layer_orders(looping, {a: looping}.get) == []
    # a chain one deeper than MAX_INDEX_DEPTH never reaches its manifest
    manifest = json.dumps({"layers": [{"digest": "sha256:" + "c" * 64}]}).encode()
    blobs, top = {b: manifest}, manifest
    for level in range(MAX_INDEX_DEPTH + 1):
        digest = hashlib.sha256(top).hexdigest() + str(level)
        blobs[f"blobs/sha256/{digest}"] = top
        top = json.dumps({"manifests": [_descriptor(f"sha256:{digest}")]}).encode()
    assert oci_layer_orders(top, blobs.get) == []


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=64))
def test_image_parts_return_every_byte(data: bytes) -> None:
    parts = ImageParts()
    stream = parts.take("blobs/sha256/" + "a" * 64, io.BytesIO(data))
    assert stream.read() == data


def test_a_broken_index_loses_no_key() -> None:
    keys = [new_key(), new_key()]
    layer = tar_bytes({"app/a.py": f"K = '{keys[0]}'\n".encode()})
    tarball = tar_bytes(
        {
            "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
            "index.json": b'{"manifests": [{"digest": "sha256:' + b"f" * 64 + b'"}',  # cut short
            "blobs/sha256/" + hashlib.sha256(layer).hexdigest(): layer,
            "blobs/sha256/" + "e" * 64: f'{{"config": {{"Env": ["K={keys[1]}"]}}}}'.encode(),
        }
    )
    proc = subprocess.run(
        [*KEYSENTRY, "scan", "-", "--format", "json"],
        input=tarball,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)["findings"]
    assert {f["fingerprint"] for f in found} == {fingerprint(k) for k in keys}
    assert all("image_path" not in f for f in found)
