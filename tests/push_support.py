"""Real servers for push tests: bare repositories with keysentry's pre-receive hook installed,
clones that push to them with real `git push`, and histories made with `git fast-import`."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import git, git_env, run_keysentry


@dataclass(frozen=True)
class Server:
    bare: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def ref(self, name: str) -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", name],
            cwd=self.bare,
            env=git_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    def config(self, name: str, value: str) -> None:
        git(self.bare, "config", name, value)

    def log(self) -> list[dict]:
        path = self.bare / "keysentry-push.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def make_server(root: Path, *install_args: str, hook: bool = True) -> Server:
    bare = root / "server.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    server = Server(bare)
    if hook:
        install_pre_receive(server, *install_args)
    return server


def install_pre_receive(server: Server, *args: str) -> None:
    done = run_keysentry("install-hook", "--pre-receive", str(server.bare), *args)
    assert done.returncode == 0, done.stderr


def clone(server: Server, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", server.url, str(dest))
    git(dest, "checkout", "-q", "-B", "main")
    return dest


def push(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A real `git push`; git shows the hook's stderr as `remote:` lines."""
    return subprocess.run(
        ["git", "push", *args],
        cwd=repo,
        env=git_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )


def fast_import_history(repo: Path, commits: int, branch: str = "main", planted: str = "") -> None:
    """``commits`` commits on ``branch``, each changing one of 50 small files; the first one
    also adds ``planted`` (e.g. a key) at old/config.py."""
    stream = []
    for n in range(commits):
        mark = n + 1
        files = [(f"src/module{n % 50}.py", f"VALUE = {n}\n\ndef f():\n    return {n}\n")]
        if n == 0 and planted:
            files.append(("old/config.py", planted))
        body = "".join(
            f"M 100644 inline {path}\ndata {len(text.encode())}\n{text}\n" for path, text in files
        )
        message = f"commit {n}\n"
        parent = "" if n == 0 else f"from :{mark - 1}\n"
        stream.append(
            f"commit refs/heads/{branch}\nmark :{mark}\n"
            f"author A <a@example.com> {1600000000 + n} +0000\n"
            f"committer A <a@example.com> {1600000000 + n} +0000\n"
            f"data {len(message)}\n{message}{parent}{body}\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input="".join(stream).encode(),
        env=git_env(),
        check=True,
    )
