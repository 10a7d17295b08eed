"""The project model (issue 11): every ecosystem's skeleton scanned once through the real
CLI, each verdict and its evidence asserted; per-key verdicts, decoded layers, nested
projects, marker reads and the unknown share in the stats."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from exposure_fixtures import Case
from hypothesis import given, settings
from hypothesis import strategies as st
from project_fixtures import PROJECT_CASES, layered, plant, scaffold

from conftest import new_key, run_keysentry
from keysentry.config import Config
from keysentry.exposure import Judge
from keysentry.exposure.blocks import enclosing_names
from keysentry.exposure.folders import FolderContext
from keysentry.exposure.markers import document_roots
from keysentry.exposure.projects import ProjectIndex

MORE_RULES = [
    (
        {
            "app/package.json": '{"dependencies": {"react-dom": "18"},'
            ' "devDependencies": {"webpack": "5"}}'
        },
        "app/webpack.config.js",
        'const webpack = require("webpack");\nmodule.exports = { plugins: [new '
        'webpack.DefinePlugin({ "process.env.KEY": JSON.stringify("@KEY@") })] };\n',
        "client",
        [
            "webpack DefinePlugin in webpack.config.js: the value is inlined into the bundle",
            "webpack.config.js: bundler configuration; its env/define values are inlined into "
            "the bundle",
            "front-end package (app/package.json depends on react-dom)",
        ],
    ),
    (
        {
            "app/package.json": '{"dependencies": {"react-dom": "18"},'
            ' "devDependencies": {"webpack": "5"}}'
        },
        "app/webpack.prod.js",
        'module.exports = { plugins: [new EnvironmentPlugin({ DEEPSEEK_KEY: "@KEY@" })] };\n',
        "client",
        [
            "webpack EnvironmentPlugin in webpack.prod.js: the value is inlined into the bundle",
            "front-end package (app/package.json depends on react-dom)",
        ],
    ),
    (
        {},
        "tool/package.json",
        '{"scripts": {"build": "esbuild src/main.ts --bundle '
        '--define:process.env.KEY=\\\\\\"@KEY@\\\\\\""}, "devDependencies": {"esbuild": '
        '"0.25"}}',
        "client",
        ["esbuild --define in package.json: the value is inlined into the bundle"],
    ),
    (
        {"tool/package.json": '{"devDependencies": {"esbuild": "0.25"}}'},
        "tool/build.mjs",
        'import * as esbuild from "esbuild";\nawait esbuild.build({ entryPoints: ["a.ts"], '
        "define: { KEY: '\"@KEY@\"' } });\n",
        "client",
        ["define in build.mjs: the bundler inlines the value into the bundle"],
    ),
    (
        {"nx/package.json": '{"dependencies": {"next": "14"}}'},
        "nx/next.config.js",
        'module.exports = { serverRuntimeConfig: { key: "@KEY@" } };\n',
        "server",
        [
            "serverRuntimeConfig in next.config.js: only on the server",
            "next.config.js: bundler configuration; its env/define values are inlined into the "
            "bundle",
        ],
    ),
    (
        {"nx/package.json": '{"dependencies": {"next": "14"}}'},
        "nx/next.config.mjs",
        'export default { publicRuntimeConfig: { key: "@KEY@" } };\n',
        "client",
        [
            "publicRuntimeConfig in next.config.mjs: sent to the browser",
            "next.config.mjs: bundler configuration; its env/define values are inlined into "
            "the bundle",
        ],
    ),
    (
        {"nx/package.json": '{"dependencies": {"next": "14"}}'},
        "nx/src/instrumentation.ts",
        'export function register() { const k = "@KEY@"; }\n',
        "server",
        ["Next.js instrumentation.ts (nx/package.json): runs on the server or edge"],
    ),
    (
        {"nx/package.json": '{"dependencies": {"next": "14"}}'},
        "nx/pages/_app.tsx",
        'export default function App() { const k = "@KEY@"; return null; }\n',
        "client",
        [
            ".tsx file: front-end component source",
            "Next.js page (nx/package.json, pages/): hydrated in the browser",
        ],
    ),
    (
        {"rx/package.json": '{"dependencies": {"@remix-run/react": "2"}}'},
        "rx/app/routes/chat.tsx",
        'export const loader = async () => {\n  const k = "@KEY@";\n  return null;\n};\nexport '
        "default function Chat() { return null; }\n",
        "server",
        [
            "inside the loader of chat.tsx: Remix runs it only on the server",
            ".tsx file: front-end component source",
        ],
    ),
    (
        {"nu/package.json": '{"dependencies": {"nuxt": "3"}}'},
        "nu/app.config.ts",
        'export default defineAppConfig({ key: "@KEY@" });\n',
        "client",
        ["Nuxt app.config (nu/package.json): exposed to the browser"],
    ),
    (
        {"nu/package.json": '{"dependencies": {"nuxt": "3"}}'},
        "nu/composables/useChat.ts",
        'export const useChat = () => "@KEY@";\n',
        "client",
        ["Nuxt composables/ (nu/package.json): bundled for browsers"],
    ),
    (
        {"gb/package.json": '{"dependencies": {"gatsby": "5"}}'},
        "gb/gatsby-browser.js",
        'export const onClientEntry = () => { window.k = "@KEY@"; };\n',
        "client",
        [
            "gatsby-browser (gb/package.json): runs in the browser",
            "uses browser globals (window, document, localStorage)",
            "front-end package (gb/package.json depends on gatsby)",
        ],
    ),
    (
        {"as/package.json": '{"dependencies": {"astro": "4"}}'},
        "as/src/pages/api/chat.ts",
        'export const GET = () => new Response("@KEY@");\n',
        "server",
        [
            "Next.js API route: runs on the server",
            "Astro endpoint (as/package.json, src/pages/*.ts): runs at build time or on the server",
        ],
    ),
    (
        {"sk/package.json": '{"devDependencies": {"@sveltejs/kit": "2"}}'},
        "sk/src/lib/public.ts",
        'import { PUBLIC_X } from "$env/static/public";\nexport const k = "@KEY@";\n',
        "client",
        ["imports $env/…/public: values SvelteKit sends to browsers"],
    ),
    (
        {"fr/deno.json": '{"imports": {"$fresh/": "https://deno.land/x/fresh/"}}'},
        "fr/islands/Counter.tsx",
        'export default function Counter() { const k = "@KEY@"; return null; }\n',
        "client",
        [
            "Fresh islands (fr/deno.json): islands/ are hydrated in browsers",
            ".tsx file: front-end component source",
        ],
    ),
    (
        {"nt/netlify.toml": '[build]\n  publish = "site"\n'},
        "nt/netlify/edge-functions/ask.ts",
        'export default () => new Response("@KEY@");\n',
        "server",
        [
            "Netlify edge function (nt/netlify.toml: netlify/edge-functions/): runs at the edge",
            "netlify/ folder: back-end code",
        ],
    ),
    (
        {"nt/netlify.toml": '[build]\n  publish = "site"\n'},
        "nt/site/app.js",
        'const k = "@KEY@";\n',
        "client",
        ["Netlify publish folder (nt/netlify.toml: site/): served to browsers"],
    ),
    (
        {"ali/mini.project.json": '{"format": 2, "compileType": "mini"}'},
        "ali/pages/index/index.js",
        'Page({ data: { k: "@KEY@" } });\nmy.request({ url: "x" });\n',
        "client",
        [
            "Alipay mini-program (ali/mini.project.json): its files run in the app on users' "
            "phones",
            "calls the mini-program API (wx.*/my.*/uni.*): runs in the app",
        ],
    ),
    (
        {
            "sw/Package.swift": "// swift-tools-version:5.9\nimport PackageDescription\n"
            'let package = Package(name: "api", dependencies: [.package('
            'url: "https://github.com/vapor/vapor.git", from: "4.99.0")])\n'
        },
        "sw/Sources/App/Config.swift",
        'let key = "@KEY@"\n',
        "server",
        [
            "Swift server (sw/Package.swift depends on a server framework)",
            ".swift file: iOS/macOS app code ships on users' devices",
        ],
    ),
    (
        {
            "swk/Package.swift": "// swift-tools-version:5.9\nimport PackageDescription\n"
            'let package = Package(name: "AskKit")\n'
        },
        "swk/Sources/AskKit/Config.swift",
        'let key = "@KEY@"\n',
        "client",
        [
            ".swift file: iOS/macOS app code ships on users' devices",
            "Swift package (swk/Package.swift): built into iOS/macOS apps",
        ],
    ),
    (
        {"ly/Cargo.toml": '[package]\nname = "ly"\n[dependencies]\nleptos = "0.6"\n'},
        "ly/src/app.rs",
        'const K: &str = "@KEY@";\n',
        "client",
        [
            "Rust app (ly/Cargo.toml depends on a GUI/wasm framework): runs on users' devices",
            "Rust code: usually a server or a tool",
        ],
    ),
    (
        {"wl/go.mod": "module x\n\nrequire github.com/wailsapp/wails/v2 v2.9.1\n"},
        "wl/app.go",
        'package main\nconst k = "@KEY@"\n',
        "client",
        [
            "Go app (wl/go.mod depends on a GUI/mobile toolkit): runs on users' devices",
            "Go code: a server or a tool run by the developer",
        ],
    ),
    (
        {"sp/build.gradle": "plugins {\n  id 'org.springframework.boot' version '3.3.3'\n}\n"},
        "sp/src/main/java/x/Llm.java",
        'class Llm { String k = "@KEY@"; }\n',
        "server",
        [
            "JVM service (sp/build.gradle uses a server framework): runs on a server",
            "Java code: usually a server (JVM)",
        ],
    ),
    (
        {"cap/package.json": '{"dependencies": {"@capacitor/core": "6"}}'},
        "cap/src/config.js",
        'export const k = "@KEY@";\n',
        "client",
        ["Capacitor app (cap/package.json depends on @capacitor/core): runs on users' devices"],
    ),
    (
        {"ph/composer.json": '{"require": {"laravel/framework": "^11"}}'},
        "ph/config/services.php",
        "<?php return ['k' => '@KEY@'];\n",
        "server",
        ["PHP code: runs on the server", "PHP project (ph/composer.json): runs on a server"],
    ),
    (
        {"dp/pubspec.yaml": "name: api\ndependencies:\n  shelf: ^1.4.0\n"},
        "dp/bin/server.dart",
        "const k = '@KEY@';\n",
        "server",
        [
            "Dart package (dp/pubspec.yaml does not use Flutter): a server or a tool",
            "bin/ folder: scripts run by the developer or CI",
            "Dart code: a Flutter app on users' devices",
        ],
    ),
    (
        {"el/package.json": '{"devDependencies": {"electron": "32"}}'},
        "el/src/renderer/app.js",
        'const k = "@KEY@";\n',
        "client",
        ["Electron app (el/package.json depends on electron): ships to users' machines"],
    ),
    (
        {"ap/Dockerfile": "FROM httpd:2.4\nCOPY ./public-html/ /usr/local/apache2/htdocs/\n"},
        "ap/public-html/app.js",
        'const k = "@KEY@";\n',
        "client",
        [
            "document root (ap/Dockerfile copies public-html/ into "
            "/usr/local/apache2/htdocs/): nginx/Apache/Caddy serves its files to browsers as "
            "they are"
        ],
    ),
]


def _sha(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("projects")
    scaffold(root)
    keys = plant(root)
    layer_keys = layered(root)
    result = run_keysentry("scan", ".", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    by_key = {f["fingerprint"]: f for f in report["findings"]}
    return {"root": root, "keys": keys, "layers": layer_keys, "by_key": by_key, "report": report}


@pytest.mark.parametrize("case", PROJECT_CASES, ids=[c.path for c in PROJECT_CASES])
def test_each_ecosystem_rule_gives_its_verdict_and_evidence(
    projects: dict[str, Any], case: Case
) -> None:
    finding = projects["by_key"][_sha(projects["keys"][case.path])]
    assert finding["path"] == case.path
    assert finding["exposure"] == case.verdict  # a server case is exactly "server"
    assert finding["exposure_evidence"] == case.evidence


def test_scaffolds_are_the_real_tools_output(projects: dict[str, Any]) -> None:
    root: Path = projects["root"]
    vite = json.loads((root / "vite-app" / "package.json").read_text())
    assert "vite" in vite["devDependencies"]
    next_app = json.loads((root / "next15" / "package.json").read_text())
    assert "next" in next_app["dependencies"]
    assert (root / "next15" / "src" / "app" / "layout.tsx").is_file()
    tsconfig = json.loads((root / "next15" / "tsconfig.json").read_text())
    assert tsconfig["compilerOptions"]["paths"] == {"@/*": ["./src/*"]}


@pytest.mark.parametrize(
    ("layer", "path", "evidence"),
    [
        ("gz", "vite-app/dist/assets/index-Bx9aQ2kL.js.gz",
         ["hashed chunk name (index-Bx9aQ2kL.js): bundler output",
          "dist/ folder: build output, usually deployed to browsers",
          "assets/ folder: bundled front-end assets",
          "front-end package (vite-app/package.json depends on vite)"]),
        ("br", "vite-app/dist/assets/vendor-C4fT9wQe.js.br",
         ["hashed chunk name (vendor-C4fT9wQe.js): bundler output",
          "dist/ folder: build output, usually deployed to browsers",
          "assets/ folder: bundled front-end assets",
          "front-end package (vite-app/package.json depends on vite)"]),
        ("zip", "vite-app/release/site.zip!dist/app.js",
         ["dist/ folder: build output, usually deployed to browsers",
          "front-end package (vite-app/package.json depends on vite)"]),
        ("image", "images/web.tar!blobs/sha256/0f1e2d3c!usr/share/nginx/html/assets/app.js",
         ["usr/share/nginx/html/: nginx's document root, served to browsers"]),
    ],
)  # fmt: skip
def test_decoded_layers_keep_their_place(
    projects: dict[str, Any], layer: str, path: str, evidence: list[str]
) -> None:
    finding = projects["by_key"][_sha(projects["layers"][layer])]
    assert (finding["path"], finding["exposure"], finding["exposure_evidence"]) == (
        path,
        "client",
        evidence,
    )


def test_unknown_share_is_in_the_stats(projects: dict[str, Any]) -> None:
    stats = projects["report"]["stats"]
    findings = projects["report"]["findings"]
    unknown = [f for f in findings if f["exposure"] == "unknown"]
    assert [f["path"] for f in unknown] == ["next15/src/lib/unused.ts"]
    assert stats["exposure_unknown"] == 1
    assert stats["exposure_unknown_share"] == round(1 / len(findings), 3)


def _scan(root: Path) -> dict[str, list[tuple[str, list[str]]]]:
    result = run_keysentry("scan", ".", "--format", "json", cwd=root)
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for f in json.loads(result.stdout)["findings"]:
        found.setdefault(f["path"], []).append((f["exposure"], f["exposure_evidence"]))
    for verdicts in found.values():
        verdicts.sort()
    return found


def test_one_file_can_hold_a_client_key_and_a_server_key(tmp_path: Path) -> None:
    (tmp_path / "nuxt").mkdir()
    (tmp_path / "nuxt" / "package.json").write_text('{"dependencies": {"nuxt": "^3.13.0"}}')
    (tmp_path / "nuxt" / "nuxt.config.ts").write_text(
        "export default defineNuxtConfig({\n  runtimeConfig: {\n"
        f'    deepseekKey: "{new_key()}",\n    public: {{\n      chatKey: "{new_key()}",\n'
        "    },\n  },\n})\n"
    )
    (tmp_path / "pages-app" / "pages").mkdir(parents=True)
    (tmp_path / "pages-app" / "package.json").write_text('{"dependencies": {"next": "14"}}')
    (tmp_path / "pages-app" / "pages" / "chat.js").write_text(
        f'export async function getServerSideProps() {{\n  const k = "{new_key()}";\n'
        "  return { props: {} };\n}\n"
        f'export default function Chat() {{ const shown = "{new_key()}"; return null; }}\n'
    )
    (tmp_path / "astro" / "src" / "pages").mkdir(parents=True)
    (tmp_path / "astro" / "package.json").write_text('{"dependencies": {"astro": "4"}}')
    (tmp_path / "astro" / "src" / "pages" / "index.astro").write_text(
        f'---\nconst key = "{new_key()}";\n---\n<h1>Ask</h1>\n'
        f'<script>\n  const browserKey = "{new_key()}";\n</script>\n'
    )
    bundler = (
        "nuxt.config.ts: bundler configuration; its env/define values are inlined into the bundle"
    )
    page = "Next.js page (pages-app/package.json, pages/): hydrated in the browser"
    assert _scan(tmp_path) == {
        "nuxt/nuxt.config.ts": [
            ("client", ["runtimeConfig.public in nuxt.config.ts: Nuxt sends it to the browser",
                        bundler]),
            ("server", ["private runtimeConfig in nuxt.config.ts: Nuxt keeps it on the server",
                        bundler]),
        ],
        "pages-app/pages/chat.js": [
            ("client", [page]),
            ("server", ["inside getServerSideProps in chat.js: Next.js runs it only on the server",
                        page]),
        ],
        "astro/src/pages/index.astro": [
            ("client", ["<script> in index.astro: Astro bundles it for browsers"]),
            ("server", ["frontmatter of index.astro: Astro runs it at build time or on the"
                        " server"]),
        ],
    }  # fmt: skip


def test_nested_projects_are_judged_separately(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"private": true, "workspaces": ["apps/*"]}')
    for app, deps in (("web", {"vite": "5", "react-dom": "18"}), ("api", {"fastify": "4"})):
        (tmp_path / "apps" / app / "src").mkdir(parents=True)
        (tmp_path / "apps" / app / "package.json").write_text(json.dumps({"dependencies": deps}))
        (tmp_path / "apps" / app / "src" / "llm.ts").write_text(
            f'export const k = "{new_key()}";\n'
        )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text(f"key {new_key()}\n")
    assert _scan(tmp_path) == {
        "apps/web/src/llm.ts": [("client", [
            "Vite app (apps/web/package.json): src/ is bundled for browsers",
            "front-end package (apps/web/package.json depends on vite)"])],
        "apps/api/src/llm.ts": [("server", [
            "back-end package (apps/api/package.json depends on fastify)"])],
        "docs/notes.md": [("unknown", [
            "JavaScript package (package.json): neither the file nor its project says which side"
            " it runs on"])],
    }  # fmt: skip


def test_each_marker_is_read_once_per_scan(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "src" / "a").mkdir(parents=True)
    (app / "package.json").write_text('{"devDependencies": {"vite": "5"}}')
    judge = Judge(Config())
    data = f'k = "{new_key()}"\n'.encode()
    first = judge.assess("x.ts", data, 5, 40, fs_path=str(app / "src" / "x.ts"))
    reads = judge.projects.reads
    (app / "package.json").write_text('{"dependencies": {"express": "4"}}')  # not read again
    second = judge.assess("y.ts", data, 5, 40, fs_path=str(app / "src" / "a" / "y.ts"))
    assert judge.projects.reads == reads == 1
    assert first.verdict == second.verdict == "client"


def test_document_roots_from_a_dockerfile() -> None:
    text = (
        "FROM node:20\nWORKDIR /app\nRUN npm run build\n"
        "FROM nginx\nCOPY --from=0 /app/dist /usr/share/nginx/html\n"
    )
    (area,) = document_roots(text, "Dockerfile")
    assert (area.folder, area.side, area.strength) == ("dist", "client", 3)
    assert document_roots("FROM python:3.12\nCOPY . /srv/app\n", "Dockerfile") == ()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=2000))
def test_block_reader_takes_any_bytes(data: bytes, offset: int) -> None:
    names = enclosing_names(data, min(offset, len(data)))
    assert all(isinstance(n, str) for n in names)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["package.json", "manifest.json", "build.gradle",
                                        "pubspec.yaml", "wrangler.toml", "netlify.toml",
                                        "project.config.json", "Dockerfile", "pages.json",
                                        "go.mod", "Cargo.toml", "pyproject.toml"]),
                       st.binary(max_size=300), min_size=1))  # fmt: skip
def test_markers_with_any_content_are_classified_without_error(
    tmp_path_factory: pytest.TempPathFactory, markers: dict[str, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("m")
    for name, raw in markers.items():
        (folder / name).write_bytes(raw)
    index = ProjectIndex(lambda f: None, lambda f: os.path.basename(f))
    project = index.project_of(str(folder))
    assert project is None or project.root == str(folder)


@pytest.mark.parametrize(
    ("markers", "path", "text", "verdict", "evidence"), MORE_RULES, ids=[r[1] for r in MORE_RULES]
)
def test_more_framework_and_project_rules(
    tmp_path: Path,
    markers: dict[str, str],
    path: str,
    text: str,
    verdict: str,
    evidence: list[str],
) -> None:
    for rel, content in markers.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    key = new_key()
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(text.replace("@KEY@", key))
    data = (tmp_path / path).read_bytes()
    start = data.index(key.encode())
    judge = Judge(Config(), folders=FolderContext(cwd=str(tmp_path)))
    seen = judge.assess(path, data, start, start + len(key), str(tmp_path / path))
    assert (seen.verdict, seen.evidence) == (verdict, evidence)


def test_pages_router_importers_decide_a_library_module(tmp_path: Path) -> None:
    app = tmp_path / "shop"
    (app / "pages" / "api").mkdir(parents=True)
    (app / "lib").mkdir()
    (app / "package.json").write_text('{"dependencies": {"next": "14.2.0", "react": "18"}}')
    (app / "pages" / "api" / "chat.ts").write_text('import { llm } from "../../lib/llm";\n')
    (app / "pages" / "index.tsx").write_text('import { theme } from "../lib/theme";\n')
    (app / "lib" / "llm.ts").write_text(f'export const llm = "{new_key()}";\n')
    (app / "lib" / "theme.ts").write_text(f'export const theme = "{new_key()}";\n')
    assert _scan(tmp_path) == {
        "shop/lib/llm.ts": [("server", [
            "imported only by server code: shop/lib/llm.ts ← shop/pages/api/chat.ts"
            " (Next.js API route)"])],
        "shop/lib/theme.ts": [("client", [
            "imported by client code: shop/lib/theme.ts ← shop/pages/index.tsx (Next.js page)"])],
    }  # fmt: skip
