"""The task ``keysentry org`` runs on a worker: one repository, audited as ``history`` does.

``audit_repository_task`` is a plain function of picklable values, so any executor can
run it; ``keysentry org`` hands it to Dask (audits/org_cluster.py). It clones a URL into
the worker's scratch space (a local path is read in place: a shared filesystem), reads
the repository's own configuration unless one is given, audits every object of the
history plus the working tree where there is one, and returns a small RepoResult.

What leaves the worker is what the report holds: findings carry the fingerprint and the
redacted key, and ``secret`` is emptied unless show-secrets was asked for.

On POSIX the audit runs in a forked child of the worker, in its own process group: a
``timeout`` kills the child and the git processes under it, a crash in the audit loses
one repository and not the worker, and the worker's memory does not grow repository
after repository.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from keysentry import __version__
from keysentry import config as config_mod
from keysentry.audits.history_scan import StreamScan
from keysentry.audits.org_fork import run_forked
from keysentry.config import Config
from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.report import Report, ScanError
from keysentry.sources.git import Git, GitError, Repository
from keysentry.sources.git_config import plain_origin_url
from keysentry.sources.git_files import plain_repository
from keysentry.sources.git_store import head_files

CLONE_DIR_PREFIX = "keysentry-org-"


@dataclass(frozen=True)
class RepoSpec:
    """A repository to audit: a local path (absolute) or a clone URL."""

    location: str

    @property
    def is_url(self) -> bool:
        return is_clone_url(self.location)


def is_clone_url(text: str) -> bool:
    """``https://...``, ``ssh://...``, ``file://...`` or scp-like ``git@host:org/repo``."""
    if "://" in text:
        return True
    head, sep, _ = text.partition(":")
    return bool(sep) and "@" in head and "/" not in head


@dataclass(frozen=True)
class TaskOptions:
    """What every task of one org run shares."""

    config: Config | None = None  # --config: for every repository; None: each its own
    excludes: tuple[str, ...] = ()  # --exclude: added to each repository's own configuration
    show_secrets: bool = False  # full keys in the report (and the state file)
    keep_secrets: bool = False  # full keys back to the client (--show-secrets or --verify)
    timeout: float | None = None  # seconds per repository; None: no limit
    digests: bool = False  # compute each repository's digest (for --state)

    def digest(self) -> str:
        """Changes whenever a stored result could differ (the state file keys on it)."""
        config = None
        if self.config is not None:
            config = [(f.name, getattr(self.config, f.name)) for f in fields(self.config)]
        text = repr((__version__, self.show_secrets, config, self.excludes))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RepoResult:
    """What a task returns: everything the merge needs, and no full key unless asked."""

    spec: RepoSpec
    repository: RepositoryRef
    digest: str | None = None  # refs, HEAD and work tree status; None: unknown
    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    worker: str = ""
    unchanged: bool = False  # its digest matched the known one: not audited again


def audit_repositories_task(
    specs: list[RepoSpec], options: TaskOptions, known: dict[str, str] | None = None
) -> list[RepoResult]:
    """Audit repositories one after another (one task of small ones); a result each, in
    order. Problems are recorded in the results, never raised; known holds the digests
    of repositories audited before (--state), by location."""
    known = known or {}
    warm()
    jobs = [
        _timed(
            lambda spec=spec: guarded(lambda: _audit(spec, options, known.get(spec.location)), spec)
        )
        for spec in specs
    ]
    if hasattr(os, "fork"):
        results = run_forked(jobs, lambda n, why: failed_result(specs[n], why), options.timeout)
    else:  # pragma: no cover - Windows: no isolation, no hard timeout
        results = [guarded(job, spec) for job, spec in zip(jobs, specs, strict=True)]
    worker = worker_name()
    for result in results:
        result.worker = worker
    return results


def audit_repository_task(
    spec: RepoSpec, options: TaskOptions, known_digest: str | None = None
) -> RepoResult:
    """Audit one repository; problems are recorded in the result, never raised."""
    known = {spec.location: known_digest} if known_digest is not None else {}
    return audit_repositories_task([spec], options, known)[0]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _timed(work: Callable[[], RepoResult]) -> Callable[[], RepoResult]:
    def timed() -> RepoResult:
        started = time.monotonic()
        result = work()
        result.seconds = time.monotonic() - started
        return result

    return timed


_WARM_MODULES = (
    "keysentry.audits.history",
    "keysentry.audits.scan_files",
    "keysentry.decoders",
    "keysentry.decoders.documents",
    "keysentry.containers",
    "keysentry.exposure",
)


_warmed = False


