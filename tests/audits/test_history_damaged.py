"""keysentry history on damaged repositories: a corrupt object, a ref to a missing commit,
an alternate object store that is gone. Every key git can still read is reported
(issue 17 §3, §4), with an error that names the problem, and exit 1 (keys found)."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

from conftest import commit_file, fast_import_commits, git, new_key, run_keysentry
from keysentry.audits.history import audit
from keysentry.config import Config
from keysentry.model.key import fingerprint

HANG_GUARD = 120  # seconds: only so that a hang fails the test instead of the run


def history(repo: Path, *args: str) -> tuple[int, dict, str]:
    done = run_keysentry("history", str(repo), "--format", "json", *args, timeout=HANG_GUARD)
    return done.returncode, json.loads(done.stdout), done.stderr


def fingerprints(data: dict) -> set[str]:
    return {f["fingerprint"] for f in data["findings"]}


def pack_order(repo: Path) -> list[tuple[str, str]]:
    """(oid, type) of every object in the order a full audit reads them."""
    out = git(repo, "cat-file", "--batch-all-objects", "--unordered", "--batch-check")
    return [tuple(line.split()[:2]) for line in out.splitlines()]


def corrupt_packed(repo: Path, oid: str) -> None:
    """Flip bytes inside one object's compressed data in its pack (its header stays intact)."""
    (idx,) = (repo / ".git" / "objects" / "pack").glob("*.idx")
    entries = (
        subprocess.run(
            ["git", "show-index"], input=idx.read_bytes(), capture_output=True, check=True
        )
        .stdout.decode()
        .splitlines()
    )
    offsets = sorted((int(line.split()[0]), line.split()[1]) for line in entries)
    ends = [o for o, _ in offsets[1:]] + [idx.with_suffix(".pack").stat().st_size - 20]
    offset, in_pack = next(
        (o, end - o) for (o, name), end in zip(offsets, ends, strict=True) if name == oid
    )
    pack = idx.with_suffix(".pack")
    data = bytearray(pack.read_bytes())
    for i in range(offset + in_pack // 2, offset + in_pack - 2):
        data[i] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    done = subprocess.run(
        ["git", "cat-file", "-p", oid], cwd=repo, capture_output=True, check=False
    )
    assert done.returncode != 0, "the object should be unreadable now"


def corrupt_loose(repo: Path, content: bytes) -> str:
    """A loose blob whose header inflates but whose body does not (a bad checksum)."""
    oid = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo,
            input=content,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    path = repo / ".git" / "objects" / oid[:2] / oid[2:]
    raw = bytearray(zlib.compress(b"blob %d\0" % len(content) + content))
    raw[-4:] = bytes(4)  # the adler-32 checksum: inflate fails at the very end
    path.chmod(0o644)
    path.write_bytes(bytes(raw))
    return oid


def test_a_corrupt_pack_object_before_the_keys_loses_none_of_them(git_repo):
    keys = [new_key() for _ in range(6)]
    for i, key in enumerate(keys):
        # padding files sort first in each tree, so a padding blob is read before the keys
        commit_file(git_repo, f"a{i}.txt", f"padding {i}\n" * 200, f"pad {i}")
        commit_file(git_repo, f"z{i}.env", f"KEY={key}\n", f"key {i}")
    git(git_repo, "repack", "-adq")
    order = pack_order(git_repo)
    key_blobs = {git(git_repo, "rev-parse", f"HEAD:z{i}.env").strip() for i in range(6)}
    bad = next(oid for oid, kind in order if kind == "blob" and oid not in key_blobs)
    assert any(oid in key_blobs for oid, _ in order[[o for o, _ in order].index(bad) + 1 :])
    corrupt_packed(git_repo, bad)

    code, data, stderr = history(git_repo)

    assert code == 1, stderr
    assert fingerprints(data) == {fingerprint(k) for k in keys}
    assert all(f["commit"] for f in data["findings"])  # attribution still works
    (error,) = data["errors"]
    assert error["path"] == f"object {bad}"
    assert "corrupt" in error["message"]
    assert "Traceback" not in stderr


def test_a_corrupt_loose_object_is_reported_and_the_audit_goes_on(git_repo):
    key = new_key()
    commit_file(git_repo, "app.py", f"KEY = '{key}'\n", "key")
    bad = corrupt_loose(git_repo, b"x" * 5000)

    code, data, stderr = history(git_repo)

    assert code == 1, stderr
    assert fingerprints(data) == {fingerprint(key)}
    assert [e["path"] for e in data["errors"]] == [f"object {bad}"]
    code, data, stderr = history(git_repo, "--range", "HEAD")
    assert (code, fingerprints(data)) == (1, {fingerprint(key)})


def test_parallel_streams_each_go_on_past_a_corrupt_object(git_repo):
    """Over PART_MINIMUM objects the store is read by forked readers: each restarts git."""
    commits = 6000
    keys = {i: new_key() for i in (1, 2999, 3001, commits - 1)}
    fast_import_commits(git_repo, commits, keys)
    blobs = [oid for oid, kind in pack_order(git_repo) if kind == "blob"]
    key_blobs = {
        git(git_repo, "rev-parse", f"main~{commits - 1 - i}:f{i % 50}.py").strip() for i in keys
    }
    bad = [b for b in (blobs[10], blobs[len(blobs) // 2 + 10]) if b not in key_blobs]
    for oid in bad:
        corrupt_packed(git_repo, oid)

    code, data, stderr = history(git_repo)

    assert code == 1, stderr
    assert fingerprints(data) == {fingerprint(k) for k in keys.values()}
    assert {e["path"] for e in data["errors"]} == {f"object {oid}" for oid in bad}
    assert data["stats"]["blobs_scanned"] >= commits - len(bad)


def test_head_naming_a_missing_commit_still_reports_every_key(git_repo):
    keys = [new_key() for _ in range(3)]
    for i, key in enumerate(keys):
        commit_file(git_repo, f"k{i}.env", f"KEY={key}\n", f"key {i}")
    (git_repo / ".git" / "refs" / "heads" / "main").write_text("1" * 40 + "\n")

    code, data, stderr = history(git_repo)

    assert code == 1, stderr
    assert fingerprints(data) == {fingerprint(k) for k in keys}
    for finding in data["findings"]:
        assert finding["path"] == f"(blob {finding['blob']})"
        assert "1" * 40 in finding["unattributed"]
    messages = [e["message"] for e in data["errors"]]
    assert any("3 finding(s) are reported without their commits" in m for m in messages)
    assert "Traceback" not in stderr


def test_alternates_pointing_nowhere_still_reports_every_key(tmp_path):
    source, clone = tmp_path / "source", tmp_path / "clone"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    commit_file(source, "base.txt", "base\n", "base")
    git(tmp_path, "clone", "-q", "--shared", str(source), str(clone))
    key = new_key()
    message_key = new_key()
    commit_file(clone, "app.env", f"KEY={key}\n", f"add {message_key}")
    subprocess.run(["rm", "-rf", str(source)], check=True)

    code, data, stderr = history(clone)

    assert code == 1, stderr
    assert fingerprints(data) == {fingerprint(key), fingerprint(message_key)}
    assert all("alternate" in f["unattributed"] for f in data["findings"])
    assert any("without their commits" in e["message"] for e in data["errors"])


def test_one_stream_reads_again_past_a_corrupt_object(git_repo):
    """One stream (as each of keysentry org's repositories is read) starts with a single
    ``cat-file --batch-all-objects`` pass; it stops at the corrupt object, so the audit
    reads the store again object by object and loses no key, with one error for it."""
    keys = [new_key() for _ in range(3)]
    for i, key in enumerate(keys):
        commit_file(git_repo, f"a{i}.txt", f"padding {i}\n" * 200, f"pad {i}")
        commit_file(git_repo, f"z{i}.env", f"KEY={key}\n", f"key {i}")
    git(git_repo, "repack", "-adq")
    key_blobs = {git(git_repo, "rev-parse", f"HEAD:z{i}.env").strip() for i in range(3)}
    bad = next(o for o, kind in pack_order(git_repo) if kind == "blob" and o not in key_blobs)
    corrupt_packed(git_repo, bad)

    report = audit(git_repo, Config(), streams=1)

    assert {f.fingerprint for f in report.findings} == {fingerprint(k) for k in keys}
    assert [e.path for e in report.errors] == [f"object {bad}"]
    assert report.stats["blobs_scanned"] == sum(
        1 for _, kind in pack_order(git_repo) if kind == "blob"
    ) - 1  # every blob but the unreadable one, each once
