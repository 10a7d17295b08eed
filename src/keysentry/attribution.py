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

_HINTS = re.compile(
    rb"(?P<deepseek>deepseek)|(?P<dashscope>dashscope|aliyun|alibabacloud|qwen|bailian|tongyi)",
    re.IGNORECASE,
)
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
    return [
        _Hint(m.lastgroup or UNKNOWN, m.group().decode("ascii").lower(), m.start())
        for m in _HINTS.finditer(data)
    ]


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
    nearest = min(hints, key=lambda h: min(abs(h.offset - start), abs(h.offset - end)))
    distance = min(abs(nearest.offset - start), abs(nearest.offset - end))
    lo, hi = sorted((nearest.offset, start))
    near = distance <= NEAR_BYTES and data.count(b"\n", lo, hi) <= NEAR_LINES
    providers = {h.provider for h in hints}
    label = "DeepSeek" if nearest.provider == DEEPSEEK else "DashScope (Alibaba Cloud)"
    if near:
        rivals = {
            h.provider
            for h in hints
            if min(abs(h.offset - start), abs(h.offset - end)) <= NEAR_BYTES
        }
        confidence = "high" if len(rivals) == 1 else "medium"
        evidence = f"'{nearest.word}' {_where(data, nearest, start)}: {label}"
    else:
        confidence = "medium" if len(providers) == 1 else "low"
        evidence = f"'{nearest.word}' named elsewhere in the file: {label}"
    if len(providers) > 1:
        evidence += "; both DeepSeek and DashScope are named, the nearest wins"
    return Attribution(nearest.provider, confidence, evidence)
