"""Keys in names: a file, folder, archive member or ref named with a key is a finding.

What reports show of a name is redacted wherever it is made (model/text.decode_path,
ScanTarget, ScanError); this module reports the key itself, with source ``name``, at
the place that name names. The scan of a name's text is the scanner's own, so the
allow rules, placeholders and attribution are those of any content.
"""

from __future__ import annotations

from dataclasses import replace

from keysentry.config import Config
from keysentry.model.finding import Finding
from keysentry.model.key import KEY_PREFIX
from keysentry.model.report import Report
from keysentry.model.target import ScanTarget, SourceKind

KEY_START = KEY_PREFIX.decode()  # names without it cost one substring test


def keys_in_name(config: Config, name: str, target: ScanTarget) -> list[Finding]:
    """The keys in one name (a file or folder name, a member name, a ref), as findings
    at ``target`` (the place the name names) with source ``name``."""
    if KEY_START not in name:
        return []
    from keysentry.engine.scanner import Scanner  # the scanner's layers import this module

    # "_" joins words in names (``backup_sk-….env``): there it separates, as a space would
    text = name.encode("utf-8", "surrogateescape").replace(b"_", b" ")
    found = Scanner(config, Report()).scan_bytes(text, replace(target, source=SourceKind.NAME))
    for finding in found:
        finding.snippet = target.path  # the name is the context (redacted)
    return found


def keys_in_path(config: Config, raw: str, shown: str, target: ScanTarget) -> list[Finding]:
    """The keys in each component of a path: ``raw`` as it is, ``shown`` as reports show
    it (same components); each finding is at the path up to its component."""
    if KEY_START not in raw:
        return []
    raw_parts, shown_parts = raw.split("/"), shown.split("/")
    raw_parts = raw_parts[len(raw_parts) - len(shown_parts) :]
    found: list[Finding] = []
    for index, part in enumerate(raw_parts):
        if KEY_START in part:
            where = replace(target, path="/".join(shown_parts[: index + 1]))
            found += keys_in_name(config, part, where)
    return found
