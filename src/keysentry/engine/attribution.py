"""Which provider a DeepSeek-shaped key belongs to, judged from its surroundings.

DeepSeek and Alibaba DashScope keys share one shape; the words around the key
(a base URL, an environment variable name, a ``provider:`` field) decide.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import ahocorasick_rs

DEEPSEEK = "deepseek"
DASHSCOPE = "dashscope"
UNKNOWN = "unknown"

_WORDS = {
    DEEPSEEK: ("deepseek",),
    DASHSCOPE: ("dashscope", "aliyun", "alibabacloud", "qwen", "bailian", "tongyi"),
}
# Short words turn up by chance inside base64 (fonts and images in bundles): they
# count only at the start of a word.
_WORD_START_ONLY = frozenset(w for words in _WORDS.values() for w in words if len(w) < 8)
_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")
# One multi-word SIMD pass over lowercased bytes (every match, overlapping ones too):
# several times faster than a literal search per word, and than one case-insensitive
# alternation, which matters on multi-megabyte bundles.
_HINTS = [(provider, word) for provider, words in _WORDS.items() for word in words]
_HINT_FINDER = ahocorasick_rs.BytesAhoCorasick([word.encode() for _, word in _HINTS])
NEAR_BYTES = 1024
NEAR_LINES = 5


@dataclass(frozen=True)
class Attribution:
    provider: str
    confidence: str
    evidence: str


@dataclass(frozen=True)
class _Hint:
    provider: str
    word: str
    offset: int


@dataclass(frozen=True)
class Hints:
    """Every provider mention in a chunk, sorted by offset, found once and shared by its keys.

    Each key looks up its neighbours by bisection, so a file of n keys and n mentions
    costs n log n, not n squared (issue 17: 26,000 keys with a provider word each)."""

    hints: tuple[_Hint, ...] = ()
    offsets: tuple[int, ...] = ()
    providers: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.hints)

    def nearest(self, start: int, end: int) -> _Hint:
        """The mention closest to data[start:end]; on a tie the earlier one."""
        i = bisect_left(self.offsets, start)
        if i == len(self.hints):
            return self.hints[i - 1]
        after = self.hints[i]
        if i and start - self.hints[i - 1].offset <= _gap(after, start, end):
            return self.hints[i - 1]
        return after

    def around(self, start: int, end: int) -> tuple[_Hint, ...]:
        """The mentions within NEAR_BYTES of data[start:end]."""
        lo = bisect_left(self.offsets, start - NEAR_BYTES)
        hi = bisect_right(self.offsets, end + NEAR_BYTES)
        return self.hints[lo:hi]


def _gap(hint: _Hint, start: int, end: int) -> int:
    return min(abs(hint.offset - start), abs(hint.offset - end))


def find_hints(data: bytes) -> Hints:
    """Every provider mention in a chunk, found once and shared by its keys."""
    lowered = data.lower()  # ASCII only, so offsets are unchanged
    found = []
    for index, at, _ in _HINT_FINDER.find_matches_as_indexes(lowered, overlapping=True):
        provider, word = _HINTS[index]
        if not (word in _WORD_START_ONLY and at and lowered[at - 1] in _ALNUM):
            found.append(_Hint(provider, word, at))
    found.sort(key=lambda h: h.offset)
    return Hints(tuple(found), tuple(h.offset for h in found), frozenset(h.provider for h in found))


def _where(data: bytes, hint: _Hint, start: int) -> str:
    lo, hi = sorted((hint.offset, start))
    lines = data.count(b"\n", lo, hi)
    if lines == 0:
        return "on the same line"
    direction = "above" if hint.offset < start else "below"
    return f"{lines} line{'s' if lines > 1 else ''} {direction}"


def attribute(data: bytes, start: int, end: int, hints: Hints) -> Attribution:
    """Attribute the key at data[start:end] from the hints found in the same chunk."""
    if not hints:
        return Attribution(UNKNOWN, "low", "no provider named in the file; DeepSeek-shaped key")

    def is_near(hint: _Hint) -> bool:
        lo, hi = sorted((hint.offset, start))
        return _gap(hint, start, end) <= NEAR_BYTES and data.count(b"\n", lo, hi) <= NEAR_LINES

    nearest = hints.nearest(start, end)
    providers = hints.providers
    label = "DeepSeek" if nearest.provider == DEEPSEEK else "DashScope (Alibaba Cloud)"
    if is_near(nearest):
        rivals = {
            h.provider
            for h in hints.around(start, end)
            if h.provider != nearest.provider and is_near(h)
        }
        confidence = "medium" if rivals else "high"
        evidence = f"'{nearest.word}' {_where(data, nearest, start)}: {label}"
    else:
        confidence = "medium" if len(providers) == 1 else "low"
        evidence = f"'{nearest.word}' named elsewhere in the file: {label}"
    if len(providers) > 1:
        evidence += "; both DeepSeek and DashScope are named, the nearest wins"
    return Attribution(nearest.provider, confidence, evidence)
