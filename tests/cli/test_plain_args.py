"""The git hooks' command lines run without click (start-up is every commit's cost), and
every other form still gets click's parsing and messages."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from conftest import KEYSENTRY, git, new_key, run_keysentry
from keysentry.cli.plain_args import HOOK, parse, pre_receive_grammar


def _modules_after(cwd: Path, *args: str, stdin: str = "") -> tuple[int, set[str]]:
    """The exit code of `keysentry ARGS` and the top-level modules it had imported."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules})))\n"
        "from keysentry.cli import main\n"
        f"main({list(args)!r})\n"
    )
    done = subprocess.run(
        [KEYSENTRY[0], "-c", probe],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_the_commit_hook_never_imports_click_and_still_blocks(git_repo):
    (git_repo / "config.py").write_text(f"KEY = '{new_key()}'\n")
    git(git_repo, "add", "config.py")
    code, modules = _modules_after(git_repo, "hook")
    assert code == 1  # the key blocks the commit
    assert "click" not in modules
    code, modules = _modules_after(git_repo, "hook", "--config", "missing.toml")
    assert code == 2 and "click" not in modules  # the configuration error, said without click


def test_the_server_check_never_imports_click(tmp_path):
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    old = "1" * 40
    code, modules = _modules_after(
        bare, "pre-receive", "--timeout", "3", stdin=f"{old} {'0' * 40} refs/heads/gone\n"
    )
    assert code == 0  # a deletion: nothing to check, accepted
    assert "click" not in modules


def test_other_forms_go_through_click_with_its_messages(git_repo):
    folder = git_repo / "folder"
    folder.mkdir()
    done = run_keysentry("hook", "--config", str(folder), cwd=git_repo)
    assert done.returncode == 2
    assert "is a directory" in done.stderr
    done = run_keysentry("hook", "--bogus", cwd=git_repo)
    assert done.returncode == 2 and "No such option '--bogus'" in done.stderr
    done = run_keysentry("pre-receive", "--timeout", "soon", cwd=git_repo)
    assert done.returncode == 2 and "'soon' is not a valid float" in done.stderr
    done = run_keysentry("hook", "--help", cwd=git_repo)
    assert done.returncode == 0 and "Usage:" in done.stdout


def test_the_plain_parser_reads_what_click_would_or_declines():
    values, files = parse(["--pre-push", "origin", "url"], HOOK) or ({}, [])
    assert values["pre_push"] is True and files == ["origin", "url"]
    values, files = parse(["-vv", "--exclude", "a/**", "--exclude=b", "--verbose"], HOOK) or (
        {},
        [],
    )
    assert values["verbose"] == 3 and values["excludes"] == ("a/**", "b") and files == []
    values, files = parse(["--config=k.toml", "--", "--not-an-option"], HOOK) or ({}, [])
    assert values["config_path"] == Path("k.toml") and files == ["--not-an-option"]
    assert parse(["--config"], HOOK) is None  # click says the value is missing
    assert parse(["--pre-push=yes"], HOOK) is None
    grammar = pre_receive_grammar()
    values, rest = parse(
        ["--timeout", "2.5", "--on-error=accept", "--no-allow-bypass"], grammar
    ) or (
        {},
        ["?"],
    )
    assert rest == [] and values["timeout"] == 2.5
    assert values["on_error"] == "accept" and values["allow_bypass"] is False
    assert parse(["--on-timeout", "maybe"], grammar) is None
    assert parse(["stray"], grammar) is None
