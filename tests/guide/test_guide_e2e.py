"""End to end: a repository that leaked keys, `keysentry guide --write-purge-file`, the
real git filter-repo run with that file, and `keysentry history` then finds nothing."""

from __future__ import annotations

import base64
import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

from conftest import git, git_env, new_key, run_keysentry, tool
from keysentry.guide.purge import REPLACEMENT
from keysentry.model.key import fingerprint


def filter_repo_env() -> dict[str, str]:
    """git finds `git filter-repo` as git-filter-repo on PATH (installed from PyPI)."""
    bin_dir = str(Path(tool("git-filter-repo")).parent)
    return git_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))


def run_printed(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A command exactly as the guide printed it (plus --force: a test repo is no fresh clone)."""
    args = shlex.split(command, comments=True)
    if args[:2] == ["git", "filter-repo"]:
        args.append("--force")
    done = subprocess.run(args, cwd=cwd, env=filter_repo_env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done


def leaky_repository(repo: Path, origin: Path) -> dict[str, str]:
    """Keys in a file still present, in history only, in a commit message, staged and
    untracked; the commits holding them pushed to a bare origin."""
    keys = {name: new_key() for name in ("removed", "current", "message", "staged", "untracked")}
    (repo / "config.py").write_text(
        f'BASE_URL = "https://api.deepseek.com"\nAPI_KEY = "{keys["removed"]}"\n'
    )
    (repo / ".env").write_text(f"VITE_DEEPSEEK_API_KEY={keys['current']}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first version")
    (repo / "config.py").write_text(
        'import os\nBASE_URL = "https://api.deepseek.com"\n'
        'API_KEY = os.environ["DEEPSEEK_API_KEY"]\n'
    )
    git(repo, "commit", "-q", "-am", f"read the key from the environment, not {keys['message']}")
    git(origin.parent, "init", "-q", "--bare", origin.name)
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    (repo / "staged.py").write_text(f'DEEPSEEK_KEY = "{keys["staged"]}"\n')
    git(repo, "add", "staged.py")
    (repo / "notes.txt").write_text(f"deepseek key for the demo: {keys['untracked']}\n")
    return keys


def test_guide_purge_file_and_filter_repo_leave_no_key_in_history(tmp_path):
    repo, origin = tmp_path / "repo", tmp_path / "origin.git"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    keys = leaky_repository(repo, origin)
    purge_file = tmp_path / "purge.txt"

    done = run_keysentry("guide", "-f", "json", "--write-purge-file", str(purge_file), cwd=repo)

    assert done.returncode == 1, done.stderr
    for key in keys.values():
        assert key not in done.stdout and key not in done.stderr
    guide = json.loads(done.stdout)
    facts = {k["fingerprint"]: k for k in guide["keys"]}
    assert set(facts) == {fingerprint(k) for k in keys.values()}
    removed = facts[fingerprint(keys["removed"])]
    assert removed["committed"] and removed["pushed"] is True and removed["files"] == []
    current = facts[fingerprint(keys["current"])]
    assert current["client"] and current["files"] == [".env:1:23"] and current["committed"]
    assert facts[fingerprint(keys["message"])]["in_commit_message"]
    assert facts[fingerprint(keys["staged"])]["staged"] == ["staged.py:1:17"]
    assert not facts[fingerprint(keys["staged"])]["committed"]
    assert facts[fingerprint(keys["untracked"])]["files"] == ["notes.txt:1:28"]
    steps = {(i["key"], i["step"]) for i in guide["checklist"]}
    assert (fingerprint(keys["removed"]), "purge-history") in steps
    assert (fingerprint(keys["untracked"]), "purge-history") not in steps
    assert (fingerprint(keys["current"]), "client-redeploy") in steps
    assert (fingerprint(keys["removed"]), "client-redeploy") not in steps

    assert stat.S_IMODE(purge_file.stat().st_mode) == 0o600
    assert sorted(purge_file.read_text().splitlines()) == sorted(
        f"literal:{k}==>{REPLACEMENT}" for k in keys.values()
    )
    assert "delete it" in done.stderr

    # Step 3, as the guide says: fix the files, then commit and push the fix.
    (repo / ".env").write_text("# set VITE_ nothing: the key lives on the server now\n")
    (repo / "notes.txt").unlink()
    git(repo, "rm", "-q", "--cached", "staged.py")
    (repo / "staged.py").unlink()
    git(repo, "commit", "-q", "-am", "move the key server-side")
    git(repo, "push", "-q", "origin", "main")

    # Step 4: the guide's own commands, with the real git filter-repo.
    commands = [c for c in guide["purge"]["commands"] if c.startswith("git ")]
    rewrite = next(c for c in commands if c.startswith("git filter-repo"))
    assert f"--replace-text {purge_file}" in rewrite and "--replace-message" in rewrite
    assert "git push --force --mirror origin" in commands
    for command in commands:
        run_printed(command, repo)

    history = run_keysentry("history", cwd=repo)
    assert history.returncode == 0, history.stdout + history.stderr
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-local", str(origin), str(clone))  # as from a server
    fresh = run_keysentry("history", cwd=clone)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    again = run_keysentry("guide", cwd=repo)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No leaked key" in again.stdout


def test_the_plain_filter_repo_run_from_the_issue(git_repo, tmp_path):
    """`git filter-repo --replace-text FILE --force`, exactly, on a local-only repository."""
    keys = [new_key(), new_key()]
    for index, key in enumerate(keys):
        (git_repo / f"settings{index}.py").write_text(f'DEEPSEEK_API_KEY = "{key}"\n')
        git(git_repo, "add", ".")
        git(git_repo, "commit", "-q", "-m", f"settings {index}")
    git(git_repo, "rm", "-q", "settings0.py")
    git(git_repo, "commit", "-q", "-m", "drop settings0")
    purge_file = tmp_path / "purge.txt"
    text = run_keysentry("guide", "--write-purge-file", str(purge_file), cwd=git_repo)
    assert text.returncode == 1, text.stderr
    assert "Purging history" in text.stdout and "--sensitive-data-removal" not in text.stdout
    assert "push --force" not in text.stdout  # nothing was pushed: nobody else to tell
    subprocess.run(
        ["git", "filter-repo", "--replace-text", str(purge_file), "--force"],
        cwd=git_repo, env=filter_repo_env(), capture_output=True, check=True,
    )
    done = run_keysentry("history", cwd=git_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert REPLACEMENT in (git_repo / "settings1.py").read_text()


def test_an_encoded_key_gets_the_drop_the_file_fallback(git_repo, tmp_path):
    key = new_key()
    encoded = base64.b64encode(f"DEEPSEEK_API_KEY={key}".encode()).decode()
    (git_repo / "creds.yaml").write_text(f"token: {encoded}\n")
    (git_repo / "app.py").write_text("print('hello')\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "add credentials")
    git(git_repo, "rm", "-q", "creds.yaml")
    git(git_repo, "commit", "-q", "-m", "remove credentials")
    purge_file = tmp_path / "purge.txt"
    done = run_keysentry("guide", "-f", "json", "--write-purge-file", str(purge_file),
                         cwd=git_repo)
    assert done.returncode == 1, done.stderr
    guide = json.loads(done.stdout)
    assert guide["keys"][0]["hidden_in_history"] == ["creds.yaml"]
    rewrite = next(c for c in guide["purge"]["commands"] if c.startswith("git filter-repo"))
    run_printed(rewrite, git_repo)
    assert run_keysentry("history", cwd=git_repo).returncode == 1  # base64 is not the literal
    for command in guide["purge"]["strip_commands"]:
        run_printed(command, git_repo)
    done = run_keysentry("history", cwd=git_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (git_repo / "app.py").exists()
