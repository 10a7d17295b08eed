"""Shared test fixtures. Keys are built at run time: no key literal lives in this repo."""

from __future__ import annotations

import io
import json
import os
import pty
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from org_support import Organisation

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "schemas"  # vendored: see schemas/README.md
SARIF_SCHEMA = SCHEMAS / "sarif-schema-2.1.0.json"
GITLAB_SCHEMA = SCHEMAS / "secret-detection-report-format-15.0.7.json"
KEYSENTRY = [sys.executable, "-m", "keysentry"]


def validate_gitlab(report: dict) -> dict:
    """A GitLab secret-detection report, checked against GitLab's own 15.x schema."""
    import jsonschema  # a test tool: only the tests that read reports load it

    jsonschema.validate(report, json.loads(GITLAB_SCHEMA.read_text(encoding="utf-8")))
    return report


def validate_sarif(report: dict) -> dict:
    """A SARIF log, checked against the OASIS 2.1.0 schema."""
    import jsonschema

    jsonschema.validate(report, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    return report


def new_key() -> str:
    """A random DeepSeek-shaped key, never one the placeholder rule rejects.

    About one random key in a few million has a run of eight (``11111111``): the rule
    rejects it (README, Placeholders), and a test planting 26,000 keys would then miss
    one in a few hundred runs. Tests that measure the rule on raw random keys draw their
    own (tests/engine/test_detector.py, bench/placeholder_rate.py).
    """
    from keysentry.engine.detector import is_placeholder

    while is_placeholder(key := "sk-" + secrets.token_hex(16)):
        pass
    return key


@pytest.fixture
def make_key() -> Callable[[], str]:
    return new_key


def run_keysentry(
    *args: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, as a user runs it (``timeout``: a hang guard)."""
    # COLUMNS only when a test sets it: pytest-xdist workers set it to 80, and text output
    # wraps to it
    inherited = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    full_env = {**inherited, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*KEYSENTRY, *args],
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
    "sys.stdout.buffer.write(out.stdout)\n"
    "print(out.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
    " file=sys.stderr)\n"
)


def peak_rss_of(*args: str) -> tuple[int, bytes, int]:
    """args run from a small launcher: (exit code, stdout, the command's peak RSS in KiB).

    Not forked from the pytest worker itself: a forked child counts the pages of the
    process it was forked from until it execs, so a worker grown by earlier tests (a
    site audit, a big fixture) would count against the command measured."""
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS, *args], capture_output=True)
    code, max_rss_kib = map(int, result.stderr.split())
    return code, result.stdout, max_rss_kib


def run_on_tty(*args: str, cwd: Path) -> str:
    """stderr as a terminal sees it (a pseudo-terminal), stdout discarded."""
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [*KEYSENTRY, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=child,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait()
    os.close(parent)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def keysentry() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_keysentry


def git_env(**extra: str) -> dict[str, str]:
    """The environment git runs in for tests: an identity, no user config leaking in."""
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        **extra,
    }


def git(cwd: Path, *args: str) -> str:
    """Real git, with an identity and no user config leaking in."""
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=True
    )
    return out.stdout


def commit_file(repo: Path, path: str, content: str | bytes, message: str = "change") -> str:
    """Write a file, commit it, and return the new commit's id."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    git(repo, "add", "--", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


CI_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "GITHUB_BASE_REF",
    "GITHUB_STEP_SUMMARY",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_IID",
    "CI_COMMIT_SHA",
    "CI_COMMIT_BEFORE_SHA",
    "CI_DEFAULT_BRANCH",
    "CI_COMMIT_BRANCH",
)


def ci_env(**values: str) -> dict[str, str]:
    """Only the CI variables given: the suite may itself run inside a CI job."""
    return {**dict.fromkeys(CI_VARIABLES, ""), **values}


def fast_import_commits(repo: Path, commits: int, keys: dict[int, str]) -> None:
    """``commits`` commits on main, each changing one of 50 files; commit i adds keys[i]."""
    stream = []
    for i in range(commits):
        body = (f"value = {i}\n" + (f"KEY = '{keys[i]}'\n" if i in keys else "")).encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer A <a@example.com> %d +0000\n" % (1_600_000_000 + i))
        stream.append(b"data 2\nc\n")
        stream.append(b"M 100644 inline f%d.py\ndata %d\n%s\n" % (i % 50, len(body), body))
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input=b"".join(stream),
        check=True,
        env=git_env(),
    )


@pytest.fixture(scope="session")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Organisation:
    """The 50-repository organisation of the org tests (tests/org_support.py), built once;
    a test that changes it works on its own copy (org_support.relocated)."""
    from org_support import build

    return build(tmp_path_factory.mktemp("organisation"))


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A fresh git repository with one branch, main."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def tool(name: str) -> str:
    """A tool installed beside this Python (the venv's bin), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; run the README's test command")
    return found


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    """A tar archive (``mode`` "w:gz" etc. to compress it) holding these members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# the pre-commit framework's hook environment, built once per session (precommit_support.py)
from precommit_support import hook_source  # noqa: E402, F401
from venv_support import keysentry_venvs, keysentry_wheel  # noqa: E402, F401
