"""A project scan skips what the user did not write (dependencies, tool caches), says so
once, and still scans build output; --include-deps and --respect-gitignore."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git, new_key, run_keysentry
from keysentry.model.key import fingerprint

# folder -> a file in it; each holds a key. (virtualenvs are found by pyvenv.cfg, not name)
DEPENDENCIES = {
    "node_modules/left-pad": "index.js",
    ".venv": "lib/python3.11/site-packages/pkg/config.py",
    "env-py311": "lib/settings.py",  # a virtualenv under any name
    "__pycache__": "app.cpython-311.pyc",
    ".tox/py311": "log.txt",
    ".nox/tests": "log.txt",
    ".mypy_cache/3.11": "cache.json",
    ".pytest_cache/v": "cache.txt",
    ".gradle/8.5": "props.txt",
    "ios/Pods/Vendor": "config.h",
    "vendor/bundle/ruby": "gem.rb",
}
BUILD = ("dist/assets/main.js", "build/static/app.js", ".next/static/chunk.js", "out/index.js")


def project(root: Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    for folder, name in DEPENDENCIES.items():
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        keys[folder] = new_key()
        path.write_text(f"deepseek = '{keys[folder]}'\n")
    for venv in (".venv", "env-py311"):
        (root / venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for built in BUILD:
        (root / built).parent.mkdir(parents=True, exist_ok=True)
        keys[built] = new_key()
        (root / built).write_text(f'const deepseek="{keys[built]}";\n')
    (root / "src").mkdir()
    keys["src"] = new_key()
    (root / "src" / "app.py").write_text(f"DEEPSEEK_API_KEY = '{keys['src']}'\n")
    (root / "env").mkdir()  # a folder named like a venv, without pyvenv.cfg: the user's
    keys["env"] = new_key()
    (root / "env" / "prod.py").write_text(f"DEEPSEEK_API_KEY = '{keys['env']}'\n")
    return keys


def scan(root: Path, *args: str) -> tuple[dict, str]:
    done = run_keysentry("scan", ".", "-f", "json", *args, cwd=root)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout), done.stderr


def found(report: dict) -> set[str]:
    return {f["fingerprint"] for f in report["findings"]}


def test_dependency_and_tool_folders_are_skipped_and_counted(tmp_path):
    keys = project(tmp_path)
    report, stderr = scan(tmp_path)
    assert report["stats"]["skipped_dirs"] == len(DEPENDENCIES)
    wanted = {fingerprint(keys[k]) for k in (*BUILD, "src", "env")}
    assert found(report) == wanted  # build output is still scanned
    assert report["stats"]["files_scanned"] == len(BUILD) + 2
    lines = [line for line in stderr.splitlines() if "--include-deps" in line]
    assert len(lines) == 1
    assert f"skipped {len(DEPENDENCIES)} dependency or tool folder(s)" in lines[0]


def test_include_deps_scans_them(tmp_path):
    keys = project(tmp_path)
    report, stderr = scan(tmp_path, "--include-deps")
    assert found(report) == {fingerprint(k) for k in keys.values()}
    assert "skipped_dirs" not in report["stats"]
    assert "--include-deps" not in stderr


def test_respect_gitignore_skips_ignored_files_in_a_work_tree(tmp_path):
    keys = project(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".gitignore").write_text("dist/\nsrc/app.py\n")
    (tmp_path / "src" / "main.py").write_text("print('hi')\n")  # src/ is not all ignored
    default, _ = scan(tmp_path)
    assert fingerprint(keys["dist/assets/main.js"]) in found(default)  # off by default
    report, _ = scan(tmp_path, "--respect-gitignore")
    assert fingerprint(keys["dist/assets/main.js"]) not in found(report)
    assert fingerprint(keys["src"]) not in found(report)
    assert fingerprint(keys["build/static/app.js"]) in found(report)
    assert report["stats"]["dirs_gitignored"] == 1
    assert report["stats"]["files_gitignored"] == 1


def test_respect_gitignore_outside_a_work_tree_says_it_skipped_nothing(tmp_path):
    keys = project(tmp_path)
    done = run_keysentry("scan", ".", "-f", "json", "--respect-gitignore", cwd=tmp_path)
    assert done.returncode == 1
    assert "not in a git work tree" in done.stderr
    assert fingerprint(keys["src"]) in found(json.loads(done.stdout))


def test_a_url_is_answered_with_the_command_that_scans_sites(tmp_path):
    done = run_keysentry("scan", "https://example.com/assets/app.js", cwd=tmp_path)
    assert done.returncode == 2
    assert "keysentry site URL" in done.stderr
    assert "| keysentry scan -" in done.stderr
    assert "No such file" not in done.stderr
