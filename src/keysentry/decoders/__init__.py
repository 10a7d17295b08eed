"""Encoded forms of a key inside a chunk of bytes: targeted, never brute force.

One SIMD multi-needle pass (ahocorasick-rs) finds the places where an encoded
``sk-`` can begin: its three base64 alignments (standard, URL-safe and the
swapped-case alphabet of javascript-obfuscator), an escaped ``s`` (``\\x73``,
``\\u0073``, ``\\u{73}``, ``\\163``, ``%73``, ``&#115;``, ``&#x73;``), an inline
source map, and base64 of gzip (``H4sI``). Only the few bytes around each hit
are decoded. Each decoded key reports the span of its encoded form in the
chunk, so line and column point at the original bytes.

Pure: bytes in, decoded keys and embedded payloads out.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick_rs

from keysentry.decoders import base64_runs, escapes

MAX_ENCODED = 512  # raw bytes an encoded key spans after a hit (\\u{73} x 35, and context)


@dataclass(frozen=True)
class DecodedKey:
    """A key whose encoded form sits at chunk[start:end]."""

    start: int
    end: int
    key: str
    chain: tuple[str, ...]  # the decodings that revealed it, outermost first
    context: str  # decoded text around the key, every key in it redacted


@dataclass(frozen=True)
class Payload:
    """A whole encoded run worth decoding and scanning as a document of its own.

    ``data`` is the decoded content of chunk[start:end]; decoded byte i comes from
    the base64 quad at ``start + (i // 3) * 4``.
    """

    start: int
    end: int
    data: bytes
    kind: str  # "sourcemap" (an inline source map) or "gzip" (base64 of gzip data)
    problem: str | None = None  # why it was not decoded (too large, truncated)


_B64 = "b64"
_MIN_PAYLOAD = 28  # base64 characters of the smallest gzip stream (header, block, trailer)
_NEEDLES: dict[bytes, tuple[str, int]] = {
    # alignment of "sk-" in the decoded bytes: the quad holding the 's' starts this far back
    b"c2st": (_B64, 0),
    b"NrL": (_B64, 2),
    b"zay": (_B64, 3),
    b"C2ST": (_B64, 0),  # javascript-obfuscator's alphabet: standard with letters' case swapped
    b"nRl": (_B64, 2),
    b"ZAY": (_B64, 3),
    b"\\x73": ("js-escape", 0),
    b"\\u0073": ("js-escape", 0),
    b"\\u{73}": ("js-escape", 0),
    b"\\163": ("js-escape", 0),
    b"%73": ("percent", 0),
    b"&#115;": ("html-entity", 0),
    b"&#x73;": ("html-entity", 0),
    b"&#X73;": ("html-entity", 0),
    b"sourceMappingURL=data:": ("inline-map", 0),
    b"H4sI": ("gzip-base64", 0),
}
_KINDS = list(_NEEDLES.values())
_MATCHER = ahocorasick_rs.BytesAhoCorasick(
    list(_NEEDLES), matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
)


def find_encoded(
    data: bytes, start: int = 0, stop: int | None = None, max_payload: int = 64 << 20
) -> tuple[list[DecodedKey], list[Payload]]:
    """Encoded keys whose encoding begins in data[start:stop], and payloads to scan whole.

    ``stop == len(data)`` means data ends where the stream ends (the last window).
    """
    stop = len(data) if stop is None else stop
    hits = _MATCHER.find_matches_as_indexes(data)
    if not hits:
        return [], []
    keys: list[DecodedKey] = []
    payloads: list[Payload] = []
    claimed_to = -1  # base64 inside a payload already decoded whole is not decoded again
    for index, at, end in hits:
        if at < start or at >= stop:
            continue
        kind, back = _KINDS[index]
        if kind == _B64:
            if at < claimed_to:
                continue
            found = base64_runs.decode_key_at(data, at, end, back)
            if found is not None:
                keys.append(DecodedKey(*found))
        elif kind == "inline-map" or kind == "gzip-base64":
            payload = _payload(data, at, end, kind, max_payload, stop == len(data))
            if payload is not None:
                payloads.append(payload)
                if payload.problem is None:
                    claimed_to = max(claimed_to, payload.end)
        else:
            found_escaped = escapes.decode_key_at(data, at, kind)
            if found_escaped is not None:
                keys.append(DecodedKey(*found_escaped))
    return keys, payloads


def _payload(
    data: bytes, at: int, end: int, kind: str, limit: int, last_window: bool
) -> Payload | None:
    if kind == "inline-map":
        head = data[end : end + 80]
        marker = head.find(b"base64,")
        if marker < 0 or not head.startswith(b"application/json"):
            return None
        begin = end + marker + len(b"base64,")
        doc = "sourcemap"
    else:
        if at > 0 and data[at - 1] in base64_runs.ALPHABET:
            return None  # not the start of a run
        begin, doc = at, "gzip"
    stop = base64_runs.run_end(data, begin)
    if stop - begin < _MIN_PAYLOAD:
        return None
    if stop == len(data) and not last_window:
        return Payload(begin, stop, b"", doc, "runs past the end of the window")
    if (stop - begin) * 3 // 4 > limit:
        return Payload(begin, stop, b"", doc, f"larger than {limit >> 20} MiB")
    return Payload(begin, stop, base64_runs.decode_run(data[begin:stop]), doc)
