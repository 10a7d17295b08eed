"""keysentry pre-receive: real bare repositories with the hook installed, real `git push`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import commit_file, git, git_env, new_key, run_keysentry
from keysentry.audits.push_policy import bypass_reason, pusher
from keysentry.model.key import fingerprint, redact
from keysentry.sources.git_push import PushError, parse_pre_push, parse_pre_receive
from push_support import Server, SmartHttp, clone, fast_import_history, make_server, push


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return make_server(tmp_path)


@pytest.fixture
def work(server: Server, tmp_path: Path) -> Path:
    """A clone whose main is already on the server (pushed with the hook in place)."""
    repo = clone(server, tmp_path / "work")
    commit_file(repo, "README.md", "hello\n", "first")
    assert push(repo, "origin", "main").returncode == 0
    return repo


def assert_rejected(done: subprocess.CompletedProcess[str], key: str) -> None:
    assert done.returncode != 0
    assert "pre-receive hook declined" in done.stderr
    assert "keysentry: push rejected" in done.stderr
    assert redact(key) in done.stderr
    assert key not in done.stderr


def test_key_in_a_new_commit_is_rejected_and_the_ref_is_not_updated(server, work):
    before = server.ref("main")
    key = new_key()
    commit = commit_file(
        work, "public/config.js", f'const DEEPSEEK_API_KEY = "{key}";\n', "add the client"
    )

    done = push(work, "origin", "main")

    assert_rejected(done, key)
    assert server.ref("main") == before
    found = (
        f"public/config.js:1:27: {redact(key)} (deepseek, high confidence, {fingerprint(key)[:19]})"
    )
    assert f"remote:   {found}" in done.stderr  # the docs show this message
    assert f"commit {commit[:12]}; on refs/heads/main; by Test Author" in done.stderr
    assert "CLIENT-SIDE: §2.2 violation" in done.stderr
    assert "Revoke the key" in done.stderr and "git rebase -i" in done.stderr
    assert "keysentry.bypass" not in done.stderr  # bypassing is off by default
    [record] = server.log()
    assert record["event"] == "rejected"
    assert record["findings"][0]["fingerprint"] == fingerprint(key)
    assert key not in (server.bare / "keysentry-push.log").read_text()


def test_the_same_push_without_the_key_is_accepted(server, work):
    commit = commit_file(work, "public/app.js", "const k = process.env.KEY;\n", "add")

    done = push(work, "origin", "main")

    assert done.returncode == 0, done.stderr
    assert "remote:" not in done.stderr
    assert server.ref("main") == commit
    assert server.log() == []


def test_key_only_in_a_commit_message_is_rejected(server, work):
    key = new_key()
    commit_file(work, "notes.txt", "nothing here\n", f"debugging with {key}")

    done = push(work, "origin", "main")

    assert_rejected(done, key)
    assert "(commit message):1:" in done.stderr


def test_key_only_in_a_merge_is_rejected_as_introduced_by_the_merge(server, work):
    key = new_key()
    git(work, "checkout", "-q", "-b", "side")
    commit_file(work, "side.txt", "side\n", "side")
    git(work, "checkout", "-q", "main")
    commit_file(work, "main.txt", "main\n", "main")
    git(work, "merge", "-q", "--no-commit", "--no-ff", "side")
    (work / "config.py").write_text(f"KEY = '{key}'\n")  # in neither parent: the merge's own
    git(work, "add", "config.py")
    git(work, "commit", "-q", "-m", "merge side")
    before = server.ref("main")

    done = push(work, "origin", "main")

    assert_rejected(done, key)
    assert "config.py:1:8" in done.stderr
    assert "introduced by the merge itself" in done.stderr
    assert server.ref("main") == before


def test_key_only_in_an_annotated_tag_message_is_rejected(server, work):
    key = new_key()
    git(work, "tag", "-a", "v1.0", "-m", f"release, token {key}")

    done = push(work, "origin", "v1.0")

    assert_rejected(done, key)
    assert "(tag message):1:" in done.stderr
    assert server.ref("refs/tags/v1.0") is None


def test_key_on_a_brand_new_branch_is_rejected(server, work):
    key = new_key()
    git(work, "checkout", "-q", "-b", "feature")
    commit_file(work, "src/settings.py", f"API_KEY = '{key}'\n", "settings")

    done = push(work, "origin", "feature")

    assert_rejected(done, key)
    assert "on refs/heads/feature" in done.stderr
    assert server.ref("refs/heads/feature") is None


def test_force_push_that_rewrites_history_with_a_key_is_rejected(server, work):
    commit_file(work, "a.txt", "a\n", "a")
    assert push(work, "origin", "main").returncode == 0
    published = server.ref("main")
    key = new_key()
    git(work, "reset", "-q", "--hard", "HEAD~1")
    commit_file(work, "a.txt", f"a = '{key}'\n", "a, rewritten")

    done = push(work, "--force", "origin", "main")

    assert_rejected(done, key)
    assert server.ref("main") == published


def test_git_notes_with_a_key_are_rejected(server, work):
    key = new_key()
    git(work, "notes", "add", "-m", f"deploy with {key}", "HEAD")

    done = push(work, "origin", "refs/notes/commits")

    assert_rejected(done, key)
    assert server.ref("refs/notes/commits") is None


def test_deleting_a_branch_is_accepted(server, work):
    git(work, "checkout", "-q", "-b", "old")
    commit_file(work, "x.txt", "x\n", "x")
    assert push(work, "origin", "old").returncode == 0

    done = push(work, "origin", ":old")

    assert done.returncode == 0, done.stderr
    assert server.ref("refs/heads/old") is None


def test_ten_thousand_commits_of_old_history_on_a_new_branch_are_not_rescanned(tmp_path):
    """The history (with a key deep in it) reached the server before the hook was installed;
    pushing it again under a new name adds no object, so the old key does not block it."""
    server = make_server(tmp_path, hook=False)
    repo = tmp_path / "big"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    key = new_key()
    fast_import_history(repo, 10_000, planted=f"KEY = '{key}'\n")
    git(repo, "push", "-q", server.url, "main")
    make_hooked = run_keysentry("install-hook", "--pre-receive", str(server.bare))
    assert make_hooked.returncode == 0
    git(repo, "branch", "copy", "main")

    done = push(repo, server.url, "copy")

    assert done.returncode == 0, done.stderr
    assert server.ref("refs/heads/copy") == server.ref("main")
    # and the same history with one new commit holding a key is still caught
    git(repo, "checkout", "-q", "copy")
    new = new_key()
    commit_file(repo, "fresh.py", f"K = '{new}'\n", "fresh")
    again = push(repo, server.url, "copy")
    assert_rejected(again, new)
    assert redact(key) not in again.stderr


def test_concurrent_pushes_each_get_their_own_verdict(server, work, tmp_path):
    clones = []
    for i in range(4):
        repo = clone(server, tmp_path / f"c{i}")
        git(repo, "checkout", "-q", "-b", f"branch{i}")
        content = f"K = '{new_key()}'\n" if i % 2 else f"value = {i}\n"
        commit_file(repo, f"f{i}.py", content, f"change {i}")
        clones.append(repo)
    results: dict[int, subprocess.CompletedProcess[str]] = {}
    barrier = threading.Barrier(len(clones))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = push(clones[i], "origin", f"branch{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for i, done in results.items():
        if i % 2:
            assert done.returncode != 0 and "keysentry: push rejected" in done.stderr
            assert server.ref(f"refs/heads/branch{i}") is None
        else:
            assert done.returncode == 0, done.stderr
            assert server.ref(f"refs/heads/branch{i}") is not None
    assert sorted(r["refs"][0]["ref"] for r in server.log()) == [
        "refs/heads/branch1",
        "refs/heads/branch3",
    ]


def test_bypass_is_accepted_when_allowed_and_logged_with_the_pusher(tmp_path):
    server = make_server(tmp_path, "--allow-bypass")
    work = clone(server, tmp_path / "work")
    key = new_key()
    commit_file(work, "test/fixture.py", f"KEY = '{key}'\n", "fixture")

    refused = push(work, "origin", "main")
    assert "git push -o keysentry.bypass=" in refused.stderr
    no_reason = push(work, "-o", "keysentry.bypass=", "origin", "main")
    assert no_reason.returncode != 0 and "a bypass needs a reason" in no_reason.stderr

    done = push(
        work, "-o", "keysentry.bypass=revoked test key", "origin", "main", GL_USERNAME="alice"
    )

    assert done.returncode == 0, done.stderr
    assert "accepted by bypass from alice (GL_USERNAME)" in done.stderr
    assert server.ref("main") == git(work, "rev-parse", "HEAD").strip()
    record = server.log()[-1]
    assert record["event"] == "bypassed"
    assert (record["pusher"], record["pusher_source"]) == ("alice", "GL_USERNAME")
    assert record["reason"] == "revoked test key"
    assert record["findings"][0]["fingerprint"] == fingerprint(key)
    assert key not in (server.bare / "keysentry-push.log").read_text()


def test_bypass_is_refused_when_the_server_does_not_allow_it(server, work):
    server.config("receive.advertisePushOptions", "true")  # options reach the hook, but
    key = new_key()
    commit_file(work, "a.py", f"KEY = '{key}'\n", "a")

    done = push(work, "-o", "keysentry.bypass=please", "origin", "main", GITEA_PUSHER_NAME="bob")

    assert_rejected(done, key)
    assert "bypassing is not allowed on this server" in done.stderr
    assert server.log()[-1]["pusher"] == "bob"


def _big_push(work: Path) -> None:
    """About 40 MB of new text: far more than a 10 ms budget can read, however fast."""
    line = "x = 'the quick brown fox jumps over the lazy dog' * 3\n"
    (work / "big.txt").write_text(line * (40_000_000 // len(line)))
    git(work, "add", "big.txt")
    git(work, "commit", "-q", "-m", "big")


def test_timeout_rejects_by_default(server, work):
    server.config("keysentry.timeout", "0.01")
    _big_push(work)
    before = server.ref("main")

    done = push(work, "origin", "main")

    assert done.returncode != 0
    assert "the check did not finish within 0.01 s" in done.stderr
    assert server.ref("main") == before
    assert server.log()[-1]["event"] == "rejected-on-timeout"


def test_timeout_accepts_with_a_warning_when_configured(server, work):
    server.config("keysentry.timeout", "0.01")
    server.config("keysentry.onTimeout", "accept")
    _big_push(work)

    done = push(work, "origin", "main")

    assert done.returncode == 0, done.stderr
    assert "accepted unchecked" in done.stderr
    record = server.log()[-1]
    assert record["event"] == "accepted-on-timeout"
    assert record["audit"] == [
        f"keysentry history --range {record['refs'][0]['old']}..{server.ref('main')}"
    ]


def test_a_hook_that_drops_the_quarantine_variables_cannot_see_the_push(server, work):
    """Without GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES the pushed objects
    do not exist for git; keysentry then rejects the push as unchecked, never accepts it."""
    hook = server.bare / "hooks" / "pre-receive"
    real = hook.with_name("pre-receive.real")
    hook.rename(real)
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        f'exec "{real}"\n'
    )
    hook.chmod(0o755)
    key = new_key()
    commit_file(work, "a.py", f"KEY = '{key}'\n", "a")

    done = push(work, "origin", "main")

    assert done.returncode != 0
    assert "keysentry: push rejected: the check could not read everything" in done.stderr
    assert redact(key) not in done.stderr  # it found nothing: the objects were invisible
    server.config("keysentry.onError", "accept")
    accepted = push(work, "origin", "main")
    assert accepted.returncode == 0 and "accepted unchecked" in accepted.stderr


def test_server_allow_list_and_baseline(server, work, tmp_path):
    allowed, baselined, other = new_key(), new_key(), new_key()
    server_config = tmp_path / "server.toml"
    server_config.write_text(
        f'allowed_fingerprints = ["{fingerprint(allowed)}"]\nbaseline = "baseline.json"\n'
    )
    entry = {"fingerprint": fingerprint(baselined), "locations": [{"path": "tests/b.py"}]}
    (tmp_path / "baseline.json").write_text(
        json.dumps({"keysentry_baseline": 1, "entries": [entry]})
    )
    server.config("keysentry.config", str(server_config))
    commit_file(work, "a.py", f"A = '{allowed}'\n", "a")
    commit_file(work, "tests/b.py", f"B = '{baselined}'\n", "b")
    assert push(work, "origin", "main").returncode == 0

    commit_file(work, "c.py", f"C = '{other}'\n", "c")
    assert_rejected(push(work, "origin", "main"), other)


def test_repository_config_is_honoured_only_when_the_server_allows_it(server, work):
    key, triaged, fresh = new_key(), new_key(), new_key()
    (work / ".keysentry.toml").write_text(
        f'allowed_fingerprints = ["{fingerprint(key)}"]\nbaseline = "baseline.json"\n'
    )
    entry = {"fingerprint": fingerprint(triaged), "locations": [{"path": "tests/fixture.py"}]}
    (work / "baseline.json").write_text(json.dumps({"keysentry_baseline": 1, "entries": [entry]}))
    (work / "tests").mkdir()
    (work / "tests" / "fixture.py").write_text(f"K = '{triaged}'\n")
    git(work, "add", ".keysentry.toml", "baseline.json", "tests/fixture.py")
    commit_file(work, "docs/example.md", f"key: {key}\n", "example")

    assert_rejected(push(work, "origin", "main"), key)
    server.config("keysentry.repoConfig", "true")
    done = push(work, "origin", "main")
    assert done.returncode == 0, done.stderr

    commit_file(work, "src/app.py", f"K = '{fresh}'\n", "fresh")  # in neither
    assert_rejected(push(work, "origin", "main"), fresh)


def test_bad_server_setting_rejects_with_its_name(server, work):
    server.config("keysentry.onTimeout", "maybe")
    commit_file(work, "a.txt", "a\n", "a")

    done = push(work, "origin", "main")

    assert done.returncode != 0
    assert "keysentry.onTimeout: 'maybe' must be reject or accept" in done.stderr


def test_push_over_git_daemon(server, work, tmp_path):
    """git://127.0.0.1: receive-pack runs the hook in the daemon's environment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--listen=127.0.0.1",
            f"--port={port}",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={server.bare.parent}",
            str(server.bare.parent),
        ],
        env=git_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"git://127.0.0.1:{port}/{server.bare.name}"
        for _ in range(100):  # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        key = new_key()
        commit_file(work, "a.py", f"KEY = '{key}'\n", "a")
        assert_rejected(push(work, url, "main"), key)
        git(work, "reset", "-q", "--hard", "HEAD~1")
        commit_file(work, "a.py", "KEY = os.environ['KEY']\n", "a")
        done = push(work, url, "main")
        assert done.returncode == 0, done.stderr
        assert server.ref("main") == git(work, "rev-parse", "HEAD").strip()
    finally:
        daemon.terminate()
        daemon.wait()


