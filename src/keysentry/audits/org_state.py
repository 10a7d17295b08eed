"""``keysentry org --state FILE``: which repositories are done, so a run can resume.

One JSON object per line, appended (and flushed to disk) as each repository finishes:
an interrupted run loses at most the line being written, which is ignored when read
back. A line holds the repository, its digest (refs, HEAD and work tree status, see
org_task._local_digest) and its result, so that a resumed run reports the repositories
it skips too. A repository that failed is not recorded: the next run tries it again.

The first line records the options' digest; state written with other options (another
--config, --show-secrets, another keysentry version) is not reused. The file is 0600
and holds full keys only when the run had --show-secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keysentry.audits.org_task import RepoResult, RepoSpec
from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.key import redact_text

STATE_VERSION = 2  # 2: repositories matched by the digest of their location


def _location_digest(spec: RepoSpec) -> str:
    return hashlib.sha256(spec.location.encode("utf-8", "surrogateescape")).hexdigest()


class StateFileError(Exception):
    """A state file that cannot be read or written; the message names it."""


@dataclass(frozen=True)
class StoredResult:
    digest: str
    line: dict[str, Any]

    def result(self, spec: RepoSpec) -> RepoResult:
        data = self.line
        repository = RepositoryRef.from_dict(data.get("repository")) or RepositoryRef(spec.location)
        findings = [Finding.from_dict(f) for f in data.get("findings", [])]
        for finding in findings:
            finding.repository = repository
        return RepoResult(
            spec,
            repository,
            self.digest,
            findings,
            notes=[str(n) for n in data.get("notes", [])],
            stats=Counter({str(k): int(v) for k, v in data.get("stats", {}).items()}),
            unchanged=True,
        )


class StateFile:
    """The finished repositories of earlier runs, and the file this run appends to."""

    def __init__(self, path: Path, options_digest: str, show_secrets: bool) -> None:
        self.path = path
        self.show_secrets = show_secrets
        self.done: dict[str, StoredResult] = {}
        self.notes: list[str] = []
        header = {"keysentry_state": STATE_VERSION, "options": options_digest}
        fresh = not self._read(header)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if fresh else 0)
            self._fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise StateFileError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        if fresh:
            self._append(header)

    def _read(self, header: dict[str, Any]) -> bool:
        """Load earlier results; False when the file is new or was made with other options."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError) as exc:
            raise StateFileError(f"{self.path}: cannot read: {exc}") from exc
        lines = text.splitlines()
        try:
            first = json.loads(lines[0]) if lines else None
        except ValueError:
            first = None
        if first != header:
            if lines:
                self.notes.append(
                    f"{self.path}: written by another version or with other options;"
                    " every repository is audited again"
                )
            return False
        for line in lines[1:]:
            try:
                data = json.loads(line)
                self.done[str(data["location_sha256"])] = StoredResult(str(data["digest"]), data)
            except (ValueError, KeyError, TypeError):
                continue  # the line an interrupted run was writing
        return True

    def known_digest(self, spec: RepoSpec) -> str | None:
        stored = self.done.get(_location_digest(spec))
        return stored.digest if stored is not None else None

    def stored(self, spec: RepoSpec) -> RepoResult | None:
        stored = self.done.get(_location_digest(spec))
        return stored.result(spec) if stored is not None else None

    def record(self, result: RepoResult) -> None:
        """Remember a repository audited in full; one that failed is tried again next run."""
        if result.errors or result.digest is None:
            return
        self._append(
            {
                "location": redact_text(result.spec.location),  # a folder may be named with a key
                "location_sha256": _location_digest(result.spec),
                "digest": result.digest,
                "repository": result.repository.to_dict(),
                "findings": [
                    {k: v for k, v in f.to_dict(self.show_secrets).items() if k != "repository"}
                    for f in result.findings
                ],
                "notes": result.notes,
                "stats": dict(result.stats),
            }
        )

    def _append(self, data: dict[str, Any]) -> None:
        line = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            os.write(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot write: {exc.strerror or exc}") from exc

    def close(self) -> None:
        os.close(self._fd)
