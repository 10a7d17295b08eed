"""The revoke-and-rotate playbook: what was found, turned into ordered steps per key.

Pure: a GuideInput (leaked_keys.py) in, a Playbook out. Renderers (guide/render_*.py) draw it;
they never see a full key, because the playbook holds none.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from keysentry.engine.attribution import DASHSCOPE, DEEPSEEK
from keysentry.guide import purge
from keysentry.guide.leaked_keys import (
    GuideInput,
    LeakedKey,
    archive_of,
    is_commit_message,
    is_site,
    placed,
    where,
)
from keysentry.guide.origins import build_output, fix_places
from keysentry.guide.verify import describe
from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.key import REVOKE_URL, USAGE_URL, holds_redacted
from keysentry.model.report import EXIT_CLEAN, EXIT_FOUND, EXIT_INCOMPLETE, ScanError
from keysentry.model.stage import (
    BLOCKED_TEXT,
    CLEAR_COMMANDS,
    COMMITTED,
    NEVER_COMMITTED,
    PUBLIC,
    STAGE_TEXT,
    UNKNOWN,
)
from keysentry.model.target import SourceKind
from keysentry.model.text import escape_text
from keysentry.model.verification import Verification

DASHSCOPE_CONSOLE = "the Alibaba Cloud Model Studio (DashScope) console, API-Key page"
DEFAULT_PURGE_FILE = "../keysentry-purge.txt"  # outside the work tree: never committed

REVOKE = "revoke"
REPLACE = "create-replacement"
EDIT = "replace-in-code"
CLEAR = "clear-local-objects"
PURGE = "purge-history"
CLIENT = "client-redeploy"
SITE = "site-redeploy"  # the client step of a key a deployed site serves
BILLING = "check-billing"
PREVENT = "prevent-repeat"
STEP_ORDER = (REVOKE, REPLACE, EDIT, CLEAR, PURGE, CLIENT, SITE, BILLING, PREVENT)


@dataclass
class Step:
    id: str
    title: str
    details: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # "why" lines, strongest first


@dataclass
class KeyFacts:
    """Everything the formats may show about one key: never the key itself."""

    fingerprint: str
    redacted: str
    provider: str
    confidence: str
    provider_evidence: str
    verification: Verification | None
    status: str  # one line, from verify.describe
    committed: bool
    pushed: bool | None
    client: bool
    client_evidence: list[str]
    files: list[str]
    staged: list[str]
    archives: list[str]
    commits: list[str]
    refs: list[str]
    client_bundles: list[str]
    in_commit_message: bool
    hidden_in_history: list[str]  # history paths a literal replace may not reach
    site_urls: list[str] = field(default_factory=list)  # deployed URLs that serve it
    original_sources: list[str] = field(default_factory=list)  # what the site's maps name
    repositories: list[str] = field(default_factory=list)  # keysentry org: every one to fix
    spread: str | None = None  # keysentry org: "in 4 repositories, client-side in 1, ..."
    stage: str = NEVER_COMMITTED  # NEVER_COMMITTED, COMMITTED or PUBLIC
    local_objects: bool = False  # staged, or a dangling blob outside any commit
    sources: list[str] = field(default_factory=list)  # where to fix it, best evidence first
    build_output: list[str] = field(default_factory=list)  # build files holding it


    @property
    def stage_text(self) -> str:
        if self.stage == NEVER_COMMITTED and self.local_objects:
            return BLOCKED_TEXT
        return STAGE_TEXT.get(self.stage, self.stage)


@dataclass
class KeyPlan:
    facts: KeyFacts
    steps: list[Step]


@dataclass
class PurgePlan:
    file: str
    written: bool
    problem: str | None
    commands: list[str]
    aftermath: list[str]
    strip_commands: list[str]


@dataclass
class Playbook:
    origin: str  # what was audited: a repository, or a report file
    plans: list[KeyPlan]
    purge: PurgePlan | None
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    purge_problem: str | None = None  # a purge file was asked for and not written

    @property
    def live(self) -> int:
        return sum(1 for p in self.plans if p.facts.verification and p.facts.verification.is_live)

    def exit_code(self) -> int:
        """2 when the purge file failed, else 1 for keys, else 2 when incomplete, else 0."""
        if self.purge_problem:
            return EXIT_INCOMPLETE
        if self.plans:
            return EXIT_FOUND
        return EXIT_INCOMPLETE if self.errors else EXIT_CLEAN


def _history_place(finding: Finding) -> str:
    commit = (placed(finding).commit or "")[:12]
    if finding.source is SourceKind.TAG_MESSAGE:
        return f"tag message (tag of commit {commit or '?'})"
    if is_commit_message(finding):
        return f"commit {commit}: commit message"
    if not commit:
        return f"no commit (reflog, stash or dangling object): {where(finding)}"
    place = f"commit {commit}: {where(finding)}"
    if not placed(finding).reachable:
        place += " (only reflogs or dangling objects reach it)"
    return place


def stage_of(key: LeakedKey, history_read: bool = True) -> str:
    if key.pushed or key.published:
        return PUBLIC
    if key.committed:
        return COMMITTED
    return NEVER_COMMITTED if history_read else UNKNOWN


def _by_strength(findings: list[Finding]) -> list[str]:
    """Every finding's exposure reasons, strongest first (each list is ordered so)."""
    rank: dict[str, int] = {}
    for f in findings:
        for index, reason in enumerate(f.exposure_evidence):
            shown = escape_text(str(reason))
            rank[shown] = min(rank.get(shown, index), index)
    return sorted(rank, key=lambda r: rank[r])


