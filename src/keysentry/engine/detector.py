"""The one definition of a DeepSeek-shaped API key: bytes in, candidates out.

Pure: no I/O, no configuration. Shared by the scanner, the git sources and the
detect-secrets plugin.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import ahocorasick_rs

from keysentry.model.key import KEY_LENGTH, KEY_PATTERN, KEY_PREFIX

# A character that would make the key part of a longer token.
_TOKEN_BEFORE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_TOKEN_AFTER = _TOKEN_BEFORE | frozenset(b"-")
_HEX = b"0123456789abcdef"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPE_LETTERS = frozenset(b"ntrbfv0")
_KEY_HEX = frozenset(_HEX)
_HEX_VALUE = {c: i for i, c in enumerate(_HEX.decode())}
BINARY_RADIUS = 1024

# Bytes a caller must keep on each side of a window for the boundary checks.
LOOKBEHIND = 8
LOOKAHEAD = 1

# Every key begins with KEY_PREFIX: a SIMD search for it (several GB/s) finds where the
# key pattern is worth trying, about three times faster than the regex scanning on its
# own. Searched a slice at a time: a flood of prefixes keeps the list of hits small, and
# a slice dense with them (more than DENSE_PREFIXES) is left to the regex, which tries
# each one in C rather than in a Python loop.
_PREFIX_FINDER = ahocorasick_rs.BytesAhoCorasick([KEY_PREFIX])
_PREFIX_SLICE = 1 << 18
DENSE_PREFIXES = 1024


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


# keys next to each other on a numeric keypad (king moves) or along the number row
_KEYPAD = ("789", "456", "123", "0")
_KEYPAD_AT = {key: (row, col) for row, keys in enumerate(_KEYPAD) for col, key in enumerate(keys)}
_NUMBER_ROW = "1234567890"
WALK_LENGTH = 20  # keys in a row, each beside the one before (16 rejects 1 random key in 1e6)


def _beside(a: str, b: str) -> bool:
    if a == b or a not in _KEYPAD_AT or b not in _KEYPAD_AT:
        return False
    (row_a, col_a), (row_b, col_b) = _KEYPAD_AT[a], _KEYPAD_AT[b]
    if abs(row_a - row_b) <= 1 and abs(col_a - col_b) <= 1:
        return True
    return abs(_NUMBER_ROW.index(a) - _NUMBER_ROW.index(b)) == 1


_BESIDE = frozenset((a, b) for a in _HEX.decode() for b in _HEX.decode() if _beside(a, b))


def _keyboard_walk(body: str) -> bool:
    run = 1
    for pair in pairwise(body):
        run = run + 1 if pair in _BESIDE else 1
        if run >= WALK_LENGTH:
            return True
    return False


def _interleaved_runs(values: list[int], length: int = 10) -> bool:
    """Two ascending runs woven together (``a1b2c3d4e5``, ``1a2b3c4d5e``): each character
    one more than the one two places before, ``length`` characters long."""
    run = 2
    for i in range(2, len(values)):
        run = run + 1 if values[i] - values[i - 2] == 1 else 2
        if run >= length:
            return True
    return False


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(key: str) -> bool:
    """True for documentation and dummy values, never for a random key (see
    ``placeholder_clause``)."""
    return placeholder_clause(key) is not None


def placeholder_clause(key: str) -> str | None:
    """Which clause of the placeholder rule a key's body meets, or None.

    The rule (each clause is far beyond what 32 random hex characters produce;
    the tests check 10,000 random keys, bench/placeholder_rate.py a million):
    - the body repeats a unit of at most 16 characters (``abcdef`` * n,
      ``0123456789abcdef`` * 2);
    - fewer than 7 distinct characters, or Shannon entropy below 2.5 bits;
    - a run of 8 or more identical characters;
    - a run of 8 or more characters stepping through hex order
      (``01234567``, ``fedcba98``);
    - characters in sorted order (``00112233…eeff``, ``1111222233334444…``);
    - two ascending runs woven together over 10 characters (``a1b2c3d4e5``, ``1a2b3c4d5e``);
    - a walk of 20 keys, each beside the one before on a numeric keypad or the number row
      (``78965412369874563214``);
    - a body that reads the same backwards.
    """
    body = key[3:]
    for period in range(1, 17):
        if body == (body[:period] * (len(body) // period + 1))[: len(body)]:
            return "repeated unit"
    if len(set(body)) < 7 or _entropy(body) < 2.5:
        return "few distinct characters"
    if body == body[::-1]:
        return "reads the same backwards"
    values = [_HEX_VALUE[c] for c in body]
    if values in (sorted(values), sorted(values, reverse=True)):
        return "sorted"
    if _interleaved_runs(values):
        return "woven ascending runs"
    if _keyboard_walk(body):
        return "keyboard walk"
    if max(_longest_run(values, 0), _longest_run(values, 1), _longest_run(values, -1)) >= 8:
        return "run of 8"
    return None


def find_candidates(data: bytes, start: int = 0, stop: int | None = None) -> list[Candidate]:
    """Keys that begin in data[start:stop], with boundary checks against all of data.

    A match must leave LOOKAHEAD bytes after it inside data for its right
    boundary to be judged; callers streaming windows keep that much overlap.
    """
    stop = len(data) if stop is None else stop
    found = []
    for begin in prefixes(data, start, stop):
        candidate = candidate_at(data, begin)
        if candidate is not None:
            found.append(candidate)
    return found


def candidate_at(data: bytes, begin: int) -> Candidate | None:
    """The key at data[begin] (where KEY_PREFIX begins), if it is one by every rule."""
    match = KEY_PATTERN.match(data, begin)
    if match is None:
        return None
    end = match.end()
    if not stands_alone(data, begin, end):
        return None
    key = match.group().decode("ascii")
    if is_placeholder(key):
        return None
    return Candidate(begin, end, key)


def prefixes(data: bytes, start: int, stop: int) -> Iterator[int]:
    """Where KEY_PREFIX begins in data[start:stop] (it may end past stop); in a slice dense
    with prefixes, only those that begin a whole key shape."""
    view = memoryview(data)
    reach = len(KEY_PREFIX) - 1
    dense = False  # once a slice is dense, the rest of data is left to the regex
    for lo in range(start, stop, _PREFIX_SLICE):
        top = min(stop, lo + _PREFIX_SLICE)
        hits = [] if dense else _PREFIX_FINDER.find_matches_as_indexes(view[lo : top + reach])
        if dense or len(hits) > DENSE_PREFIXES:  # only where a whole key begins
            dense = True
            for match in KEY_PATTERN.finditer(data, lo, top + KEY_LENGTH - 1):
                if match.start() < top:
                    yield match.start()
            continue
        for _, at, _ in hits:
            if lo + at < top:
                yield lo + at


def find_keys_in_text(text: str) -> list[str]:
    """The keys in a str, for callers that hold text (the detect-secrets plugin)."""
    data = text.encode("utf-8", "surrogateescape")
    return [c.key for c in find_candidates(data)]
