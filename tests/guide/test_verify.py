"""--verify: opt-in live checks against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from balance_server import BalanceServer, running_server, verify_env

from conftest import git, new_key, run_keysentry
from keysentry.guide.verify import VerifyConfigError, base_url, skip_reason
from keysentry.model.key import fingerprint, redact
from keysentry.model.verification import Verification


@pytest.fixture
def balance_server():
    with running_server() as server:
        yield server


def write_key(folder: Path, name: str, key: str, provider: str = "deepseek") -> None:
    base = (
        "https://api.deepseek.com" if provider == "deepseek" else "https://dashscope.aliyuncs.com"
    )
    (folder / name).write_text(f'BASE_URL = "{base}"\nAPI_KEY = "{key}"\n')


def verifications(stdout: str) -> dict[str, dict]:
    return {f["fingerprint"]: f["verification"] for f in json.loads(stdout)["findings"]}


def scan_verify(
    folder: Path, server: BalanceServer, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`keysentry scan . --verify -f json [args]` in folder, its checks sent to server."""
    return run_keysentry(
        "scan", ".", "--verify", "-f", "json", *args, cwd=folder, env=verify_env(server, **env)
    )


def test_each_answer_becomes_a_status_and_each_key_is_sent_once(tmp_path, balance_server):
    answers = ["live", "unavailable", "revoked", "429", "500", "redirect"]
    keys = {answer: new_key() for answer in answers}
    for answer, key in keys.items():
        balance_server.answers[key] = answer
        write_key(tmp_path, f"{answer}.py", key)
    write_key(tmp_path, "live_again.py", keys["live"])  # the same key twice: one request

    done = scan_verify(tmp_path, balance_server)

    assert done.returncode == 1, done.stderr
    found = verifications(done.stdout)
    by_answer = {answer: found[fingerprint(key)] for answer, key in keys.items()}
    assert by_answer["live"]["status"] == "live"
    assert by_answer["live"]["is_available"] is True
    assert by_answer["unavailable"]["status"] == "live"
    assert by_answer["unavailable"]["is_available"] is False
    assert by_answer["revoked"]["status"] == "revoked"
    assert by_answer["429"] == {**by_answer["429"], "status": "unknown"}
    assert "429" in by_answer["429"]["reason"]
    assert by_answer["500"]["status"] == "unknown" and "500" in by_answer["500"]["reason"]
    assert by_answer["redirect"]["status"] == "unknown"
    assert "redirect not followed" in by_answer["redirect"]["reason"]
    assert all(v["checked_at"].endswith("Z") for v in by_answer.values())
    sent = balance_server.fingerprints()
    assert sorted(sent) == sorted(fingerprint(k) for k in keys.values())
    assert not any("stolen" in path for path, _ in balance_server.requests)
    for key in keys.values():
        assert key not in done.stdout and key not in done.stderr


def test_a_slow_answer_times_out_as_unknown(tmp_path, balance_server):
    key = new_key()
    balance_server.answers[key] = "slow"
    write_key(tmp_path, "app.py", key)
    done = scan_verify(tmp_path, balance_server, KEYSENTRY_VERIFY_TIMEOUT="0.5")
    result = verifications(done.stdout)[fingerprint(key)]
    assert result["status"] == "unknown"
    assert "timed out" in result["reason"]


def test_at_most_four_requests_at_a_time(tmp_path, balance_server):
    keys = [new_key() for _ in range(8)]
    for index, key in enumerate(keys):
        balance_server.answers[key] = "pause"
        write_key(tmp_path, f"app{index}.py", key)
    done = scan_verify(tmp_path, balance_server)
    assert {v["status"] for v in verifications(done.stdout).values()} == {"live"}
    assert 2 <= balance_server.most_in_flight <= 4
    assert len(balance_server.requests) == 8  # no retries


def test_network_errors_are_unknown_with_the_reason(tmp_path, balance_server):
    key = new_key()
    write_key(tmp_path, "app.py", key)
    closed = BalanceServer()  # bound, then closed: nothing listens on its port
    url = closed.url
    closed.server_close()
    done = scan_verify(tmp_path, balance_server, KEYSENTRY_VERIFY_BASE_URL=url)
    result = verifications(done.stdout)[fingerprint(key)]
    assert result["status"] == "unknown"
    assert "network error" in result["reason"]


