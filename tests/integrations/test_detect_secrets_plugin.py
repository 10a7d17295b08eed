"""The detect-secrets plugin (issue 2 §6), through the real detect-secrets CLIs."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import new_key, run_keysentry, tool

SECRET_TYPE = "DeepSeek API Key"
PREFIX = "sk" + "-"
# detect-secrets skips every line shaped like `x = f(...)` before any plugin sees it, which
# hides `client = OpenAI(api_key="sk-...")`; the README tells users to turn that filter off.
NO_INDIRECT = ("--disable-filter", "detect_secrets.filters.heuristic.is_indirect_reference")


@pytest.fixture(scope="module")
def plugin_path() -> str:
    result = run_keysentry("plugin-path")
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert Path(path).is_file() and path.endswith(".py")
    return path


def detect_secrets(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("detect-secrets"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def hook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("detect-secrets-hook"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def deepseek_results(baseline: dict) -> dict[str, list[tuple[int, str]]]:
    return {
        name: [(r["line_number"], r["hashed_secret"]) for r in rows if r["type"] == SECRET_TYPE]
        for name, rows in baseline["results"].items()
        if any(r["type"] == SECRET_TYPE for r in rows)
    }


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # detect-secrets' hashed_secret


def test_scan_with_the_plugin_finds_keys_and_skips_placeholders(
    tmp_path: Path, plugin_path: str
) -> None:
    keys = [new_key() for _ in range(4)]
    (tmp_path / "client.py").write_text(
        "from openai import OpenAI\n"
        f'client = OpenAI(api_key="{keys[0]}", base_url="https://api.deepseek.com")\n'
    )
    (tmp_path / "call.sh").write_text(f"curl -H 'Authorization: Bearer {keys[1]}' $URL\n")
    (tmp_path / "settings.json").write_text(json.dumps({"llm": {"key": keys[2]}}) + "\n")
    (tmp_path / "bundle.js").write_text(f'var a=1;var k="\\u0022{keys[3]}\\u0022";\n')
    (tmp_path / "examples.md").write_text(
        "\n".join(
            f"- `{PREFIX}{body}`"
            for body in ("0" * 32, "0123456789abcdef" * 2, "abcdef" * 5 + "ab",
                         "1234567890abcdef" * 2, "deadbeef" * 4)
        )
        + f"\n- `disk-{keys[0][3:]}` and `{keys[0]}ff` and `{PREFIX}proj-{keys[1][3:]}`\n"
    )
    files = ["client.py", "call.sh", "settings.json", "bundle.js", "examples.md"]
    result = detect_secrets("scan", "--plugin", plugin_path, *NO_INDIRECT, *files, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    baseline = json.loads(result.stdout)
    assert {"name": "DeepSeekDetector", "path": f"file://{plugin_path}"} in baseline[
        "plugins_used"
    ]
    assert deepseek_results(baseline) == {
        "client.py": [(2, sha1(keys[0]))],
        "call.sh": [(1, sha1(keys[1]))],
        "settings.json": [(1, sha1(keys[2]))],
        "bundle.js": [(1, sha1(keys[3]))],
    }


def test_without_the_flag_detect_secrets_hides_keys_in_calls(
    tmp_path: Path, plugin_path: str
) -> None:
    """Why the README's command disables `is_indirect_reference` (a detect-secrets heuristic)."""
    call, plain = new_key(), new_key()
    (tmp_path / "client.py").write_text(f'client = OpenAI(api_key="{call}")\nKEY = "{plain}"\n')
    default = detect_secrets("scan", "--plugin", plugin_path, "client.py", cwd=tmp_path)
    assert deepseek_results(json.loads(default.stdout)) == {"client.py": [(2, sha1(plain))]}
    flagged = detect_secrets(
        "scan", "--plugin", plugin_path, *NO_INDIRECT, "client.py", cwd=tmp_path
    )
    assert deepseek_results(json.loads(flagged.stdout)) == {
        "client.py": [(1, sha1(call)), (2, sha1(plain))]
    }


def test_plugin_loads_from_its_path_outside_the_package(tmp_path: Path, plugin_path: str) -> None:
    """detect-secrets imports the file by path under another module name; it must still work."""
    copy = tmp_path / "plugins" / "deepseek_plugin.py"
    copy.parent.mkdir()
    copy.write_text(Path(plugin_path).read_text())
    key = new_key()
    (tmp_path / "a.env").write_text(f"DEEPSEEK_API_KEY={key}\n")
    result = detect_secrets("scan", "--plugin", str(copy), "a.env", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert deepseek_results(json.loads(result.stdout)) == {"a.env": [(1, sha1(key))]}


def test_hook_blocks_a_new_key_and_passes_a_baselined_one(
    git_repo: Path, plugin_path: str
) -> None:
    tmp_path = git_repo  # detect-secrets-hook runs inside a git repository
    old, new = new_key(), new_key()
    (tmp_path / "legacy.py").write_text(f"# old config\nLEGACY = {old}\n")
    scan = detect_secrets(
        "scan", "--plugin", plugin_path, *NO_INDIRECT, "legacy.py", cwd=tmp_path
    )
    assert scan.returncode == 0, scan.stderr
    (tmp_path / ".secrets.baseline").write_text(scan.stdout)
    assert deepseek_results(json.loads(scan.stdout)) == {"legacy.py": [(2, sha1(old))]}

    passed = hook("--baseline", ".secrets.baseline", "legacy.py", cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr

    (tmp_path / "new.py").write_text(f"x = 1\ny = 2\nclient = OpenAI(api_key='{new}')\n")
    blocked = hook("--baseline", ".secrets.baseline", "legacy.py", "new.py", cwd=tmp_path)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert f"Secret Type: {SECRET_TYPE}" in output
    assert "new.py:3" in output
    assert "legacy.py" not in output
    assert new not in output and old not in output

    (tmp_path / "new.py").write_text(f"NEW = {PREFIX}{'0' * 32}\n")
    placeholder = hook("--baseline", ".secrets.baseline", "new.py", cwd=tmp_path)
    assert placeholder.returncode == 0, placeholder.stdout + placeholder.stderr


def test_inline_allowlist_pragma_is_honoured_by_detect_secrets(
    tmp_path: Path, plugin_path: str
) -> None:
    key = new_key()
    (tmp_path / "doc.py").write_text(f"EXAMPLE = {key}  # pragma: allowlist secret\n")
    result = detect_secrets("scan", "--plugin", plugin_path, "doc.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert deepseek_results(json.loads(result.stdout)) == {}
