"""Keys split into string literals joined in code: ``'sk-' + 'a1…' + '…'`` (JS/TS, Python,
Java, C#, Go, Kotlin, Swift, Dart), Python's implicit ``'sk-a1' 'b2…'``, template pieces
``\\`sk-${'a1'}b2…\\```, ``['sk-', 'a1…'].join('')`` and javascript-obfuscator's
``splitStrings`` output.

A hit is a literal piece that can start a key (``sk-…``, ``'sk'``, ``'s'`` followed by a
join). From there, literal after literal is read while a join (``+``, whitespace, or a
comma inside a joined array) links them, up to a whole key and the character after it;
the joined text then meets the detector's rules (a full, non-placeholder key standing on
its own). No parser: a piece is a quoted run without escapes or line breaks.
"""

from __future__ import annotations

import re

from keysentry.decoders.context import RADIUS, context_text
from keysentry.decoders.decoded_key import DecodedKey
from keysentry.engine.detector import find_candidates
from keysentry.model.key import KEY_LENGTH

# the needle, and how far after its first byte the key's "s" is: a piece holding "sk-", or a
# piece that is just "s" or "sk" (a piece merely ending in them, 'Bearer sk' + '-…', is left
# out: those needles cost the needle pass a third more on ordinary JavaScript)
NEEDLES: dict[bytes, int] = {b"sk-": 0}
for _q in (b"'", b'"'):
    NEEDLES[_q + b"s" + _q] = 1
    NEEDLES[_q + b"sk" + _q] = 1

_QUOTES = b"'\"`"
# a key's start, then its piece ends (a quote, or a template's ${)
START = re.compile(rb"s(?:k(?:-[0-9a-f]{0,31})?)?(?:['\"`]|\$\{)")
_PIECE = {q: re.compile(rb"[^\\\n\r" + bytes([q]) + rb"]{0,80}" + bytes([q])) for q in _QUOTES}
_JOIN = re.compile(rb"\s*\+\s*|\s+")
# the whole shape of a split key: its characters, with at least one join between pieces
_LINK = rb"(?:['\"`](?:\s*\+\s*|\s+|\s*,\s*)['\"`]|\$\{\s*['\"]|['\"]\s*\})"
SHAPE = re.compile(
    rb"s(?:" + _LINK + rb")?k(?:" + _LINK + rb")?-(?:(?:" + _LINK + rb")?[0-9a-f]){32}"
)
_ARRAY_JOIN = re.compile(rb"\s*,\s*")
_JOINED_ARRAY_END = re.compile(rb"\s*\]\s*\.\s*join\(\s*(?:''|\"\"|``)\s*\)")
_TEMPLATE_LITERAL = re.compile(rb"\$\{\s*(['\"])([^'\"\\\n]*)\1\s*\}")
_MAX_PIECES = KEY_LENGTH + 1
ARRAY_LEADS = (b",", b"[")  # what stands before a piece of an array literal (spaces skipped)


def _content(data: bytes, quote_at: int) -> tuple[bytes, int, int] | None:
    """The text of the literal whose opening quote is data[quote_at], where it closes, and
    how many pieces it joins (a template's literal ``${'…'}`` are pieces of their own)."""
    quote = data[quote_at]
    match = _PIECE[quote].match(data, quote_at + 1)
    if match is None:
        return None
    text = data[quote_at + 1 : match.end() - 1]
    pieces = 1
    if quote == 0x60:  # a template: literal ${'…'} pieces are its text; any other ${ ends it
        text, pieces = _TEMPLATE_LITERAL.subn(lambda m: m.group(2), text)
        text = text.split(b"${", 1)[0]
        pieces += 1
    return text, match.end() - 1, pieces


def before_piece(data: bytes, opening: int) -> bytes:
    """The character before a literal's opening quote, whitespace skipped (b"" at the start)."""
    pos = opening - 1
    while pos >= 0 and data[pos] in b" \t\r\n":
        pos -= 1
    return data[pos : pos + 1] if pos >= 0 else b""


def in_array(data: bytes, at: int) -> bool:
    """A piece whose "s" is data[at] inside an array literal of strings (``['sk-c',…]``)."""
    lo = max(0, at - 80)
    opening = max(data.rfind(b"'", lo, at), data.rfind(b'"', lo, at))
    return opening > 0 and before_piece(data, opening) in ARRAY_LEADS


def decode_key_at(data: bytes, at: int) -> DecodedKey | None:
    """The key split across literals whose "s" is data[at]."""
    start = START.match(data, at)
    if start is None:
        return None
    quote = 0x60 if data[start.end() - 1] == 0x7B else data[start.end() - 1]
    opening = data.rfind(bytes([quote]), max(0, at - RADIUS), at)
    if opening < 0 or b"\n" in data[opening:at] or b"\\" in data[opening:at]:
        return None
    before = data[opening + 1 : at]
    piece = _content(data, opening)
    if piece is None:
        return None
    text, close, pieces = piece
    joined, last_close = bytearray(text[len(before) :]), close
    in_array = before_piece(data, opening) in ARRAY_LEADS
    join = _ARRAY_JOIN if in_array else _JOIN
    while len(joined) <= KEY_LENGTH and pieces < _MAX_PIECES:
        link = join.match(data, last_close + 1)
        if link is None or link.end() >= len(data) or data[link.end()] not in _QUOTES:
            break
        piece = _content(data, link.end())
        if piece is None:
            break
        text, last_close, more = piece
        joined += text
        pieces += more
    if pieces < 2:
        return None
    if in_array and not _JOINED_ARRAY_END.match(data, last_close + 1):
        return None  # a list of strings, not one string
    decoded = before + bytes(joined)
    lead = len(before)
    for cand in find_candidates(decoded, lead, lead + 1):
        if data[at : at + KEY_LENGTH] == cand.key.encode():
            return None  # whole in the first literal: a plain key, found as such
        return DecodedKey(
            at, last_close, cand.key, ("concat",), context_text(decoded, cand.start, cand.end)
        )
    return None
