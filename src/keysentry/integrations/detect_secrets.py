"""A detect-secrets plugin backed by keysentry's detector.

Use: ``detect-secrets scan --plugin "$(keysentry plugin-path)"``. detect-secrets
loads this file by path and picks up every BasePlugin subclass in it.
"""

from __future__ import annotations

import re
from collections.abc import Generator

from detect_secrets.plugins.base import RegexBasedDetector

from keysentry.engine.detector import find_keys_in_text


class DeepSeekDetector(RegexBasedDetector):
    """DeepSeek API keys (sk- and 32 lowercase hex), placeholders excluded."""

    secret_type = "DeepSeek API Key"

    denylist = (re.compile(r"sk-[0-9a-f]{32}"),)

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        yield from find_keys_in_text(string)
