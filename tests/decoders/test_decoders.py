"""Decoders: encoded keys found where they are, at their encoded position, never leaked."""

from __future__ import annotations

import base64
import secrets

import pytest

from conftest import new_key
from keysentry.decoders import Encoded, find_encoded


def _b64_keys(data: bytes) -> list[tuple[int, str, tuple[str, ...]]]:
    keys = find_encoded(data).keys
    return [(k.start, k.key, k.chain) for k in keys]


@pytest.mark.parametrize("prefix_len", range(7))
@pytest.mark.parametrize("variant", ["standard", "urlsafe", "obfuscator"])
def test_base64_key_at_every_alignment_inside_a_longer_payload(prefix_len, variant):
    key = new_key()
    # binary around the key, so URL-safe and standard alphabets really differ
    plain = secrets.token_bytes(prefix_len) + b"=" + key.encode() + b"\n" + secrets.token_bytes(50)
    if variant == "urlsafe":
        encoded = base64.urlsafe_b64encode(plain)
    elif variant == "obfuscator":  # javascript-obfuscator: letters' case swapped, no padding
        encoded = base64.b64encode(plain).swapcase().rstrip(b"=")
    else:
        encoded = base64.b64encode(plain)
    data = b'{"blob": "' + encoded + b'"}'
    found = _b64_keys(data)
    assert [k for _, k, _ in found] == [key]
    start = found[0][0]
    # the reported position is the base64 character that holds the first bits of "s"
    key_at = prefix_len + 1
    assert start == len(b'{"blob": "') + key_at * 4 // 3
    assert found[0][2] == (("base64-swapcase",) if variant == "obfuscator" else ("base64",))


def test_wrapped_base64_and_json_escaped_slashes_are_followed():
    key = new_key()
    plain = b"\xff\xfe" * 20 + b"API_KEY=" + key.encode() + b"\n" + b"\xfb\xff" * 30
    encoded = base64.b64encode(plain)
    assert b"/" in encoded
    wrapped = b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    escaped = encoded.replace(b"/", b"\\/")  # what PHP's json_encode writes
    for data in (wrapped, escaped):
        assert [k for _, k, _ in _b64_keys(data)] == [key]


def test_random_base64_and_plain_javascript_give_nothing():
    noise = base64.b64encode(secrets.token_bytes(3 << 20))
    js = b"function c2st(a){return zay(a)+NrL}var H4sI=1;" * 1000
    assert find_encoded(noise) == Encoded()
    assert find_encoded(js) == Encoded()


def _escaped(key: str, form: str) -> str:
    return "".join(form % ord(c) for c in key)


@pytest.mark.parametrize(
    ("form", "chain"),
    [
        ("\\x%02x", "js-escape"),
        ("\\u%04x", "js-escape"),
        ("\\u{%x}", "js-escape"),
        ("\\%03o", "js-escape"),
        ("%%%02X", "percent"),
        ("%%%02x", "percent"),
        ("&#%d;", "html-entity"),
        ("&#x%x;", "html-entity"),
    ],
)
def test_escaped_keys(form, chain):
    key = new_key()
    data = f'const a = "{_escaped(key, form)}";'.encode()
    keys = find_encoded(data).keys
    assert [(k.key, k.chain, k.start) for k in keys] == [(key, (chain,), len('const a = "'))]
    assert data[keys[0].end :] == b'";'
    assert key not in keys[0].context and key[:7] in keys[0].context


def test_half_escaped_key_and_boundaries_follow_the_detector():
    key = new_key()
    half = "\\x73" + key[1:]
    assert [k.key for k in find_encoded(f"'{half}'".encode()).keys] == [key]
    longer = _escaped(key + "a", "\\x%02x")  # 33 hex digits: not a key once decoded
    assert find_encoded(f"'{longer}'".encode()) == Encoded()
    inside_word = "x" + _escaped(key, "\\x%02x")  # decoded: "xsk-…" is part of a word
    assert find_encoded(f"'{inside_word}'".encode()) == Encoded()
    placeholder = _escaped("sk-" + "0" * 32, "\\u%04x")
    assert find_encoded(f"'{placeholder}'".encode()) == Encoded()


def test_context_never_holds_a_key_of_the_neighbours():
    keys = [new_key() for _ in range(3)]
    escaped = [_escaped(k, "\\x%02x") for k in keys]
    data = ("[" + ",".join(f"'{e}'" for e in escaped) + "]").encode()
    found = find_encoded(data).keys
    assert [k.key for k in found] == keys
    for item in found:
        for key in keys:
            assert key not in item.context
            assert key[3:15] not in item.context


def test_inline_source_map_and_base64_gzip_are_payloads():
    key = new_key()
    doc = ('{"version":3,"sources":["a.js"],"sourcesContent":["// ' + key + '"]}').encode()
    line = b"//# sourceMappingURL=data:application/json;charset=utf-8;base64,"
    data = b"x();\n" + line + base64.b64encode(doc) + b"\n"
    found = find_encoded(data)
    keys, payloads = found.keys, found.payloads
    assert keys == []  # the whole map is decoded instead: the key is found there
    assert [(p.kind, p.data, p.start) for p in payloads] == [("sourcemap", doc, 5 + len(line))]