def test_nothing_is_sent_without_verify(tmp_path, git_repo, balance_server):
    key = new_key()
    balance_server.answers[key] = "live"
    write_key(tmp_path, "app.py", key)
    done = run_keysentry("scan", ".", "-f", "json", cwd=tmp_path, env=verify_env(balance_server))
    assert done.returncode == 1
    assert "verification" not in json.loads(done.stdout)["findings"][0]
    write_key(git_repo, "app.py", key)
    report = tmp_path / "report.json"
    report.write_text(done.stdout)
    run_keysentry("guide", "--from", str(report), cwd=git_repo, env=verify_env(balance_server))
    assert balance_server.requests == []


def test_a_dashscope_key_is_never_sent_to_deepseek(tmp_path, balance_server):
    dashscope_key, deepseek_key = new_key(), new_key()
    balance_server.answers[deepseek_key] = "live"
    write_key(tmp_path, "qwen.py", dashscope_key, provider="dashscope")
    write_key(tmp_path, "app.py", deepseek_key)
    done = scan_verify(tmp_path, balance_server)
    found = verifications(done.stdout)
    assert found[fingerprint(dashscope_key)] == {
        "status": "skipped",
        "reason": "not verified: attributed to DashScope",
    }
    assert found[fingerprint(deepseek_key)]["status"] == "live"
    assert balance_server.fingerprints() == [fingerprint(deepseek_key)]
    text = run_keysentry("scan", ".", "--verify", cwd=tmp_path, env=verify_env(balance_server))
    assert "not verified: attributed to DashScope" in text.stdout


def test_proxies_from_the_environment_are_honoured(tmp_path, balance_server):
    key = new_key()
    balance_server.answers[key] = "live"
    write_key(tmp_path, "app.py", key)
    # Nothing listens on localhost:9; the request can only arrive through the proxy.
    done = scan_verify(
        tmp_path,
        balance_server,
        KEYSENTRY_VERIFY_BASE_URL="http://localhost:9",
        http_proxy=balance_server.url,
        HTTP_PROXY=balance_server.url,
        no_proxy="",
        NO_PROXY="",
    )
    assert verifications(done.stdout)[fingerprint(key)]["status"] == "live"
    assert balance_server.requests == [("http://localhost:9/user/balance", fingerprint(key))]


@pytest.mark.parametrize("url", ["http://example.com", "ftp://127.0.0.1/", "https://"])
def test_an_unsafe_base_url_is_refused_before_any_request(tmp_path, url):
    write_key(tmp_path, "app.py", new_key())
    done = run_keysentry(
        "scan", ".", "--verify", cwd=tmp_path, env={"KEYSENTRY_VERIFY_BASE_URL": url}
    )
    assert done.returncode == 2
    assert "KEYSENTRY_VERIFY_BASE_URL" in done.stderr
    with pytest.raises(VerifyConfigError):
        base_url({"KEYSENTRY_VERIFY_BASE_URL": url})


def test_default_endpoint_and_attribution_rules():
    assert base_url({}) == "https://api.deepseek.com"
    assert base_url({"KEYSENTRY_VERIFY_BASE_URL": "https://proxy.example/v/"}) == (
        "https://proxy.example/v"
    )
    assert skip_reason(["deepseek", "unknown"]) is None
    assert skip_reason(["unknown"]) is None
    assert "DashScope" in (skip_reason(["deepseek", "dashscope"]) or "")


