"""Keys in names (issue 17 §8): a file, folder, archive member, staged path or ref named
with a key is a finding of its own (source "name"), and no report format, nor stderr,
ever shows such a name unredacted."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import commit_file, git, new_key, run_keysentry
from keysentry.model.key import fingerprint, redact

FORMATS = ["text", "json", "sarif", "github", "gitlab", "junit", "markdown"]


def named_tree(root: Path) -> dict[str, str]:
    keys = {what: new_key() for what in ("folder", "file", "member", "control")}
    folder = root / f"backup_{keys['folder']}"
    folder.mkdir()
    (folder / "a.txt").write_text("nothing here\n")
    (folder / "b.txt").write_text("nothing here either\n")
    (root / f"{keys['file']}.env").write_text("EMPTY=\n")
    with zipfile.ZipFile(root / "bundle.zip", "w") as archive:
        archive.writestr(f"static/{keys['member']}.js", "console.log(1)\n")
    (root / "control.env").write_text(f"TOKEN={keys['control']}\n")
    return keys


@pytest.mark.parametrize("format_", FORMATS)
def test_keys_in_names_are_found_and_never_shown(tmp_path, format_):
    keys = named_tree(tmp_path)
    done = run_keysentry("scan", ".", "-f", format_, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    for key in keys.values():
        assert key not in done.stdout and key not in done.stderr


def test_each_named_place_is_one_finding_with_source_name(tmp_path):
    keys = named_tree(tmp_path)
    done = run_keysentry("scan", ".", "-f", "json", cwd=tmp_path)
    findings = json.loads(done.stdout)["findings"]
    by_key = {}
    for finding in findings:
        by_key.setdefault(finding["fingerprint"], []).append(finding)
    assert {k: len(by_key[fingerprint(v)]) for k, v in keys.items()} == dict.fromkeys(keys, 1)
    for what in ("folder", "file", "member"):
        (finding,) = by_key[fingerprint(keys[what])]
        assert finding["source"] == "name", what
        assert finding["redacted"] in finding["path"]
    (member,) = by_key[fingerprint(keys["member"])]
    assert member["path"].startswith("bundle.zip!static/") and member["decoded_from"] == ["zip"]
    assert by_key[fingerprint(keys["control"])][0]["source"] == "file"


def test_a_path_in_an_error_is_redacted(tmp_path):
    key = new_key()
    done = run_keysentry("scan", f"missing_{key}.env", "-f", "json", cwd=tmp_path)
    assert done.returncode == 2
    assert key not in done.stdout and key not in done.stderr
    assert "missing_sk-" in json.loads(done.stdout)["errors"][0]["path"]


def test_a_staged_file_named_with_a_key_is_found(git_repo):
    key, control = new_key(), new_key()
    (git_repo / f"{key}.txt").write_text("plain\n")
    (git_repo / "app.env").write_text(f"TOKEN={control}\n")
    git(git_repo, "add", ".")
    done = run_keysentry("scan", "--staged", "-f", "json", cwd=git_repo)
    found = {f["fingerprint"]: f for f in json.loads(done.stdout)["findings"]}
    assert found[fingerprint(key)]["source"] == "name"
    assert fingerprint(control) in found
    assert key not in done.stdout and key not in done.stderr


def test_branches_tags_and_committed_paths_named_with_keys_in_history(git_repo):
    branch, tag, path, control = (new_key() for _ in range(4))
    commit_file(git_repo, "app.env", f"TOKEN={control}\n", "add")
    commit_file(git_repo, f"old_{path}/config.env", f"TOKEN={control}\n", "more")
    git(git_repo, "branch", f"wip-{branch}")
    git(git_repo, "tag", f"v1-{tag}")

    for format_ in ("json", "text", "sarif"):
        done = run_keysentry("history", "-f", format_, cwd=git_repo)
        assert done.returncode == 1, done.stderr
        for key in (branch, tag, path, control):
            assert key not in done.stdout and key not in done.stderr, format_
    done = run_keysentry("history", "-f", "json", cwd=git_repo)
    found = {}
    for finding in json.loads(done.stdout)["findings"]:
        found.setdefault(finding["fingerprint"], []).append(finding)
    for key in (branch, tag, path):
        (finding,) = found[fingerprint(key)]
        assert finding["source"] == "name"
    assert found[fingerprint(branch)][0]["refs"] == [f"refs/heads/wip-{branch[:7]}...{branch[-4:]}"]
    assert {f["source"] for f in found[fingerprint(control)]} == {"blob"}


def test_a_source_map_naming_a_file_with_a_key_never_shows_it(tmp_path):
    """A map on disk whose ``sources`` names a file with a key: the key in its
    sourcesContent is placed in that source, named redacted."""
    in_name, in_content = new_key(), new_key()
    (tmp_path / "app.js.map").write_text(
        json.dumps({"version": 3, "sources": [f"src/{in_name}.js"], "mappings": "AAAA",
                    "sourcesContent": [f"const deepseek = '{in_content}';\n"]})
    )  # fmt: skip
    for format_ in FORMATS:
        done = run_keysentry("scan", ".", "-f", format_, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert in_name not in done.stdout + done.stderr, format_
    findings = json.loads(run_keysentry("scan", ".", "-f", "json", cwd=tmp_path).stdout)["findings"]
    [placed] = [f for f in findings if f["fingerprint"] == fingerprint(in_content)]
    assert placed["original_source"] == f"src/{redact(in_name)}.js"
