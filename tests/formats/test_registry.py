"""Every format in the registry, directly: it renders any report, and never shows a key."""

from __future__ import annotations

import pytest

from conftest import new_key
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.formats import FORMATS, RenderOptions
from keysentry.model.finding import HistoryPlacement
from keysentry.model.report import Report, ScanError
from keysentry.model.target import COMMIT_MESSAGE_PATH, ScanTarget, SourceKind


def mixed_report(key: str, message_key: str) -> Report:
    scanner = Scanner(Config())
    scanner.scan_bytes(f"const deepseek = '{key}';\n".encode(), ScanTarget("web/app.jsx"))
    [message] = scanner.scan_bytes(
        f"oops {message_key}\n".encode(), ScanTarget("", SourceKind.COMMIT_MESSAGE)
    )
    message.path = COMMIT_MESSAGE_PATH
    message.history = HistoryPlacement(commit="c" * 40, refs=["refs/heads/main"], pushed=True)
    scanner.report.errors.append(ScanError("broken.zip", "not a readable zip archive"))
    return scanner.report


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_renders_findings_errors_and_an_empty_report(name):
    key, message_key = new_key(), new_key()
    text = FORMATS[name](mixed_report(key, message_key), RenderOptions(command="history"))
    assert key not in text and message_key not in text
    assert key[:7] in text or (name == "junit" and "sha256:" in text) or "sk-" in text
    assert isinstance(FORMATS[name](Report(), RenderOptions()), str)


@pytest.mark.parametrize("name", ["json", "text"])
def test_show_secrets_is_the_only_way_a_key_reaches_a_report(name):
    key, message_key = new_key(), new_key()
    text = FORMATS[name](mixed_report(key, message_key), RenderOptions(show_secrets=True))
    assert key in text
