"""What a gitleaks or betterleaks user reaches for: --exclude on the command line, JSON Lines,
-v/--verbose, and dates for the history window (issue 16 §7). Real CLI, real git."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import KEYSENTRY, ci_env, commit_file, git, git_env, new_key, run_keysentry
from keysentry.model.key import fingerprint
from push_support import clone, make_server
from push_support import push as push_to


@pytest.fixture
def tree(git_repo: Path) -> dict[str, str]:
    """A repository with keys in src/, vendor/ and a minified bundle, all committed."""
    keys = {name: new_key() for name in ("src", "vendor", "bundle")}
    for path, name in (
        ("src/app.py", "src"),
        ("vendor/lib.py", "vendor"),
        ("dist/app.min.js", "bundle"),
    ):
        (git_repo / path).parent.mkdir(parents=True, exist_ok=True)
        (git_repo / path).write_text(f'DEEPSEEK_API_KEY = "{keys[name]}"\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "init")
    return keys


def paths(result: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(f["path"] for f in json.loads(result.stdout)["findings"])


# every command that scans takes --exclude (repeatable), on top of the configuration's
EXCLUDING_COMMANDS = [
    ("scan", "."),
    ("history",),
    ("ci", "--range", "HEAD"),
    ("baseline", "check", "."),
]


@pytest.mark.parametrize("command", EXCLUDING_COMMANDS, ids=lambda c: " ".join(c))
def test_exclude_is_repeatable_on_every_scanning_command(git_repo, tree, command):
    if command[0] == "baseline":  # an empty baseline: `baseline create` excluding everything
        created = run_keysentry("baseline", "create", "--exclude", "*", cwd=git_repo)
        assert created.returncode == 0 and "0 key(s)" in created.stderr, created.stderr
    everything = run_keysentry(*command, "--format", "json", cwd=git_repo, env=ci_env())
    assert paths(everything) == ["dist/app.min.js", "src/app.py", "vendor/lib.py"]
    fewer = run_keysentry(
        *command,
        "--format",
        "json",
        "--exclude",
        "vendor/",
        "--exclude",
        "*.min.js",
        cwd=git_repo,
    )
    assert fewer.returncode == 1, fewer.stderr
    assert paths(fewer) == ["src/app.py"]


def test_exclude_adds_to_the_configured_globs(git_repo, tree):
    (git_repo / ".keysentry.toml").write_text('exclude = ["vendor/"]\n')
    result = run_keysentry("scan", ".", "--format", "json", "--exclude", "dist/", cwd=git_repo)
    assert paths(result) == ["src/app.py"]


def test_exclude_on_the_hook_and_the_staged_scan(git_repo, tree):
    (git_repo / "src" / "new.py").write_text(f'KEY = "{new_key()}"  # deepseek\n')
    (git_repo / "vendor" / "new.py").write_text(f'KEY = "{new_key()}"  # deepseek\n')
    git(git_repo, "add", ".")
    staged = run_keysentry(
        "scan", "--staged", "--format", "json", "--exclude", "vendor/", cwd=git_repo
    )
    assert paths(staged) == ["src/new.py"]
    hook = run_keysentry("hook", "--exclude", "vendor/", "vendor/new.py", cwd=git_repo)
    assert hook.returncode == 0 and hook.stderr == ""
    blocked = run_keysentry(
        "hook", "--exclude", "vendor/", "src/new.py", "vendor/new.py", cwd=git_repo
    )
    assert blocked.returncode == 1 and "src/new.py:1:" in blocked.stderr


def test_jsonl_is_one_object_per_line_and_never_holds_a_key(git_repo, tree):
    result = run_keysentry("scan", ".", "--format", "jsonl", "missing.txt", cwd=git_repo)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["finding"] * 3 + ["error", "summary"]
    json_report = json.loads(run_keysentry("scan", ".", "--format", "json", cwd=git_repo).stdout)
    assert [{k: v for k, v in line.items() if k != "type"} for line in lines[:3]] == json_report[
        "findings"
    ]
    assert lines[3]["path"] == "missing.txt"
    assert lines[4]["stats"]["findings"] == 3 and lines[4]["stats"]["complete"] is False
    assert not any(key in result.stdout for key in tree.values())


def test_jsonl_with_show_secrets_goes_to_a_private_file(git_repo, tree):
    out = git_repo / "findings.jsonl"
    run_keysentry(
        "scan", "src", "--format", "jsonl", "--show-secrets", "-o", str(out), cwd=git_repo
    )
    assert out.stat().st_mode & 0o777 == 0o600
    assert json.loads(out.read_text().splitlines()[0])["secret"] == tree["src"]


def test_verbose_shows_more_evidence_and_vv_times_each_file(git_repo, tree):
    plain = run_keysentry("scan", "src", cwd=git_repo)
    verbose = run_keysentry("scan", "src", "-v", cwd=git_repo)
    fingerprint = json.loads(run_keysentry("scan", "src", "-f", "json", cwd=git_repo).stdout)[
        "findings"
    ][0]["fingerprint"]
    assert fingerprint not in plain.stdout
    assert f"fingerprint: {fingerprint}" in verbose.stdout and "source: file" in verbose.stdout
    assert "timing" not in verbose.stderr
    timed = run_keysentry("scan", ".", "-vv", "--jobs", "1", cwd=git_repo)
    timings = re.findall(
        r"^keysentry: timing: (\S+): [\d.]+ ms \((\d+) bytes\)$", timed.stderr, re.M
    )
    sizes = {p: str((git_repo / p).stat().st_size) for p in ("src/app.py", "vendor/lib.py")}
    assert {p: s for p, s in timings if p in sizes} == sizes
    assert not any(key in timed.stderr + timed.stdout for key in tree.values())


def _commit_on(repo: Path, when: str, path: str, key: str) -> None:
    (repo / path).write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
    subprocess.run(["git", "add", path], cwd=repo, env=git_env(), check=True)
    subprocess.run(
        ["git", "commit", "-qm", f"add {path}"],
        cwd=repo,
        check=True,
        env=git_env(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when),
    )


def test_history_since_date_and_until_date_bound_the_commits_audited(git_repo):
    keys = {year: new_key() for year in ("2021", "2023", "2025")}
    for year, key in keys.items():
        _commit_on(git_repo, f"{year}-06-01T12:00:00+00:00", f"k{year}.py", key)

    def audited(*args: str) -> set[str]:
        result = run_keysentry("history", "--format", "json", "-q", *args, cwd=git_repo)
        assert result.returncode in (0, 1), result.stderr
        return {f["path"] for f in json.loads(result.stdout)["findings"]}

    assert audited() == {"k2021.py", "k2023.py", "k2025.py"}
    # what the window's commits introduced, not the older files their trees still hold
    assert audited("--since-date", "2024-01-01") == {"k2025.py"}
    assert audited("--until-date", "2022-01-01") == {"k2021.py"}
    assert audited("--since-date", "2022-01-01", "--until-date", "2024-01-01T00:00:00") == {
        "k2023.py"
    }
    assert audited("--since-date", "2026-01-01") == set()
    bad = run_keysentry("history", "--since-date", "last tuesday", cwd=git_repo)
    assert bad.returncode == 2 and "--since-date" in bad.stderr


def test_exclude_on_the_guide(git_repo, tree):
    everything = json.loads(run_keysentry("guide", "-f", "json", cwd=git_repo).stdout)
    fewer = json.loads(
        run_keysentry(
            "guide", "-f", "json", "--exclude", "vendor/", "--exclude", "*.min.js", cwd=git_repo
        ).stdout
    )
    keys = {name: fingerprint(key) for name, key in tree.items()}
    assert {item["key"] for item in everything["checklist"]} == set(keys.values())
    assert {item["key"] for item in fewer["checklist"]} == {keys["src"]}


def test_exclude_on_the_pre_push_hook_through_a_real_push(git_repo, tree, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(git_repo, "remote", "add", "origin", str(remote))
    git(git_repo, "push", "-q", "--no-verify", "origin", "main")  # the keys of `tree` are old
    hook = git_repo / ".git" / "hooks" / "pre-push"
    command = " ".join(shlex.quote(word) for word in KEYSENTRY)
    hook.write_text(f'#!/bin/sh\nexec {command} hook --pre-push --exclude vendor/ "$@"\n')
    hook.chmod(0o755)

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", "main"],
            cwd=git_repo, env=git_env(), capture_output=True, text=True, check=False,
        )  # fmt: skip

    (git_repo / "vendor" / "new.py").write_text(f'KEY = "{new_key()}"  # deepseek\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "vendored")
    assert push().returncode == 0  # the only new key is under vendor/
    (git_repo / "src" / "new.py").write_text(f'KEY = "{new_key()}"  # deepseek\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "mine")
    blocked = push()
    assert blocked.returncode != 0 and "src/new.py" in blocked.stderr, blocked.stderr
    assert "vendor/" not in blocked.stderr


def test_the_pre_receive_hook_takes_excludes_from_the_servers_configuration(tmp_path):
    server = make_server(tmp_path)
    server_config = tmp_path / "server.toml"
    server_config.write_text('exclude = ["vendor/"]\n')
    server.config("keysentry.config", str(server_config))
    work = clone(server, tmp_path / "work")
    commit_file(work, "vendor/lib.py", f'KEY = "{new_key()}"  # deepseek\n', "vendored")
    assert push_to(work, "origin", "main").returncode == 0
    commit_file(work, "src/app.py", f'KEY = "{new_key()}"  # deepseek\n', "mine")
    rejected = push_to(work, "origin", "main")
    assert rejected.returncode != 0 and "src/app.py" in rejected.stderr, rejected.stderr


@pytest.mark.parametrize("command", EXCLUDING_COMMANDS[:3], ids=lambda c: " ".join(c))
def test_jsonl_and_verbose_on_every_reporting_command(git_repo, tree, command):
    as_json = json.loads(run_keysentry(*command, "-f", "json", cwd=git_repo, env=ci_env()).stdout)[
        "findings"
    ]
    lines = run_keysentry(*command, "-f", "jsonl", cwd=git_repo, env=ci_env()).stdout
    as_jsonl = [json.loads(line) for line in lines.splitlines()]
    assert [{k: v for k, v in f.items() if k != "type"} for f in as_jsonl[:-1]] == as_json
    assert as_jsonl[-1]["type"] == "summary"
    verbose = run_keysentry(*command, "-v", cwd=git_repo, env=ci_env()).stdout
    assert all(f"fingerprint: {f['fingerprint']}" in verbose for f in as_json)