def facts(
    key: LeakedKey, definitions: Mapping[str, list[str]] | None = None, history_read: bool = True
) -> KeyFacts:
    provider, confidence, evidence = key.attribution
    hidden = sorted(
        {
            f.path
            for f in key.history
            if (f.decoded_from or archive_of(f.path))
            and not is_commit_message(f)
        }
    )
    return KeyFacts(
        fingerprint=key.fingerprint,
        redacted=key.redacted,
        provider=provider,
        confidence=confidence,
        provider_evidence=escape_text(evidence),
        verification=key.verification,
        status=describe(key.verification),
        committed=key.committed,
        pushed=key.pushed,
        client=key.client,
        client_evidence=_by_strength(key.client_findings),
        files=[where(f) for f in key.current_files],
        staged=[where(f) for f in key.staged],
        archives=[escape_text(a) for a in key.archives],
        commits=sorted({_history_place(f) for f in key.history}),
        refs=[escape_text(r) for r in key.refs],
        client_bundles=sorted(
            {escape_text(f.path) for f in key.client_findings if not is_site(f)}
        ),
        in_commit_message=any(is_commit_message(f) for f in key.history),
        hidden_in_history=[escape_text(archive_of(p) or p) for p in hidden],
        site_urls=[escape_text(u) for u in key.site_urls],
        original_sources=sorted({_mapped(f) for f in key.site_findings if f.original_source}),
        stage=stage_of(key, history_read),
        local_objects=key.local_objects,
        sources=[p.describe() for p in fix_places(key, definitions or {})],
        build_output=build_output(key),
        repositories=[_repository_label(r) for r in key.repositories],
        spread=key.spread() if key.repositories else None,
    )


def _repository_label(repository: RepositoryRef) -> str:
    label = escape_text(repository.name)
    if repository.remote and repository.remote != repository.name:
        label += f" ({escape_text(repository.remote)})"
    return label


