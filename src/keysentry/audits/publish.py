"""Publishing a finished report, the same way for every command:

baseline (drop accepted keys) -> verify (only when asked) -> render the main format ->
write it and any number of ``FORMAT=PATH`` files -> the exit code. ``publish`` does it
all and returns what to show; the CLI only prints it (cli/common.py ``finish``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from keysentry.audits import baseline as baseline_mod
from keysentry.config import Config, baseline_file, config_path
from keysentry.formats import FORMATS, RenderOptions
from keysentry.model.key import redact_text
from keysentry.model.report import EXIT_INCOMPLETE, Report
from keysentry.model.text import escape_text

# formats that can hold the full key (with --show-secrets); their files are private
SECRET_CAPABLE = frozenset({"text", "json", "jsonl"})
# keysentry org: FORMAT=DIR writes one report per repository into DIR
PER_REPOSITORY = {"sarif-dir": "sarif"}
DEFAULT_FAIL_ON = "any"


class PublishError(Exception):
    """The report cannot be published as asked (an unusable baseline or verify endpoint)."""


@dataclass(frozen=True)
class ReportTarget:
    """One extra report: a format and the file it goes to."""

    format: str
    path: Path


def parse_target(spec: str, per_repository: bool = False) -> ReportTarget:
    """``sarif=keysentry.sarif`` -> ReportTarget; ValueError says what is wrong.

    per_repository: also accept ``sarif-dir=DIR`` (``keysentry org`` only).
    """
    name, sep, path = spec.partition("=")
    name = name.strip()
    if not sep or not path:
        raise ValueError(f"expected FORMAT=PATH, got {spec!r}")
    if per_repository and name in PER_REPOSITORY:
        return ReportTarget(name, Path(path))
    if name not in FORMATS:
        choices = ", ".join(sorted([*FORMATS, *(PER_REPOSITORY if per_repository else ())]))
        raise ValueError(f"unknown format {name!r} in {spec!r} (formats: {choices})")
    return ReportTarget(name, Path(path))


def config_targets(config: Config) -> list[ReportTarget]:
    return [ReportTarget(name, config_path(config, path)) for name, path in config.reports.items()]


def resolve_fail_on(option: str | None, config: Config) -> str:
    return option or config.fail_on or DEFAULT_FAIL_ON


def is_step_summary(path: Path) -> bool:
    """GitHub gives each step one summary file; other writers' content in it is kept."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return False
    try:
        return Path(summary).resolve() == path.resolve()
    except OSError:
        return False


class SymlinkRefused(OSError):
    """A report file is a symbolic link and --force was not given."""


def write_file(path: Path, text: str, *, private: bool, force: bool = False) -> None:
    """Write (append, for the step summary) text; 0600 when it may hold keys.

    A file that may hold keys is made 0600 before a byte is written, an existing one
    too (it is truncated only after its mode is narrowed). A symbolic link is not
    followed (it could point anywhere) unless ``force``."""
    append = is_step_summary(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else 0)
    if not force:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600 if private else 0o644)
    except OSError as exc:
        if not force and path.is_symlink():
            raise SymlinkRefused(
                exc.errno, "it is a symbolic link; pass --force to write through it"
            ) from exc
        raise
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if private and regular:
            os.fchmod(fd, 0o600)
        if regular and not append:
            os.ftruncate(fd, 0)
        handle.write(text)


def write_targets(
    report: Report, targets: list[ReportTarget], options: RenderOptions, force: bool = False
) -> list[str]:
    """Write every extra report; the messages of those that could not be written."""
    problems = []
    for target in targets:
        if target.format in PER_REPOSITORY:
            problems += _write_per_repository(report, target, options)
            continue
        text = FORMATS[target.format](report, options)
        problems += _write_report(target, text, options, f"the {target.format} report", force)
    return problems


def _write_report(
    target: ReportTarget, text: str, options: RenderOptions, what: str, force: bool = False
) -> list[str]:
    """Write one rendered report (0600 when it may hold keys); what went wrong, if anything."""
    private = options.show_secrets and target.format in SECRET_CAPABLE
    try:
        write_file(target.path, text, private=private, force=force)
    except OSError as exc:
        return [f"cannot write {what} to {target.path}: {exc.strerror or exc}"]
    return []


