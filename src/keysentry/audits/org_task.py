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

import contextlib
import ctypes
import gc
import hashlib
import os
import pickle
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from keysentry import __version__
from keysentry import config as config_mod
from keysentry.config import Config
from keysentry.model.finding import Finding, RepositoryRef
from keysentry.model.report import Report, ScanError
from keysentry.sources.git import Git, GitError

CLONE_DIR_PREFIX = "keysentry-org-"
_CHUNK = 1 << 20
_PR_SET_PDEATHSIG = 1  # prctl(2): the child is killed when the worker dies


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


def audit_repository_task(
    spec: RepoSpec, options: TaskOptions, known_digest: str | None = None
) -> RepoResult:
    """Audit one repository; problems are recorded in the result, never raised."""
    started = time.monotonic()
    _warm()
    if hasattr(os, "fork"):
        result = _in_child(lambda: _audit(spec, options, known_digest), spec, options.timeout)
    else:  # pragma: no cover - Windows: no isolation, no hard timeout
        result = _guarded(lambda: _audit(spec, options, known_digest), spec)
    result.seconds = time.monotonic() - started
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    return result


_WARM_MODULES = (
    "keysentry.audits.history",
    "keysentry.audits.scan_files",
    "keysentry.decoders",
    "keysentry.decoders.documents",
    "keysentry.containers",
    "keysentry.exposure",
)


_warmed = False


def _warm() -> None:
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


def _failed(spec: RepoSpec, message: str) -> RepoResult:
    return RepoResult(
        spec, RepositoryRef(spec.location), errors=[ScanError(spec.location, message)]
    )


def _guarded(work: Callable[[], RepoResult], spec: RepoSpec) -> RepoResult:
    try:
        return work()
    except Exception as exc:  # a bug must cost one repository, not the run
        return _failed(spec, f"the audit failed: {type(exc).__name__}: {exc}")


def _in_child(work: Callable[[], RepoResult], spec: RepoSpec, timeout: float | None) -> RepoResult:
    """work() in a forked child; its result pickled back through a pipe."""
    receiver, sender = os.pipe()
    gc.freeze()  # the child's collections then leave the worker's objects (and pages) alone
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow forks)
        os.close(receiver)
        code = 0
        try:
            os.setpgid(0, 0)
            _die_with_parent()
            data = pickle.dumps(_guarded(work, spec), pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(sender, view[:_CHUNK]) :]
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(sender)
    deadline = None if timeout is None else time.monotonic() + timeout
    chunks: list[bytes] = []
    timed_out = False
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([receiver], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(receiver, _CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(receiver)
        if timed_out:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return _failed(spec, f"timed out after {timeout:g} s (--timeout-per-repo); not audited")
    try:
        result: RepoResult = pickle.loads(b"".join(chunks))
    except Exception:
        how = (
            f"signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit code {os.waitstatus_to_exitcode(status)}"
        )
        return _failed(spec, f"the audit process stopped ({how}); not audited")
    return result


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# --- the audit itself (in the child) ------------------------------------------------


_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}  # a worker has no terminal


def _git(cwd: str | Path | None = None) -> Git:
    return Git(cwd=cwd, env=_NO_PROMPT)


def _audit(spec: RepoSpec, options: TaskOptions, known_digest: str | None) -> RepoResult:
    if spec.is_url:
        return _audit_url(spec, options, known_digest)
    return _audit_path(spec, Path(spec.location), options, known_digest, remote=None)


def _audit_url(spec: RepoSpec, options: TaskOptions, known_digest: str | None) -> RepoResult:
    try:
        listed = _git().run("ls-remote", "--symref", "--", spec.location)
    except GitError as exc:
        return _failed(spec, f"cannot reach the repository: {exc}")
    digest = _digest(options, listed)
    if digest == known_digest:
        return RepoResult(spec, RepositoryRef(spec.location, spec.location), digest, unchanged=True)
    scratch = tempfile.mkdtemp(prefix=CLONE_DIR_PREFIX)
    try:
        clone = os.path.join(scratch, "repo.git")
        try:
            _git().run("clone", "--mirror", "--quiet", "--", spec.location, clone)
        except GitError as exc:
            return _failed(spec, f"clone failed: {exc}")
        result = _audit_path(
            spec, Path(clone), replace(options, digests=False), None, remote=spec.location
        )
        result.digest = digest
        _rename(result, clone, spec.location)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _rename(result: RepoResult, scratch: str, name: str) -> None:
    """Messages about the scratch clone name the URL instead."""
    result.errors = [
        ScanError(name if e.path.startswith(scratch) else e.path, e.message.replace(scratch, name))
        for e in result.errors
    ]
    result.notes = [n.replace(scratch, name) for n in result.notes]


def _audit_path(
    spec: RepoSpec,
    path: Path,
    options: TaskOptions,
    known_digest: str | None,
    remote: str | None,
) -> RepoResult:
    git = _git(path)
    try:
        where = git.repository()
    except GitError as exc:
        return _failed(spec, str(exc))
    top = str(where.work_tree) if where.work_tree is not None else None
    if remote is None:
        origin = git.run("config", "--get", "remote.origin.url", check=False)
        remote = origin.decode("utf-8", "replace").strip() or None
    ref = RepositoryRef(spec.location, remote)
    digest = _local_digest(options, str(path), top) if options.digests else None
    if digest is not None and digest == known_digest:
        return RepoResult(spec, ref, digest, unchanged=True)
    report = Report()
    config = options.config
    if config is None:  # (a --config given already holds the --exclude globs)
        config = _own_config(path, top, report)
        config.add_excludes(options.excludes)
    from keysentry.audits import history
    from keysentry.audits.scan_files import scan_paths

    if top is not None:
        scan_paths([top], config, report, jobs=1)  # the worker is the unit of parallelism
        _relative_to(report, top)
    history.audit(path, config, report, streams=1)
    for finding in report.findings:
        finding.repository = ref
        if not options.keep_secrets:
            finding.secret = ""  # fingerprint and redacted were derived from it already
    return RepoResult(spec, ref, digest, report.findings, report.errors, report.notes, report.stats)


def _relative_to(report: Report, top: str) -> None:
    """Working-tree paths as the repository names them (as history's blob paths are)."""
    prefix = top.rstrip(os.sep) + os.sep
    for finding in report.findings:
        if finding.path.startswith(prefix):
            finding.path = finding.path[len(prefix) :]


def _own_config(path: Path, top: str | None, report: Report) -> Config:
    """The repository's .keysentry.toml (or pyproject.toml): the work tree's, else HEAD's."""
    try:
        if top is not None:
            found = config_mod.discover(Path(top))
            return config_mod.load_file(found) if found is not None else Config()
        for name in config_mod.CONFIG_FILES:
            try:
                text = _git(path).run("cat-file", "blob", f"HEAD:{name}").decode("utf-8", "replace")
            except GitError:
                continue
            if name == "pyproject.toml" and "[tool.keysentry" not in text:
                continue
            return config_mod.load_text(text, f"HEAD:{name}")
    except config_mod.ConfigError as exc:
        report.errors.append(
            ScanError(str(path), f"configuration error: {exc}; audited with the defaults")
        )
    return Config()


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