def _revoke(f: KeyFacts) -> Step:
    last4 = f.redacted[-4:]
    if f.provider == DASHSCOPE:
        where_ = f"in {DASHSCOPE_CONSOLE} (it is attributed to DashScope, not DeepSeek)"
    else:
        where_ = f"on the platform's API-keys page, {REVOKE_URL}"
    details = [
        f"Delete the key {f.redacted} (ends in ...{last4}) {where_}. There is no API for"
        " this: do it in the web console.",
    ]
    title = "Revoke the key now"
    if f.stage in (PUBLIC, UNKNOWN) or f.client:
        details.append(
            "A leaked key is compromised: removing it from code or history does not un-leak"
            " it, so revoke first, before any clean-up."
        )
        if f.client and f.stage == NEVER_COMMITTED:
            details.append("It is in client-side code: if that build was deployed, it is public.")
    elif f.stage == COMMITTED:
        title = "Revoke the key if this clone may be shared"
        details.append(
            "It was committed but never pushed: only this clone holds it. Revoke it if this"
            " machine, a backup or a synced folder of it may be shared; otherwise rewriting"
            " local history (below) is enough."
        )
    else:
        title = "Revoke the key only if it was shared some other way"
        details.append(
            "It was never committed: git did not take it off this machine. Revoking is not"
            " needed unless it was pasted, sent or deployed some other way."
        )
    if f.provider not in (DEEPSEEK, DASHSCOPE):
        details.append(
            "No provider is named near it; DeepSeek and DashScope keys share this shape. If it"
            f" is not on DeepSeek's page, look in {DASHSCOPE_CONSOLE}."
        )
    if f.site_urls:
        details.insert(
            0,
            f"LIVE ON THE WEB: a deployed site serves it to every visitor ({len(f.site_urls)}"
            " URL(s)), the strongest §2.2 evidence there is. Assume it is already copied:"
            " revoke it before rebuilding anything.",
        )
    status = f.verification.status if f.verification is not None else None
    if status == "live":
        details.insert(0, f"LIVE: verification says the API still accepts it ({f.status}).")
    elif status == "revoked":
        details.append(f"Verification says it is already revoked ({f.status}); confirm it is gone.")
    return Step(REVOKE, title, details)


def _replace(f: KeyFacts) -> Step:
    details = [
        "Create a new key and keep it server-side only: an environment variable"
        " (e.g. DEEPSEEK_API_KEY) or a secret manager, never a file in the repository.",
    ]
    if f.client:
        details.append(
            "This key reached client-side code. §2.2 of the platform terms allows no key in"
            " browser or other client code at all: move the API calls behind a server-side"
            " endpoint of yours and give the client no key."
        )
    return Step(REPLACE, "Create a replacement and store it server-side", details)


def _listed(details: list[str], header: str, places: Iterable[str]) -> None:
    """A header line, then each place indented under it."""
    details.append(header)
    details += [f"  {place}" for place in places]


def _edit(f: KeyFacts) -> Step:
    details: list[str] = []
    if f.repositories:
        _listed(details, f"Fix every repository that holds it ({f.spread}):", f.repositories)
    built = set(f.build_output)
    sources = [p for p in f.files if p.rsplit(":", 2)[0] not in built]
    if f.sources:
        _listed(
            details,
            "It is in build output: fix it where the build took it from (best evidence first):",
            f.sources,
        )
    elif sources:
        _listed(
            details, "Replace the key with a read of the new secret (environment) at:", sources
        )
    elif f.build_output or f.archives:
        details.append(
            "Only build output holds it and no source map, source file or variable names its"
            " origin: find the source or setting the build read it from and fix it there."
        )
    if f.staged:
        _listed(details, "It is also staged for the next commit; fix and re-stage:", f.staged)
    if not details and f.site_urls:
        details.append(
            "It was found on the deployed site, not in files scanned here: run `keysentry"
            " scan .` in the repository that builds the site to find the source to edit."
        )
        if f.original_sources:
            _listed(
                details, "The site's source maps name these original sources:", f.original_sources
            )
    if not details and f.committed:
        details.append(
            "No current file holds it: it is only in git history (see the purge step)."
        )
    elif not details:
        details.append(
            "No file holds it any more: only git's object store does (see the next step)."
        )
    return Step(EDIT, "Replace the key in code and configuration", details)


