"""Issue 15 end to end: a Vite-style app built by esbuild with source maps, keys committed,
removed, pushed to a bare remote, committed locally, and blocked by the hook.

The guide must point every bundle key at its source, tell the four cases apart, and its
printed commands for the blocked key must leave ``keysentry history`` clean of it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, git, git_env, new_key, run_keysentry
from keysentry.model.key import fingerprint, redact

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      VITE_DEEPSEEK_API_KEY: ${{ secrets.DEEPSEEK_API_KEY }}
    steps:
      - run: npm run build
"""


def write_app(root: Path) -> None:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "config.js").write_text(
        "export const apiKey = import.meta.env.VITE_DEEPSEEK_API_KEY;\n"
    )
    (root / "src" / "api.js").write_text(
        'import { apiKey } from "./config.js";\n'
        "export async function ask(question) {\n"
        '  const r = await fetch("https://api.deepseek.com/chat/completions", {\n'
        "    headers: { Authorization: `Bearer ${apiKey}` }, body: question });\n"
        "  return r.json();\n"
        "}\n"
    )
    (root / "src" / "main.js").write_text(
        'import("./api.js").then((m) => m.ask("hi"));\nconsole.log("app");\n'
    )


def vite_like_build(root: Path, key: str) -> list[str]:
    """What Vite does with VITE_* variables: inline the value; esbuild does the bundling
    (hashed chunk names, external source maps). The chunk file names, sorted."""
    subprocess.run(
        [
            str(ESBUILD), "src/main.js", "--bundle", "--minify", "--splitting", "--format=esm",
            "--sourcemap", "--outdir=dist/assets", "--entry-names=[name]-[hash]",
            "--chunk-names=chunk-[hash]",
            f'--define:import.meta.env.VITE_DEEPSEEK_API_KEY="{key}"',
        ],
        cwd=root, check=True, capture_output=True,
    )
    return sorted(p.name for p in (root / "dist" / "assets").iterdir())


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("incident")
    remote = base / "remote.git"
    git(base, "init", "-q", "--bare", str(remote))
    repo = base / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(remote))
    keys = {name: new_key() for name in ("bundle", "pushed", "local", "blocked")}

    write_app(repo)
    (repo / ".gitignore").write_text("dist/\n.env\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploy.yml").write_text(WORKFLOW)
    (repo / ".env").write_text(f"VITE_DEEPSEEK_API_KEY={keys['bundle']}\n")
    vite_like_build(repo, keys["bundle"])
    (repo / "server").mkdir()
    (repo / "server" / "settings.py").write_text(f"DEEPSEEK_API_KEY = '{keys['pushed']}'\n")
    commit_all(repo, "app and server")
    (repo / "server" / "settings.py").write_text("import os\nKEY = os.environ['KEY']\n")
    commit_all(repo, "read the key from the environment")
    git(repo, "push", "-q", "origin", "main")  # the removed key is on the remote
    (repo / "server" / "local.py").write_text(f"DEEPSEEK_API_KEY = '{keys['local']}'\n")
    commit_all(repo, "local experiment")  # committed, never pushed

    installed = run_keysentry("install-hook", cwd=repo)
    assert installed.returncode == 0, installed.stderr
    (repo / "server" / "worker.py").write_text(f"DEEPSEEK_API_KEY = '{keys['blocked']}'\n")
    git(repo, "add", "server/worker.py")
    blocked = subprocess.run(
        ["git", "commit", "-q", "-m", "worker"], cwd=repo, capture_output=True, text=True,
        env={**git_env(), "NO_COLOR": "1"},
    )
    assert blocked.returncode != 0, "the hook must block the commit"
    (repo / "server" / "worker.py").write_text("import os\nKEY = os.environ['KEY']\n")
    commit_all(repo, "worker reads the environment")  # the key's blob is now dangling

    outputs = {}
    for fmt in ("text", "markdown", "json"):
        done = run_keysentry("guide", "-f", fmt, cwd=repo, env={"COLUMNS": "100"})
        assert done.returncode == 1, done.stderr
        outputs[fmt] = done.stdout
    return {"repo": repo, "keys": keys, "hook": blocked.stderr, **outputs}


def _keys(incident: dict) -> dict[str, dict]:
    by_fp = {k["fingerprint"]: k for k in json.loads(incident["json"])["keys"]}
    return {name: by_fp[fingerprint(key)] for name, key in incident["keys"].items()}


def test_every_guide_format_names_the_source_file_and_line_of_the_bundle_key(incident):
    facts = _keys(incident)["bundle"]
    assert facts["client"] is True
    built = facts["build_output"]
    assert built and all(p.startswith("dist/assets/") for p in built)
    # best evidence first: the source map, then the .env, then the CI setting
    assert facts["sources"][0].startswith("src/config.js:1  (source map of dist/assets/chunk-")
    assert any(s.startswith(".env:1  ") for s in facts["sources"])
    assert any(
        s.startswith(".github/workflows/deploy.yml:6  (defines VITE_DEEPSEEK_API_KEY")
        for s in facts["sources"]
    )
    for fmt in ("text", "markdown"):
        out = incident[fmt]
        block = out[out.index(f"Key 1: {'`' if fmt == 'markdown' else ''}") : out.index("Key 2: ")]
        assert redact(incident["keys"]["bundle"]) in block  # the client key comes first
        replace_step = block[block.index("Replace the key") : block.index("Rebuild and redeploy")]
        assert "src/config.js:1" in replace_step, fmt
        places = [line.strip(" -`") for line in replace_step.splitlines()[1:] if "  (" in line]
        assert places and places[0].startswith("src/config.js:1"), fmt
        assert not any(p.startswith("dist/") for p in places), fmt  # that is for the rebuild
        rebuild = block[block.index("Rebuild and redeploy") :]
        assert "dist/assets/chunk-" in rebuild, fmt
    checklist = json.loads(incident["json"])["checklist"]
    edit = next(
        i for i in checklist
        if i["key"] == fingerprint(incident["keys"]["bundle"]) and i["step"] == "replace-in-code"
    )
    assert any("src/config.js:1" in d for d in edit["details"])