def test_guide_verify_puts_live_keys_first(git_repo, balance_server):
    revoked, live = new_key(), new_key()
    balance_server.answers[live] = "live"
    (git_repo / ".env").write_text(f"VITE_DEEPSEEK_API_KEY={revoked}\n")  # client-side: ranks high
    write_key(git_repo, "server.py", live)
    plain = run_keysentry("guide", "-f", "json", cwd=git_repo, env=verify_env(balance_server))
    assert plain.returncode == 1, plain.stderr
    assert [k["fingerprint"] for k in json.loads(plain.stdout)["keys"]] == [
        fingerprint(revoked),
        fingerprint(live),
    ]
    assert balance_server.requests == []

    done = run_keysentry(
        "guide", "--verify", "-f", "json", cwd=git_repo, env=verify_env(balance_server)
    )
    assert done.returncode == 1, done.stderr
    keys = json.loads(done.stdout)["keys"]
    assert [k["fingerprint"] for k in keys] == [fingerprint(live), fingerprint(revoked)]
    assert [k["verification"]["status"] for k in keys] == ["live", "revoked"]
    text = run_keysentry("guide", "--verify", cwd=git_repo, env=verify_env(balance_server))
    assert "1 still LIVE" in text.stdout
    assert text.stdout.index("[LIVE]") < text.stdout.index(f"Key 2: {redact(revoked)}")
    assert live not in text.stdout + text.stderr


def test_guide_cannot_verify_keys_a_report_does_not_hold(tmp_path, balance_server):
    key = new_key()
    write_key(tmp_path, "app.py", key)
    report = tmp_path / "report.json"
    run_keysentry("scan", ".", "-f", "json", "-o", str(report), cwd=tmp_path)
    done = run_keysentry(
        "guide",
        "--from",
        str(report),
        "--verify",
        "-f",
        "json",
        cwd=tmp_path,
        env=verify_env(balance_server),
    )
    result = json.loads(done.stdout)["keys"][0]["verification"]
    assert result["status"] == "skipped" and "--show-secrets" in result["reason"]
    assert balance_server.requests == []


def test_history_verify_checks_keys_found_in_commits(git_repo, balance_server):
    key = new_key()
    balance_server.answers[key] = "live"
    write_key(git_repo, "app.py", key)
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "add")
    done = run_keysentry(
        "history", "--verify", "-f", "json", cwd=git_repo, env=verify_env(balance_server)
    )
    assert done.returncode == 1, done.stderr
    assert verifications(done.stdout)[fingerprint(key)]["status"] == "live"
    assert balance_server.fingerprints() == [fingerprint(key)]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("bad_status", "malformed HTTP answer"),
        ("many_headers", "malformed HTTP answer"),
        ("huge_header", "malformed HTTP answer"),
        ("not_json", "not a balance answer"),
        ("truncated", "truncated body"),
        ("huge_body", "oversized body"),
        ("echo", "HTTP 500"),
        ("drip_body", "timed out after 2 s"),
        ("drip_headers", "timed out after 2 s"),
    ],
)
def test_hostile_answers_are_unknown_and_the_other_keys_still_verified(
    tmp_path, balance_server, answer, reason
):
    """Issue 17 §5, §6: malformed, misleading and endless answers are `unknown`, never
    `live`, never a crash; the deadline covers the whole request; no key is echoed."""
    key, control = new_key(), new_key()
    balance_server.answers[key] = answer
    balance_server.answers[control] = "live"
    write_key(tmp_path, "hostile.py", key)
    write_key(tmp_path, "control.py", control)

    # the timeout only turns a hang into a failure: each answer drips for far longer
    done = run_keysentry(
        "scan", ".", "--verify", "-f", "json",
        cwd=tmp_path,
        timeout=60,
        env=verify_env(balance_server),
    )

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    found = verifications(done.stdout)
    result = found[fingerprint(key)]
    assert result["status"] == "unknown", result
    assert reason in result["reason"]
    assert found[fingerprint(control)]["status"] == "live"
    assert key not in done.stdout and key not in done.stderr


def test_a_verification_reads_back_from_a_json_report_unchanged(tmp_path, balance_server):
    """The typed Verification writes the JSON it always wrote, and the guide reads it back."""
    key = new_key()
    balance_server.answers[key] = "unavailable"
    write_key(tmp_path, "app.py", key)
    done = scan_verify(tmp_path, balance_server, "-o", "report.json")
    record = verifications((tmp_path / "report.json").read_text())[fingerprint(key)]
    assert list(record) == ["status", "is_available", "checked_at"], done.stderr
    assert Verification.from_dict(record).to_dict() == record
    guide = run_keysentry("guide", "--from", "report.json", "-f", "json", cwd=tmp_path)
    assert json.loads(guide.stdout)["keys"][0]["verification"] == record
