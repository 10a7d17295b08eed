"""`keysentry scan` as users run it: output, JSON report, exit codes, bad paths (issue 2 §2-3)."""

from __future__ import annotations

import json
import os
import pty
import py_compile
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import KEYSENTRY, REPO_ROOT, git, new_key, run_keysentry
from keysentry import __version__
from keysentry.model.key import fingerprint, redact

ESC = "\x1b"


def scan_json(*args: str, cwd: Path | None = None) -> tuple[int, dict, str]:
    result = run_keysentry("scan", "--format", "json", *args, cwd=cwd)
    return result.returncode, json.loads(result.stdout), result.stderr


def readme_finding_fields() -> set[str]:
    """The finding fields the README documents (first column of its 'Each finding' table)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("Each finding:", 1)[1].split("\n\n", 2)[1]
    fields: set[str] = set()
    for row in table.splitlines()[2:]:
        fields.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    return fields


# Present in every finding (issue 2 §2 and the README); others appear only in some.
ALWAYS = {
    "rule_id", "fingerprint", "redacted", "path", "line", "column", "provider", "confidence",
    "provider_evidence", "source", "snippet", "exposure", "exposure_evidence", "severity",
    "decoded_from",
}


# --- text output ----------------------------------------------------------------------------


def two_files_with_keys(root: Path) -> tuple[str, str]:
    first, second = new_key(), new_key()
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(f"a = 1\nKEY = '{first}'\nB = '{second}'\n")
    (root / "notes.txt").write_text(f"token: {first}\n")
    return first, second


def test_text_report_grouped_by_file_and_plain_when_piped(tmp_path: Path) -> None:
    first, second = two_files_with_keys(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run(
        [*KEYSENTRY, "scan", str(tmp_path)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 1
    out = result.stdout
    assert ESC not in out
    lines = out.splitlines()
    headers = [i for i, line in enumerate(lines) if line in ("src/app.py", "notes.txt")]
    assert len(headers) == 2
    app = lines.index("src/app.py")
    assert lines[app + 1].lstrip().startswith("2:8 ")
    assert redact(first) in lines[app + 1]
    block = "\n".join(lines[app : app + 8])
    assert "3:6 " in block and redact(second) in block
    assert out.count("src/app.py") == 1 and out.count("notes.txt") == 1
    assert "3 finding(s) of 2 distinct key(s) in 2 file(s) scanned" in out
    for key in (first, second):
        assert key not in out and key not in result.stderr


def test_text_report_coloured_on_a_terminal_and_with_color(tmp_path: Path) -> None:
    two_files_with_keys(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    primary, replica = pty.openpty()
    proc = subprocess.Popen(
        [*KEYSENTRY, "scan", str(tmp_path)], stdout=replica, stderr=subprocess.PIPE, env=env
    )
    os.close(replica)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=60) == 1
    assert ESC + "[" in b"".join(chunks).decode()

    forced = run_keysentry("scan", "--color", str(tmp_path))
    assert forced.returncode == 1 and ESC + "[" in forced.stdout
    assert ESC not in run_keysentry("scan", "--no-color", str(tmp_path)).stdout


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    key = new_key()
    name = f"evil{ESC}[31mred\nsecond line\r\x07.txt"
    (tmp_path / name).write_text(f"k = {key}\n")
    for extra in ((), ("--color",)):
        result = run_keysentry("scan", *extra, str(tmp_path))
        assert result.returncode == 1
        assert "evil\\x1b[31mred\\nsecond line\\r\\x07.txt" in result.stdout
        assert "[31mred" not in result.stdout.replace("\\x1b[31mred", "")
        assert "\x07" not in result.stdout and "\r" not in result.stdout
    _code, report, _ = scan_json(str(tmp_path))
    assert report["findings"][0]["path"] == "evil\\x1b[31mred\\nsecond line\\r\\x07.txt"
    missing = run_keysentry("scan", str(tmp_path / f"gone{ESC}]0;title\x07"))
    assert missing.returncode == 2
    assert ESC not in missing.stderr and "\x07" not in missing.stderr
    assert "gone\\x1b]0;title\\x07" in missing.stderr


def test_undecodable_file_name_bytes_are_escaped(tmp_path: Path) -> None:
    key = new_key()
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.txt"
    with open(raw, "wb") as handle:
        handle.write(f"k = {key}\n".encode())
    code, report, _ = scan_json(str(tmp_path))
    assert code == 1
    assert report["findings"][0]["path"] == "caf\\xe9.txt"


# --- JSON report ----------------------------------------------------------------------------


def test_json_report_has_the_documented_schema(tmp_path: Path) -> None:
    key = new_key()
    (tmp_path / "a.env").write_text(f"DEEPSEEK_API_KEY={key}\n")
    code, report, _ = scan_json(str(tmp_path), str(tmp_path / "missing.txt"))
    assert code == 1
    assert {"version", "findings", "errors", "stats"} <= set(report)
    assert report["version"] == __version__
    (finding,) = report["findings"]
    documented = readme_finding_fields()
    assert ALWAYS | {"secret"} <= documented
    assert set(finding) >= ALWAYS, ALWAYS - set(finding)
    assert set(finding) <= documented, f"undocumented: {set(finding) - documented}"
    assert "secret" not in finding
    assert finding["fingerprint"] == fingerprint(key)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", finding["fingerprint"])
    assert finding["redacted"] == key[:7] + "..." + key[-4:]
    assert (finding["path"], finding["line"], finding["column"]) == ("a.env", 1, 18)
    assert finding["provider"] == "deepseek" and finding["confidence"] == "high"
    assert finding["source"] == "file"
    assert finding["snippet"] == "DEEPSEEK_API_KEY=" + redact(key)
    assert report["errors"] == [
        {"path": str(tmp_path / "missing.txt"), "message": report["errors"][0]["message"]}
    ]
    stats = report["stats"]
    assert stats["files_scanned"] == 1 and stats["findings"] == 1 and stats["errors"] == 1
    assert stats["complete"] is False


def test_paths_are_repository_relative_whatever_the_argument_or_folder(tmp_path: Path) -> None:
    """`scan dist` reports `dist/app.js`: the path CI systems and baselines can point at."""
    key = new_key()
    repo = tmp_path / "repo"
    (repo / "proj" / "sub").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "proj" / "sub" / "c.js").write_text(f"const k = '{key}';\n")
    runs = [
        (repo, ("proj",)), (repo, ("proj/",)), (repo, (str(repo / "proj"),)), (repo, (".",)),
        (repo / "proj" / "sub", (".",)), (repo / "proj" / "sub", ("c.js",)),
        (tmp_path, ("repo/proj",)), (tmp_path, ("./repo/proj/sub/../sub/c.js",)),
    ]
    for cwd, args in runs:
        code, report, _ = scan_json(*args, cwd=cwd)
        assert code == 1
        assert [f["path"] for f in report["findings"]] == ["proj/sub/c.js"], (cwd, args)


def test_outside_a_repository_paths_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    key = new_key()
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "proj" / "sub" / "c.js").write_text(f"const k = '{key}';\n")
    for args in (("proj",), (str(tmp_path / "proj"),), ("proj/",)):
        code, report, _ = scan_json(*args, cwd=tmp_path)
        assert code == 1
        assert [f["path"] for f in report["findings"]] == ["proj/sub/c.js"], args
    # a folder elsewhere: relative to that folder; a file: as given
    code, report, _ = scan_json(str(tmp_path / "proj"), cwd=tmp_path / "other")
    assert [f["path"] for f in report["findings"]] == ["sub/c.js"]
    code, report, _ = scan_json("./proj/sub/../sub/c.js", cwd=tmp_path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["./proj/sub/../sub/c.js"]


def test_stdin_dash(tmp_path: Path) -> None:
    key = new_key()
    result = run_keysentry(
        "scan", "--format", "json", "-", stdin=f"x\nbase_url=api.deepseek.com k={key}\n".encode()
    )
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["path"], finding["line"], finding["column"]) == ("<stdin>", 2, 29)
    assert finding["source"] == "stdin"
    assert run_keysentry("scan", "-", stdin=b"nothing here\n").returncode == 0


def test_output_file_and_show_secrets(tmp_path: Path) -> None:
    key = new_key()
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "k.py").write_text(f"KEY = '{key}'  # deepseek\n")
    out = tmp_path / "report.json"
    result = run_keysentry("scan", "--format", "json", "--output", str(out), str(tmp_path / "tree"))
    assert result.returncode == 1
    assert result.stdout == ""
    written = out.read_text()
    assert json.loads(written)["findings"][0]["redacted"] == redact(key)
    assert key not in written and key not in result.stderr

    shown = run_keysentry("scan", "--format", "json", "--show-secrets", str(tmp_path / "tree"))
    assert json.loads(shown.stdout)["findings"][0]["secret"] == key
    text_shown = run_keysentry("scan", "--show-secrets", str(tmp_path / "tree"))
    assert key in text_shown.stdout


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_full_key_appears_nowhere_without_show_secrets(tmp_path: Path, fmt: str) -> None:
    keys = [new_key() for _ in range(3)]
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "one.js").write_text(f"a='{keys[0]}',b='{keys[1]}'\n")
    (tmp_path / "tree" / "two.bin").write_bytes(b"\x00\x01" + keys[2].encode() + b"\xff\n")
    out = tmp_path / f"report.{fmt}"
    args = ("scan", "--format", fmt, str(tmp_path / "tree"))
    printed = run_keysentry(*args)
    written = run_keysentry(*args, "--output", str(out))
    assert printed.returncode == written.returncode == 1
    for key in keys:
        for text in (printed.stdout, printed.stderr, written.stdout, written.stderr,
                     out.read_text()):
            assert key not in text
            assert key[3:] not in text
        assert redact(key) in printed.stdout


# --- exit codes and bad paths ---------------------------------------------------------------


def test_exit_codes(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing to see\n" + "sk-" + "0" * 32 + "\n")
    assert run_keysentry("scan", str(clean)).returncode == 0
    (clean / "b.txt").write_text(new_key())
    assert run_keysentry("scan", str(clean)).returncode == 1
    assert run_keysentry("scan").returncode == 2  # no path: usage error
    assert run_keysentry("scan", "--format", "xml", str(clean)).returncode == 2
    assert run_keysentry("scan", str(tmp_path / "missing")).returncode == 2
    # 1 wins over an incomplete scan
    assert run_keysentry("scan", str(clean), str(tmp_path / "missing")).returncode == 1


def test_nonexistent_and_unreadable_paths_are_reported_and_the_rest_scanned(
    tmp_path: Path,
) -> None:
    key = new_key()
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "k.txt").write_text(key)
    missing = str(tmp_path / "no-such-file.txt")
    unreadable = "/proc/self/mem"  # exists, but reading it fails with EIO (even as root)
    result = run_keysentry(
        "scan", "--format", "json", missing, unreadable, str(tmp_path / "ok")
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [f["redacted"] for f in report["findings"]] == [redact(key)]
    errors = {e["path"]: e["message"] for e in report["errors"]}
    assert set(errors) == {missing, unreadable}
    assert "No such file" in errors[missing]
    assert "error" in errors[unreadable].lower()
    for path in (missing, unreadable):
        assert path in result.stderr
    assert report["stats"]["complete"] is False

    only_bad = run_keysentry("scan", missing, unreadable)
    assert only_bad.returncode == 2
    assert missing in only_bad.stderr and unreadable in only_bad.stderr
    assert "scan incomplete" in only_bad.stdout


# --- what gets walked -----------------------------------------------------------------------


def test_binary_files_are_scanned(tmp_path: Path) -> None:
    pyc_key, db_key = new_key(), new_key()
    source = tmp_path / "settings.py"
    source.write_text(f"API_KEY = '{pyc_key}'\n")
    pyc = tmp_path / "tree" / "__pycache__" / "settings.cpython-311.pyc"
    pyc.parent.mkdir(parents=True)
    py_compile.compile(str(source), cfile=str(pyc), doraise=True)
    source.unlink()
    with sqlite3.connect(tmp_path / "tree" / "app.sqlite3") as db:
        db.execute("create table settings (name text, value text)")
        db.execute("insert into settings values (?, ?)", ("deepseek_key", db_key))
    db.close()
    code, report, _ = scan_json(str(tmp_path / "tree"), "--include-deps")  # __pycache__ too
    assert code == 1
    found = {f["path"]: f["fingerprint"] for f in report["findings"]}
    assert found == {
        os.path.join("__pycache__", "settings.cpython-311.pyc"): fingerprint(pyc_key),
        "app.sqlite3": fingerprint(db_key),
    }
    code, report, _ = scan_json(str(tmp_path / "tree"))  # by default a cache is not the source
    assert [f["path"] for f in report["findings"]] == ["app.sqlite3"]
    assert report["stats"]["skipped_dirs"] == 1


def test_git_directory_skipped_but_the_work_tree_scanned(git_repo: Path) -> None:
    tracked, hidden = new_key(), new_key()
    (git_repo / "app.py").write_text(f"KEY = '{tracked}'\n")
    git(git_repo, "add", "app.py")
    git(git_repo, "commit", "-q", "-m", "add")
    (git_repo / ".git" / "description").write_text(f"{hidden}\n")
    code, report, _ = scan_json(str(git_repo))
    assert code == 1
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(tracked)]
    assert all(not f["path"].startswith(".git") for f in report["findings"])


def test_symlinks_neither_loop_nor_escape_the_tree(tmp_path: Path) -> None:
    outside_key, inside_key = new_key(), new_key()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env").write_text(f"K={outside_key}\n")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "real.txt").write_text(f"K={inside_key}\n")
    (tree / "a" / "b" / "loop").symlink_to("../..", target_is_directory=True)
    (tree / "self").symlink_to(".", target_is_directory=True)
    (tree / "escape").symlink_to(outside, target_is_directory=True)
    (tree / "escape-file.env").symlink_to(outside / "secret.env")
    result = run_keysentry("scan", "--format", "json", str(tree), timeout=60)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [(f["path"], f["fingerprint"]) for f in report["findings"]] == [
        (os.path.join("a", "b", "real.txt"), fingerprint(inside_key))
    ]
    assert report["stats"]["files_scanned"] == 1


@pytest.mark.parametrize("build_dir", ["dist", "build", ".next", "out"])
def test_build_output_is_scanned(tmp_path: Path, build_dir: str) -> None:
    key = new_key()
    bundle = tmp_path / build_dir / "static" / "chunks" / "main.3f9a1c.js"
    bundle.parent.mkdir(parents=True)
    bundle.write_text('!function(){var e={apiKey:"' + key + '"};fetch("/x",e)}();')
    code, report, _ = scan_json(str(tmp_path))
    assert code == 1
    assert [f["path"] for f in report["findings"]] == [
        os.path.join(build_dir, "static", "chunks", "main.3f9a1c.js")
    ]


def test_unwritable_output_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "clean.txt").write_text("nothing\n")
    target = tmp_path / "no-such-dir" / "report.json"
    result = run_keysentry("scan", "--output", str(target), str(tmp_path / "clean.txt"))
    assert result.returncode == 2
    assert str(target) in result.stderr and "Traceback" not in result.stderr
