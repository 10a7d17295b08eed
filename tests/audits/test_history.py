"""keysentry history: every object a real repository holds, and where each key lives."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import (
    KEYSENTRY,
    commit_file,
    fast_import_commits,
    git,
    new_key,
    peak_rss_of,
    run_keysentry,
    run_on_tty,
)
from keysentry.audits.history import audit
from keysentry.config import Config
from keysentry.model.key import fingerprint
from keysentry.model.report import Report


def by_key(report: Report, key: str) -> list:
    return [f for f in report.findings if f.fingerprint == fingerprint(key)]


def history_json(*args: str, cwd: Path | None = None) -> tuple[int, dict, str]:
    done = run_keysentry("history", *args, "--format", "json", cwd=cwd)
    return done.returncode, json.loads(done.stdout), done.stderr


def test_removed_key_is_found_with_its_introducing_commit(git_repo):
    key = new_key()
    commit_file(git_repo, "README.md", "hello\n", "first")
    added = commit_file(git_repo, "app/settings.py", f"x = 1\nDEEPSEEK_KEY = '{key}'\n", "add")
    git(git_repo, "rm", "-q", "app/settings.py")
    git(git_repo, "commit", "-q", "-m", "remove the key")

    code, data, _ = history_json(str(git_repo))

    assert code == 1
    [finding] = [f for f in data["findings"] if f["fingerprint"] == fingerprint(key)]
    assert finding["source"] == "blob"
    assert finding["path"] == "app/settings.py"
    assert (finding["line"], finding["column"]) == (2, 17)
    assert finding["commit"] == added
    assert finding["author"] == "Test Author <author@example.com>"
    assert finding["date"].startswith(git(git_repo, "log", "-1", "--format=%aI", added)[:10])
    assert finding["refs"] == ["refs/heads/main"]
    assert finding["in_head"] is False
    assert finding["pushed"] is False
    assert finding["reachable"] is True
    assert key not in json.dumps(data)


def test_each_unique_blob_is_scanned_once_and_reported_at_each_path(git_repo):
    key = new_key()
    content = f"token = '{key}'\n"
    first = commit_file(git_repo, "a.py", content, "a")
    for i in range(5):
        commit_file(git_repo, f"other{i}.txt", f"{i}\n", f"other {i}")
    second = commit_file(git_repo, "copy/b.py", content, "copy")

    report = audit(git_repo, Config())

    unique_blobs = {
        line.split()[2]
        for rev in git(git_repo, "rev-list", "--all").split()
        for line in git(git_repo, "ls-tree", "-r", rev).splitlines()
    }
    assert report.stats["blobs_scanned"] == len(unique_blobs)
    places = {f.path: f.history.commit for f in by_key(report, key)}
    assert places == {"a.py": first, "copy/b.py": second}
    assert all(f.history.in_head for f in by_key(report, key))


def test_every_kind_of_ref_is_audited_and_named(git_repo, tmp_path):
    keys = {name: new_key() for name in ("tag", "notes", "stash", "remote", "head")}
    commit_file(git_repo, "base.txt", "base\n", "base")
    # a tag on a commit no branch holds
    git(git_repo, "checkout", "-q", "-b", "tmp")
    commit_file(git_repo, "tagged.py", f"k = '{keys['tag']}'\n", "tagged")
    git(git_repo, "tag", "v1")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "branch", "-q", "-D", "tmp")
    # a note
    git(git_repo, "notes", "add", "-m", f"deploy with {keys['notes']}", "HEAD")
    # the stash
    (git_repo / "base.txt").write_text(f"wip {keys['stash']}\n")
    git(git_repo, "stash", "-q")
    # a remote-tracking ref: pushed
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(git_repo, "remote", "add", "origin", str(remote))
    commit_file(git_repo, "pushed.py", f"k = '{keys['remote']}'\n", "pushed")
    git(git_repo, "push", "-q", "origin", "main")
    git(git_repo, "fetch", "-q", "origin")
    commit_file(git_repo, "local.py", f"k = '{keys['head']}'\n", "local only")

    report = audit(git_repo, Config())

    def refs(name: str) -> list[str]:
        [finding] = by_key(report, keys[name])
        return finding.history.refs

    assert refs("tag") == ["refs/tags/v1"]
    assert refs("notes") == ["refs/notes/commits"]
    assert refs("stash") == ["refs/stash"]
    assert "refs/remotes/origin/main" in refs("remote")
    assert by_key(report, keys["remote"])[0].history.pushed is True
    assert refs("head") == ["refs/heads/main"]
    assert by_key(report, keys["head"])[0].history.pushed is False
    assert by_key(report, keys["head"])[0].history.in_head is True


def test_dangling_commit_after_reset_hard_is_reported_unreachable(git_repo):
    key = new_key()
    commit_file(git_repo, "a.txt", "a\n", "a")
    lost = commit_file(git_repo, "secret.env", f"KEY={key}\n", "oops")
    git(git_repo, "reset", "-q", "--hard", "HEAD~1")
    git(git_repo, "reflog", "expire", "--expire=now", "--all")  # not even the reflog holds it

    report = audit(git_repo, Config())

    [finding] = by_key(report, key)
    assert finding.history.commit == lost
    assert finding.history.reachable is False
    assert finding.history.refs == []
    assert finding.history.in_head is False


def test_commit_and_tag_messages(git_repo):
    in_commit, in_tag = new_key(), new_key()
    commit_file(git_repo, "a.txt", "a\n", "a")
    sha = commit_file(git_repo, "b.txt", "b\n", f"debug\n\nused {in_commit} to test")
    git(git_repo, "tag", "-a", "release", "-m", f"release notes\nkey: {in_tag}")

    report = audit(git_repo, Config())

    [message] = by_key(report, in_commit)
    assert message.source == "commit-message"
    assert message.history.commit == sha
    assert message.line == 3
    assert message.history.in_head is True
    assert message.history.author == "Test Author <author@example.com>"
    [tag] = by_key(report, in_tag)
    assert tag.source == "tag-message"
    assert tag.history.commit == sha
    assert tag.history.refs == ["refs/tags/release"]
    assert tag.line == 2


def test_key_only_an_evil_merge_introduced(git_repo):
    key = new_key()
    commit_file(git_repo, "a.txt", "a\n", "a")
    git(git_repo, "checkout", "-q", "-b", "side")
    commit_file(git_repo, "side.txt", "side\n", "side")
    git(git_repo, "checkout", "-q", "main")
    commit_file(git_repo, "main.txt", "main\n", "main")
    git(git_repo, "merge", "-q", "--no-commit", "side")
    (git_repo / "config.py").write_text(f"API_KEY = '{key}'\n")
    git(git_repo, "add", "config.py")
    git(git_repo, "commit", "-q", "-m", "Merge branch 'side'")
    merge = git(git_repo, "rev-parse", "HEAD").strip()
    # what gitleaks-style scanners read shows nothing for the merge
    assert key not in git(git_repo, "log", "-p", "--all")

    report = audit(git_repo, Config())

    [finding] = by_key(report, key)
    assert finding.history.commit == merge
    assert finding.history.merge is True
    assert finding.history.in_head is True


def test_range_and_since_audit_only_what_the_range_introduced(git_repo):
    old, new, in_message = new_key(), new_key(), new_key()
    commit_file(git_repo, "old.py", f"k = '{old}'\n", "old")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    commit_file(git_repo, "new.py", f"k = '{new}'\n", "new")
    commit_file(git_repo, "c.txt", "c\n", f"message {in_message}")

    for args in (["--range", f"{base}..HEAD"], ["--since", base]):
        code, data, _ = history_json(str(git_repo), *args)
        found = {f["fingerprint"]: f for f in data["findings"]}
        assert code == 1
        assert set(found) == {fingerprint(new), fingerprint(in_message)}
        assert found[fingerprint(new)]["path"] == "new.py"

    code, data, _ = history_json(str(git_repo), "--range", "HEAD..HEAD")
    assert (code, data["findings"]) == (0, [])


def test_unknown_revision_is_a_clear_error(git_repo):
    commit_file(git_repo, "a.txt", "a\n")
    done = run_keysentry("history", str(git_repo), "--since", "no-such-branch")
    assert done.returncode == 2
    assert "no-such-branch" in done.stderr
    assert "unknown revision" in done.stderr


def test_not_a_repository(tmp_path):
    done = run_keysentry("history", str(tmp_path))
    assert done.returncode == 2
    assert f"{tmp_path}: not a git repository" in done.stderr


def test_partial_clone_with_missing_blobs_warns_and_goes_on(git_repo, tmp_path):
    blob_key, message_key = new_key(), new_key()
    commit_file(git_repo, "a.py", f"k = '{blob_key}'\n", "a")
    commit_file(git_repo, "b.txt", "b\n", "b")
    git(git_repo, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--no-checkout", "--filter=blob:none",
        f"file://{git_repo}", str(clone))

    code, data, stderr = history_json(str(clone))
    assert code == 2
    assert data["stats"]["complete"] is False
    assert "2 object(s) missing" in stderr
    assert data["findings"] == []
    code, data, stderr = history_json(str(clone), "--range", "HEAD~1..HEAD")
    assert (code, data["stats"]["objects_missing"]) == (2, 1)
    assert "1 object(s) missing" in stderr

    # keys found win over the incomplete audit
    git(clone, "commit", "-q", "--allow-empty", "-m", f"note {message_key}")
    code, data, stderr = history_json(str(clone))
    assert code == 1
    assert [f["fingerprint"] for f in data["findings"]] == [fingerprint(message_key)]
    assert "missing" in stderr


def test_damaged_snapshot_with_a_deleted_object(git_repo):
    key = new_key()
    commit_file(git_repo, "keep.py", f"k = '{key}'\n", "keep")
    commit_file(git_repo, "lost.txt", "lost content\n", "lost")
    lost = git(git_repo, "rev-parse", "HEAD:lost.txt").strip()
    (git_repo / ".git" / "objects" / lost[:2] / lost[2:]).unlink()

    report = audit(git_repo, Config())

    assert [f.fingerprint for f in report.findings] == [fingerprint(key)]
    assert report.stats["objects_missing"] == 1
    assert not report.complete
    assert report.exit_code() == 1


def test_shallow_clone_says_history_is_truncated(git_repo, tmp_path):
    old, new = new_key(), new_key()
    commit_file(git_repo, "old.py", f"k = '{old}'\n", "old")
    git(git_repo, "rm", "-q", "old.py")
    git(git_repo, "commit", "-q", "-m", "rm")
    commit_file(git_repo, "new.py", f"k = '{new}'\n", "new")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{git_repo}", str(shallow))

    code, data, stderr = history_json(str(shallow))

    assert code == 1
    assert [f["fingerprint"] for f in data["findings"]] == [fingerprint(new)]
    assert "history truncated" in stderr
    assert "shallow" in stderr


def test_bare_repository(git_repo, tmp_path):
    key = new_key()
    sha = commit_file(git_repo, "a.js", f"const k = '{key}';\n", "a")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(git_repo), str(bare))

    report = audit(bare, Config())

    [finding] = by_key(report, key)
    assert (finding.path, finding.history.commit, finding.history.in_head) == ("a.js", sha, True)


def test_thousands_of_refs(git_repo):
    key = new_key()
    commit_file(git_repo, "a.py", f"k = '{key}'\n", "a")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    lines = "".join(f"create refs/tags/t{i:05d} {head}\n" for i in range(3000))
    subprocess.run(["git", "update-ref", "--stdin"], cwd=git_repo, input=lines.encode(),
                   check=True)

    report = audit(git_repo, Config())

    [finding] = by_key(report, key)
    assert finding.history.refs_total == 3001
    assert finding.history.refs[0] == "refs/heads/main"
    assert len(finding.history.refs) == 1000


def test_large_blob_in_bounded_memory(git_repo):
    key, straddling = new_key(), new_key()
    line = b"x" * 99 + b"\n"
    lines = 160 * 1024 * 1024 // len(line)  # 160 MiB: twenty 8 MiB windows
    window = 8 * 1024 * 1024
    at = window - window % len(line) + 1  # a key straddling the first window boundary
    patches = {at - 1: f" {straddling} ".encode(), lines * len(line) - 38: f" {key} ".encode()}
    block = line * 10_000
    # written block by block: this process must not hold the blob either (a child's
    # peak RSS counts the parent it was forked from)
    with open(git_repo / "big.bin", "wb") as out:
        for start in range(0, lines * len(line), len(block)):
            chunk = block[: lines * len(line) - start]
            for pos, text in patches.items():
                if start <= pos < start + len(chunk):
                    chunk = chunk[: pos - start] + text + chunk[pos - start + len(text) :]
            out.write(chunk)
    git(git_repo, "-c", "core.compression=1", "add", "big.bin")
    git(git_repo, "commit", "-q", "-m", "big")

    code, out, max_rss_kib = peak_rss_of(*KEYSENTRY, "history", str(git_repo), "--format", "json")
    assert code == 1
    found = {f["fingerprint"]: f for f in json.loads(out)["findings"]}

    assert set(found) == {fingerprint(key), fingerprint(straddling)}
    assert found[fingerprint(key)]["line"] == lines
    assert found[fingerprint(straddling)]["line"] == at // len(line) + 1
    assert max_rss_kib < 150 * 1024, f"peak RSS {max_rss_kib} KiB for a 160 MiB blob"


def test_non_utf8_paths_and_messages(git_repo):
    path_key, message_key = new_key(), new_key()
    name = b"caf\xe9-\xff.py"
    (git_repo / os.fsdecode(name)).write_bytes(f"k = '{path_key}'\n".encode())
    git(git_repo, "add", "-A")
    message = b"r\xe9sum\xe9 " + message_key.encode() + b" \xff\n"
    subprocess.run(["git", "-c", "i18n.commitEncoding=latin-1", "commit", "-q", "-F", "-"],
                   cwd=git_repo, input=message, check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "Ren\xe9", "GIT_AUTHOR_EMAIL": "r@x",
                        "GIT_COMMITTER_NAME": "c", "GIT_COMMITTER_EMAIL": "c@x"})

    code, data, _ = history_json(str(git_repo))

    assert code == 1
    found = {f["fingerprint"]: f for f in data["findings"]}
    assert found[fingerprint(path_key)]["path"] == r"caf\xe9-\xff.py"
    assert found[fingerprint(message_key)]["source"] == "commit-message"


def test_config_exclude_applies_to_history_paths(git_repo):
    kept, excluded = new_key(), new_key()
    commit_file(git_repo, "src/app.py", f"k = '{kept}'\n")
    commit_file(git_repo, "tests/fixtures/f.py", f"k = '{excluded}'\n")

    report = audit(git_repo, Config(exclude=["tests/fixtures/**"]))

    assert {f.fingerprint for f in report.findings} == {fingerprint(kept)}


def test_text_report_is_an_incident_summary(git_repo, tmp_path):
    key = new_key()
    commit_file(git_repo, "app.py", f"k = '{key}'\n", "one")
    commit_file(git_repo, "copy.py", f"k = '{key}'\n", "two")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(git_repo, "push", "-q", str(remote), "main")
    git(git_repo, "fetch", "-q", str(remote), "main:refs/remotes/origin/main")

    done = run_keysentry("history", str(git_repo))

    assert done.returncode == 1
    out = done.stdout
    assert "1 distinct key(s) in 2 place(s)" in out
    assert "1 key(s) already PUSHED" in out
    assert out.count("[1] ") == 1 and "[2] " not in out
    assert "app.py:1:6" in out and "copy.py:1:6" in out
    assert "origin/main" in out
    assert "in HEAD" in out
    assert key not in out and key not in done.stderr


def test_progress_only_on_a_terminal_and_silenced_by_quiet(git_repo):
    commit_file(git_repo, "a.txt", "a\n")

    shown = run_on_tty("history", ".", cwd=git_repo)
    assert "objects" in shown and "MB/s" in shown and "findings 0" in shown

    assert run_on_tty("history", ".", "--quiet", cwd=git_repo) == ""
    assert run_keysentry("history", ".", cwd=git_repo).stderr == ""


def test_history_is_a_listed_command():
    done = subprocess.run([*KEYSENTRY, "--help"], capture_output=True, text=True, check=True)
    assert "history" in done.stdout


def test_large_store_read_by_parallel_streams_misses_nothing(git_repo):
    """Over PART_MINIMUM objects the store is split between cat-file processes."""
    commits = 6000
    keys = {i: new_key() for i in (0, 2999, 3000, commits - 1)}
    fast_import_commits(git_repo, commits, keys)

    report = audit(git_repo, Config())

    assert report.stats["blobs_scanned"] == commits
    assert report.stats["commits_scanned"] == commits
    assert {f.fingerprint for f in report.findings} == {fingerprint(k) for k in keys.values()}
    assert all(f.history.reachable for f in report.findings)


def test_dropped_stash_and_staged_only_blobs_are_found(git_repo):
    stashed, staged = new_key(), new_key()
    commit_file(git_repo, "app.py", "x = 1\n", "app")
    (git_repo / "app.py").write_text(f"x = '{stashed}'\n")
    git(git_repo, "stash", "-q")
    git(git_repo, "stash", "drop", "-q")
    (git_repo / "new.py").write_text(f"k = '{staged}'\n")
    git(git_repo, "add", "new.py")

    report = audit(git_repo, Config())

    [from_stash] = by_key(report, stashed)
    assert from_stash.path == "app.py"
    assert from_stash.history.reachable is False
    assert from_stash.history.commit is not None
    [from_index] = by_key(report, staged)
    assert from_index.path == "new.py"
    assert from_index.history.commit is None
    assert from_index.history.reachable is False


def test_a_decompression_bomb_in_history_makes_the_audit_incomplete(git_repo):
    """What a blob could not be fully scanned for is an error, as in a file scan."""
    import gzip

    key = new_key()
    commit_file(git_repo, "assets/bomb.js.gz", gzip.compress(b"\0" * (32 << 20), 9), "bomb")
    commit_file(git_repo, "config.py", f'DEEPSEEK_API_KEY = "{key}"\n', "key")
    bomb = git(git_repo, "rev-parse", "HEAD~1:assets/bomb.js.gz").strip()

    code, report, stderr = history_json(cwd=git_repo)
    assert code == 1  # the key still wins
    assert [f["path"] for f in report["findings"]] == ["config.py"]
    [error] = report["errors"]
    assert error["path"] == f"blob {bomb}"
    assert "compression ratio" in error["message"]
    assert f"blob {bomb}" in stderr and report["stats"]["complete"] is False
