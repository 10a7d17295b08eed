"""`[tool.keysentry]` / `.keysentry.toml`: excludes, allowed fingerprints, strict validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, new_key, run_keysentry
from keysentry.model.key import fingerprint


def project(root: Path) -> dict[str, str]:
    """A small tree with a key in source, in fixtures and in a source map."""
    keys = {name: new_key() for name in ("app", "fixture", "map", "allowed")}
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(f"KEY = '{keys['app']}'\nOLD = '{keys['allowed']}'\n")
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "tests" / "fixtures" / "sample.env").write_text(f"K={keys['fixture']}\n")
    (root / "static").mkdir()
    (root / "static" / "app.min.js.map").write_text(f'{{"x":"{keys["map"]}"}}')
    return keys


def found(root: Path, *args: str) -> tuple[int, set[str], str]:
    result = run_keysentry("scan", "--format", "json", *args, ".", cwd=root)
    if result.returncode == 2 and not result.stdout:
        return 2, set(), result.stderr
    report = json.loads(result.stdout)
    return result.returncode, {f["fingerprint"] for f in report["findings"]}, result.stderr


SETTINGS = """
exclude = ["tests/fixtures/**", "*.min.js.map"]
allowed_fingerprints = ["{fp}"]
"""


def test_without_config_everything_is_reported(tmp_path: Path) -> None:
    keys = project(tmp_path)
    code, fps, _ = found(tmp_path)
    assert code == 1
    assert fps == {fingerprint(k) for k in keys.values()}


@pytest.mark.parametrize("where", ["pyproject.toml", ".keysentry.toml"])
def test_excludes_and_allowed_fingerprints_apply(tmp_path: Path, where: str) -> None:
    keys = project(tmp_path)
    body = SETTINGS.format(fp=fingerprint(keys["allowed"]))
    if where == "pyproject.toml":
        text = '[project]\nname = "demo"\n\n[tool.keysentry]' + body
    else:
        text = body
    (tmp_path / where).write_text(text)
    code, fps, _ = found(tmp_path)
    assert code == 1
    assert fps == {fingerprint(keys["app"])}


def test_keysentry_toml_may_use_the_tool_table_too(tmp_path: Path) -> None:
    keys = project(tmp_path)
    body = SETTINGS.format(fp=fingerprint(keys["allowed"]))
    (tmp_path / ".keysentry.toml").write_text("[tool.keysentry]" + body)
    assert found(tmp_path)[1] == {fingerprint(keys["app"])}


def test_keysentry_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    keys = project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.keysentry]\nexclude = ["src/**"]\n')
    (tmp_path / ".keysentry.toml").write_text('exclude = ["tests/**"]\n')
    assert found(tmp_path)[1] == {fingerprint(keys[k]) for k in ("app", "allowed", "map")}


def test_config_found_from_a_subfolder_up_to_the_repository_root(git_repo: Path) -> None:
    keys = project(git_repo)
    (git_repo / ".keysentry.toml").write_text('exclude = ["*.py"]\n')
    result = run_keysentry("scan", "--format", "json", "..", cwd=git_repo / "src")
    fps = {f["fingerprint"] for f in json.loads(result.stdout)["findings"]}
    assert fps == {fingerprint(keys["fixture"]), fingerprint(keys["map"])}


def test_config_above_the_repository_root_is_not_used(tmp_path: Path) -> None:
    (tmp_path / ".keysentry.toml").write_text('exclude = ["**"]\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    keys = project(repo)
    assert found(repo)[1] == {fingerprint(k) for k in keys.values()}


def test_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    keys = project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    code, fps, _ = found(tmp_path)
    assert code == 1 and len(fps) == len(keys)


def test_explicit_config_option(tmp_path: Path) -> None:
    keys = project(tmp_path / "proj")
    (tmp_path / "elsewhere.toml").write_text('exclude = ["src/**", "tests/**"]\n')
    result = run_keysentry(
        "scan", "--format", "json", "--config", str(tmp_path / "elsewhere.toml"), "proj",
        cwd=tmp_path,
    )
    fps = {f["fingerprint"] for f in json.loads(result.stdout)["findings"]}
    assert fps == {fingerprint(keys["map"])}


def test_exclude_applies_to_file_arguments_as_given(tmp_path: Path) -> None:
    keys = project(tmp_path)
    (tmp_path / ".keysentry.toml").write_text('exclude = ["*.min.js.map"]\n')
    result = run_keysentry("scan", "static/app.min.js.map", "src/app.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "src/app.py" in result.stdout and "app.min.js.map" not in result.stdout
    del keys


BAD_CONFIGS = {
    "unknown key": ('excludes = ["x"]\n', "excludes"),
    "unknown nested table": ('[tool.keysentry]\n[tool.keysentry.rules]\nx = 1\n', "rules"),
    "exclude not a list": ('exclude = "tests/**"\n', "exclude"),
    "exclude item not a string": ("exclude = [1, 2]\n", "exclude"),
    "fingerprints not a list": ('allowed_fingerprints = "sha256:00"\n', "allowed_fingerprints"),
    "fingerprint malformed": ('allowed_fingerprints = ["md5:abc"]\n', "allowed_fingerprints"),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("where", ["pyproject.toml", ".keysentry.toml"])
def test_bad_configuration_exits_2_naming_the_key(tmp_path: Path, name: str, where: str) -> None:
    project(tmp_path)
    body, key = BAD_CONFIGS[name]
    if where == "pyproject.toml":
        body = body.replace("[tool.keysentry]\n", "")
        body = "[tool.keysentry]\n" + body
    (tmp_path / where).write_text(body)
    result = run_keysentry("scan", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert f"'{key}'" in result.stderr
    assert where in result.stderr
    assert result.stdout == ""


def test_invalid_toml_exits_2_naming_the_file(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / ".keysentry.toml").write_text("exclude = [\n")
    result = run_keysentry("scan", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert ".keysentry.toml" in result.stderr and "TOML" in result.stderr


def test_missing_explicit_config_is_a_usage_error(tmp_path: Path) -> None:
    result = run_keysentry("scan", "--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert result.returncode == 2
    assert "nope.toml" in result.stderr