# --- the parts, on their own --------------------------------------------------------------


def test_hook_input_is_validated_with_the_line_named():
    old, new = "1" * 40, "2" * 40
    assert parse_pre_receive(f"{old} {new} refs/heads/a b\n")[0].ref == "refs/heads/a b"
    with pytest.raises(PushError, match="line 2"):
        parse_pre_receive(f"{old} {new} refs/heads/a\nnonsense\n")
    assert parse_pre_push(f"refs/heads/x {new} refs/heads/x {old}\n")[0].remote == old
    with pytest.raises(PushError, match="line 1"):
        parse_pre_push("refs/heads/x HEAD\n")


def test_push_option_and_pusher_come_from_the_servers_environment():
    env = {
        "GIT_PUSH_OPTION_COUNT": "2",
        "GIT_PUSH_OPTION_0": "ci.skip",
        "GIT_PUSH_OPTION_1": "keysentry.bypass= a reason ",
    }
    assert bypass_reason(env) == "a reason"
    assert bypass_reason({"GIT_PUSH_OPTION_COUNT": "x"}) is None
    assert pusher({"GITHUB_USER_LOGIN": "octo", "REMOTE_USER": "web"}).describe() == (
        "octo (GITHUB_USER_LOGIN)"
    )
    assert pusher({"REMOTE_USER": "web"}).source == "REMOTE_USER"
    assert pusher({}).name == (os.environ.get("USER") or pusher({}).name)