def test_each_key_is_told_how_far_it_got(incident):
    facts = _keys(incident)
    assert facts["pushed"]["stage"] == "pushed-or-published"
    assert facts["local"]["stage"] == "committed-not-pushed"
    assert facts["blocked"]["stage"] == "never-committed"
    assert facts["blocked"]["local_objects"] is True
    assert facts["blocked"]["stage_text"] == "blocked before any commit"
    steps: dict[str, list[dict]] = {}
    for item in json.loads(incident["json"])["checklist"]:
        steps.setdefault(item["key"], []).append(item)

    def titles(name: str) -> list[str]:
        return [i["title"] for i in steps[fingerprint(incident["keys"][name])]]

    assert titles("pushed")[0] == "Revoke the key now"
    assert titles("local")[0] == "Revoke the key if this clone may be shared"
    assert titles("blocked")[0] == "Revoke the key only if it was shared some other way"
    assert "Clear it from git's object store" in titles("blocked")
    assert "Purge it from git history" not in titles("blocked")
    assert "Purge it from git history" in titles("local")


def test_the_hook_says_the_key_was_caught_before_it_left(incident):
    message = incident["hook"]
    assert "caught before any commit" in message
    assert "No need to revoke" in message
    assert "leaked" not in message.replace("not leaked", "")
    assert "git reflog expire --expire-unreachable=now --all && git gc --prune=now" in message
    assert incident["keys"]["blocked"] not in message


def test_the_printed_commands_clear_the_blocked_key_from_history(incident, tmp_path):
    # on a copy: the other tests read the same repository
    repo = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(incident["repo"]), str(repo)], check=True)
    blocked = fingerprint(incident["keys"]["blocked"])
    before = run_keysentry("history", "-f", "json", cwd=repo)
    assert blocked in before.stdout
    clear = next(
        i for i in json.loads(incident["json"])["checklist"]
        if i["key"] == blocked and i["step"] == "clear-local-objects"
    )
    assert clear["commands"]
    assert any("git stash list" in d for d in clear["details"])  # warned first
    for command in clear["commands"]:
        subprocess.run(command, shell=True, cwd=repo, check=True, capture_output=True)
    after = run_keysentry("history", "-f", "json", cwd=repo)
    assert after.returncode == 1  # the committed keys are still there...
    assert blocked not in after.stdout  # ...the blocked one is gone


def test_text_guide_is_a_summary_table_then_compact_blocks(incident):
    text = incident["text"]
    lines = text.splitlines()
    assert lines[2].split() == ["#", "key", "exposure", "pushed", "where"]
    table = [row.split()[1] for row in lines[3:7]]
    # the one rule: severity (the client key is critical), exposure, then pushed
    assert table[0] == redact(incident["keys"]["bundle"]) and "CLIENT (§2.2)" in lines[3]
    assert table.index(redact(incident["keys"]["pushed"])) < table.index(
        redact(incident["keys"]["local"])
    )
    # the steps that every key shares are written once
    assert text.count("Prevent a repeat, then confirm") == 1
    assert all(len(line) <= 100 for line in lines if not line.lstrip().startswith(("$", "git")))
    assert "the key now" in text and "CLIENT-SIDE (§2.2 violation)" in text
    for key in incident["keys"].values():
        assert key not in text + incident["markdown"] + incident["json"]


def test_history_text_uses_the_same_order(incident):
    done = run_keysentry("history", cwd=incident["repo"])
    assert done.returncode == 1, done.stderr
    pushed, local = (redact(incident["keys"][n]) for n in ("pushed", "local"))
    assert done.stdout.index(pushed) < done.stdout.index(local)


def test_evidence_is_cut_to_the_strongest_three_unless_verbose_and_wraps_to_columns(incident):
    short = run_keysentry("guide", cwd=incident["repo"], env={"COLUMNS": "72"})
    full = run_keysentry("guide", "-v", cwd=incident["repo"], env={"COLUMNS": "72"})
    why_short = [line for line in short.stdout.splitlines() if line.strip().startswith("Why:")]
    why_full = [line for line in full.stdout.splitlines() if line.strip().startswith("Why:")]
    assert len(why_short) == 3 and len(why_full) > 3
    assert why_full[:3] == why_short  # strongest first, the same three
    assert "-v shows them" in short.stdout and "-v shows them" not in full.stdout
    prose = [
        line for line in short.stdout.splitlines()
        if line.startswith("     ") and not line.lstrip().startswith(("$", "git", "#"))
        and " " in line.strip()
    ]
    assert prose and all(len(line) <= 72 for line in prose)
