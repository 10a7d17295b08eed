"""The git hooks' command lines, parsed without click (cli/__init__.py says why).

Only forms whose meaning is beyond doubt are taken: the options each command declares,
written ``--name VALUE`` or ``--name=VALUE``, values that click would accept as they are
(a float, one of the choices, a path that is not a folder), and for ``hook`` its file
arguments. Anything else (``--help``, an unknown or malformed option, a value click
would refuse) returns None, and the click group parses the line and says what is wrong.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Convert = Callable[[str], object | None]  # the value click would give, or None: not sure


@dataclass(frozen=True)
class Grammar:
    """One command's options: flags set a value; valued options convert the next word."""

    flags: dict[str, tuple[str, bool]]
    valued: dict[str, tuple[str, Convert]]
    defaults: dict[str, object] = field(default_factory=dict)
    positional: bool = False  # FILES... (hook) or none at all (pre-receive)
    repeated: frozenset[str] = frozenset()  # valued options that collect every value
    counted: dict[str, str] = field(default_factory=dict)  # -v/--verbose: occurrences
    short_count: str = ""  # the one-letter counted option, clustered as -vv


def parse(argv: Sequence[str], grammar: Grammar) -> tuple[dict[str, object], list[str]] | None:
    """(option values, positional arguments), or None when click should decide."""
    values = dict(grammar.defaults)
    positional: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            positional.extend(words)
            break
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, has_value, inline = word.partition("=")
        letters = word[1:]
        if grammar.short_count and letters and letters == grammar.short_count * len(letters):
            dest = grammar.counted[f"-{grammar.short_count}"]
            values[dest] = int(str(values[dest])) + len(letters)  # -v, -vv, -vvv
            continue
        if name in grammar.counted and not has_value:
            dest = grammar.counted[name]
            values[dest] = int(str(values[dest])) + 1
            continue
        if name in grammar.flags and not has_value:
            dest, flag = grammar.flags[name]
            values[dest] = flag
            continue
        if name not in grammar.valued:
            return None
        value = inline if has_value else next(words, None)
        if value is None or (not has_value and value.startswith("-")):
            return None
        dest, convert = grammar.valued[name]
        converted = convert(value)
        if converted is None:
            return None
        if name in grammar.repeated:
            collected = values[dest]
            assert isinstance(collected, tuple)
            values[dest] = (*collected, converted)
        else:
            values[dest] = converted
    if positional and not grammar.positional:
        return None
    return values, positional


def file_path(value: str) -> Path | None:
    """click.Path(dir_okay=False): anything but an empty name or an existing folder."""
    return Path(value) if value and not os.path.isdir(value) else None


def number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def choice(*choices: str) -> Convert:
    return lambda value: value if value in choices else None


def glob(value: str) -> str | None:
    return value  # click takes any text; the configuration checks globs


HOOK = Grammar(
    flags={"--pre-push": ("pre_push", True), "--commit-msg": ("message_file", True)},
    valued={"--config": ("config_path", file_path), "--exclude": ("excludes", glob)},
    defaults={
        "config_path": None,
        "pre_push": False,
        "message_file": False,
        "excludes": (),
        "verbose": 0,
    },
    positional=True,
    repeated=frozenset({"--exclude"}),
    counted={"-v": "verbose", "--verbose": "verbose"},
    short_count="v",
)


def pre_receive_grammar() -> Grammar:
    from keysentry.audits.push_policy import MODES

    return Grammar(
        flags={
            "--allow-bypass": ("allow_bypass", True),
            "--no-allow-bypass": ("allow_bypass", False),
            "--repo-config": ("repo_config", True),
            "--no-repo-config": ("repo_config", False),
        },
        valued={
            "--timeout": ("timeout", number),
            "--on-timeout": ("on_timeout", choice(*MODES)),
            "--on-error": ("on_error", choice(*MODES)),
            "--config": ("config", file_path),
            "--log": ("log", file_path),
        },
        defaults=dict.fromkeys(
            ("timeout", "on_timeout", "on_error", "allow_bypass", "repo_config", "config", "log")
        ),
    )


def fast_command(argv: Sequence[str]) -> Callable[[], None] | None:
    """The hook command this line asks for, ready to run without click; None otherwise."""
    if not argv or argv[0] not in ("hook", "pre-receive"):
        return None
    if argv[0] == "hook":
        parsed = parse(argv[1:], HOOK)
        if parsed is None:
            return None
        values, files = parsed
        config_path, excludes, verbose = (values[k] for k in ("config_path", "excludes", "verbose"))
        assert config_path is None or isinstance(config_path, Path)
        assert isinstance(excludes, tuple) and isinstance(verbose, int)
        message_file = values["message_file"] is True
        if message_file and len(files) != 1:
            return None  # click says --commit-msg takes exactly one FILE

        def hook() -> None:
            from keysentry.cli.hook_check import run_hook

            run_hook(
                tuple(files),
                config_path,
                values["pre_push"] is True,
                message_file,
                tuple(str(e) for e in excludes),
                verbose,
            )

        return lambda: _as_group_would(hook)
    started = time.monotonic()
    parsed = parse(argv[1:], pre_receive_grammar())
    if parsed is None:
        return None

    def pre_receive() -> None:
        from keysentry.cli.pre_receive_check import run_pre_receive

        run_pre_receive(parsed[0], started)

    return lambda: _as_group_would(pre_receive)


def _as_group_would(run: Callable[[], None]) -> None:
    """What the click group does around a command: SIGTERM and SIGHUP stop it as Ctrl-C
    does, and a stopped command exits 2 with one line."""
    from keysentry.audits import interrupt
    from keysentry.cli.output import stop

    interrupt.install()
    try:
        run()
    except KeyboardInterrupt:
        stop("interrupted")
