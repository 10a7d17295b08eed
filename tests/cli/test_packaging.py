"""Packaging (issue 16 §6): the licence, the metadata an index shows, shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run_keysentry


@pytest.fixture(scope="module")
def metadata(keysentry_wheel: Path) -> tuple[object, list[str]]:
    """The METADATA of a wheel built from this tree, and the wheel's file names."""
    with zipfile.ZipFile(keysentry_wheel) as archive:
        names = archive.namelist()
        text = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    return Parser().parsestr(text.decode()), names


def test_the_wheel_carries_the_mit_licence_and_index_metadata(metadata):
    meta, names = metadata
    assert (REPO_ROOT / "LICENSE").read_text().startswith("MIT License")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier")
    assert "Topic :: Security" in classifiers and "Environment :: Console" in classifiers
    assert "deepseek" in meta["Keywords"].split(",") and "pre-commit" in meta["Keywords"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Source"] == "https://github.com/keysentry/keysentry"
    assert {"Homepage", "Documentation", "Issues"} <= set(urls)


def complete(words: str, shell_script: str) -> list[str]:
    """What bash offers after `words` (click's completion function, in a real bash)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    parts = words.split(" ")
    program = (
        f"{shell_script}\n"
        f"COMP_WORDS=({words}); COMP_CWORD={len(parts) - 1}\n"
        "_keysentry_completion keysentry\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(
        ["bash", "-c", program], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_bash_completion_completes_commands_and_options():
    script = run_keysentry("completion", "bash")
    assert script.returncode == 0
    assert complete("keysentry hi", script.stdout) == ["history"]
    assert "detect-secrets-init" in complete("keysentry de", script.stdout)
    assert "--since-date" in complete("keysentry history --si", script.stdout)
    assert "jsonl" in complete("keysentry scan --format js", script.stdout)


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "compdef"), ("fish", "complete ")])
def test_zsh_and_fish_scripts(shell, marker):
    script = run_keysentry("completion", shell)
    assert script.returncode == 0 and marker in script.stdout
    assert "_KEYSENTRY_COMPLETE=" in script.stdout
    assert run_keysentry("completion", "tcsh").returncode == 2


def test_the_readme_documents_completion():
    readme = (REPO_ROOT / "README.md").read_text()
    for shell in ("bash", "zsh", "fish"):
        assert f"keysentry completion {shell}" in readme
