"""Every snippet in README.md and docs/ points at something that exists (issue 16 §5): each
`keysentry` command line names a real command and real options, each relative link a real
file, each install line the repository URL pinned to this version's tag. The YAML recipes
are run by test_action.py and test_ci_docs.py; the quick start's commands run here."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from conftest import REPO_ROOT, git, new_key, run_keysentry
from keysentry.cli.group import group as main  # the click group every command hangs from

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
REPOSITORY = "https://github.com/keysentry/keysentry"


def code_lines(doc: Path) -> list[str]:
    """Lines of indented code blocks (outside fences) and of fenced blocks; a line ending
    in a backslash continues on the next."""
    lines: list[str] = []
    fenced = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            text = line if fenced else line[4:]
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + text.strip()
            else:
                lines.append(text)
    return lines


def command_lines(doc: Path) -> list[str]:
    """Each `keysentry ...` command, also inside `$(...)` and after `&&`, `;` or `|`."""
    found = []
    for line in code_lines(doc):
        line = line.split(" #", 1)[0]
        inner = re.findall(r"\$\(([^)]*)\)", line)
        for part in [*inner, *re.split(r"\|\||&&|;|\|", re.sub(r"\$\([^)]*\)", "X", line))]:
            part = part.strip().removeprefix("- ").removeprefix("run: ").strip()
            part = part.removeprefix(".venv/bin/")
            if re.match(r"keysentry [a-z][a-z-]*(\s|$)", part):  # not output: "keysentry org:"
                found.append(part)
    return found


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command the words name (groups followed), and the words after it."""
    command: click.Command = main
    ctx = click.Context(main, info_name="keysentry")
    rest = words
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    return command, rest


ALL_COMMANDS = [(doc.name, line) for doc in DOCS for line in command_lines(doc)]


def test_the_docs_show_commands():
    assert len(ALL_COMMANDS) > 30


@pytest.mark.parametrize(("doc", "line"), ALL_COMMANDS, ids=[c[1][:60] for c in ALL_COMMANDS])
def test_each_command_line_names_a_real_command_and_real_options(doc, line):
    words = shlex.split(line.replace("[", "").replace("]", "").replace("...", ""))
    command, rest = resolve(words[1:])
    known = {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
    for word in rest:
        option = word.split("=", 1)[0]
        if option.startswith("-") and option != "-":
            assert option in known, f"{doc}: {line}: {command.name} has no {option}"


def test_relative_links_point_at_files_that_exist():
    for doc in [*DOCS, *sorted((REPO_ROOT / "docs" / "examples").glob("*"))]:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


RECIPES = [*DOCS, *sorted((REPO_ROOT / "docs" / "examples").glob("*"))]
# where a recipe names the keysentry it installs: pip's URL, the action, pre-commit, GitLab
PINS = [
    re.compile(rf"git\+{re.escape(REPOSITORY)}@([^\"'\s]+)"),
    re.compile(r"uses: keysentry/keysentry@(\S+)"),
    re.compile(rf"repo: {re.escape(REPOSITORY)}\n\s+rev: (\S+)"),
    re.compile(r"KEYSENTRY_REF: (\S+)"),
]


def recipe_pins() -> dict[str, list[str]]:
    """Each ref the recipes pin (variables such as ${KEYSENTRY_REF} left out) -> where."""
    pins: dict[str, list[str]] = {}
    for doc in RECIPES:
        text = doc.read_text(encoding="utf-8")
        for pattern in PINS:
            for ref in pattern.findall(text):
                if not ref.startswith("$"):
                    pins.setdefault(ref, []).append(doc.name)
    return pins


def test_every_recipe_pins_one_commit_this_repository_holds(tmp_path):
    """What a user of a clone can run: the pinned ref resolves in a clone of this repository,
    the tree descends from it, it has the action, hooks and inputs the recipes use, and pip
    installs from the clone's URL at that ref."""
    pins = recipe_pins()
    assert len(pins) == 1, pins  # one ref everywhere: a release moves them all at once
    [(pin, where)] = pins.items()
    assert len(where) >= 8, where
    if git(REPO_ROOT, "rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone: the history that holds the pinned commit is not here")
    clone = tmp_path / "keysentry"
    git(tmp_path, "clone", "-q", "--no-checkout", str(REPO_ROOT), str(clone))
    commit = git(clone, "rev-parse", "--verify", "-q", f"{pin}^{{commit}}").strip()
    assert subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, "HEAD"], cwd=REPO_ROOT, check=False
    ).returncode == 0, f"{pin} is not an ancestor of this tree"
    files = set(git(clone, "ls-tree", "--name-only", commit).split())
    assert {"action.yml", ".pre-commit-hooks.yaml", "pyproject.toml"} <= files
    hooks = yaml.safe_load(git(clone, "show", f"{commit}:.pre-commit-hooks.yaml"))
    used = {i for doc in RECIPES for i in re.findall(r"- id: (keysentry[\w-]*)", doc.read_text())}
    assert used and used <= {h["id"] for h in hooks}
    inputs = yaml.safe_load(git(clone, "show", f"{commit}:action.yml"))["inputs"]
    workflow = yaml.safe_load((REPO_ROOT / "docs" / "examples" / "github-workflow.yml").read_text())
    given = [s.get("with", {}) for s in workflow["jobs"]["keysentry"]["steps"]]
    assert {name for step in given for name in step} - {"fetch-depth"} <= set(inputs)
    # pip, given the URL of the clone in place of the repository's, finds and builds that ref
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
         "-d", str(tmp_path / "fetched"), f"keysentry @ git+file://localhost{clone}@{pin}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert list((tmp_path / "fetched").glob("keysentry*"))


def test_the_quick_start_commands_run(git_repo):
    """The README's first commands, in a repository with a key: scan, history, baseline."""
    (git_repo / "app.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    (git_repo / "dist").mkdir()
    (git_repo / "dist" / "app.js").write_text("console.log(1);\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "add")
    readme = REPO_ROOT / "README.md"
    ran = 0
    for line in command_lines(readme):
        words = shlex.split(line)
        if words[0] != "keysentry" or words[1] not in ("scan", "history", "baseline"):
            continue
        if any(w in ("origin/main..HEAD", "v1.4.0", "path/to/mirror.git") for w in words):
            continue  # refs and paths this repository does not have
        result = run_keysentry(*words[1:], cwd=git_repo)
        assert result.returncode in (0, 1), f"{line}: {result.stderr}"
        ran += 1
    assert ran >= 8
