"""Client-side exposure (issue 5): every verdict and its evidence, on a labelled tree.

The tree (tests/exposure_fixtures.py) holds one file per rule, plus a real esbuild
bundle of a React-ish app whose key comes from import.meta.env.VITE_* and
process.env.NEXT_PUBLIC_* (both inlined by --define, as Vite and Next.js do). It is
built once per session and scanned once through the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from exposure_fixtures import BROWSER_GLOBALS, CASES, NO_SIGNAL, Case, materialise

from conftest import REPO_ROOT, git, new_key, run_keysentry
from keysentry.config import Config
from keysentry.engine.scanner import Scanner
from keysentry.exposure import Judge, severity
from keysentry.model.finding import VIOLATION
from keysentry.model.target import ScanTarget

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
ASAR = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "asar"

ENTRY = """\
import React, { useState } from "react";

const client = {
  baseURL: "https://api.deepseek.com",
  apiKey: import.meta.env.VITE_DEEPSEEK_KEY,
  backupKey: process.env.NEXT_PUBLIC_DEEPSEEK_KEY,
};

export function App() {
  const [answer, setAnswer] = useState("");
  async function ask() {
    const r = await fetch(client.baseURL + "/chat/completions", {
      headers: { Authorization: "Bearer " + client.apiKey, "X-Backup": client.backupKey },
    });
    setAnswer(await r.text());
  }
  return React.createElement("button", { onClick: ask }, answer);
}

