"""Accept or reject a push: ``keysentry pre-receive`` (server) and ``keysentry hook --pre-push``.

The server side runs the check within a time budget in a worker thread; when the
budget runs out the git processes are killed and the push is accepted or rejected
as ``on_timeout`` says (internal errors and incomplete scans: ``on_error``). An
accepted-unchecked push, a bypass and a rejection are each written to the push log
with the pusher's identity, and ``keysentry history --range`` for a later audit.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keysentry import config as config_mod
from keysentry.audits.push import OBJECTS_WITH_KEYS, PushScope, scan_push
from keysentry.audits.push_message import rejection
from keysentry.audits.push_policy import (
    BYPASS_OPTION,
    LogRecord,
    Pusher,
    PushSettings,
    SettingError,
    append_log,
    bypass_reason,
    pusher,
    resolve,
)
from keysentry.model.report import EXIT_CLEAN, EXIT_FOUND, Report, ScanError
from keysentry.model.text import escape_text
from keysentry.sources.git_push import (
    ZERO_OIDS,
    PushError,
    PushRepository,
    RefUpdate,
    parse_pre_push,
    parse_pre_receive,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PREFIX = "keysentry: "


@dataclass
class Verdict:
    """The exit code (0 accept, 1 reject) and the lines for the pusher."""

    code: int
    lines: list[str] = field(default_factory=list)
    timed_out: bool = False


def _problems(report: Report) -> list[str]:
    return [f"{escape_text(e.path)}: {escape_text(e.message)}" for e in report.errors]


# --- the pushed repository's own configuration -------------------------------------------


def _repo_allowances(
    repo: PushRepository, updates: list[RefUpdate], report: Report
) -> tuple[config_mod.Config, bytes | None] | None:
    """The ``.keysentry.toml`` (or pyproject.toml) every pushed tip holds, when they agree.

    Returns the parsed configuration and the baseline file it names (read at the same
    tip), or None. A file that cannot be used is ignored with a note: ignoring it can
    only report more, never less.
    """
    tips = [u.new for u in updates if not u.deleted]
    for name in config_mod.CONFIG_FILES:
        contents = {repo.file_at(tip, name) for tip in tips}
        if contents == {None}:
            continue
        if len(contents) != 1:
            report.notes.append(f"the pushed tips hold different {name} files: none is used")
            return None
        text = contents.pop()
        assert text is not None
        try:
            data = tomllib.loads(text.decode("utf-8"))
            table = data.get("tool", {}).get("keysentry") if "tool" in data else data
            if table is None:
                continue
            if not isinstance(table, dict):
                raise config_mod.ConfigError(f"{name}: must be a table")
            config = config_mod.parse(table, f"{name} at {tips[0][:12]}")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, config_mod.ConfigError) as exc:
            report.notes.append(f"the pushed {name} is not used: {exc}")
            return None
        baseline = repo.file_at(tips[0], config.baseline) if config.baseline else None
        return config, baseline
    return None


def _apply_repo_config(repo: PushRepository, updates: list[RefUpdate], report: Report) -> None:
    found = _repo_allowances(repo, updates, report)
    if found is None:
        return
    config, baseline_text = found
    allowed = set(config.allowed_fingerprints)
    kept = [f for f in report.findings if f.fingerprint not in allowed]
    report.stats["suppressed_allowlist"] += len(report.findings) - len(kept)
    report.findings[:] = kept
    if baseline_text is not None and config.baseline:
        from keysentry.audits import baseline as baseline_mod

        try:
            accepted = baseline_mod.parse(baseline_text.decode("utf-8"), Path(config.baseline))
        except (UnicodeDecodeError, baseline_mod.BaselineError) as exc:
            report.notes.append(f"the pushed baseline is not used: {exc}")
            return
        baseline_mod.apply(report, accepted)


def _apply_server_baseline(config: config_mod.Config, report: Report) -> None:
    if not config.baseline:
        return
    from keysentry.audits import baseline as baseline_mod
    from keysentry.audits.publish import config_path

    try:
        baseline_mod.apply(report, baseline_mod.load(config_path(config, config.baseline)))
    except baseline_mod.BaselineError as exc:
        report.errors.append(ScanError(config.source or "config", f"baseline: {exc}"))


# --- server side ---------------------------------------------------------------------------


class _Check:
    """The part that runs in the worker thread: scan, allow-lists, baselines."""

    def __init__(
        self,
        repo: PushRepository,
        updates: list[RefUpdate],
        settings: PushSettings,
    ) -> None:
        self.repo, self.updates, self.settings = repo, updates, settings
        self.report = Report()
        self.failure: str | None = None

    def run(self) -> None:
        try:
            config = (
                config_mod.load_file(self.settings.config)
                if self.settings.config is not None
                else config_mod.Config()
            )
            tips = tuple((u.ref, u.new) for u in self.updates if not u.deleted)
            scan_push(self.repo, PushScope(tips, ("--all",)), config, self.report)
            if self.settings.repo_config and self.report.findings:
                _apply_repo_config(self.repo, self.updates, self.report)
            if self.report.findings:
                _apply_server_baseline(config, self.report)
        except (PushError, config_mod.ConfigError, OSError) as exc:
            self.failure = str(exc)
        except Exception as exc:  # an internal error still gets the on_error mode
            self.failure = f"internal error: {type(exc).__name__}: {exc}"


def pre_receive(
    stdin: str,
    env: Mapping[str, str],
    overrides: Mapping[str, object],
    started: float | None = None,
) -> Verdict:
    """The whole server-side check; never raises, never prints a full key."""
    started = time.monotonic() if started is None else started
    repo = PushRepository()
    try:
        git_dir = repo.git_dir()
        settings = resolve(repo.settings(), overrides, git_dir)
        updates = parse_pre_receive(stdin)
    except (PushError, SettingError) as exc:
        return Verdict(EXIT_FOUND, [f"{PREFIX}push rejected: {escape_text(str(exc))}"])
    who = pusher(env)

    def log(record: LogRecord) -> str | None:
        try:
            assert settings.log is not None
            append_log(settings.log, record)
        except OSError as exc:
            return f"cannot write the push log {settings.log}: {exc.strerror or exc}"
        return None

    if all(u.deleted for u in updates):
        return Verdict(EXIT_CLEAN)
    check = _Check(repo, updates, settings)
    worker = threading.Thread(target=check.run, daemon=True)
    worker.start()
    worker.join(max(0.0, settings.timeout - (time.monotonic() - started)))
    if worker.is_alive():
        repo.stop()
        if check.report.stats[OBJECTS_WITH_KEYS] and not (
            settings.allow_bypass and bypass_reason(env)
        ):  # keys were seen: out of time while locating them is no reason to accept
            what = f"{check.report.stats[OBJECTS_WITH_KEYS]} pushed object(s) hold API keys"
            log(LogRecord("rejected", who, git_dir, updates, problems=[what]))
            audits = [
                f"    keysentry history --range {u.audit_range}" for u in updates if not u.deleted
            ]
            lines = [
                f"{PREFIX}push rejected: {what}; time ran out before they were located.",
                f"{PREFIX}find them in your clone with:",
                *audits,
            ]
            return Verdict(EXIT_FOUND, lines, timed_out=True)
        return _unfinished(
            settings.on_timeout,
            "accepted-on-timeout",
            who,
            git_dir,
            updates,
            log,
            f"the check did not finish within {settings.timeout:g} s",
            timed_out=True,
        )
    report = check.report
    problems = _problems(report) + ([check.failure] if check.failure else [])
    notes = [f"{PREFIX}note: {escape_text(n)}" for n in report.notes]
    if report.findings:
        reason = bypass_reason(env)
        if reason is not None and settings.allow_bypass and reason:
            record = LogRecord("bypassed", who, git_dir, updates, report.findings, reason)
            failed = log(record)
            if failed is None:
                return Verdict(
                    EXIT_CLEAN,
                    [
                        *notes,
                        f"{PREFIX}warning: {len(report.findings)} key finding(s) accepted by"
                        f" bypass from {escape_text(who.describe())}: {escape_text(reason)}",
                        f"{PREFIX}this bypass is logged; revoke the key anyway if it is real.",
                    ],
                )
            bypass_line = f"{PREFIX}the bypass was refused: {failed}"
        elif reason is not None and settings.allow_bypass:
            bypass_line = (
                f'{PREFIX}a bypass needs a reason: git push -o {BYPASS_OPTION}="why this is safe"'
            )
        elif reason is not None:
            bypass_line = (
                f"{PREFIX}bypassing is not allowed on this server (keysentry.allowBypass)."
            )
        elif settings.allow_bypass:
            bypass_line = f'Bypass (logged with your name): git push -o {BYPASS_OPTION}="reason"'
        else:
            bypass_line = None
        log(LogRecord("rejected", who, git_dir, updates, report.findings, problems=problems))
        lines = rejection(report.findings, action="push", bypass=bypass_line)
        return Verdict(EXIT_FOUND, [*notes, *lines])
    if problems:
        return _unfinished(
            settings.on_error,
            "accepted-on-error",
            who,
            git_dir,
            updates,
            log,
            "the check could not read everything the push adds: " + "; ".join(problems),
        )
    return Verdict(EXIT_CLEAN, notes)


def _unfinished(
    mode: str,
    event: str,
    who: Pusher,
    git_dir: str,
    updates: list[RefUpdate],
    log: Callable[[LogRecord], str | None],
    what: str,
    timed_out: bool = False,
) -> Verdict:
    if mode == "accept":
        failed = log(LogRecord(event, who, git_dir, updates, problems=[what]))
        lines = [
            f"{PREFIX}warning: {escape_text(what)}; the push is accepted unchecked"
            " (keysentry.onTimeout/onError = accept).",
            f"{PREFIX}audit it later with:",
            *(f"    keysentry history --range {u.audit_range}" for u in updates if not u.deleted),
        ]
        if failed:
            lines.append(f"{PREFIX}warning: {failed}")
        return Verdict(EXIT_CLEAN, lines, timed_out)
    log(LogRecord(event.replace("accepted", "rejected"), who, git_dir, updates, problems=[what]))
    advice = (
        "push fewer commits at a time, or ask the server's administrator to raise"
        " keysentry.timeout (or set keysentry.onTimeout to accept)"
        if timed_out
        else "ask the server's administrator (keysentry.onError decides what an"
        " incomplete check does)"
    )
    return Verdict(
        EXIT_FOUND,
        [f"{PREFIX}push rejected: {escape_text(what)}.", f"{PREFIX}{advice}."],
        timed_out,
    )


# --- client side ---------------------------------------------------------------------------


def pre_push_scope(
    repo: PushRepository, stdin: str, env: Mapping[str, str], remote: str | None
) -> PushScope:
    """What a push sends that the remote lacks, from git's pre-push input, or from the
    pre-commit framework's variables.

    pre-commit reads git's input itself and names only the first ref with something to
    send (its hook_impl returns at that line), so a push of several branches at once
    would be checked for one of them. For a named remote the scope is then that ref
    and every local branch's commits the remote lacks: a superset of what the push
    sends (docs/push-protection.md says so, and that `keysentry install-hook --pre-push` checks
    exactly the pushed refs)."""
    remote = remote or env.get("PRE_COMMIT_REMOTE_NAME") or None
    named = bool(remote) and "/" not in str(remote) and ":" not in str(remote)
    exclude = [f"--remotes={remote}"] if named else []
    if env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_LOCAL_BRANCH"):
        tip = env.get("PRE_COMMIT_TO_REF") or env["PRE_COMMIT_LOCAL_BRANCH"]
        ref = env.get("PRE_COMMIT_REMOTE_BRANCH") or env.get("PRE_COMMIT_LOCAL_BRANCH") or tip
        if env.get("PRE_COMMIT_FROM_REF"):
            exclude.append(env["PRE_COMMIT_FROM_REF"])
        tips = [(ref, tip)]
        if named:  # the refs pre-commit does not pass on: every branch not on the remote
            first = (tip, env.get("PRE_COMMIT_LOCAL_BRANCH"))
            tips += [
                (branch, oid)
                for branch, oid in repo.branches()
                if oid not in first and branch not in first
            ]
        return PushScope(tuple(tips), tuple(exclude))
    lines = parse_pre_push(stdin)
    pushed = [p for p in lines if p.local not in ZERO_OIDS]
    remote_tips = [p.remote for p in lines if p.remote not in ZERO_OIDS]
    exclude += sorted(repo.present(remote_tips))  # a force-push's old tip may be unknown here
    return PushScope(tuple((p.remote_ref, p.local) for p in pushed), tuple(exclude))


def pre_push(
    stdin: str, env: Mapping[str, str], remote: str | None, config: config_mod.Config
) -> Report:
    """The client-side check: what the push sends that the remote lacks, scanned."""
    repo = PushRepository()
    report = Report()
    try:
        scope = pre_push_scope(repo, stdin, env, remote)
        scan_push(repo, scope, config, report)
    except PushError as exc:
        report.errors.append(ScanError(".", str(exc)))
    return report
