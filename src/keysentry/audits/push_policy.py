"""The server's rules for a push check: time budget, failure modes, bypass, and the audit log.

Settings come from ``keysentry pre-receive`` options, else from git config
(``keysentry.timeout``, ``keysentry.onTimeout``, ``keysentry.onError``,
``keysentry.allowBypass``, ``keysentry.repoConfig``, ``keysentry.config``,
``keysentry.log``: per repository, or ``git config --system`` for a whole server),
else the defaults. A pusher cannot change git config on the server, so none of
these can be set by the push itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keysentry.model.clock import utc_timestamp
from keysentry.model.finding import Finding
from keysentry.sources.git_push import RefUpdate

DEFAULT_TIMEOUT = 4.0  # seconds: under GitHub Enterprise's 5 s for all hooks together
MODES = ("reject", "accept")
BYPASS_OPTION = "keysentry.bypass"
LOG_NAME = "keysentry-push.log"  # in the repository's git directory unless keysentry.log
# Who pushed, from the variables each server sets, in this order.
PUSHER_VARIABLES = (
    "GL_USERNAME",  # GitLab
    "GITEA_PUSHER_NAME",  # Gitea and Forgejo
    "GITHUB_USER_LOGIN",  # GitHub Enterprise Server
    "REMOTE_USER",  # git http-backend behind an authenticating web server
    "USER",  # the account the hook runs as (plain ssh)
)
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


class SettingError(Exception):
    """A setting with a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class PushSettings:
    timeout: float = DEFAULT_TIMEOUT
    on_timeout: str = "reject"
    on_error: str = "reject"
    allow_bypass: bool = False
    repo_config: bool = False  # honour the pushed .keysentry.toml (allow-list, baseline)
    config: Path | None = None  # the server's keysentry configuration file
    log: Path | None = None


def _bool(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise SettingError(f"keysentry.{name}: {value!r} must be true or false")


def _mode(name: str, value: str) -> str:
    if value not in MODES:
        raise SettingError(f"keysentry.{name}: {value!r} must be reject or accept")
    return value


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise SettingError(f"keysentry.{name}: {value!r} must be a number of seconds above 0")
    return seconds


def _path(name: str, value: str) -> Path:
    return Path(value)


# git config name (after "keysentry.") -> the PushSettings field and how its value is read
GIT_CONFIG: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "timeout": ("timeout", _seconds),
    "onTimeout": ("on_timeout", _mode),
    "onError": ("on_error", _mode),
    "allowBypass": ("allow_bypass", _bool),
    "repoConfig": ("repo_config", _bool),
    "config": ("config", _path),
    "log": ("log", _path),
}


def resolve(
    git_config: Mapping[str, str], overrides: Mapping[str, object], git_dir: str
) -> PushSettings:
    """Options given on the command line win over git config, which wins over defaults.

    git_config: ``keysentry.*`` values without the prefix, names lower-cased (as git
    lists them).
    """
    values = {k: v for k, v in overrides.items() if v is not None}
    for name, (field_name, read) in GIT_CONFIG.items():
        raw = git_config.get(name.lower())
        if raw is not None and field_name not in values:
            values[field_name] = read(name, raw)
    timeout = values.get("timeout")
    if isinstance(timeout, (int, float)) and not timeout > 0:
        raise SettingError("--timeout must be above 0 seconds")
    values.setdefault("log", Path(git_dir) / LOG_NAME)
    return PushSettings(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Pusher:
    name: str
    source: str  # the variable it came from

    def describe(self) -> str:
        return f"{self.name} ({self.source})"


def pusher(env: Mapping[str, str]) -> Pusher:
    """Who pushed, as the server says (GitLab, Gitea/Forgejo, GitHub Enterprise, web server)."""
    for name in PUSHER_VARIABLES:
        if env.get(name):
            return Pusher(env[name], name)
    import pwd

    try:
        return Pusher(pwd.getpwuid(os.getuid()).pw_name, "the hook's account")
    except KeyError:
        return Pusher(f"uid {os.getuid()}", "the hook's account")


def push_options(env: Mapping[str, str]) -> list[str]:
    """``git push -o`` values, as receive-pack passes them (GIT_PUSH_OPTION_COUNT, _0, ...)."""
    try:
        count = int(env.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        return []
    return [env.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(count)]


def bypass_reason(env: Mapping[str, str]) -> str | None:
    """The reason of a ``-o keysentry.bypass=REASON`` push option, else None."""
    for option in push_options(env):
        name, sep, value = option.partition("=")
        if name.strip() == BYPASS_OPTION:
            return value.strip() if sep else ""
    return None


@dataclass
class LogRecord:
    """One line of the push log (JSON): never a key, only fingerprints and redactions."""

    event: str  # rejected, bypassed, accepted-on-timeout, accepted-on-error
    pusher: Pusher
    repository: str
    updates: list[RefUpdate]
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "time": utc_timestamp(),
            "event": self.event,
            "pusher": self.pusher.name,
            "pusher_source": self.pusher.source,
            "repository": self.repository,
            "refs": [{"ref": u.ref, "old": u.old, "new": u.new} for u in self.updates],
            "audit": [
                f"keysentry history --range {u.audit_range}" for u in self.updates if not u.deleted
            ],
            "reason": self.reason,
            "problems": self.problems,
            "findings": [
                {
                    "fingerprint": f.fingerprint,
                    "redacted": f.redacted,
                    "path": f.path,
                    "line": f.line,
                    "commit": f.history.commit if f.history else None,
                }
                for f in self.findings
            ],
        }
        return json.dumps(data, ensure_ascii=False) + "\n"


def append_log(path: Path, record: LogRecord) -> None:
    """One write of one line with O_APPEND: concurrent pushes never interleave records."""
    line = record.to_json().encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
