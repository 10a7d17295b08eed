"""Content-Encoding undone within the decompression budget: every encoding, bombs, junk."""

from __future__ import annotations

import gzip
import io
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from keysentry.containers.limits import Budget, Limits
from keysentry.sources.site import encoding

BODY = b"window.cfg={a:1};\n" * 2000


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


ENCODED = {
    "gzip": gzip.compress(BODY),
    "x-gzip": gzip.compress(BODY),
    "br": brotli.compress(BODY),
    "zstd": zstandard.ZstdCompressor().compress(BODY),
    "deflate": zlib.compress(BODY),
    "identity": BODY,
    "": BODY,
}


def decode(data: bytes, name: str, limit: int = 1 << 20, limits: Limits | None = None):
    budget = Budget(limits or Limits())
    return encoding.decode(io.BytesIO(data), name, budget, limit)


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_each_encoding_decodes_to_the_body(name):
    decoded = decode(ENCODED[name], name)
    assert decoded.body == BODY
    assert decoded.problem is None
    assert decoded.wire_bytes == len(ENCODED[name])


def test_raw_deflate_as_some_servers_send_it():
    assert decode(deflate_raw(BODY), "deflate").body == BODY


@pytest.mark.parametrize("name", ["gzip", "br", "zstd", "deflate"])
def test_a_bomb_stops_at_the_ratio_limit_with_its_start_kept(name):
    head = b"const k = 1;\n"
    zeros = b"\0" * (64 << 20)
    data = {
        "gzip": lambda: gzip.compress(head + zeros, 6),
        "br": lambda: brotli.compress(head + zeros, quality=1),
        "zstd": lambda: zstandard.ZstdCompressor(level=1).compress(head + zeros),
        "deflate": lambda: zlib.compress(head + zeros, 6),
    }[name]()
    decoded = decode(data, name, limit=1 << 30)
    assert decoded.body.startswith(head)
    assert "decompression bomb" in (decoded.problem or "")
    assert len(decoded.body) < 40 << 20  # stopped soon after the ratio floor


def test_a_body_past_the_response_limit_is_cut_and_said():
    decoded = decode(ENCODED["gzip"], "gzip", limit=1000)
    assert decoded.body == BODY[:1000]
    assert "oversize" in decoded.problem and "--max-response-bytes" in decoded.problem


def test_corrupt_data_keeps_what_decoded_and_says_why():
    broken = ENCODED["gzip"][: len(ENCODED["gzip"]) // 2]
    decoded = decode(broken, "gzip")
    assert BODY.startswith(decoded.body) and decoded.body
    assert decoded.problem.startswith("gzip: ")


def test_an_unknown_encoding_is_scanned_raw_and_said():
    decoded = decode(b"abc", "compress")
    assert decoded.body == b"abc"
    assert "not supported" in decoded.problem


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["gzip", "br", "zstd", "deflate"]))
def test_junk_in_any_encoding_never_raises(data, name):
    decoded = decode(data, name, limit=4096)
    assert len(decoded.body) <= 4096
