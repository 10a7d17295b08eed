"""A finding: one key at one place, and the only ways a key is shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from keysentry.model.key import fingerprint, redact, redact_text
from keysentry.model.target import SourceKind
from keysentry.model.verification import Verification

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
EXPOSURE_RANK = {"client": 0}  # client-side first; server and unknown alike after it


def severity_rank(severity: str) -> int:
    """0 for critical ... 3 for low; anything else after them."""
    return SEVERITY_RANK.get(severity, len(SEVERITY_RANK))


RULE_ID = "deepseek-api-key"
# what every output format says of a client-side finding (see exposure.py)
VIOLATION = (
    "§2.2 violation: DeepSeek Open Platform Terms §2.2 forbid exposing an API key"
    " in browser or other client-side code"
)


def _check(name: str, value: object, kind: str) -> None:
    """``kind``: str, str?, int, bool, [str] (a list of str) or {} (a dict)."""
    ok = {
        "str": isinstance(value, str),
        "str?": value is None or isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "{}?": value is None or isinstance(value, dict),
    }[kind]
    if not ok:
        raise ValueError(f"{name} must be {kind}, not {value!r:.40}")


_PLACEMENT_TYPES = {
    "commit": "str?", "commits": "[str]", "author": "str?", "date": "str?", "refs": "[str]",
    "refs_total": "int", "in_head": "bool", "pushed": "bool", "reachable": "bool",
    "blob": "str?", "merge": "bool", "tag": "str?",
}  # fmt: skip
_SITE_TYPES = {"url": "str", "status": "int", "content_type": "str", "referrer": "str?"}
_FINDING_TYPES = {
    "path": "str", "line": "int", "column": "int", "provider": "str", "confidence": "str",
    "provider_evidence": "str", "snippet": "str", "exposure": "str", "severity": "str",
    "exposure_evidence": "[str]", "decoded_from": "[str]", "original_source": "str?",
    "verification": "{}?", "secret": "str?", "fingerprint": "str", "redacted": "str",
    "rule_id": "str",
}  # fmt: skip


@dataclass(frozen=True)
class HistoryPlacement:
    """Where in a repository's history a key sits (``keysentry history``, ``ci``, ``guide``)."""

    commit: str | None = None  # the commit that introduced it (or holds the message)
    commits: list[str] = field(default_factory=list)  # every commit that introduced this blob
    author: str | None = None
    date: str | None = None
    refs: list[str] = field(default_factory=list)  # refs that reach it, at most REFS_LISTED
    refs_total: int = 0
    in_head: bool = False
    pushed: bool = False  # reachable from a remote-tracking ref
    reachable: bool = True  # False: only in the reflog or a dangling object
    blob: str | None = None
    merge: bool = False  # introduced by a merge's own change
    tag: str | None = None  # the annotated tag whose message holds it
    unattributed: str | None = None  # why commits, paths and refs are not known

    def __post_init__(self) -> None:  # a branch or tag may be named with a key
        object.__setattr__(self, "refs", [redact_text(r) for r in self.refs])

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "commit": self.commit,
            "commits": list(self.commits),
            "author": self.author,
            "date": self.date,
            "refs": list(self.refs),
            "refs_total": self.refs_total,
            "in_head": self.in_head,
            "pushed": self.pushed,
            "reachable": self.reachable,
        }
        if self.blob is not None:
            data["blob"] = self.blob
        if self.merge:
            data["merge"] = True
        if self.tag is not None:
            data["tag"] = self.tag
        if self.unattributed is not None:
            data["unattributed"] = self.unattributed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryPlacement:
        """Read back from a report; ValueError when a field has the wrong type."""
        values = {k: data[k] for k in _PLACEMENT_TYPES if k in data}
        for name, value in values.items():
            _check(name, value, _PLACEMENT_TYPES[name])
        return cls(**values)


NOT_PLACED = HistoryPlacement()  # what a finding outside history reads as

Urgency = tuple[int, int, int, int]


def urgency(findings: Iterable[Finding]) -> Urgency:
    """THE ordering rule of every command and format: severity, then exposure, then pushed
    (or served by a site: published).

    For one finding or for all the findings of one key (the most urgent of each wins).
    Lower sorts first. A key that ``--verify`` found live comes before all of them (only
    a verified run knows it; without ``--verify`` the rule is the three criteria).
    """
    live = severity = exposure = pushed = 99
    for f in findings:
        live = min(live, 0 if f.verification is not None and f.verification.is_live else 1)
        severity = min(severity, severity_rank(f.severity))
        exposure = min(exposure, EXPOSURE_RANK.get(f.exposure, 1))
        public = f.source is SourceKind.SITE or (f.history is not None and f.history.pushed)
        pushed = min(pushed, 0 if public else 1)
    return live, severity, exposure, pushed


@dataclass(frozen=True)
class SitePlacement:
    """Where on a deployed site a key is served (``keysentry site``)."""

    url: str  # the response that holds it (after redirects)
    status: int  # its HTTP status
    content_type: str = ""
    referrer: str | None = None  # the page, script or map that led to it

    def __post_init__(self) -> None:  # a URL's path or query may hold a key
        object.__setattr__(self, "url", redact_text(self.url))
        if self.referrer is not None:
            object.__setattr__(self, "referrer", redact_text(self.referrer))

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "content_type": self.content_type,
            "referrer": self.referrer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SitePlacement:
        """Read back from a report; ValueError when a field has the wrong type."""
        values = {k: data[k] for k in _SITE_TYPES if k in data}
        for name, value in values.items():
            _check(name, value, _SITE_TYPES[name])
        return cls(**{"url": "?", "status": 0, **values})


