"""Which provider a DeepSeek-shaped key belongs to, judged from its surroundings.

DeepSeek and Alibaba DashScope keys share one shape; the words around the key
(a base URL, an environment variable name, a ``provider:`` field) decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
# One literal search per word over lowercased bytes: ten times faster than one
# case-insensitive alternation, which matters on multi-megabyte bundles.
_HINTS = [
    (provider, word, re.compile(re.escape(word.encode())))
    for provider, words in _WORDS.items()
    for word in words
]
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


def find_hints(data: bytes) -> list[_Hint]:
    """Every provider mention in a chunk, found once and shared by its keys."""
    lowered = data.lower()  # ASCII only, so offsets are unchanged
    hints = [
        _Hint(provider, word, m.start())
        for provider, word, pattern in _HINTS
        for m in pattern.finditer(lowered)
        if not (word in _WORD_START_ONLY and m.start() and lowered[m.start() - 1] in _ALNUM)
    ]
    return sorted(hints, key=lambda h: h.offset)


def _where(data: bytes, hint: _Hint, start: int) -> str:
    lo, hi = sorted((hint.offset, start))
    lines = data.count(b"\n", lo, hi)
    if lines == 0:
        return "on the same line"
    direction = "above" if hint.offset < start else "below"
    return f"{lines} line{'s' if lines > 1 else ''} {direction}"


def attribute(data: bytes, start: int, end: int, hints: list[_Hint]) -> Attribution:
    """Attribute the key at data[start:end] from the hints found in the same chunk."""
    if not hints:
        return Attribution(UNKNOWN, "low", "no provider named in the file; DeepSeek-shaped key")

    def distance(hint: _Hint) -> int:
        return min(abs(hint.offset - start), abs(hint.offset - end))

    def is_near(hint: _Hint) -> bool:
        lo, hi = sorted((hint.offset, start))
        return distance(hint) <= NEAR_BYTES and data.count(b"\n", lo, hi) <= NEAR_LINES

    nearest = min(hints, key=distance)
    providers = {h.provider for h in hints}
    label = "DeepSeek" if nearest.provider == DEEPSEEK else "DashScope (Alibaba Cloud)"
    if is_near(nearest):
        rivals = {h.provider for h in hints if h.provider != nearest.provider and is_near(h)}
        confidence = "medium" if rivals else "high"
        evidence = f"'{nearest.word}' {_where(data, nearest, start)}: {label}"
    else:
        confidence = "medium" if len(providers) == 1 else "low"
        evidence = f"'{nearest.word}' named elsewhere in the file: {label}"
    if len(providers) > 1:
        evidence += "; both DeepSeek and DashScope are named, the nearest wins"
    return Attribution(nearest.provider, confidence, evidence)