def warm() -> None:
    """Import the audit's modules and fill the scanner's caches in the worker, once, so that
    no forked child pays for them again (a child's imports and caches die with it)."""
    global _warmed
    if _warmed:
        return
    import base64
    import importlib
    import secrets

    from keysentry.engine.scanner import Scanner
    from keysentry.model.target import ScanTarget

    for name in _WARM_MODULES:
        importlib.import_module(name)
    key = "sk-" + secrets.token_hex(16)  # random: a key no one holds
    sample = f'const deepseekKey = "{key}";\n// {base64.b64encode(key.encode()).decode()}\n'
    Scanner(Config(), Report()).scan_bytes(sample.encode(), ScanTarget("public/warm.js"))
    _warmed = True


def failed_result(spec: RepoSpec, message: str) -> RepoResult:
    return RepoResult(
        spec, RepositoryRef(spec.location), errors=[ScanError(spec.location, message)]
    )


def guarded(work: Callable[[], RepoResult], spec: RepoSpec) -> RepoResult:
    try:
        return work()
    except Exception as exc:  # a bug must cost one repository, not the run
        return failed_result(spec, f"the audit failed: {type(exc).__name__}: {exc}")


# --- the audit itself (in the child) ------------------------------------------------


_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}  # a worker has no terminal


def _git(cwd: str | Path | None = None) -> Git:
    return Git(cwd=cwd, env=_NO_PROMPT)


def _audit(spec: RepoSpec, options: TaskOptions, known_digest: str | None) -> RepoResult:
    if spec.is_url:
        return _audit_url(spec, options, known_digest)
    return _audit_path(spec, Path(spec.location), options, known_digest, remote=None)