def _write_per_repository(
    report: Report, target: ReportTarget, options: RenderOptions
) -> list[str]:
    """``sarif-dir=DIR``: one report per repository of an org audit, named for it."""
    from keysentry.audits.org import per_repository

    render = FORMATS[PER_REPOSITORY[target.format]]
    try:
        target.path.mkdir(parents=True, exist_ok=True)
        for name, part in per_repository(report, PER_REPOSITORY[target.format]):
            write_file(target.path / name, render(part, options), private=False)
    except OSError as exc:
        return [f"cannot write the {target.format} reports to {target.path}: {exc.strerror or exc}"]
    return []


def _cap_notes(report: Report, formats: set[str]) -> list[str]:
    """What GitHub's upload limits left out of the SARIF reports written (one per
    repository for sarif-dir), for stderr; the reports say it too."""
    if "sarif" not in formats and not formats & set(PER_REPOSITORY):
        return []
    from keysentry.formats.sarif import cap_note

    parts = [("", report)] if "sarif" in formats else []
    if formats & set(PER_REPOSITORY):
        from keysentry.audits.org import per_repository

        parts += [(f"{name}: ", part) for name, part in per_repository(report, "sarif")]
    return [f"note: {name}{note}" for name, part in parts if (note := cap_note(part))]


def apply_baseline(report: Report, path: Path, *, report_stale: bool) -> list[str]:
    """Drop findings the baseline accepts; notes for stderr. BaselineError if unusable."""
    accepted = baseline_mod.load(path)
    outcome = baseline_mod.apply(report, accepted)
    notes = []
    if outcome.accepted:
        notes.append(f"{len(outcome.accepted)} finding(s) of keys accepted in {path} not reported")
    if report_stale and outcome.stale:
        notes.append(
            f"{len(outcome.stale)} baseline location(s) in {path} no longer hold their key"
            " (run `keysentry baseline update` to prune them):"
        )
        notes.extend(f"  stale: {s.describe()}" for s in outcome.stale)
    return notes


def apply_baseline_for(report: Report, path: Path | None, command: str) -> list[str]:
    """Drop accepted findings (notes for stderr); PublishError when the file is unusable."""
    if path is None:
        return []
    try:
        return apply_baseline(report, path, report_stale=command not in ("ci", "hook"))
    except baseline_mod.BaselineError as exc:
        raise PublishError(f"baseline error: {exc}") from exc


@dataclass(frozen=True)
class Request:
    """How a command wants its report published (the report options of every command)."""

    command: str
    format: str = "text"
    output: Path | None = None
    show_secrets: bool = False
    fail_on: str | None = None
    color: bool = False
    verify: bool = False
    targets: tuple[ReportTarget, ...] = ()
    baseline: Path | None = None
    verbose: int = 0  # -v: every exposure reason and more evidence in the text report
    force: bool = False  # write report files even through a symbolic link


@dataclass
class Published:
    """What to show: stderr lines before and after the report, the report itself when it
    goes to standard output, and the exit code."""

    before: list[str]
    stdout: str | None
    after: list[str]
    exit_code: int


def publish(report: Report, request: Request, config: Config) -> Published:
    """Baseline, verify, render, write, and the exit code; PublishError stops it early."""
    notes = apply_baseline_for(report, baseline_file(request.baseline, config), request.command)
    if request.verify:
        from keysentry.guide.verify import VerifyConfigError, verify_report  # only when asked

        try:
            verify_report(report)
        except VerifyConfigError as exc:
            raise PublishError(str(exc)) from exc
    options = RenderOptions(
        show_secrets=request.show_secrets, color=request.color, command=request.command,
        verbose=request.verbose,
    )
    rendered = FORMATS[request.format](report, options)
    problems: list[str] = []
    if request.output is not None:
        main = ReportTarget(request.format, request.output)
        problems += _write_report(main, rendered, options, "the report", request.force)
    problems += write_targets(report, list(request.targets), options, request.force)
    notes += _cap_notes(report, {request.format, *(t.format for t in request.targets)})
    code = report.exit_code(resolve_fail_on(request.fail_on, config))
    return Published(
        before=report.problem_lines(),
        stdout=rendered if request.output is None else None,
        after=[escape_text(redact_text(line)) for line in notes + problems],
        exit_code=EXIT_INCOMPLETE if problems and code == 0 else code,
    )
