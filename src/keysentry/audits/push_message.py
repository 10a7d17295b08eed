"""What the pusher reads when a push is stopped (git shows a hook's stderr as ``remote:`` lines).

Each key is shown redacted, with file:line, the commit (and the pushed refs that
hold it), the §2.2 label when the path ships to clients, then what to do and how
to bypass, when bypassing is allowed. Never a full key.
"""

from __future__ import annotations

from keysentry.model.finding import Finding
from keysentry.model.key import REVOKE_URL
from keysentry.model.text import escape_text

SHORT = 12  # commit ids shown this long


def _where(finding: Finding) -> str:
    placed = finding.history
    parts = []
    if placed is not None and placed.commit:
        parts.append(f"commit {placed.commit[:SHORT]}")
        if placed.merge:
            parts.append("introduced by the merge itself")
        if placed.tag:
            parts.append(f"annotated tag {placed.tag[:SHORT]}")
        if placed.refs:
            parts.append("on " + ", ".join(escape_text(r) for r in placed.refs[:3]))
        if placed.author:
            parts.append(f"by {escape_text(placed.author)}")
    return "; ".join(parts) if parts else "not in any pushed commit"


def findings_lines(findings: list[Finding]) -> list[str]:
    """One block per finding: location, redacted key, where in the push, §2.2 label."""
    lines = []
    ordered = sorted(findings, key=lambda f: (f.path, f.line, f.column, f.fingerprint))
    for f in ordered:
        lines.append(
            f"  {escape_text(f.path)}:{f.line}:{f.column}: {f.redacted}"
            f" ({f.provider}, {f.confidence} confidence, {f.fingerprint[:19]})"
        )
        lines.append(f"      {_where(f)}")
        if f.violation:
            lines.append(f"      CLIENT-SIDE: {f.violation}")
    return lines


def rejection(findings: list[Finding], *, action: str, bypass: str | None) -> list[str]:
    """The whole message: ``action`` is what was stopped (this push); bypass how to skip it."""
    keys = len({f.fingerprint for f in findings})
    lines = [
        f"keysentry: {action} rejected: {keys} API key(s) in the commits it adds"
        f" ({len(findings)} place(s))",
        *findings_lines(findings),
        "",
        "What to do:",
        f"  1. Revoke the key on {REVOKE_URL} and make a new one: it has left your machine.",
        "  2. Rewrite the commits so that none of them holds it: remove the key, then"
        " `git commit --amend` (last commit) or `git rebase -i <base>` (older ones), and push"
        " again. Load the key from an environment variable or a secret manager instead.",
        "  3. `keysentry guide` prints the full revoke-and-rotate steps;"
        " `keysentry history --range <base>..HEAD` checks the rewritten commits.",
        "A false positive? Add `keysentry: allow` to the line, or the fingerprint to"
        " allowed_fingerprints.",
    ]
    if bypass:
        lines.append(bypass)
    return lines