document.getElementById("root").append(String(App()));
"""

# a CommonJS stand-in for react, so esbuild emits its CommonJS interop runtime as it does
# for the real package
FAKE_REACT = """\
exports.createElement = function (type, props) { return { type: type, props: props }; };
exports.useState = function (value) { return [value, function () {}]; };
"""


def build_bundle(web: Path) -> tuple[Path, str, str]:
    """A minified, hashed esbuild bundle in web/dist/assets; returns it and its two keys."""
    (web / "node_modules" / "react").mkdir(parents=True)
    (web / "node_modules" / "react" / "index.js").write_text(FAKE_REACT)
    (web / "node_modules" / "react" / "package.json").write_text('{"name": "react"}')
    (web / "src").mkdir(parents=True, exist_ok=True)
    (web / "src" / "main.jsx").write_text(ENTRY)
    vite_key, next_key = new_key(), new_key()
    subprocess.run(
        [
            str(ESBUILD),
            "src/main.jsx",
            "--bundle",
            "--minify",
            "--format=esm",
            "--sourcemap",
            "--entry-names=[dir]/index-[hash]",
            "--outdir=dist/assets",
            f'--define:import.meta.env.VITE_DEEPSEEK_KEY="{vite_key}"',
            f'--define:process.env.NEXT_PUBLIC_DEEPSEEK_KEY="{next_key}"',
            "--log-level=warning",
        ],
        cwd=web,
        check=True,
        capture_output=True,
    )
    (bundle,) = (web / "dist" / "assets").glob("index-*.js")
    return bundle, vite_key, next_key


def findings_by_path(stdout: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in json.loads(stdout)["findings"]:
        found.setdefault(finding["path"], []).append(finding)
    return found


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("labelled")
    keys = materialise(root)
    bundle, vite_key, next_key = build_bundle(root / "web")
    result = run_keysentry("scan", ".", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    return {
        "root": root,
        "keys": keys,
        "bundle": bundle,
        "bundle_keys": (vite_key, next_key),
        "stdout": result.stdout,
        "findings": findings_by_path(result.stdout),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_every_rule_gives_its_verdict_and_evidence(labelled: dict[str, Any], case: Case) -> None:
    (finding,) = labelled["findings"][case.path]
    assert finding["fingerprint"].endswith(
        __import__("hashlib").sha256(labelled["keys"][case.path].encode()).hexdigest()
    )
    assert (finding["exposure"], finding["exposure_evidence"]) == (case.verdict, case.evidence)
    if case.verdict == "client":
        assert finding["severity"] == "critical"
        assert finding["violation"] == VIOLATION
    else:
        assert finding["severity"] in ("high", "medium")
        assert finding["violation"] is None


def test_real_esbuild_bundle_is_client_side(labelled: dict[str, Any]) -> None:
    bundle: Path = labelled["bundle"]
    rel = bundle.relative_to(labelled["root"]).as_posix()
    found = labelled["findings"][rel]
    text = bundle.read_text()
    assert "import.meta" not in text and "process.env" not in text  # really inlined
    assert sorted(f["fingerprint"] for f in found) == sorted(
        "sha256:" + __import__("hashlib").sha256(k.encode()).hexdigest()
        for k in labelled["bundle_keys"]
    )
    line_length = len(text.splitlines()[0])
    for finding in found:
        assert finding["exposure"] == "client"
        assert finding["severity"] == "critical"
        assert finding["exposure_evidence"] == [
            f"hashed chunk name ({bundle.name}): bundler output",
            "bundler output: esbuild runtime (CommonJS wrapper helper)",
            f"minified code: a {line_length:,}-character line around the key",
            "dist/ folder: build output, usually deployed to browsers",
            "assets/ folder: bundled front-end assets",
            BROWSER_GLOBALS,
            "front-end package (web/package.json depends on vite)",
        ]
    # the source map holds the entry's source, which names the variables, not the keys
    assert not any(p.endswith(".map") for p in labelled["findings"])


def test_json_lists_client_findings_first(labelled: dict[str, Any]) -> None:
    exposures = [f["exposure"] for f in json.loads(labelled["stdout"])["findings"]]
    first_other = next(i for i, e in enumerate(exposures) if e != "client")
    assert "client" not in exposures[first_other:]
    assert exposures.count("client") == sum(c.verdict == "client" for c in CASES) + 2


def test_text_report_labels_and_ranks_client_findings(labelled: dict[str, Any]) -> None:
    result = run_keysentry("scan", ".", cwd=labelled["root"])
    assert result.returncode == 1
    blocks = result.stdout.split("\n\n")
    client_blocks = [b for b in blocks if "CLIENT-SIDE: a §2.2 violation" in b]
    server_blocks = [b for b in blocks if "exposure: server-side" in b]
    assert client_blocks and server_blocks
    assert blocks.index(client_blocks[-1]) < blocks.index(server_blocks[0])
    assert "CRITICAL" in client_blocks[0]
    assert "VITE_ prefix: Vite inlines VITE_* variables into the browser bundle" in result.stdout


# --- locations without a file on disk: archive members and git blobs


@pytest.fixture(autouse=True)
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process judgements look for folders relative to the current directory."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")


def judge_bytes(path: str, text: str) -> tuple[str, list[str]]:
    key = new_key()
    findings = Scanner(Config()).scan_bytes(text.replace("@KEY@", key).encode(), ScanTarget(path))
    (finding,) = findings
    return finding.exposure, finding.exposure_evidence


@pytest.mark.parametrize(
    ("path", "verdict", "evidence"),
    [
        (
            "app.apk!res/values/strings.xml",
            "client",
            [
                "inside an Android app package (.apk): installed on users' devices",
                "Android resource (res/values): compiled into the app",
            ],
        ),
        (
            "bundle.aab!base/assets/config.json",
            "client",
            [
                "inside an Android App Bundle (.aab): installed on users' devices",
                "assets/ folder: bundled front-end assets",
            ],
        ),
        (
            "Ask.ipa!Payload/Ask.app/config.txt",
            "client",
            ["inside an iOS app package (.ipa): installed on users' devices"],
        ),
        (
            "ext.crx!background.js",
            "client",
            ["inside a Chrome extension package (.crx): runs in users' browsers"],
        ),
        (
            "ext.xpi!content.js",
            "client",
            ["inside a Firefox extension package (.xpi): runs in users' browsers"],
        ),
        (
            "app.asar!main.js",
            "client",
            ["inside an Electron app archive (.asar): ships to users' machines"],
        ),
        (
            "site.zip!dist/assets/index-Bx9aQ2kL.js",
            "client",
            [
                "hashed chunk name (index-Bx9aQ2kL.js): bundler output",
                "dist/ folder: build output, usually deployed to browsers",
                "assets/ folder: bundled front-end assets",
            ],
        ),
        (
            "Ask.dmg!Ask.app/Contents/Resources/config.ini",
            "client",
            [
                "inside a macOS disk image (.dmg): a desktop app on users' machines",
                "inside a macOS .app bundle: a desktop app on users' machines",
            ],
        ),
        (
            "api.war!WEB-INF/classes/app.properties",
            "server",
            ["inside a Java web archive (.war): deployed to an application server"],
        ),
        ("release.zip!notes.txt", "unknown", [NO_SIGNAL]),
    ],
)
def test_archive_members_are_judged_by_their_location(
    path: str, verdict: str, evidence: list[str]
) -> None:
    assert judge_bytes(path, 'key = "@KEY@"\n') == (verdict, evidence)


@pytest.mark.parametrize(
    ("path", "text", "verdict", "evidence"),
    [
        ("site/.output/public/_nuxt/entry.js", "k='@KEY@'", "client",
         [".output/public/: Nuxt's files served to browsers"]),
        (".svelte-kit/output/client/_app/start.js", "k='@KEY@'", "client",
         [".svelte-kit/output/client/: SvelteKit browser build"]),
        ("www/js/app.js", "k='@KEY@'", "client",
         ["www/ folder: web root served to browsers (or packaged into a Cordova app)"]),
        ("wwwroot/app.js", "k='@KEY@'", "client", ["wwwroot/ folder: web root served to browsers"]),
        ("build/static/js/main.3f2a1b9c.chunk.js", "k='@KEY@'", "client",
         ["static/ folder: its files are served to browsers as they are",
          "hashed chunk name (main.3f2a1b9c.chunk.js): bundler output",
          "build/ folder: build output, usually deployed to browsers"]),
        ("out/about.html", "<p>@KEY@</p>", "client", ["out/ folder: build output (static export)"]),
        ("storybook-static/main.js", "k='@KEY@'", "client",
         ["storybook-static/ folder: a Storybook build served to browsers"]),
        ("app/entry.client.tsx", "k='@KEY@'", "client",
         [".tsx file: front-end component source", "entry.client.tsx: a client-only module"]),
        ("src/Button.jsx", "k='@KEY@'", "client", [".jsx file: front-end component source"]),
        ("dist/assets/index-Bx9aQ2kL.js", "window.addEventListener('vite:preloadError',()=>{});"
         "k='@KEY@'", "client",
         ["hashed chunk name (index-Bx9aQ2kL.js): bundler output",
          "bundler output: Vite runtime (vite:preloadError)",
          "dist/ folder: build output, usually deployed to browsers",
          "assets/ folder: bundled front-end assets",
          "uses browser globals (window, document, localStorage)"]),
        ("src/main.ts", 'import "/@vite/client";\nk="@KEY@"', "client",
         ["bundler output: Vite dev client (/@vite/client)"]),
        ("app.js", 'var parcelRequire=1;k="@KEY@"', "client",
         ["bundler output: Parcel runtime (parcelRequire)"]),
        ("app.js", 'function getDefaultExportFromCjs(x){};k="@KEY@"', "client",
         ["bundler output: Rollup runtime (getDefaultExportFromCjs)"]),
        ("app.js", 'globalThis.TURBOPACK=[];k="@KEY@"', "client",
         ["bundler output: Turbopack runtime"]),
        ("app.js", 'var __BUNDLE_START_TIME__=1;k="@KEY@"', "client",
         ["bundler output: Metro bundle (React Native)"]),
        ("app.js", 'import "@angular/core";\nk="@KEY@"', "client",
         ["imports Angular: front-end framework code"]),
        ("main.jsbundle", "k='@KEY@'", "client",
         ["main.jsbundle: React Native bundle shipped inside the app"]),
        ("android/app/src/main/assets/index.android.bundle", "k='@KEY@'", "client",
         ["index.android.bundle: React Native bundle shipped inside the app"]),
        ("mobile/App.tsx", 'import { Capacitor } from "@capacitor/core";\nk="@KEY@"', "client",
         ["imports @capacitor/core: a Capacitor app on users' devices",
          ".tsx file: front-end component source"]),
        ("app/src/main/java/com/x/Api.java",
         "import android.content.Context;\nclass Api { String k = \"@KEY@\"; }", "client",
         ["imports android.*: an Android app on users' devices",
          "Java code: usually a server (JVM)"]),
        ("Sources/App/routes.swift", 'import Vapor\nlet k = "@KEY@"', "server",
         ["imports a Swift server framework",
          ".swift file: iOS/macOS app code ships on users' devices"]),
        ("src/hooks.server.ts", "const k = '@KEY@'", "server",
         ["hooks.server.ts: a server-only module (SvelteKit/Remix convention)"]),
        ("src/routes/api/+server.js", "const k = '@KEY@'", "server",
         ["+server.js: a server-only module (SvelteKit/Remix convention)"]),
        ("web/app/api/chat/route.ts", "const k = '@KEY@'", "server",
         ["Next.js API route: runs on the server"]),
        ("netlify/functions/ask.mjs", 'import fs from "node:fs";\nconst k = "@KEY@"', "server",
         ["imports node:fs: back-end (Node.js) code", "netlify/ folder: back-end code"]),
        ("Jenkinsfile", "env.KEY = '@KEY@'", "server", ["Jenkins pipeline: runs in CI"]),
        (".circleci/config.yml", "KEY: @KEY@", "server", ["CircleCI configuration: runs in CI"]),
        ("fly.toml", "KEY = '@KEY@'", "server", ["fly.toml: deployment of a server app"]),
        ("wrangler.toml", "KEY = '@KEY@'", "server",
         ["wrangler.toml: Cloudflare Worker (runs at the edge, not in browsers)"]),
        ("public/index.php", "<?php $k = '@KEY@';", "server", ["PHP code: runs on the server"]),
        ("deploy/nginx.conf", "set $k @KEY@;", "server", ["nginx configuration: a server"]),
        ("infra/Pulumi.yaml", "config:\n  key: @KEY@", "server",
         ["Pulumi project: infrastructure as code"]),
        ("infra/Pulumi.prod.yaml", "config:\n  key: @KEY@", "server",
         ["pulumi.prod.yaml: Pulumi stack configuration (infrastructure as code)"]),
        ("cdk.json", '{"context": {"key": "@KEY@"}}', "server",
         ["AWS CDK app: infrastructure as code"]),
        ("k/kustomization.yaml", "configMapGenerator:\n- literals: [K=@KEY@]", "server",
         ["Kustomize configuration: server deployment"]),
        ("sam/template.yaml", "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  K: @KEY@",
         "server", ["CloudFormation/SAM template: infrastructure as code"]),
        ("userscript.js", "// ==UserScript==\n// @name x\n// ==/UserScript==\nk='@KEY@'",
         "client", ["userscript (// ==UserScript==): runs in users' browsers"]),
        ("image/var/www/html/app.js", "k='@KEY@'", "client",
         ["var/www/html/: the web server's document root, served to browsers"]),
        ("bin/ask", "#!/usr/bin/env node\nconst k = '@KEY@'", "server",
         ["bin/ folder: scripts run by the developer or CI",
          "script with a #! line: run from the command line"]),
    ],
)  # fmt: skip
def test_more_rules(path: str, text: str, verdict: str, evidence: list[str]) -> None:
    assert judge_bytes(path, text) == (verdict, evidence)


def test_real_archives_are_judged_by_member_path(tmp_path: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    keys = {name: new_key() for name in ("strings", "bundle", "server")}
    with zipfile.ZipFile(release / "app.apk", "w") as apk:
        apk.writestr("res/values/strings.xml", f"<string name='k'>{keys['strings']}</string>")
    with zipfile.ZipFile(release / "site.zip", "w") as site:
        site.writestr("dist/assets/index-Bx9aQ2kL.js", f'var k="{keys["bundle"]}";')
        site.writestr("server/app.py", f'K = "{keys["server"]}"')
    electron = tmp_path / "electron-app"
    electron.mkdir()
    (electron / "main.js").write_text(f'require("electron");\nconst key = "{new_key()}";\n')
    subprocess.run([str(ASAR), "pack", str(electron), str(release / "app.asar")], check=True)
    shutil.rmtree(electron)
    result = run_keysentry("scan", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    asar = [f for f in findings if ".asar" in f["path"]]
    assert len(asar) == 1  # as a member (app.asar!main.js) or, unread, the whole file
    assert asar[0]["exposure"] == "client"
    assert asar[0]["exposure_evidence"][0] == (
        "inside an Electron app archive (.asar): ships to users' machines"
    )
    found = {
        f["path"]: (f["exposure"], f["exposure_evidence"])
        for f in findings
        if ".asar" not in f["path"]
    }
    assert found == {
        "release/app.apk!res/values/strings.xml": ("client", [
            "inside an Android app package (.apk): installed on users' devices",
            "Android resource (res/values): compiled into the app"]),
        "release/site.zip!dist/assets/index-Bx9aQ2kL.js": ("client", [
            "hashed chunk name (index-Bx9aQ2kL.js): bundler output",
            "dist/ folder: build output, usually deployed to browsers",
            "assets/ folder: bundled front-end assets"]),
        "release/site.zip!server/app.py": ("server", [
            "server/ folder: back-end code",
            "Python code: runs on a server or the developer's machine"]),
    }  # fmt: skip


def test_git_blob_paths_use_work_tree_folders_when_present() -> None:
    Path("ext").mkdir()
    Path("manifest.json").write_text('{"manifest_version": 3}')
    assert judge_bytes("ext/options.js", 'k = "@KEY@"\n') == (
        "client",
        ["browser extension (manifest.json has manifest_version): its files run in users'"
         " browsers"],
    )  # fmt: skip
    # a blob with no path (unreachable) is not judged by the current folder
    assert judge_bytes("(blob 1234abcd)", 'k = "@KEY@"\n') == ("unknown", [NO_SIGNAL])


def test_git_blob_paths_are_judged_like_files() -> None:
    """History and staged blobs carry a repo-relative path and no file on disk."""
    assert judge_bytes("frontend/.env.production", "VITE_DEEPSEEK_KEY=@KEY@\n") == (
        "client",
        ["VITE_ prefix: Vite inlines VITE_* variables into the browser bundle"],
    )
    assert judge_bytes("services/api/main.py", 'import flask\nK = "@KEY@"\n') == (
        "server",
        [
            "imports flask: back-end (or developer-run) Python",
            "Python code: runs on a server or the developer's machine",
        ],
    )


# --- the verdict machinery


def test_strongest_signal_wins_and_losers_are_listed() -> None:
    # a webpack bundle (client, strong) that imports express (server, decisive): server
    verdict, evidence = judge_bytes(
        "dist/main.js", 'const e=require("express");var __webpack_require__;k="@KEY@";\n'
    )
    assert verdict == "server"
    assert evidence == [
        "imports express: back-end (Node.js) code",
        "bundler output: webpack runtime (__webpack_require__)",
        "dist/ folder: build output, usually deployed to browsers",
    ]


def test_a_tie_goes_to_client() -> None:
    # server/ folder (strong) against a React import (strong)
    verdict, evidence = judge_bytes("server/render.js", 'import React from "react";\nk="@KEY@"\n')
    assert verdict == "client"
    assert evidence == ["imports React: front-end framework code", "server/ folder: back-end code"]


def test_judge_caches_folder_lookups(tmp_path: Path) -> None:
    (tmp_path / "ext").mkdir()
    manifest = tmp_path / "ext" / "manifest.json"
    manifest.write_text('{"manifest_version": 3}')
    judge = Judge(Config())
    data = f'k = "{new_key()}"\n'.encode()
    first = judge.assess("a.js", data, 5, 40, fs_path=str(tmp_path / "ext" / "a.js"))
    manifest.unlink()  # a cached folder is not read again during the scan
    second = judge.assess("b.js", data, 5, 40, fs_path=str(tmp_path / "ext" / "b.js"))
    assert first == second
    assert first.verdict == "client"


@pytest.mark.parametrize(
    ("exposure", "confidence", "provider", "expected"),
    [
        ("client", "high", "deepseek", "critical"),
        ("client", "low", "unknown", "critical"),
        ("server", "high", "deepseek", "high"),
        ("unknown", "medium", "deepseek", "high"),
        ("server", "low", "deepseek", "medium"),
        ("server", "low", "unknown", "medium"),
        ("unknown", "high", "dashscope", "medium"),
    ],
)
def test_severity(exposure: str, confidence: str, provider: str, expected: str) -> None:
    assert severity(exposure, confidence, provider) == expected


# --- configuration overrides and --fail-on client


def test_client_paths_and_server_paths_override_the_verdict(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.keysentry]\nclient_paths = ["kiosk/**"]\nserver_paths = ["public/internal/*"]\n'
    )
    (tmp_path / "kiosk").mkdir()
    (tmp_path / "kiosk" / "run.py").write_text(f'KEY = "{new_key()}"\n')
    (tmp_path / "public" / "internal").mkdir(parents=True)
    (tmp_path / "public" / "internal" / "admin.js").write_text(f'k = "{new_key()}"\n')
    result = run_keysentry("scan", ".", "--format", "json", cwd=tmp_path)
    found = {f["path"]: f for f in json.loads(result.stdout)["findings"]}
    source = f"{tmp_path / 'pyproject.toml'} [tool.keysentry]"
    assert found["kiosk/run.py"]["exposure"] == "client"
    assert found["kiosk/run.py"]["exposure_evidence"] == [
        f"client_paths glob 'kiosk/**' in {source}",
        "Python code: runs on a server or the developer's machine",
        "Python project (pyproject.toml): runs on a server or the developer's machine",
    ]
    assert found["kiosk/run.py"]["severity"] == "critical"
    assert found["public/internal/admin.js"]["exposure"] == "server"
    assert found["public/internal/admin.js"]["exposure_evidence"] == [
        f"server_paths glob 'public/internal/*' in {source}",
        "public/ folder: its files are served to browsers as they are",
    ]
    # the globs are relative to the configuration's folder, whatever is scanned
    inner = run_keysentry("scan", "kiosk", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(inner.stdout)["findings"]
    assert (finding["path"], finding["exposure"]) == ("kiosk/run.py", "client")


def test_override_globs_must_be_a_list_of_strings(tmp_path: Path) -> None:
    (tmp_path / ".keysentry.toml").write_text('client_paths = "dist/**"\n')
    result = run_keysentry("scan", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "'client_paths' must be a list" in result.stderr


@pytest.fixture
def deploy_repo(tmp_path: Path, labelled: dict[str, Any]) -> Path:
    """A repository with a built front-end (the session's esbuild bundle) and a back end."""
    repo = tmp_path / "shop"
    (repo / "server").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(labelled["bundle"].parent.parent, repo / "dist")
    (repo / "server" / "app.py").write_text(f'DEEPSEEK_API_KEY = "{new_key()}"\n')
    return repo


def test_fail_on_client_blocks_only_client_exposure(deploy_repo: Path) -> None:
    assert run_keysentry("scan", "dist", "--fail-on", "client", cwd=deploy_repo).returncode == 1
    server_only = run_keysentry("scan", "server", "--fail-on", "client", cwd=deploy_repo)
    assert server_only.returncode == 0
    assert "exposure: server-side" in server_only.stdout  # still reported, just not failing
    assert run_keysentry("scan", "server", cwd=deploy_repo).returncode == 1  # default: any key


def test_scanning_inside_the_build_folder_still_sees_it(deploy_repo: Path) -> None:
    result = run_keysentry("scan", ".", "--format", "json", cwd=deploy_repo / "dist")
    findings = json.loads(result.stdout)["findings"]
    assert findings and all(f["path"].startswith("dist/assets/index-") for f in findings)
    for finding in findings:
        assert finding["exposure"] == "client"
        # judged from the repository root, so the dist/ folder counts
        assert (
            "dist/ folder: build output, usually deployed to browsers"
            in (finding["exposure_evidence"])
        )


def test_evidence_quoting_undecodable_names_is_printable(tmp_path: Path) -> None:
    web = os.path.join(os.fsencode(tmp_path), b"w\xffb")
    os.makedirs(os.path.join(web, b"dist"))
    with open(os.path.join(web, b"package.json"), "wb") as handle:
        handle.write(b'{"dependencies": {"vite": "5"}}')
    with open(os.path.join(web, b"dist", b"a\xfe-AB12CD34.js"), "wb") as handle:
        handle.write(f'k = "{new_key()}"'.encode())
    result = run_keysentry("scan", ".", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["exposure_evidence"] == [
        "hashed chunk name (a\\xfe-AB12CD34.js): bundler output",
        "dist/ folder: build output, usually deployed to browsers",
        "front-end package (w\\xffb/package.json depends on vite)",
    ]