@dataclass(frozen=True)
class RepositoryRef:
    """Which repository of an organisation audit (``keysentry org``) a finding came from."""

    name: str  # the path or clone URL as the user gave it
    remote: str | None = None  # the repository's remote URL (origin), when known

    def __post_init__(self) -> None:  # a folder or URL may be named with a key
        object.__setattr__(self, "name", redact_text(self.name))
        if self.remote is not None:
            object.__setattr__(self, "remote", redact_text(self.remote))

    def __lt__(self, other: RepositoryRef) -> bool:  # by hand: order=True costs start-up
        return (self.name, self.remote or "") < (other.name, other.remote or "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "remote": self.remote}

    @classmethod
    def from_dict(cls, data: Any) -> RepositoryRef | None:
        """None when absent; ValueError (like every field) when it is not one."""
        if data is None:
            return None
        _check("repository", data, "{}?")
        _check("repository.name", data.get("name"), "str")
        _check("repository.remote", data.get("remote"), "str?")
        return cls(data["name"], data.get("remote"))


@dataclass
class Finding:
    """One key at one location. ``secret`` is never serialised unless asked for."""

    secret: str = field(repr=False)
    path: str
    line: int
    column: int
    provider: str
    confidence: str
    provider_evidence: str
    snippet: str
    source: SourceKind = SourceKind.FILE
    offset: int = 0
    rule_id: str = RULE_ID
    exposure: str = "unknown"
    exposure_evidence: list[str] = field(default_factory=list)
    severity: str = "high"
    decoded_from: list[str] = field(default_factory=list)
    original_source: str | None = None  # a source map's original file
    original_line: int | None = None  # the key's line in that file
    original_variable: str | None = None  # the env variable that line reads (bundle keys)
    notebook_cell: int | None = None  # a notebook's cell (0-based), and the line in it
    cell_line: int | None = None
    image_path: str | None = None  # in a container image: the file's path in the container
    image_note: str | None = None  # e.g. deleted in a later layer (containers/image.py)
    history: HistoryPlacement | None = None  # git sources fill this (audits/history)
    site: SitePlacement | None = None  # ``keysentry site`` fills this (audits/site)
    verification: Verification | None = None  # guide/verify.py, with --verify
    # derived from secret; kept as fields so that a report read back without keys has them
    fingerprint: str = ""
    redacted: str = ""
    repository: RepositoryRef | None = None  # keysentry org: the repository it was found in

    def __post_init__(self) -> None:
        if self.secret:
            self.fingerprint = fingerprint(self.secret)
            self.redacted = redact(self.secret)

    @property
    def violation(self) -> str | None:
        """The §2.2 label of a client-side finding, else None."""
        return VIOLATION if self.exposure == "client" else None

    def sort_key(self) -> tuple[Urgency, str, int, int]:
        """``urgency`` (the one ordering rule), then the place."""
        return (urgency([self]), self.path, self.line, self.column)

    def to_dict(self, show_secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "fingerprint": self.fingerprint,
            "redacted": self.redacted,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "provider": self.provider,
            "confidence": self.confidence,
            "provider_evidence": self.provider_evidence,
            "source": str(self.source),
            "snippet": self.snippet,
            "exposure": self.exposure,
            "exposure_evidence": list(self.exposure_evidence),
            "violation": self.violation,
            "severity": self.severity,
            "decoded_from": list(self.decoded_from),
        }
        for name in (
            "original_source", "original_line", "original_variable", "notebook_cell",
            "cell_line", "image_path", "image_note",
        ):  # fmt: skip
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.history is not None:
            data.update(self.history.to_dict())
        if self.site is not None:
            data.update(self.site.to_dict())
        if self.verification is not None:
            data["verification"] = self.verification.to_dict()
        if self.repository is not None:
            data["repository"] = self.repository.to_dict()
        if show_secret:
            data["secret"] = self.secret
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """A finding read back from a JSON report; ``secret`` is empty unless it was shown."""
        names = {f.name for f in fields(cls)} - {"history", "source", "secret", "exposure_evidence"}
        names -= {"site"}
        names -= {"decoded_from", "verification", "repository"}
        # what an older or hand-edited report may leave out
        values: dict[str, Any] = {
            "path": "?",
            "line": 0,
            "column": 0,
            "provider": "unknown",
            "confidence": "low",
            "provider_evidence": "",
            "snippet": "",
        }
        values.update((k, v) for k, v in data.items() if k in names)
        for name, kind in _FINDING_TYPES.items():
            if name in data:
                _check(name, data[name], kind)
        for name in ("original_line", "notebook_cell", "cell_line"):
            if data.get(name) is not None:
                _check(name, data[name], "int")
        source = SourceKind(data.get("source", SourceKind.FILE.value))
        placed = "commit" in data or source.is_history
        return cls(
            secret=str(data.get("secret") or ""),
            source=source,
            history=HistoryPlacement.from_dict(data) if placed else None,
            site=SitePlacement.from_dict(data) if source is SourceKind.SITE else None,
            exposure_evidence=list(data.get("exposure_evidence") or []),
            decoded_from=list(data.get("decoded_from") or []),
            verification=Verification.from_dict(data.get("verification")),
            repository=RepositoryRef.from_dict(data.get("repository")),
            **values,
        )
