"""The kinds of finding CI formats report as separate rules, with their help text.

A rule per kind lets a code-scanning dashboard rank and filter them: a key that
ships to end users' devices (a §2.2 violation) ranks first, then keys in the
repository or its history, then key-shaped values whose provider is unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keysentry.model.key import REVOKE_URL
from keysentry.model.location import locate, original_place

if TYPE_CHECKING:
    from keysentry.model.finding import Finding

_NEXT_STEPS = (
    "What to do:\n"
    "1. Revoke the key on the DeepSeek platform's API-keys page ("
    + REVOKE_URL
    + "). Treat it as leaked even if the commit is deleted: every fee it runs up is billed to"
    " the account owner.\n"
    "2. Create a new key and keep it server-side (an environment variable or a secret manager),"
    " never in code that ships to browsers or apps.\n"
    "3. Remove the key from the code; if it was committed, purge it from history.\n"
    "`keysentry guide` walks through every step. A false positive? Add `keysentry: allow` to the"
    " line, or the fingerprint to allowed_fingerprints or the baseline."
)


@dataclass(frozen=True)
class Rule:
    suffix: str
    name: str
    title: str
    full: str
    security_severity: str  # CVSS-like score GitHub code scanning ranks by
    severity: str  # keysentry's word for it

    def id_for(self, base: str) -> str:
        return f"{base}/{self.suffix}"

    @property
    def help(self) -> str:
        return f"{self.full}\n\n{_NEXT_STEPS}"


CLIENT_SIDE = Rule(
    "client-side",
    "DeepSeekKeyInClientCode",
    "DeepSeek API key in client-side code",
    "A DeepSeek API key sits in code that ships to end users' devices (a browser bundle, a"
    " mobile or desktop app). Anyone who loads the page or unpacks the app can read it and spend"
    " on the account. The DeepSeek Open Platform terms (section 2.2) forbid exposing a key in"
    " browser or other client-side code and make the developer liable for every fee it causes.",
    "9.6",
    "critical",
)
IN_REPOSITORY = Rule(
    "in-repository",
    "DeepSeekKeyInRepository",
    "DeepSeek API key in the repository",
    "A DeepSeek API key is stored in a file. Whoever can read the repository, its forks, CI"
    " logs or build artifacts can use it, and the developer pays for every request.",
    "8.2",
    "high",
)
IN_HISTORY = Rule(
    "in-history",
    "DeepSeekKeyInGitHistory",
    "DeepSeek API key in a commit",
    "A DeepSeek API key was committed. Deleting it in a later commit does not remove it: every"
    " clone keeps the commit, so the key must be revoked.",
    "7.9",
    "high",
)
UNCONFIRMED = Rule(
    "unconfirmed-provider",
    "DeepSeekShapedKey",
    "DeepSeek-shaped API key (provider unconfirmed)",
    "A value has the exact shape of a DeepSeek API key, but nothing near it names DeepSeek (it"
    " may be an Alibaba DashScope key, which shares the shape). Any live API key in code is a"
    " leak; check which platform issued it.",
    "5.5",
    "medium",
)
RULES = (CLIENT_SIDE, IN_REPOSITORY, IN_HISTORY, UNCONFIRMED)


def rule_for(finding: Finding) -> Rule:
    if finding.severity == "critical" or finding.exposure == "client":
        return CLIENT_SIDE
    if finding.severity in ("medium", "low"):
        return UNCONFIRMED
    return IN_HISTORY if finding.history and finding.history.commit else IN_REPOSITORY


def rule_id(finding: Finding) -> str:
    return rule_for(finding).id_for(finding.rule_id)


def verification_status(finding: Finding) -> str | None:
    return finding.verification.status if finding.verification else None


def source_note(finding: Finding) -> str | None:
    """``src/app.js:3 (source map; reads VITE_X)``: where a bundle key comes from."""
    place = original_place(finding)
    if place is None:
        return None
    via = f"; reads {finding.original_variable}" if finding.original_variable else ""
    return f"{place} (source map{via})"


def image_note(finding: Finding) -> str | None:
    """``/app/old.env in the image (deleted in a later layer, still in the image)``: where a
    finding inside a container image's layer sits in the container (containers/image.py)."""
    if finding.image_path is None:
        return None
    note = f" ({finding.image_note})" if finding.image_note else ""
    return f"{finding.image_path} in the image{note}"


def describe(finding: Finding) -> str:
    """One paragraph about a finding, key redacted: what, where, why it matters."""
    where = locate(finding)
    parts = [
        f"{rule_for(finding).title}: {finding.redacted} ({finding.fingerprint[:19]}) at"
        f" {where.label}."
    ]
    parts.append(
        f"Provider {finding.provider} ({finding.confidence} confidence):"
        f" {finding.provider_evidence.rstrip('.')}."
    )
    if finding.exposure != "unknown":
        evidence = "; ".join(finding.exposure_evidence) or "no details"
        parts.append(f"Exposure {finding.exposure}: {evidence}.")
    if finding.decoded_from:
        parts.append(f"Decoded from {' > '.join(finding.decoded_from)}.")
    if image := image_note(finding):
        parts.append(f"Image path: {image}.")
    if source := source_note(finding):
        parts.append(f"Fix it in the source: {source}.")
    if status := verification_status(finding):
        parts.append(f"Verification: {status}.")
    parts.append(f"Revoke it at {REVOKE_URL} and keep the new key server-side.")
    return " ".join(parts)
