"""Hostile configuration and baselines (issue 17 §7, §10): a repository's own
``.keysentry.toml`` may name ``/dev/zero`` or a FIFO as its baseline, and ``ci`` runs on
strangers' pull requests. Only regular files of bounded size are read; every problem is
a message naming the file and exit 2, never a hang, a traceback or exit 1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import new_key, run_keysentry
from keysentry import config as config_mod
from keysentry.audits import baseline as baseline_mod
from keysentry.model.key import fingerprint
from keysentry.small_file import BASELINE_LIMIT, CONFIG_LIMIT

HANG_GUARD = 60  # seconds: a hang fails the test instead of stalling the run


def scan(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_keysentry("scan", "-f", "json", *args, ".", cwd=root, timeout=HANG_GUARD)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str]:
    """A folder with a control key, found by a plain scan."""
    key = new_key()
    (tmp_path / "app.env").write_text(f"TOKEN={key}\n")
    done = scan(tmp_path)
    assert done.returncode == 1
    assert {f["fingerprint"] for f in json.loads(done.stdout)["findings"]} == {fingerprint(key)}
    return tmp_path, key


def refused(done: subprocess.CompletedProcess[str], name: str, problem: str) -> None:
    assert done.returncode == 2, done.stderr
    assert name in done.stderr and problem in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("special", "problem"),
    [("/dev/zero", "a device"), ("fifo", "a FIFO"), ("folder", "a directory")],
)
def test_a_baseline_that_is_no_regular_file_is_refused(project, special, problem):
    root, _ = project
    os.mkfifo(root / "fifo")
    (root / "folder").mkdir()
    (root / ".keysentry.toml").write_text(f'baseline = "{special}"\n')
    refused(scan(root), special, problem)
    refused(scan(root, "--baseline", special), special, problem)


@pytest.mark.parametrize(("special", "problem"), [("/dev/zero", "a device"), ("fifo", "a FIFO")])
def test_a_config_that_is_no_regular_file_is_refused(project, special, problem):
    root, _ = project
    os.mkfifo(root / "fifo")
    refused(scan(root, "--config", special), special, problem)


def test_oversized_config_and_baseline_are_refused_unread(project):
    root, _ = project
    (root / "big.toml").write_bytes(b"# padding\n" * (CONFIG_LIMIT // 10 + 1))
    refused(scan(root, "--config", "big.toml"), "big.toml", "over the limit")
    with (root / "big.json").open("wb") as out:  # sparse: a size, not a write
        out.truncate(BASELINE_LIMIT + 1)
    refused(scan(root, "--baseline", "big.json"), "big.json", "over the limit")


@pytest.mark.parametrize("glob", ["**/[z-a].py", "src\\", "!"])
def test_an_invalid_exclude_glob_is_a_configuration_error(project, glob):
    root, _ = project
    (root / ".keysentry.toml").write_text(f"exclude = [{json.dumps(glob)}]\n")
    refused(scan(root), ".keysentry.toml", "is not a valid glob")


@pytest.mark.parametrize("name", ["client_paths", "server_paths"])
def test_an_invalid_exposure_glob_is_a_configuration_error(project, name):
    root, _ = project
    (root / ".keysentry.toml").write_text(f'{name} = ["a/[z-a]/b"]\n')
    refused(scan(root), name, "is not a valid glob")


@pytest.mark.parametrize(
    "content",
    [
        '{"keysentry_baseline": 1, "entries": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"keysentry_baseline": 1, "entries": [], "x": ' + "1" * 100_000 + "}",
        "[" * 100_000,
    ],
    ids=["nested-100k-deep", "number-100k-digits", "unclosed-100k-deep"],
)
def test_pathological_baseline_json_is_an_error_naming_the_file(project, content):
    root, key = project
    (root / "odd.json").write_text(content)
    refused(scan(root, "--baseline", "odd.json"), "odd.json", "not valid JSON")
    (root / "odd.json").write_text('{"keysentry_baseline": 1, "entries": []}')
    done = scan(root, "--baseline", "odd.json")
    assert fingerprint(key) in done.stdout  # the same scan with a usable baseline


def test_deeply_nested_toml_is_an_error_naming_the_file(project):
    root, _ = project
    (root / "deep.toml").write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    refused(scan(root, "--config", "deep.toml"), "deep.toml", "deep.toml")


# --- the parsers themselves, on anything -------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "fingerprint": st.sampled_from(["sha256:" + "a" * 64, "sha256:" + "b" * 64]) | _json,
        "locations": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "path": st.text(max_size=8) | _json,
                    "line": st.integers() | _json,
                    "commit": st.text(max_size=8) | _json,
                },
            ),
            max_size=3,
        )
        | _json,
        "reason": st.text(max_size=8) | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.fixed_dictionaries(
            {
                "keysentry_baseline": st.just(1) | _json,
                "entries": st.lists(_entry | _json, max_size=4) | _json,
            }
        ),
        _json,
    )
)
def test_baseline_parser_accepts_or_names_the_problem(data):
    text = json.dumps(data)
    for chunk in (text, text[: len(text) // 2]):  # whole and truncated
        try:
            parsed = baseline_mod.parse(chunk, Path("b.json"))
        except baseline_mod.BaselineError as exc:
            assert str(exc).startswith("b.json: ")
        else:
            assert all(e.fingerprint.startswith("sha256:") for e in parsed.entries)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_baseline_parser_on_random_bytes(raw):
    try:
        baseline_mod.parse(raw.decode("utf-8", "replace"), Path("b.json"))
    except baseline_mod.BaselineError as exc:
        assert str(exc).startswith("b.json: ")


_toml_value = st.recursive(
    st.booleans() | st.integers(-5, 10**6) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_option_names = st.sampled_from([o.name for o in config_mod.OPTIONS] + ["unknown"])
_globs = st.lists(st.text(alphabet="*?[]!\\/-az.", max_size=8), max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_option_names, _toml_value | _globs, max_size=5))
def test_config_parser_accepts_or_names_the_problem(table):
    try:
        config = config_mod.parse(table, "k.toml")
    except config_mod.ConfigError as exc:
        assert str(exc).startswith("k.toml: ")
    else:
        config.is_excluded("a/b.py")  # whatever was accepted also works


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_config_file_loader_on_random_bytes(tmp_path, raw):
    path = tmp_path / ".keysentry.toml"
    path.write_bytes(raw)
    try:
        config_mod.load_file(path)
    except config_mod.ConfigError as exc:
        assert str(path) in str(exc)