def _audit_url(spec: RepoSpec, options: TaskOptions, known_digest: str | None) -> RepoResult:
    scratch = tempfile.mkdtemp(prefix=CLONE_DIR_PREFIX)
    try:
        cloned = clone_url(spec, options, known_digest, scratch)
        if isinstance(cloned, RepoResult):
            return cloned
        return audit_clone(spec, cloned, options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class Cloned:
    """A clone URL's mirror in a worker's scratch folder, and the URL's refs digest."""

    path: str  # the mirror (``repo.git`` in the scratch folder)
    digest: str


def clone_url(
    spec: RepoSpec, options: TaskOptions, known_digest: str | None, scratch: str
) -> Cloned | RepoResult:
    """A mirror clone in scratch; an unchanged (--state) or failed result instead."""
    try:
        listed = _git().run("ls-remote", "--symref", "--", spec.location)
    except GitError as exc:
        return failed_result(spec, f"cannot reach the repository: {exc}")
    digest = _digest(options, listed)
    if digest == known_digest:
        return RepoResult(spec, RepositoryRef(spec.location, spec.location), digest, unchanged=True)
    clone = os.path.join(scratch, "repo.git")
    try:
        _git().run("clone", "--mirror", "--quiet", "--", spec.location, clone)
    except GitError as exc:
        return failed_result(spec, f"clone failed: {exc}")
    return Cloned(clone, digest)


def audit_clone(spec: RepoSpec, cloned: Cloned, options: TaskOptions) -> RepoResult:
    """A clone audited whole; its messages name the URL, not the scratch folder."""
    result = _audit_path(
        spec, Path(cloned.path), replace(options, digests=False), None, remote=spec.location
    )
    result.digest = cloned.digest
    rename_clone(result, cloned.path, spec.location)
    return result


def rename_clone(result: RepoResult, scratch: str, name: str) -> None:
    """Messages about the scratch clone name the URL instead."""
    result.errors = [
        ScanError(name if e.path.startswith(scratch) else e.path, e.message.replace(scratch, name))
        for e in result.errors
    ]
    result.notes = [n.replace(scratch, name) for n in result.notes]


@dataclass(frozen=True)
class Opened:
    """A repository a task has found, before its audit (picklable: a split repository's
    parts and merge receive it, audits/org_split.py)."""

    spec: RepoSpec
    path: Path
    repository: Repository
    ref: RepositoryRef
    digest: str | None

    @property
    def top(self) -> str | None:
        work_tree = self.repository.work_tree
        return str(work_tree) if work_tree is not None else None


def open_repository(
    spec: RepoSpec, path: Path, options: TaskOptions, remote: str | None
) -> Opened | RepoResult:
    """The repository at path, or a failed result saying why not."""
    git = _git(path)
    where = plain_repository(path)  # no process where the layout is plain (most are)
    if where is None:
        try:
            where = git.repository()
        except GitError as exc:
            return failed_result(spec, str(exc))
    if remote is None:
        remote = plain_origin_url(where.git_dir)
    if remote is None:  # not a plain local config file: git reads it (includes, worktrees)
        origin = git.run("config", "--get", "remote.origin.url", check=False)
        remote = origin.decode("utf-8", "replace").strip() or None
    top = str(where.work_tree) if where.work_tree is not None else None
    digest = _local_digest(options, str(path), top) if options.digests else None
    return Opened(spec, path, where, RepositoryRef(spec.location, remote), digest)


def audit_opened(
    opened: Opened,
    options: TaskOptions,
    config: Config,
    report: Report,
    scanned: list[StreamScan] | None = None,
) -> RepoResult:
    """The working tree (if any) and every object of the history; scanned: phase 1 of the
    history was done in parts elsewhere (a split repository)."""
    from keysentry.audits import history
    from keysentry.audits.scan_files import scan_paths

    top = opened.top
    if top is not None:
        scan_paths([top], config, report, jobs=1)  # the worker is the unit of parallelism
        _relative_to(report, top)
    history.audit(opened.path, config, report, streams=1, opened=opened.repository, scanned=scanned)
    for finding in report.findings:
        finding.repository = opened.ref
        if not options.keep_secrets:
            finding.secret = ""  # fingerprint and redacted were derived from it already
    return RepoResult(
        opened.spec,
        opened.ref,
        opened.digest,
        report.findings,
        report.errors,
        report.notes,
        report.stats,
    )


def _audit_path(
    spec: RepoSpec,
    path: Path,
    options: TaskOptions,
    known_digest: str | None,
    remote: str | None,
) -> RepoResult:
    opened = open_repository(spec, path, options, remote)
    if isinstance(opened, RepoResult):
        return opened
    if opened.digest is not None and opened.digest == known_digest:
        return RepoResult(spec, opened.ref, opened.digest, unchanged=True)
    report = Report()
    return audit_opened(opened, options, task_config(opened, options, report), report)


def _relative_to(report: Report, top: str) -> None:
    """Working-tree paths as the repository names them (as history's blob paths are)."""
    prefix = top.rstrip(os.sep) + os.sep
    for finding in report.findings:
        if finding.path.startswith(prefix):
            finding.path = finding.path[len(prefix) :]


def task_config(opened: Opened, options: TaskOptions, report: Report) -> Config:
    """--config for every repository, else the repository's own plus --exclude (a --config
    given already holds the --exclude globs)."""
    if options.config is not None:
        return options.config
    config = own_config(opened, report)
    config.add_excludes(options.excludes)
    return config


def own_config(opened: Opened, report: Report) -> Config:
    """The repository's .keysentry.toml (or pyproject.toml): the work tree's, else HEAD's."""
    top = opened.top
    try:
        if top is not None:
            found = config_mod.discover(Path(top))
            return config_mod.load_file(found) if found is not None else Config()
        return _head_config(opened.path)
    except config_mod.ConfigError as exc:
        report.errors.append(
            ScanError(str(opened.path), f"configuration error: {exc}; audited with the defaults")
        )
    return Config()


def _head_config(path: Path) -> Config:
    """A bare repository's configuration, from HEAD's tree: read in this process from a
    plain store, else both names in one git call."""
    texts = head_files(path, config_mod.CONFIG_FILES)
    if texts is None:
        texts = _head_config_texts(path)
    for name in config_mod.CONFIG_FILES:
        text = texts.get(name)
        if text is None or (name == "pyproject.toml" and "[tool.keysentry" not in text):
            continue
        return config_mod.load_text(text, f"HEAD:{name}")
    return Config()


def _head_config_texts(path: Path) -> dict[str, str]:
    asked = "".join(f"HEAD:{name}\n" for name in config_mod.CONFIG_FILES).encode()
    try:
        out = _git(path).run("cat-file", "--batch", stdin=asked)
    except GitError:
        return {}
    texts: dict[str, str] = {}
    stream = io.BytesIO(out)
    for name in config_mod.CONFIG_FILES:
        header = stream.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            continue
        texts[name] = stream.read(int(header[2])).decode("utf-8", "replace")
        stream.read(1)
    return texts


def _digest(options: TaskOptions, *parts: bytes) -> str:
    hashed = hashlib.sha256(options.digest().encode())
    for part in parts:
        hashed.update(len(part).to_bytes(8, "big") + part)
    return "sha256:" + hashed.hexdigest()


def _local_digest(options: TaskOptions, path: str, top: str | None) -> str | None:
    """Refs, HEAD and (with a work tree) its status: what a re-run compares."""
    try:
        parts = [
            _git(path).run("for-each-ref", "--format=%(objectname) %(refname)"),
            _git(path).run("rev-parse", "--verify", "-q", "HEAD", check=False),
        ]
        if top is not None:
            parts.append(_git(top).run("status", "--porcelain=v1", "-z", "--untracked-files=all"))
    except GitError:
        return None
    return _digest(options, *parts)
