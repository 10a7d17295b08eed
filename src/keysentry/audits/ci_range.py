"""``keysentry ci``: which commits a CI run must audit, and whether the checkout has them.

The range comes from ``--range``, else from the CI system's environment:

- GitHub Actions: a pull request's ``base.sha..head.sha`` (from the event file), a
  merge queue's ``base_sha..head_sha``, a push's ``before..after``;
- GitLab CI: a merge request's ``CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA``, a
  push's ``CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA``.

A new branch (``before`` is all zeros) is compared with the default branch when the
checkout has it, else its whole history is audited. Other events (schedules, manual
runs) audit the whole history.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from keysentry.audits.scan_files import scan_paths
from keysentry.config import Config
from keysentry.model.report import Report
from keysentry.sources.git import Git

ZERO_SHA = "0" * 40


class RangeError(Exception):
    """The range cannot be worked out or is not in the checkout; the message says what to do."""


@dataclass(frozen=True)
class CommitRange:
    """Commits reachable from ``head`` and not from ``base`` (all of them when base is None)."""

    base: str | None
    head: str
    origin: str  # where the range came from, for the log
    base_optional: bool = False  # a new branch: without its base, audit all its history

    @property
    def rev_range(self) -> str:
        return f"{self.base}..{self.head}" if self.base else self.head

    def describe(self) -> str:
        scope = self.rev_range if self.base else f"all history of {self.head}"
        return f"{scope} ({self.origin})"


def parse_range(text: str) -> CommitRange:
    """As git reads it: ``BASE..HEAD`` (an empty side is HEAD), or one revision for all
    of its history."""
    if "..." in text or not text.strip("."):
        raise RangeError(f"--range {text!r}: use BASE..HEAD (two dots), or one revision")
    if ".." not in text:
        return CommitRange(None, text, "--range")
    base, _, head = text.partition("..")
    return CommitRange(base or "HEAD", head or "HEAD", "--range")


def _is_zero(sha: str | None) -> bool:
    return not sha or set(sha) == {"0"}


def _event(env: Mapping[str, str]) -> dict:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RangeError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _github(env: Mapping[str, str]) -> CommitRange:
    name = env.get("GITHUB_EVENT_NAME", "")
    event = _event(env)
    head = env.get("GITHUB_SHA") or "HEAD"
    pull = event.get("pull_request")
    if isinstance(pull, dict):
        base_sha = (pull.get("base") or {}).get("sha")
        head_sha = (pull.get("head") or {}).get("sha")
        if base_sha and head_sha:
            number = pull.get("number", "?")
            return CommitRange(base_sha, head_sha, f"GitHub {name} #{number}")
    group = event.get("merge_group")
    if isinstance(group, dict) and group.get("base_sha") and group.get("head_sha"):
        return CommitRange(group["base_sha"], group["head_sha"], "GitHub merge queue")
    if name.startswith("pull_request") and env.get("GITHUB_BASE_REF"):
        return CommitRange(f"origin/{env['GITHUB_BASE_REF']}", head, f"GitHub {name} (base ref)")
    if name == "push":
        after = event.get("after") or head
        before = event.get("before")
        if not _is_zero(before):
            return CommitRange(before, after, "GitHub push")
        default = (event.get("repository") or {}).get("default_branch")
        return CommitRange(
            f"origin/{default}" if default else None, after, "GitHub push of a new branch", True
        )
    return CommitRange(None, head, f"GitHub {name or 'run'}")


def _gitlab(env: Mapping[str, str]) -> CommitRange:
    head = env.get("CI_COMMIT_SHA") or "HEAD"
    base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
    if base:
        iid = env.get("CI_MERGE_REQUEST_IID", "?")
        return CommitRange(base, head, f"GitLab merge request !{iid}")
    before = env.get("CI_COMMIT_BEFORE_SHA")
    if not _is_zero(before):
        return CommitRange(before, head, "GitLab push")
    default, branch = env.get("CI_DEFAULT_BRANCH"), env.get("CI_COMMIT_BRANCH")
    if default and branch and branch != default:
        return CommitRange(f"origin/{default}", head, "GitLab pipeline of a new branch", True)
    return CommitRange(None, head, "GitLab pipeline")


def detect(env: Mapping[str, str]) -> CommitRange:
    """The range the CI run in ``env`` must audit."""
    if env.get("GITHUB_ACTIONS") == "true":
        return _github(env)
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    raise RangeError(
        "not running in GitHub Actions or GitLab CI: pass --range BASE..HEAD"
        " (e.g. --range origin/main..HEAD)"
    )


# --- is the history there? -------------------------------------------------------------

FETCH_ADVICE = (
    "Fetch enough history: in GitHub Actions set `fetch-depth: 0` on actions/checkout;"
    ' in GitLab CI set the variable `GIT_DEPTH: "0"`; anywhere else run'
    " `git fetch --deepen=100` (repeat as needed) or `git fetch --unshallow`."
)


def _resolve(repo: Path, rev: str) -> str | None:
    out = Git(repo).run(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
    )
    return out.decode("ascii", "replace").strip() or None


def _shallow_boundary(repo: Path) -> set[str]:
    out = Git(repo).run("rev-parse", "--git-path", "shallow", check=False)
    path = Path(os.fsdecode(out.strip()))
    if not path.is_absolute():
        path = repo / path
    try:
        return set(path.read_text(encoding="ascii").split())
    except OSError:
        return set()


NOT_SHALLOW_ADVICE = (
    "The checkout is complete (not shallow): check the revision; after a force-push,"
    " `before` names a commit no branch holds any more: pass --range."
)


def _missing_advice(repo: Path, rev: str, boundary: set[str], head: str = "HEAD") -> str:
    """What to do about a revision the checkout lacks: fetch more only when it is shallow."""
    if boundary:
        return f"The checkout is shallow. {FETCH_ADVICE}"
    parent_of = re.fullmatch(r"(.+?)(?:[~^]\d*)+", rev)
    if parent_of and (root := _resolve(repo, parent_of.group(1))) is not None:
        parents = Git(repo).run("rev-list", "--parents", "-n", "1", root, check=False).split()
        if len(parents) == 1:
            return (
                f"{parent_of.group(1)} is a root commit: it has no parent. To audit it and every"
                f" commit after it, pass one revision: --range {head} (all of its history)."
            )
    return NOT_SHALLOW_ADVICE


def resolve(repo: Path, commits: CommitRange) -> CommitRange:
    """The range with both ends as commit ids; RangeError (with fetch advice) when the
    checkout lacks them or a shallow boundary cuts the range short."""
    if not Git(repo).ok("rev-parse", "--git-dir"):
        raise RangeError(f"{repo}: not a git repository")
    boundary = _shallow_boundary(repo)
    head = _resolve(repo, commits.head)
    if head is None:
        advice = _missing_advice(repo, commits.head, boundary)
        raise RangeError(f"{commits.head}: no such commit in {repo} ({commits.origin}). {advice}")
    base = None
    if commits.base is not None:
        base = _resolve(repo, commits.base)
        if base is None and not commits.base_optional:
            raise RangeError(
                f"{commits.base}: no such commit in {repo}, so {commits.describe()} cannot be"
                f" audited. {_missing_advice(repo, commits.base, boundary, commits.head)}"
            )
    if boundary:
        spec = [f"{base}..{head}"] if base else [head]
        listed = Git(repo).run("rev-list", *spec, check=False).decode("ascii", "replace")
        cut = boundary & set(listed.split())
        if cut:
            raise RangeError(
                f"the checkout is shallow: history stops at {sorted(cut)[0][:12]}, inside"
                f" {commits.describe()}. {FETCH_ADVICE}"
            )
    return CommitRange(base, head, commits.origin)


# --- scanning ----------------------------------------------------------------------------


def scan_dist(folders: list[str], config: Config, report: Report) -> None:
    """Scan build output with the file scanner (which names paths as the repository does)."""
    for folder in folders:
        scan_paths([folder], config, report)


def audit(
    repo: Path, commits: CommitRange, dist: list[str], config: Config, report: Report | None = None
) -> Report:
    """The new commits through the history engine, then the build output (into ``report``)."""
    from keysentry.audits import history  # the history engine; loaded only for `keysentry ci`

    report = history.audit(repo, config, report, rev_range=commits.rev_range)
    scan_dist(dist, config, report)
    return report
