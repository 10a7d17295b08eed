"""What a DeepSeek key looks like, and the only ways one is shown: redacted or fingerprinted.

The detector (engine/detector.py) adds the rules around this shape (token boundaries,
placeholders); everything that prints a key, or something that may hold one, uses
``redact``, ``redact_text`` or ``fingerprint`` from here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

# where a key is revoked and its spend is seen (there is no revoke API)
REVOKE_URL = "https://platform.deepseek.com/api_keys"
USAGE_URL = "https://platform.deepseek.com/usage"

KEY_LENGTH = 35  # "sk-" + 32 hex
KEY_PREFIX = b"sk-"
KEY_REGEX = KEY_PREFIX + rb"[0-9a-f]{32}"
KEY_PATTERN = re.compile(KEY_REGEX)
TEXT_KEY_PATTERN = re.compile(KEY_REGEX.decode())
_TEXT_PREFIX = KEY_PREFIX.decode()
# what redact() shows of a key
_REDACTED_PATTERN = re.compile(re.escape(_TEXT_PREFIX) + r"[0-9a-f]{4}\.\.\.[0-9a-f]{4}")


def fingerprint(key: str) -> str:
    """The stable identity of a key: ``sha256:`` + hex SHA-256 of its text."""
    return "sha256:" + _sha256()(key.encode("ascii")).hexdigest()


@functools.cache
def _sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 where it has one: ``hashlib`` loads OpenSSL first (about
    3 ms of a blocked commit's hook) to hash a few dozen bytes. Same digest either way."""
    try:
        from _sha2 import sha256  # CPython 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256  # CPython 3.11
        except ImportError:
            from hashlib import sha256
    return sha256  # type: ignore[no-any-return]


def redact(key: str) -> str:
    """At most the first and last four hex characters: ``sk-1a2b...9f8e``."""
    return f"{key[:7]}...{key[-4:]}"


def holds_redacted(text: str) -> bool:
    """Whether text shows a key redacted (a URL or path that held one): it cannot be used
    as it is printed, to open or re-run anything."""
    return _REDACTED_PATTERN.search(text) is not None


def redact_text(text: str) -> str:
    """Every key-shaped run in text replaced by its redacted form."""
    if _TEXT_PREFIX not in text:
        return text
    return TEXT_KEY_PATTERN.sub(lambda m: redact(m.group()), text)
