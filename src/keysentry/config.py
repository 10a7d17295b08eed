"""``[tool.keysentry]`` in pyproject.toml, or ``.keysentry.toml``: validated, never guessed."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pathspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = (".keysentry.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names file and key."""


@dataclass(frozen=True)
class Option:
    """A key users may set, its type, and what it means (the README lists these)."""

    name: str
    kind: type
    item: type | None
    help: str


OPTIONS = (
    Option("exclude", list, str, "gitignore-style globs of paths not to scan"),
    Option("allowed_fingerprints", list, str, "key fingerprints (sha256:...) never reported"),
)


@dataclass
class Config:
    exclude: list[str] = field(default_factory=list)
    allowed_fingerprints: list[str] = field(default_factory=list)
    source: str | None = None  # the file it came from, for messages

    def __post_init__(self) -> None:
        self._exclude_spec = pathspec.PathSpec.from_lines("gitwildmatch", self.exclude)

    def is_excluded(self, relpath: str) -> bool:
        return bool(self.exclude) and self._exclude_spec.match_file(relpath)

    def is_allowed(self, fingerprint: str) -> bool:
        return fingerprint in self.allowed_fingerprints


def _type_name(kind: type) -> str:
    return {list: "a list", str: "a string", bool: "true or false", int: "an integer"}[kind]


def parse(table: dict[str, Any], where: str) -> Config:
    """Validate a ``[tool.keysentry]`` table; every problem names the key."""
    known = {o.name: o for o in OPTIONS}
    values: dict[str, Any] = {}
    for name, value in table.items():
        option = known.get(name)
        if option is None:
            choices = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown key '{name}' (known keys: {choices})")
        if not isinstance(value, option.kind) or (option.kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: '{name}' must be {_type_name(option.kind)}")
        if option.item is not None and not all(isinstance(v, option.item) for v in value):
            raise ConfigError(f"{where}: every item of '{name}' must be {_type_name(option.item)}")
        values[name] = value
    for fp in values.get("allowed_fingerprints", []):
        if not (fp.startswith("sha256:") and len(fp) == 71):
            raise ConfigError(
                f"{where}: 'allowed_fingerprints' item {fp!r} is not a sha256:<64 hex> fingerprint"
            )
    known_fields = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known_fields}, source=where)


def load_file(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("keysentry", {})
        where = f"{path} [tool.keysentry]"
    else:
        table = data.get("tool", {}).get("keysentry", data) if "tool" in data else data
        where = str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    return parse(table, where)


def discover(start: Path) -> Path | None:
    """The nearest config file from start upwards, stopping at a repository root."""
    here = start.resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file():
                if name == "pyproject.toml" and b"[tool.keysentry" not in candidate.read_bytes():
                    continue
                return candidate
        if (folder / ".git").exists():
            return None
    return None


def load(explicit: Path | None, start: Path) -> Config:
    """The explicit file, else the discovered one, else defaults."""
    path = explicit if explicit is not None else discover(start)
    return Config() if path is None else load_file(path)
