"""``keysentry baseline create|update|check`` and ``--baseline`` on scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry

BASELINE = ".keysentry-baseline.json"


@pytest.fixture
def accepted(tmp_path: Path) -> tuple[Path, str]:
    """A project whose one (test) key is in a baseline."""
    key = new_key()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixture.py").write_text(f'DEEPSEEK_KEY = "{key}"  # revoked test key\n')
    result = run_keysentry(
        "baseline", "create", "--reason", "revoked test key", "--accepted-by", "alice",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return tmp_path, key


def test_the_baseline_holds_fingerprints_locations_and_reasons_never_keys(accepted):
    project, key = accepted
    text = (project / BASELINE).read_text()
    assert key not in text and key[3:] not in text
    assert key[:7] not in text  # not even the redacted form
    data = json.loads(text)
    (entry,) = data["entries"]
    assert entry["fingerprint"].startswith("sha256:")
    assert entry["locations"] == [{"path": "tests/fixture.py", "line": 1}]
    assert (entry["reason"], entry["accepted_by"]) == ("revoked test key", "alice")


def test_accepted_keys_pass_and_new_keys_fail(accepted):
    project, _ = accepted
    assert run_keysentry("baseline", "check", cwd=project).returncode == 0
    assert run_keysentry("scan", ".", "--baseline", BASELINE, cwd=project).returncode == 0
    # the default file is picked up by a plain scan; another baseline file is not
    assert run_keysentry("scan", ".", cwd=project).returncode == 0
    (project / BASELINE).rename(project / "elsewhere.json")
    assert run_keysentry("scan", ".", cwd=project).returncode == 1  # no baseline, no pass
    (project / "elsewhere.json").rename(project / BASELINE)
    new = new_key()
    (project / "app.py").write_text(f'client = OpenAI(api_key="{new}")  # deepseek\n')
    result = run_keysentry("baseline", "check", "--format", "json", cwd=project)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [f["path"] for f in findings] == ["app.py"]  # only the new key is reported
    assert "1 finding(s) of keys accepted" in result.stderr


def test_an_accepted_key_at_a_new_path_is_a_new_leak(accepted):
    project, key = accepted
    (project / "dist").mkdir()
    (project / "dist" / "bundle.js").write_text(f'var k="{key}";\n')
    result = run_keysentry("scan", ".", "--baseline", BASELINE, "--format", "json", cwd=project)
    assert result.returncode == 1
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["dist/bundle.js"]


def test_stale_entries_are_reported_and_update_prunes_them_keeping_reasons(accepted):
    project, _ = accepted
    second = new_key()
    (project / "tests" / "other.py").write_text(f'KEY = "{second}"  # deepseek\n')
    result = run_keysentry("baseline", "update", "--reason", "second fixture", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "added: tests/other.py:1" in result.stderr
    (project / "tests" / "fixture.py").write_text("DEEPSEEK_KEY = os.environ['KEY']\n")

    check = run_keysentry("baseline", "check", cwd=project)
    assert check.returncode == 0  # stale entries do not fail the build
    assert "no longer hold their key" in check.stderr
    assert "stale: tests/fixture.py: sha256:" in check.stderr
    assert "(revoked test key)" in check.stderr

    update = run_keysentry("baseline", "update", cwd=project)
    assert update.returncode == 0
    assert "pruned: tests/fixture.py" in update.stderr
    entries = json.loads((project / BASELINE).read_text())["entries"]
    assert [(e["locations"][0]["path"], e["reason"]) for e in entries] == [
        ("tests/other.py", "second fixture")
    ]
    assert "no longer hold" not in run_keysentry("baseline", "check", cwd=project).stderr


def test_create_does_not_overwrite_an_existing_baseline(accepted):
    project, _ = accepted
    before = (project / BASELINE).read_text()
    result = run_keysentry("baseline", "create", cwd=project)
    assert result.returncode == 2 and "baseline update" in result.stderr
    assert (project / BASELINE).read_text() == before
    assert run_keysentry("baseline", "create", "--force", cwd=project).returncode == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"entries": []}', "not a keysentry baseline"),
        ('{"keysentry_baseline": 1, "entries": [{"fingerprint": "sk-abc"}]}',
         "entries[0].fingerprint must be sha256:<64 lowercase hex>"),
        ('{"keysentry_baseline": 1, "entries": [{"fingerprint": "sha256:' + "a" * 64
         + '", "locations": [{"path": 3}]}]}', "entries[0].locations[0].path must be a string"),
        ('{"keysentry_baseline": 1, "entries": [{"fingerprint": "sha256:' + "a" * 64
         + '", "acceptedby": "bob"}]}', "unknown key(s): acceptedby"),
    ],
)
def test_an_unusable_baseline_is_an_error_naming_the_file(accepted, content, problem):
    project, _ = accepted
    (project / "broken.json").write_text(content)
    result = run_keysentry("scan", ".", "--baseline", "broken.json", cwd=project)
    assert result.returncode == 2
    assert "broken.json" in result.stderr and problem in result.stderr


def test_a_missing_baseline_says_how_to_create_one(tmp_path):
    (tmp_path / "a.txt").write_text("clean\n")
    result = run_keysentry("baseline", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "keysentry baseline create" in result.stderr


def test_the_commit_hook_lets_accepted_keys_through_and_blocks_new_ones(tmp_path):
    """A team's triaged keys must not block every commit that touches their file."""
    from conftest import git

    key = new_key()
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".keysentry.toml").write_text(f'baseline = "{BASELINE}"\n')
    (tmp_path / "tests").mkdir()
    fixture = tmp_path / "tests" / "fixture.py"
    fixture.write_text(f'DEEPSEEK_KEY = "{key}"  # revoked test key\n')
    created = run_keysentry("baseline", "create", "--reason", "revoked", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    git(tmp_path, "add", "-A")

    accepted = run_keysentry("hook", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr

    fresh = new_key()
    fixture.write_text(fixture.read_text() + f'OTHER = "{fresh}"\n')
    git(tmp_path, "add", "-A")
    blocked = run_keysentry("hook", cwd=tmp_path)
    assert blocked.returncode == 1
    assert f"tests/fixture.py:2:10: {fresh[:7]}" in blocked.stderr
    assert key[:7] + "..." not in blocked.stderr
    assert fresh not in blocked.stderr
