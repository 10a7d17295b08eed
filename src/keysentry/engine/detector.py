"""The one definition of a DeepSeek-shaped API key: bytes in, candidates out.

Pure: no I/O, no configuration. Shared by the scanner, the git sources and the
detect-secrets plugin.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from keysentry.model.key import KEY_PATTERN

# A character that would make the key part of a longer token.
_TOKEN_BEFORE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_TOKEN_AFTER = _TOKEN_BEFORE | frozenset(b"-")
_HEX = b"0123456789abcdef"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPE_LETTERS = frozenset(b"ntrbfv0")
_KEY_HEX = frozenset(_HEX)
BINARY_RADIUS = 1024

# Bytes a caller must keep on each side of a window for the boundary checks.
LOOKBEHIND = 8
LOOKAHEAD = 1


@dataclass(frozen=True)
class Candidate:
    """A DeepSeek-shaped key at data[start:end]."""

    start: int
    end: int
    key: str


def _escaped_boundary(data: bytes, start: int) -> bool:
    """True when the letter before the key ends an escape (\\n, \\x3d, \\u003d, %3D)."""
    if start >= 2 and data[start - 2] == 0x5C and data[start - 1] in _ESCAPE_LETTERS:
        return True
    if start >= 3 and data[start - 3] == 0x25 and data[start - 2] in _HEX_DIGITS:
        return data[start - 1] in _HEX_DIGITS  # %3D
    if start >= 4 and data[start - 4 : start - 2] == b"\\x":
        return _all_hex(data[start - 2 : start])  # \x3d
    return (
        start >= 6 and data[start - 6 : start - 4] == b"\\u" and _all_hex(data[start - 4 : start])
    )  # \u003d


def _all_hex(chunk: bytes) -> bool:
    return all(b in _HEX_DIGITS for b in chunk)


def stands_alone(data: bytes, start: int, end: int) -> bool:
    """The match is a token of its own, not part of a longer word or hex run."""
    if end < len(data) and data[end] in _TOKEN_AFTER:
        return _in_binary(data, start, end) and data[end] not in _KEY_HEX
    if start > 0 and data[start - 1] in _TOKEN_BEFORE:
        return _escaped_boundary(data, start) or _in_binary(data, start, end)
    return True


def _in_binary(data: bytes, start: int, end: int) -> bool:
    """NUL bytes near the key: packed binary data (.pyc, SQLite) where strings sit back to
    back with no delimiter, so only the hex run itself has to end."""
    return data.find(b"\x00", max(0, start - BINARY_RADIUS), end + BINARY_RADIUS) >= 0


def _longest_run(values: list[int], step: int) -> int:
    best = run = 1
    for prev, cur in pairwise(values):
        run = run + 1 if cur - prev == step else 1
        best = max(best, run)
    return best


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(key: str) -> bool:
    """True for documentation and dummy values, never for a random key.

    The rule (each clause is far beyond what 32 random hex characters produce;
    the tests check 10,000 random keys):
    - the body repeats a unit of at most 16 characters (``abcdef`` * n,
      ``0123456789abcdef`` * 2);
    - fewer than 7 distinct characters, or Shannon entropy below 2.5 bits;
    - a run of 8 or more identical characters;
    - a run of 8 or more characters stepping through hex order
      (``01234567``, ``fedcba98``);
    - characters in sorted order (``00112233…eeff``, ``1111222233334444…``).
    """
    body = key[3:]
    for period in range(1, 17):
        if all(body[i] == body[i % period] for i in range(len(body))):
            return True
    if len(set(body)) < 7 or _entropy(body) < 2.5:
        return True
    values = [_HEX.index(c.encode()) for c in body]
    if values in (sorted(values), sorted(values, reverse=True)):
        return True
    return max(_longest_run(values, 0), _longest_run(values, 1), _longest_run(values, -1)) >= 8


def find_candidates(data: bytes, start: int = 0, stop: int | None = None) -> list[Candidate]:
    """Keys that begin in data[start:stop], with boundary checks against all of data.

    A match must leave LOOKAHEAD bytes after it inside data for its right
    boundary to be judged; callers streaming windows keep that much overlap.
    """
    stop = len(data) if stop is None else stop
    found = []
    for match in KEY_PATTERN.finditer(data, start):
        begin, end = match.span()
        if begin >= stop:
            break
        if not stands_alone(data, begin, end):
            continue
        key = match.group().decode("ascii")
        if is_placeholder(key):
            continue
        found.append(Candidate(begin, end, key))
    return found


def find_keys_in_text(text: str) -> list[str]:
    """The keys in a str, for callers that hold text (the detect-secrets plugin)."""
    data = text.encode("utf-8", "surrogateescape")
    return [c.key for c in find_candidates(data)]
