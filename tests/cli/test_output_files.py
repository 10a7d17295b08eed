"""Report files (issue 17 §12): a file that holds full keys is 0600 before a byte is in it,
an existing one too; ``-o`` and ``--report`` do not follow a symbolic link unless --force."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry


def project(tmp_path: Path) -> tuple[Path, str]:
    key = new_key()
    (tmp_path / "app.env").write_text(f"TOKEN={key}\n")
    return tmp_path, key


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("option", [["-o", "out.txt"], ["--report", "json=out.txt"]])
def test_show_secrets_into_an_existing_wide_file_makes_it_0600(tmp_path, option):
    root, key = project(tmp_path)
    out = root / "out.txt"
    out.write_text("an older, longer report " * 100)
    out.chmod(0o644)
    done = run_keysentry("scan", "app.env", "--show-secrets", *option, cwd=root)
    assert done.returncode == 1, done.stderr
    assert mode(out) == 0o600
    assert key in out.read_text() and "older" not in out.read_text()


def test_show_secrets_into_a_new_file_is_0600_and_a_plain_report_keeps_0644(tmp_path):
    root, key = project(tmp_path)
    run_keysentry("scan", "app.env", "--show-secrets", "-o", "new.txt", cwd=root)
    assert mode(root / "new.txt") == 0o600
    run_keysentry("scan", "app.env", "-o", "plain.txt", cwd=root)
    assert mode(root / "plain.txt") == 0o644 & ~_umask()
    assert key not in (root / "plain.txt").read_text()


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current


@pytest.mark.parametrize("option", [["-o", "link.txt"], ["--report", "sarif=link.txt"]])
def test_a_symlinked_output_is_refused_unless_forced(tmp_path, option):
    root, key = project(tmp_path)
    target = root / "elsewhere.txt"
    target.write_text("someone else's file\n")
    (root / "link.txt").symlink_to(target)

    done = run_keysentry("scan", "app.env", "-f", "json", *option, cwd=root)
    assert done.returncode == 1  # keys found: the scan itself is whole
    assert "symbolic link" in done.stderr and "--force" in done.stderr
    assert target.read_text() == "someone else's file\n"

    done = run_keysentry("scan", "app.env", "-f", "json", *option, "--force", cwd=root)
    assert done.returncode == 1, done.stderr
    assert "someone else" not in target.read_text()
    assert key not in target.read_text()  # redacted: no --show-secrets


def test_guide_output_does_not_follow_a_symlink_unless_forced(tmp_path):
    root, _ = project(tmp_path)
    target = root / "elsewhere.md"
    target.write_text("keep\n")
    (root / "guide.md").symlink_to(target)
    run_keysentry("scan", "app.env", "-f", "json", "-o", "report.json", cwd=root)
    done = run_keysentry("guide", "--from", "report.json", "-o", "guide.md", cwd=root)
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert target.read_text() == "keep\n"
    done = run_keysentry("guide", "--from", "report.json", "-o", "guide.md", "--force", cwd=root)
    assert "keysentry guide" in target.read_text(), done.stderr