def _clear(f: KeyFacts) -> Step:
    details = [
        "git wrote the staged file into .git/objects before the hook stopped the commit; the"
        " blob stays there, in no commit, until git prunes it."
    ]
    if f.staged:
        details.append("First fix the file and re-stage it, so the index no longer holds it.")
    details.append(
        "Then drop unreachable objects now (this also drops stash entries other than the"
        " newest: check `git stash list` first):"
    )
    return Step(CLEAR, "Clear it from git's object store", details, list(CLEAR_COMMANDS))


def _purge(f: KeyFacts, plan: PurgePlan) -> Step:
    details: list[str] = []
    _listed(details, f"It is in {len(f.commits)} place(s) in history:", f.commits)
    if f.refs:
        details.append("Reachable from: " + ", ".join(f.refs))
    if f.pushed:
        details.append("PUSHED: a remote holds it; anyone who fetched it has the key.")
    elif f.pushed is False:
        details.append("Not pushed yet: rewrite history before the next push.")
    if f.hidden_in_history:
        _listed(
            details,
            "Inside an archive or encoded in these files, where a text replacement may not"
            " reach it; if `keysentry history` still finds it after the purge, remove them"
            " from history (commands under 'Purging history'):",
            f.hidden_in_history,
        )
    if len(f.repositories) > 1:
        _listed(
            details,
            f"The key is {f.spread}: purge each of these repositories (the same purge file"
            " serves every one):",
            f.repositories,
        )
    if plan.written:
        details.append(f"It is in the purge file {plan.file}; run the commands below.")
    else:
        details.append("Write the purge file with `keysentry guide --write-purge-file FILE`.")
    return Step(PURGE, "Purge it from git history", details, list(plan.commands))


def _mapped(finding: Finding) -> str:
    """``../src/config.js:2 (reads VITE_X, ...)``: where a site's map places a key."""
    place = escape_text(finding.original_source or "")
    if finding.original_line:
        place += f":{finding.original_line}"
    if finding.original_variable:
        place += f" (reads {finding.original_variable}, which the build inlines)"
    return place


def _site(f: KeyFacts) -> Step:
    """A key the deployed site serves: redeploy, purge caches, prove the old URLs are gone."""
    details: list[str] = []
    _listed(details, "These URLs serve it to browsers:", f.site_urls)
    details += [
        "1. Revoke the key first (step 1): rebuilding does not un-leak it.",
        "2. Rebuild the site without the key (and with the API calls behind your server).",
        "3. Redeploy, then purge the CDN and proxy caches for every origin above.",
        "4. Hashed chunks and source maps of old builds often stay on the CDN or in the bucket"
        " after a deploy, and browsers and caches keep them for their Cache-Control lifetime"
        " (often a year): delete the old files themselves, not only the new build's.",
    ]
    runnable = [u for u in f.site_urls if not holds_redacted(u)]
    if runnable:
        details.append(
            "5. Check that the old URLs stop answering: the command below re-runs `keysentry"
            " site` on exactly these URLs and must report no key (a 404 is what you want)."
        )
    if len(runnable) < len(f.site_urls):
        details.append(
            f"{len(f.site_urls) - len(runnable)} of these URLs hold a key in the URL itself"
            " and are shown redacted, so no command here can name them: open each as"
            " deployed and check it no longer answers, and name no file or folder after a key."
        )
    if f.client_bundles:
        details.append("Client-side files hold it too: " + ", ".join(f.client_bundles))
    urls = " ".join(shlex.quote(u) for u in runnable)
    commands = [f"keysentry site {urls} --max-depth 0 --no-map-probe"] if runnable else []
    return Step(SITE, "Rebuild, redeploy, purge caches, retire old chunk URLs", details, commands)


