"""``[tool.keysentry]`` in pyproject.toml, or ``.keysentry.toml``: validated, never guessed."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

CONFIG_FILES = (".keysentry.toml", "pyproject.toml")
BASELINE_FILE = ".keysentry-baseline.json"  # the default baseline, beside the configuration


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
    Option("baseline", str, None, "baseline file of accepted keys (relative to this file)"),
    Option("fail_on", str, None, "which findings make the exit code 1: any, client or never"),
    Option("reports", dict, str, "reports `keysentry ci` writes: format = path (relative)"),
    Option("ci_dist", list, str, "build output folders `keysentry ci` also scans (relative)"),
    Option("client_paths", list, str, "globs of paths whose keys ship to clients (§2.2)"),
    Option("server_paths", list, str, "globs of paths whose keys stay on servers"),
    Option("include_deps", bool, None, "also scan dependency folders (node_modules, venvs...)"),
    Option("respect_gitignore", bool, None, "skip files git ignores (in a git work tree)"),
    Option("decode", bool, None, "look inside archives and encodings (base64, escapes, maps)"),
    Option("max_decode_depth", int, None, "archives and encodings nested at most this deep"),
    Option("max_decompressed_mb", int, None, "decompressed MiB per file before stopping"),
    Option("max_compression_ratio", int, None, "decompressed:compressed ratio taken for a bomb"),
)


@dataclass
class Config:
    exclude: list[str] = field(default_factory=list)
    allowed_fingerprints: list[str] = field(default_factory=list)
    baseline: str | None = None
    fail_on: str | None = None
    reports: dict[str, str] = field(default_factory=dict)
    ci_dist: list[str] = field(default_factory=list)
    client_paths: list[str] = field(default_factory=list)  # exposure verdict overrides
    server_paths: list[str] = field(default_factory=list)
    include_deps: bool = False  # scan node_modules/, virtualenvs... (--include-deps)
    respect_gitignore: bool = False  # skip gitignored files (--respect-gitignore)
    decode: bool = True  # decoders and archives (engine/layers.py); --no-decode turns it off
    max_decode_depth: int = 6
    max_decompressed_mb: int = 4096
    max_compression_ratio: int = 100
    source: str | None = None  # the file it came from, for messages
    root: Path | None = None  # its folder: relative paths in it start there
    timings: bool = False  # -vv: each file's scan time on stderr (never from a file)

    def __post_init__(self) -> None:
        self._exclude_spec = None
        if self.exclude:  # pathspec takes ~15 ms to import, paid by every commit's hook
            import pathspec

            self._exclude_spec = pathspec.GitIgnoreSpec.from_lines(self.exclude)

    def add_excludes(self, globs: tuple[str, ...] | list[str]) -> None:
        """The command line's --exclude globs, on top of the configured ones."""
        self.exclude = [*self.exclude, *globs]
        self.__post_init__()

    def is_excluded(self, relpath: str) -> bool:
        return self._exclude_spec is not None and self._exclude_spec.match_file(relpath)

    def is_allowed(self, fingerprint: str) -> bool:
        return fingerprint in self.allowed_fingerprints


def _type_name(kind: type) -> str:
    names = {list: "a list", str: "a string", bool: "true or false", int: "an integer"}
    return {**names, dict: "a table"}[kind]


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
        items = value.values() if isinstance(value, dict) else value
        if option.item is not None and not all(isinstance(v, option.item) for v in items):
            raise ConfigError(f"{where}: every item of '{name}' must be {_type_name(option.item)}")
        values[name] = value
    for fp in values.get("allowed_fingerprints", []):
        if not (fp.startswith("sha256:") and len(fp) == 71):
            raise ConfigError(
                f"{where}: 'allowed_fingerprints' item {fp!r} is not a sha256:<64 hex> fingerprint"
            )
    _check_ci_values(values, where)
    _check_globs(values, where)
    for name in ("max_decode_depth", "max_decompressed_mb", "max_compression_ratio"):
        if values.get(name, 1) < 1:
            raise ConfigError(f"{where}: '{name}' must be at least 1")
    known_fields = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known_fields}, source=where)


def wildmatch_spec(pattern: str) -> pathspec.PathSpec:
    """One git-wildmatch glob (client_paths, server_paths), compiled the one way we do it."""
    import pathspec  # only for projects that set globs: the hook pays ~15 ms for it

    return pathspec.PathSpec.from_lines("gitignore", [pattern])


def _check_globs(values: dict[str, Any], where: str) -> None:
    """Every glob compiles (gitignore rules for exclude, git wildmatch for the others)."""
    import re

    for name in ("exclude", "client_paths", "server_paths"):
        if not values.get(name):
            continue
        import pathspec

        for pattern in values[name]:
            try:
                if name == "exclude":
                    pathspec.GitIgnoreSpec.from_lines([pattern])
                else:
                    wildmatch_spec(pattern)
            except (ValueError, re.error) as exc:
                raise ConfigError(
                    f"{where}: '{name}' item {pattern!r} is not a valid glob: {exc}"
                ) from exc


def _check_ci_values(values: dict[str, Any], where: str) -> None:
    from keysentry.model.report import FAIL_ON

    if values.get("fail_on", "any") not in FAIL_ON:
        raise ConfigError(f"{where}: 'fail_on' must be one of {', '.join(FAIL_ON)}")
    if not values.get("reports"):
        return
    from keysentry.formats import FORMATS  # only when asked: `keysentry hook` never renders

    for name in values["reports"]:
        if name not in FORMATS:
            choices = ", ".join(sorted(FORMATS))
            raise ConfigError(f"{where}: 'reports' has unknown format {name!r} ({choices})")


def load_file(path: Path) -> Config:
    from keysentry.small_file import CONFIG_LIMIT, RefusedFile, read_small_file

    try:
        text = read_small_file(path, CONFIG_LIMIT).decode("utf-8")
    except RefusedFile as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    config = load_text(text, path)
    config.root = path.parent
    return config


def load_text(text: str, path: Path | str) -> Config:
    """A configuration file's text (read from disk, or from a commit), named path in messages."""
    if sys.version_info >= (3, 11):  # here: a repository without a config file never pays
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    path = Path(path)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
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
                if name == "pyproject.toml" and not _names_keysentry(candidate):
                    continue
                return candidate
        if (folder / ".git").exists():
            return None
    return None


def _names_keysentry(pyproject: Path) -> bool:
    """True when a pyproject.toml has a keysentry table (or cannot be read: load says why)."""
    from keysentry.small_file import CONFIG_LIMIT, RefusedFile, read_small_file

    try:
        return b"[tool.keysentry" in read_small_file(pyproject, CONFIG_LIMIT)
    except (OSError, RefusedFile):
        return True


def load(explicit: Path | None, start: Path) -> Config:
    """The explicit file, else the discovered one, else defaults."""
    path = explicit if explicit is not None else discover(start)
    return Config() if path is None else load_file(path)


def config_path(config: Config, value: str) -> Path:
    """A path written in the configuration file, relative to that file's folder."""
    path = Path(value)
    return path if path.is_absolute() or config.root is None else config.root / path


def baseline_file(option: Path | None, config: Config) -> Path | None:
    """--baseline, else the configuration's, else the default file when it exists (beside
    the configuration file, else in the current folder)."""
    if option is not None:
        return option
    if config.baseline:
        return config_path(config, config.baseline)
    default = config_path(config, BASELINE_FILE)
    return default if default.is_file() else None
