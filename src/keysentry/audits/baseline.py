"""Baselines: keys a team has triaged, so scans fail only on new ones.

A baseline file holds fingerprints and locations, never keys. A finding is
accepted when its key's fingerprint is in the baseline *at that location*: an accepted
test key copied into a client bundle is a new leak and fails. A location is stable
across builds: the source path, or for build output the path with the content hash
taken out of the file name (``dist/assets/main-*.js``), so a rebuild that renames
every chunk keeps matching. Baseline locations that no longer hold their key are
stale, so the file can be pruned. Files written by 0.1 (hashed names) still load and
match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keysentry import __version__
from keysentry.config import BASELINE_FILE as DEFAULT_FILE  # noqa: F401 (callers name it so)
from keysentry.model.clock import utc_timestamp
from keysentry.model.finding import Finding
from keysentry.model.location import locate, stable_path
from keysentry.model.report import Report

FORMAT_VERSION = 1
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")
_ENTRY_KEYS = {"fingerprint", "locations", "reason", "accepted_by", "accepted_at"}
_LOCATION_KEYS = {"path", "line", "commit"}


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file and the problem."""


@dataclass
class Location:
    path: str
    line: int = 0
    commit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line}
        if self.commit:
            data["commit"] = self.commit
        return data


@dataclass
class Entry:
    fingerprint: str
    locations: list[Location] = field(default_factory=list)
    reason: str = ""
    accepted_by: str = ""
    accepted_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "accepted_by": self.accepted_by,
            "accepted_at": self.accepted_at,
            "locations": [loc.to_dict() for loc in self.locations],
        }


@dataclass
class Baseline:
    entries: list[Entry] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "keysentry_baseline": FORMAT_VERSION,
            "generated_by": f"keysentry {__version__}",
            "entries": [e.to_dict() for e in sorted(self.entries, key=lambda e: e.fingerprint)],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def accepted_paths(self) -> dict[str, set[str]]:
        """fingerprint -> the stable paths it is accepted at."""
        return {e.fingerprint: {stable_path(loc.path) for loc in e.locations} for e in self.entries}


@dataclass(frozen=True)
class Stale:
    entry: Entry
    location: Location

    def describe(self) -> str:
        reason = f" ({self.entry.reason})" if self.entry.reason else ""
        return f"{self.location.path}: {self.entry.fingerprint[:19]}{reason}"


@dataclass
class Outcome:
    accepted: list[Finding] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)


def match_path(finding: Finding) -> str:
    """The path a baseline records: the file (or archive member) in the repository, with
    a build file's content hash taken out; a key in a commit matches the same file's entry."""
    where = locate(finding)
    if where.file is None:
        return finding.path
    return stable_path(where.file if where.member is None else f"{where.file}!{where.member}")


# --- reading ---------------------------------------------------------------------------


def _fail(path: Path, what: str) -> BaselineError:
    return BaselineError(f"{path}: {what}")