def test_push_over_smart_http(tmp_path):
    """http://127.0.0.1 through `git http-backend` (CGI, as behind a web server): the key
    push is rejected with git's `remote:` lines, a clean one accepted, and a bypass push
    option reaches the hook (HTTP carries push options once the server advertises them)."""
    server = make_server(tmp_path, "--allow-bypass")
    server.config("receive.advertisePushOptions", "true")
    work = clone(server, tmp_path / "work")
    commit_file(work, "README.md", "hello\n", "first")
    with SmartHttp(server, user="alice") as http:
        assert push(work, http.url, "main").returncode == 0
        assert server.ref("main") == git(work, "rev-parse", "HEAD").strip()
        key = new_key()
        commit_file(work, "public/app.js", f'const key = "{key}";\n', "client")

        done = push(work, http.url, "main")

        assert_rejected(done, key)
        assert "remote: keysentry: push rejected" in done.stderr
        assert f"remote:   public/app.js:1:14: {redact(key)}" in done.stderr
        assert server.ref("main") != git(work, "rev-parse", "HEAD").strip()

        done = push(work, "-o", "keysentry.bypass=test key, revoked", http.url, "main")

        assert done.returncode == 0, done.stderr
        assert "accepted by bypass from alice (REMOTE_USER): test key, revoked" in done.stderr
        assert server.ref("main") == git(work, "rev-parse", "HEAD").strip()
        assert server.log()[-1]["event"] == "bypassed"
        commit_file(work, "README.md", "hello again\n", "clean")
        done = push(work, http.url, "main")
        assert done.returncode == 0, done.stderr
        assert server.ref("main") == git(work, "rev-parse", "HEAD").strip()