def _client(f: KeyFacts) -> Step:
    if f.site_urls:
        return _site(f)
    details: list[str] = []
    if f.client:
        _listed(details, "It ships to users' devices in:", f.client_bundles)
    others = [b for b in [*f.build_output, *f.archives] if b not in f.client_bundles]
    if others:
        _listed(details, "Build output that holds it (rebuild it, do not edit it):", others)
    details.append("Rebuild and redeploy from the fixed sources, then purge CDN and proxy caches.")
    if f.client:
        details.append(
            "Withdraw every published artifact that holds it: package versions (npm deprecate /"
            " unpublish), browser-extension and app builds, release downloads."
        )
    return Step(
        CLIENT, "Rebuild and redeploy the build output", details, evidence=list(f.client_evidence)
    )


def _billing(f: KeyFacts) -> Step:
    if f.provider == DASHSCOPE:
        page = f"the billing pages of {DASHSCOPE_CONSOLE.split(',')[0]}"
    else:
        page = USAGE_URL
    return Step(
        BILLING,
        "Check usage and billing for abuse",
        [
            f"Look for calls you did not make on {page}, from the first commit or release that"
            " held the key until it was revoked.",
            "The terms make the developer liable for every fee a leaked key runs up; contact"
            " the provider's support about abuse.",
        ],
    )


def _prevent(f: KeyFacts) -> Step:
    return Step(
        PREVENT,
        "Prevent a repeat, then confirm",
        [
            "Install the pre-commit hook (README, 'pre-commit hook') so a staged key blocks the"
            " commit.",
            "Run `keysentry scan .` and `keysentry history` in CI.",
            "Never put a real key's fingerprint in allowed_fingerprints; remove any of these"
            " keys' fingerprints from it.",
            "Re-run `keysentry guide` (or `keysentry history`): it must report nothing.",
        ],
    )


def steps_for(f: KeyFacts, plan: PurgePlan | None) -> list[Step]:
    """The steps (STEP_ORDER) that apply to this key, in order."""
    steps = [_revoke(f), _replace(f), _edit(f)]
    if f.local_objects:
        steps.append(_clear(f))
    if f.committed and plan is not None:
        steps.append(_purge(f, plan))
    if f.client or f.build_output or f.archives:
        steps.append(_client(f))
    if f.stage != NEVER_COMMITTED or f.client:  # no call could have been made with it
        steps.append(_billing(f))
    steps.append(_prevent(f))
    return steps


def build(
    audit: GuideInput,
    *,
    purge_file: str | None = None,
    purge_written: bool = False,
    purge_problem: str | None = None,
) -> Playbook:
    """The playbook for an audit's keys (live first, then client-side, then pushed)."""
    all_facts = [facts(k, audit.definitions, audit.history_read) for k in audit.keys]
    committed = [f for f in all_facts if f.committed]
    plan: PurgePlan | None = None
    if committed:
        pushed_values = [f.pushed for f in committed]
        pushed = True if True in pushed_values else (None if None in pushed_values else False)
        file = purge_file or DEFAULT_PURGE_FILE
        plan = PurgePlan(
            file=file,
            written=purge_written,
            problem=purge_problem,
            commands=purge.purge_commands(
                file, messages=any(f.in_commit_message for f in committed), pushed=pushed
            ),
            aftermath=purge.aftermath(pushed),
            strip_commands=purge.strip_commands(
                sorted({p for f in committed for p in f.hidden_in_history}), pushed=pushed
            ),
        )
    plans = [KeyPlan(f, steps_for(f, plan)) for f in all_facts]
    notes = list(audit.notes)
    if audit.errors:
        notes.insert(
            0,
            f"The audit was incomplete ({len(audit.errors)} error(s)): keys may be missing"
            " from this guide.",
        )
    return Playbook(
        origin=audit.origin,
        plans=plans,
        purge=plan,
        errors=list(audit.errors),
        notes=notes,
        purge_problem=purge_problem,
    )
