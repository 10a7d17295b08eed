"""The push-protection docs name only settings, options and hooks that exist."""

from __future__ import annotations

import re

import yaml

from conftest import REPO_ROOT, run_keysentry
from keysentry.audits.push_policy import GIT_CONFIG

DOC = (REPO_ROOT / "docs" / "push-protection.md").read_text()
README = (REPO_ROOT / "README.md").read_text()
SECTION = README.split("## Push protection", 1)[1].split("\n## ", 1)[0]


def test_every_git_config_setting_is_documented_and_every_documented_one_exists():
    table = {m for m in re.findall(r"^\| `keysentry\.(\w+)`", DOC, re.M)}
    assert table == set(GIT_CONFIG)
    named = set(re.findall(r"keysentry\.([a-z]\w+)", DOC + SECTION)) - {"toml", "bypass"}
    assert named <= set(GIT_CONFIG)


def test_documented_pre_receive_options_exist():
    helped = run_keysentry("pre-receive", "--help").stdout
    options = set(re.findall(r"^\| `keysentry\.\w+` \| `(--[a-z-]+)", DOC, re.M))
    assert len(options) == len(GIT_CONFIG)
    for option in options:
        assert option in helped


def test_documented_pre_push_hook_id_is_in_the_manifest():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert "id: keysentry-pre-push" in DOC and "keysentry-pre-push" in SECTION
    assert hooks["keysentry-pre-push"]["stages"] == ["pre-push"]
    assert hooks["keysentry-pre-push"]["entry"] == "keysentry hook --pre-push"