def _location(raw: Any, path: Path, where: str) -> Location:
    if not isinstance(raw, dict):
        raise _fail(path, f"{where} must be an object with 'path' and 'line'")
    unknown = set(raw) - _LOCATION_KEYS
    if unknown:
        raise _fail(path, f"{where} has unknown key(s): {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("path"), str):
        raise _fail(path, f"{where}.path must be a string")
    line = raw.get("line", 0)
    if not isinstance(line, int) or isinstance(line, bool):
        raise _fail(path, f"{where}.line must be an integer")
    commit = raw.get("commit")
    if commit is not None and not isinstance(commit, str):
        raise _fail(path, f"{where}.commit must be a string")
    return Location(raw["path"], line, commit)


def _entry(raw: Any, path: Path, index: int) -> Entry:
    where = f"entries[{index}]"
    if not isinstance(raw, dict):
        raise _fail(path, f"{where} must be an object")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise _fail(path, f"{where} has unknown key(s): {', '.join(sorted(unknown))}")
    fp = raw.get("fingerprint")
    if not isinstance(fp, str) or not _FINGERPRINT.fullmatch(fp):
        raise _fail(path, f"{where}.fingerprint must be sha256:<64 lowercase hex>")
    for name in ("reason", "accepted_by", "accepted_at"):
        if not isinstance(raw.get(name, ""), str):
            raise _fail(path, f"{where}.{name} must be a string")
    locations = raw.get("locations", [])
    if not isinstance(locations, list):
        raise _fail(path, f"{where}.locations must be a list")
    return Entry(
        fp,
        [_location(loc, path, f"{where}.locations[{i}]") for i, loc in enumerate(locations)],
        raw.get("reason", ""),
        raw.get("accepted_by", ""),
        raw.get("accepted_at", ""),
    )


def parse(text: str, path: Path) -> Baseline:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # also: nested too deep, a huge number
        raise _fail(path, f"not valid JSON: {str(exc)[:200] or type(exc).__name__}") from exc
    if not isinstance(data, dict) or "keysentry_baseline" not in data:
        raise _fail(path, "not a keysentry baseline (no 'keysentry_baseline' version)")
    if data["keysentry_baseline"] != FORMAT_VERSION:
        raise _fail(path, f"baseline format {data['keysentry_baseline']!r} is not supported")
    entries = data.get("entries", [])
    if not isinstance(entries, list):
        raise _fail(path, "'entries' must be a list")
    parsed = [_entry(raw, path, i) for i, raw in enumerate(entries)]
    seen: set[str] = set()
    for entry in parsed:
        if entry.fingerprint in seen:
            raise _fail(path, f"fingerprint {entry.fingerprint[:19]}... is listed twice")
        seen.add(entry.fingerprint)
    return Baseline(parsed)


def load(path: Path) -> Baseline:
    """A baseline file: a regular file of at most BASELINE_LIMIT bytes."""
    from keysentry.small_file import BASELINE_LIMIT, RefusedFile, read_small_file

    try:
        text = read_small_file(path, BASELINE_LIMIT).decode("utf-8")
    except FileNotFoundError as exc:
        raise _fail(
            path, "no such baseline file (create it with `keysentry baseline create`)"
        ) from exc
    except RefusedFile as exc:
        raise _fail(path, str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from exc
    return parse(text, path)


# --- using -----------------------------------------------------------------------------


def stale_locations(baseline: Baseline, findings: list[Finding]) -> list[Stale]:
    present = {(f.fingerprint, match_path(f)) for f in findings}
    return [
        Stale(entry, loc)
        for entry in baseline.entries
        for loc in entry.locations
        if (entry.fingerprint, stable_path(loc.path)) not in present
    ]


def apply(report: Report, baseline: Baseline) -> Outcome:
    """Remove the findings the baseline accepts from the report."""
    stale = stale_locations(baseline, report.findings)
    accepted_paths = baseline.accepted_paths()
    kept: list[Finding] = []
    outcome = Outcome(stale=stale)
    for finding in report.findings:
        if match_path(finding) in accepted_paths.get(finding.fingerprint, ()):
            outcome.accepted.append(finding)
        else:
            kept.append(finding)
    report.findings[:] = kept
    report.stats["baseline_accepted"] += len(outcome.accepted)
    return outcome


def _locations_of(findings: list[Finding]) -> dict[str, dict[str, Location]]:
    found: dict[str, dict[str, Location]] = {}
    for f in sorted(findings, key=lambda f: (match_path(f), f.line)):
        commit = locate(f).commit
        found.setdefault(f.fingerprint, {}).setdefault(
            match_path(f), Location(match_path(f), f.line, commit)
        )
    return found


def create(findings: list[Finding], reason: str = "", accepted_by: str = "") -> Baseline:
    now = utc_timestamp()
    return Baseline(
        [
            Entry(fp, list(locs.values()), reason, accepted_by, now)
            for fp, locs in _locations_of(findings).items()
        ]
    )


CLIENT_REFUSAL = (
    "client-side key(s) not accepted: a key in browser or app code is public to every user"
    " (a §2.2 violation), so a baseline would hide a live leak. Revoke them (`keysentry guide`);"
    " only for keys that reach no account (test fixtures), pass --accept-client"
)


def client_side(findings: list[Finding]) -> list[Finding]:
    """The findings ``baseline create``/``update`` refuse without --accept-client."""
    return [f for f in findings if f.exposure == "client"]


@dataclass
class Update:
    baseline: Baseline
    added: list[Location] = field(default_factory=list)
    pruned: list[Stale] = field(default_factory=list)


def update(
    old: Baseline,
    findings: list[Finding],
    reason: str = "",
    accepted_by: str = "",
    prune: bool = True,
) -> Update:
    """Keep what was accepted (with its reason), add what is new, prune what is gone."""
    found = _locations_of(findings)
    result = Update(Baseline())
    now = utc_timestamp()
    by_fp = {e.fingerprint: e for e in old.entries}
    for fp in sorted(set(by_fp) | set(found)):
        entry = by_fp.get(fp) or Entry(fp, [], reason, accepted_by, now)
        here = found.get(fp, {})
        kept: list[Location] = []
        for loc in entry.locations:
            stable = stable_path(loc.path)
            if stable in here:
                kept.append(Location(stable, here[stable].line, loc.commit))
            elif prune:
                result.pruned.append(Stale(entry, loc))
            else:
                kept.append(loc)
        known = {stable_path(loc.path) for loc in entry.locations}
        for path, loc in here.items():
            if path not in known:
                kept.append(loc)
                result.added.append(loc)
        if kept:
            result.baseline.entries.append(
                Entry(fp, kept, entry.reason, entry.accepted_by, entry.accepted_at)
            )
    return result
