"""`keysentry scan --staged` and `keysentry hook` without files judge the index, in real repos."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from conftest import git, git_env, new_key, run_keysentry


def fp(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def staged(repo: Path, *args: str) -> tuple[int, list[dict]]:
    done = run_keysentry("scan", "--staged", "--format", "json", *args, cwd=repo)
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    return done.returncode, findings


def write(repo: Path, name: str, text: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit_unchecked(repo: Path, message: str = "commit") -> None:
    git(repo, "commit", "-q", "--no-verify", "-m", message)


def test_staged_key_deleted_from_work_tree_still_blocks(git_repo: Path) -> None:
    key = new_key()
    write(git_repo, "config.py", f'API_KEY = "{key}"\n')
    git(git_repo, "add", "config.py")
    (git_repo / "config.py").unlink()

    code, findings = staged(git_repo)
    assert code == 1
    [finding] = findings
    assert (finding["path"], finding["source"], finding["line"]) == ("config.py", "staged", 1)
    assert finding["fingerprint"] == fp(key)

    hook = run_keysentry("hook", cwd=git_repo)
    assert hook.returncode == 1
    assert "config.py:1:12:" in hook.stderr
    assert key not in hook.stderr + hook.stdout
    assert key[:7] in hook.stderr  # the redacted form names the key's start


def test_key_only_in_work_tree_does_not_block(git_repo: Path) -> None:
    write(git_repo, "app.py", "x = 1\n")
    git(git_repo, "add", "app.py")
    commit_unchecked(git_repo)
    write(git_repo, "app.py", f'x = "{new_key()}"\n')  # tracked, modified, not staged
    write(git_repo, "notes.txt", f"{new_key()}\n")  # untracked
    write(git_repo, "other.py", "y = 2\n")
    git(git_repo, "add", "other.py")

    assert staged(git_repo) == (0, [])
    assert run_keysentry("hook", cwd=git_repo).returncode == 0
    # the working tree does hold keys: a plain scan finds them
    assert run_keysentry("scan", ".", cwd=git_repo).returncode == 1


def test_partially_staged_file_is_judged_by_its_staged_version(git_repo: Path) -> None:
    key = new_key()
    write(git_repo, "a.py", f'KEY = "{key}"\nrest = 1\n')
    git(git_repo, "add", "a.py")
    write(git_repo, "a.py", 'KEY = os.environ["KEY"]\nrest = 1\n')  # fixed, fix not staged
    code, findings = staged(git_repo)
    assert code == 1
    assert [f["fingerprint"] for f in findings] == [fp(key)]

    write(git_repo, "b.py", "clean = True\n")
    git(git_repo, "add", "b.py")
    write(git_repo, "b.py", f'clean = "{new_key()}"\n')  # key added after staging
    code, findings = staged(git_repo)
    assert [f["path"] for f in findings] == ["a.py"]


def _add_patch(repo: Path, answers: str) -> None:
    subprocess.run(
        ["git", "add", "-p", "settings.py"], cwd=repo, env=git_env(), input=answers,
        capture_output=True, text=True, check=True,
    )


def test_git_add_patch_stages_one_hunk(git_repo: Path) -> None:
    body = [f"setting_{i} = {i}\n" for i in range(40)]
    write(git_repo, "settings.py", "".join(body))
    git(git_repo, "add", "settings.py")
    commit_unchecked(git_repo)
    key = new_key()
    edited = list(body)
    edited[0] = f'API_KEY = "{key}"\n'  # first hunk: the key
    edited[35] = "setting_35 = 'changed'\n"  # second hunk, far enough to be its own

    write(git_repo, "settings.py", "".join(edited))
    _add_patch(git_repo, "n\ny\n")  # stage only the harmless hunk
    assert git(git_repo, "diff", "--cached", "--name-only").split() == ["settings.py"]
    assert staged(git_repo) == (0, [])

    git(git_repo, "reset", "-q")
    _add_patch(git_repo, "y\nn\n")  # stage only the key's hunk
    code, findings = staged(git_repo)
    assert code == 1
    assert [(f["path"], f["line"], f["fingerprint"]) for f in findings] == [
        ("settings.py", 1, fp(key))
    ]


def test_deleting_a_file_that_held_a_key_does_not_block(git_repo: Path) -> None:
    write(git_repo, "leak.py", f'KEY = "{new_key()}"\n')
    git(git_repo, "add", "leak.py")
    commit_unchecked(git_repo)
    git(git_repo, "rm", "-q", "leak.py")
    assert staged(git_repo) == (0, [])
    assert run_keysentry("hook", cwd=git_repo).returncode == 0


def test_first_commit_without_head(git_repo: Path) -> None:
    write(git_repo, "README.md", "hello\n")
    git(git_repo, "add", "README.md")
    assert staged(git_repo) == (0, [])
    write(git_repo, "src/client.js", f'const key = "{new_key()}";\n')
    git(git_repo, "add", "src/client.js")
    code, findings = staged(git_repo)
    assert code == 1
    assert [f["path"] for f in findings] == ["src/client.js"]


def test_linked_worktree_has_its_own_index(git_repo: Path, tmp_path: Path) -> None:
    write(git_repo, "README.md", "hello\n")
    git(git_repo, "add", "README.md")
    commit_unchecked(git_repo)
    other = tmp_path / "feature"
    git(git_repo, "worktree", "add", "-q", "-b", "feature", str(other))
    key = new_key()
    write(other, "pkg/feature.py", f'KEY = "{key}"\n')
    git(other, "add", "pkg/feature.py")

    code, findings = staged(other / "pkg")  # from a subfolder: paths stay repo-relative
    assert code == 1
    assert [(f["path"], f["fingerprint"]) for f in findings] == [("pkg/feature.py", fp(key))]
    assert staged(git_repo) == (0, [])  # the main worktree's index holds nothing staged


def test_superproject_scans_its_own_files_not_the_submodules(
    git_repo: Path, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    git(library, "init", "-q", "-b", "main")
    write(library, "vendored.py", f'KEY = "{new_key()}"\n')
    git(library, "add", "vendored.py")
    commit_unchecked(library)

    write(git_repo, "README.md", "hello\n")
    git(git_repo, "add", "README.md")
    commit_unchecked(git_repo)
    git(git_repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "lib")
    assert "lib" in git(git_repo, "diff", "--cached", "--name-only").split()
    assert staged(git_repo) == (0, [])  # .gitmodules and the submodule pointer only

    own = new_key()
    write(git_repo, "app.py", f'KEY = "{own}"\n')
    git(git_repo, "add", "app.py")
    code, findings = staged(git_repo)
    assert code == 1
    assert [(f["path"], f["fingerprint"]) for f in findings] == [("app.py", fp(own))]

    # inside the submodule, its own index is what counts
    inner = git_repo / "lib"
    write(inner, "more.py", f'KEY = "{new_key()}"\n')
    git(inner, "add", "more.py")
    code, findings = staged(inner)
    assert [f["path"] for f in findings] == ["more.py"]


def test_odd_file_names_are_shown_escaped(git_repo: Path) -> None:
    names = {
        b"with space/new\nline.py": "with space/new\\nline.py",
        "ünïcödé/ключ.py".encode(): "ünïcödé/ключ.py",
        b"latin1-\xff\xfe.py": "latin1-\\xff\\xfe.py",
        b"tab\tand\x1b[31mescape.py": "tab\\tand\\x1b[31mescape.py",
    }
    root = os.fsencode(git_repo)
    for raw in names:
        full = os.path.join(root, raw)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(f'KEY = "{new_key()}"\n'.encode())
    git(git_repo, "add", "-A")

    code, findings = staged(git_repo)
    assert code == 1
    assert sorted(f["path"] for f in findings) == sorted(names.values())
    hook = run_keysentry("hook", cwd=git_repo)
    assert hook.returncode == 1
    for shown in names.values():
        assert f"{shown}:1:8:" in hook.stderr
    assert "\x1b" not in hook.stderr


def test_exclude_globs_and_allow_pragmas_apply(git_repo: Path) -> None:
    allowed = new_key()
    write(
        git_repo, ".keysentry.toml",
        f'exclude = ["fixtures/**"]\nallowed_fingerprints = ["{fp(allowed)}"]\n',
    )
    write(git_repo, "fixtures/sample.py", f'KEY = "{new_key()}"\n')
    write(git_repo, "a.py", f'KEY = "{new_key()}"  # keysentry: allow\n')
    write(git_repo, "b.py", f'# pragma: allowlist nextline secret\nKEY = "{new_key()}"\n')
    write(git_repo, "c.py", f'KEY = "{allowed}"\n')
    git(git_repo, "add", "-A")
    assert staged(git_repo) == (0, [])
    assert run_keysentry("hook", cwd=git_repo).returncode == 0

    caught = new_key()
    write(git_repo, "d.py", f'KEY = "{caught}"\n')
    git(git_repo, "add", "d.py")
    code, findings = staged(git_repo)
    assert code == 1
    assert [f["fingerprint"] for f in findings] == [fp(caught)]


def test_pathspecs_narrow_the_staged_scan(git_repo: Path) -> None:
    write(git_repo, "server/a.py", f'KEY = "{new_key()}"\n')
    write(git_repo, "web/b.js", f'const k = "{new_key()}";\n')
    git(git_repo, "add", "-A")
    code, findings = staged(git_repo, "web")
    assert code == 1
    assert [f["path"] for f in findings] == ["web/b.js"]


def test_large_staged_blob_is_streamed(git_repo: Path) -> None:
    key = new_key()
    filler = b"x = 1\n" * (9 * 1024 * 1024 // 6)  # past one 8 MiB window
    (git_repo / "big.py").write_bytes(filler + f'KEY = "{key}"\n'.encode())
    git(git_repo, "add", "big.py")
    code, findings = staged(git_repo)
    assert code == 1
    [finding] = findings
    assert finding["line"] == filler.count(b"\n") + 1
    assert finding["fingerprint"] == fp(key)


def test_missing_staged_object_is_an_incomplete_scan(git_repo: Path) -> None:
    write(git_repo, "gone.py", "x = 1\n")
    write(git_repo, "kept.py", f'KEY = "{new_key()}"\n')
    git(git_repo, "add", "-A")
    oid = git(git_repo, "rev-parse", ":gone.py").strip()
    (git_repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()

    done = run_keysentry("scan", "--staged", "--format", "json", cwd=git_repo)
    report = json.loads(done.stdout)
    assert done.returncode == 1  # a key was found, which wins over the incomplete scan
    assert [f["path"] for f in report["findings"]] == ["kept.py"]
    assert report["errors"][0]["path"] == "gone.py"
    assert oid in report["errors"][0]["message"]
    assert "gone.py" in done.stderr

    git(git_repo, "rm", "-q", "--cached", "kept.py")
    assert run_keysentry("hook", cwd=git_repo).returncode == 2


def test_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    done = run_keysentry("scan", "--staged", cwd=tmp_path)
    assert done.returncode == 2
    assert "not a git repository" in done.stderr
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    done = run_keysentry("hook", cwd=bare)
    assert done.returncode == 2
    assert "work tree" in done.stderr


def test_scan_needs_paths_or_staged(tmp_path: Path) -> None:
    done = run_keysentry("scan", cwd=tmp_path)
    assert done.returncode == 2
    assert "--staged" in done.stderr


def test_exposure_reads_the_work_tree_folders_of_a_staged_path(git_repo: Path) -> None:
    write(git_repo, "web/package.json", '{"name": "web", "dependencies": {"vite": "5.0.0"}}\n')
    write(git_repo, "web/src/api.js", f'const key = "{new_key()}";\n')
    git(git_repo, "add", "web/src/api.js")
    (git_repo / "web" / "src" / "api.js").unlink()
    (git_repo / "elsewhere").mkdir()
    code, findings = staged(git_repo / "elsewhere")
    assert code == 1
    [finding] = findings
    assert finding["path"] == "web/src/api.js"
    assert finding["exposure"] == "client"
    assert any("web/package.json" in e for e in finding["exposure_evidence"])


def test_hook_labels_a_client_side_key_as_a_section_2_2_violation(git_repo: Path) -> None:
    bundle, server = new_key(), new_key()
    (git_repo / ".env.production").write_text(f"VITE_DEEPSEEK_KEY={bundle}\n")
    (git_repo / "server.py").write_text(f'DEEPSEEK_KEY = "{server}"\n')
    git(git_repo, "add", "-A")
    result = run_keysentry("hook", cwd=git_repo)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    client_at = lines.index(next(x for x in lines if x.startswith(".env.production:1:")))
    assert "CLIENT-SIDE: §2.2 violation" in lines[client_at + 1]
    assert "VITE_" in lines[client_at + 1]
    server_at = lines.index(next(x for x in lines if x.startswith("server.py:1:")))
    assert "CLIENT-SIDE" not in lines[server_at + 1]
