"""``history --since-date/--until-date``: a commit-date window as git rev-list arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone


def _git_date(moment: datetime) -> str:
    """Seconds since the epoch in git's raw form; a date without an offset is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"@{int(moment.timestamp())}"


@dataclass(frozen=True)
class DateWindow:
    """Commits dated ``since`` or later and ``until`` or earlier (committer date)."""

    since: datetime | None = None
    until: datetime | None = None

    @property
    def limited(self) -> bool:
        return self.since is not None or self.until is not None

    def rev_list_args(self) -> list[str]:
        args = []
        if self.since is not None:
            args.append(f"--since={_git_date(self.since)}")
        if self.until is not None:
            args.append(f"--until={_git_date(self.until)}")
        return args

    def revisions(
        self, spec_revisions: list[str] | None, run: Callable[[list[str]], bytes]
    ) -> list[str] | None:
        """rev-list arguments for what the window's commits introduced: the range (every ref
        when there is none) within the dates, minus the parents just outside the window, so
        that a commit's older files are not audited again as if it had added them."""
        if not self.limited:
            return spec_revisions
        window = [*(spec_revisions or ["--all"]), *self.rev_list_args()]
        inside: set[str] = set()
        parents: set[str] = set()
        for line in run(["rev-list", "--parents", *window]).decode("ascii").splitlines():
            commit, *before = line.split()
            inside.add(commit)
            parents.update(before)
        return [*window, *(f"^{parent}" for parent in sorted(parents - inside))]
