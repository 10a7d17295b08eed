"""Realistic project skeletons for the project model (issue 11), one per ecosystem.

``vite-app/`` and ``next15/`` are the real output of ``create-vite`` and
``create-next-app`` (installed from npm into tests/js); the other markers are written
as their tools write them (Gradle and Android Studio, Xcode, Unity, WeChat DevTools,
HBuilderX, ``flutter create``, ``cargo``/``tauri init``, ``wrangler init``...). Keys
are planted at run time; ``@REAL@`` in a case's text is the file the tool wrote.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import brotli
from exposure_fixtures import KEY, Case

from conftest import REPO_ROOT, new_key

BIN = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin"

PBXPROJ = """// !$*UTF8*$!
{
\tarchiveVersion = 1;
\tclasses = {
\t};
\tobjectVersion = 56;
\tobjects = {
\t};
\trootObject = 8D0C4E891C2B1B2A00B0B0B0 /* Project object */;
}
"""
ANDROID_APP_GRADLE = """plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "com.example.ask"
    compileSdk = 35
    defaultConfig {
        applicationId = "com.example.ask"
        minSdk = 24
    }
}

dependencies {
    implementation("com.squareup.okhttp3:okhttp:4.12.0")
}
"""
WECHAT_PROJECT = {
    "description": "项目配置文件",
    "packOptions": {"ignore": [], "include": []},
    "miniprogramRoot": "",
    "cloudfunctionRoot": "cloudfunctions/",
    "setting": {"urlCheck": True, "es6": True, "enhance": True, "minified": True},
    "compileType": "miniprogram",
    "libVersion": "3.5.8",
    "appid": "wx0123456789abcdef",
    "projectname": "ask",
    "condition": {},
    "editorSetting": {"tabIndent": "insertSpaces", "tabSize": 2},
}

CONTEXT: dict[str, str] = {
    # --- Next.js App Router: a client component and a route handler importing config modules
    "next15/src/app/chat/ChatBox.tsx": '"use client";\nimport { useState } from "react";\n'
    'import { llm } from "@/lib/llm-config";\nexport function ChatBox() { return null; }\n',
    "next15/src/app/api/chat/route.ts": 'import { server } from "../../../lib/server-config";\n'
    "export async function POST() { return Response.json(server); }\n",
    "next15/src/lib/index.ts": 'export * from "./prompts";\n',
    "next15/src/app/chat/Settings.tsx": '"use client";\nimport { system } from "@/lib";\n'
    "export function Settings() { return system; }\n",
    # --- Nuxt, SvelteKit, Astro, Gatsby, Angular, Remix (package.json as their starters write)
    "nuxt-app/package.json": json.dumps(
        {"name": "nuxt-app", "private": True, "type": "module",
         "scripts": {"build": "nuxt build", "dev": "nuxt dev"},
         "dependencies": {"nuxt": "^3.13.0", "vue": "latest", "vue-router": "latest"}}
    ),
    "kit-app/package.json": json.dumps(
        {"name": "kit-app", "type": "module",
         "devDependencies": {"@sveltejs/kit": "^2.0.0", "svelte": "^5.0.0", "vite": "^5.0.3"}}
    ),
    "astro-site/package.json": json.dumps(
        {"name": "astro-site", "type": "module", "dependencies": {"astro": "^4.15.0"}}
    ),
    "gatsby-site/package.json": json.dumps(
        {"name": "gatsby-site", "dependencies": {"gatsby": "^5.13.0", "react": "^18.2.0",
                                                 "react-dom": "^18.2.0"}}
    ),
    "ng-app/angular.json": json.dumps({"version": 1, "projects": {"ng-app": {"root": ""}}}),
    "ng-app/package.json": json.dumps(
        {"name": "ng-app", "dependencies": {"@angular/core": "^18.2.0"}}
    ),
    "remix-app/package.json": json.dumps(
        {"name": "remix-app", "dependencies": {"@remix-run/react": "^2.12.0",
                                               "@remix-run/node": "^2.12.0"}}
    ),
    # --- phones, desktops, games, extensions, mini-programs
    "droid/settings.gradle.kts": 'rootProject.name = "Ask"\ninclude(":app")\n',
    "droid/build.gradle.kts": "plugins {\n"
    "    alias(libs.plugins.android.application) apply false\n}\n",
    "droid/app/build.gradle.kts": ANDROID_APP_GRADLE,
    "droid/app/src/main/AndroidManifest.xml": '<?xml version="1.0" encoding="utf-8"?>\n'
    '<manifest xmlns:android="http://schemas.android.com/apk/res/android">\n'
    '    <application android:label="Ask" />\n</manifest>\n',
    "ios-app/Ask.xcodeproj/project.pbxproj": PBXPROJ,
    "flutter_app/pubspec.yaml": "name: ask\ndescription: \"A new Flutter project.\"\n"
    "environment:\n  sdk: ^3.5.0\ndependencies:\n  flutter:\n    sdk: flutter\n"
    "flutter:\n  uses-material-design: true\n  assets:\n    - assets/\n",
    "rn-app/package.json": json.dumps(
        {"name": "rn-app", "dependencies": {"react": "18.3.1", "react-native": "0.75.2"}}
    ),
    "expo-app/package.json": json.dumps(
        {"name": "expo-app", "main": "expo-router/entry",
         "dependencies": {"expo": "~51.0.28", "react-native": "0.74.5"}}
    ),
    "electron-app/package.json": json.dumps(
        {"name": "electron-app", "main": "src/main.js", "devDependencies": {"electron": "^32.0.0"}}
    ),
    "tauri-app/package.json": json.dumps(
        {"name": "tauri-app", "dependencies": {"@tauri-apps/api": "^2"},
         "devDependencies": {"@tauri-apps/cli": "^2", "vite": "^5"}}
    ),
    "tauri-app/src-tauri/Cargo.toml": '[package]\nname = "tauri-app"\nversion = "0.1.0"\n'
    'edition = "2021"\n\n[dependencies]\ntauri = { version = "2", features = [] }\n',
    "tauri-app/src-tauri/tauri.conf.json": json.dumps(
        {"productName": "tauri-app", "version": "0.1.0", "identifier": "com.example.app",
         "build": {"frontendDist": "../dist"}}
    ),
    "game/ProjectSettings/ProjectVersion.txt": "m_EditorVersion: 2022.3.45f1\n"
    "m_EditorVersionWithRevision: 2022.3.45f1 (a13dfa44d684)\n",
    "game/ProjectSettings/ProjectSettings.asset": "%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n"
    "--- !u!129 &1\nPlayerSettings:\n  productName: Ask\n",
    "game/Assets/Scenes/Main.unity": "%YAML 1.1\n",
    "vscode-ext/package.json": json.dumps(
        {"name": "ask", "engines": {"vscode": "^1.93.0"}, "main": "./out/extension.js",
         "activationEvents": [], "devDependencies": {"@types/vscode": "^1.93.0"}}
    ),
    "jb-plugin/build.gradle.kts": 'plugins {\n    id("org.jetbrains.kotlin.jvm") version "1.9.25"\n'
    '    id("org.jetbrains.intellij.platform") version "2.0.1"\n}\n',
    "jb-plugin/src/main/resources/META-INF/plugin.xml": "<idea-plugin><id>ask</id></idea-plugin>\n",
    "obsidian-plugin/manifest.json": json.dumps(
        {"id": "ask", "name": "Ask", "version": "1.0.0", "minAppVersion": "0.15.0",
         "description": "Ask", "author": "me", "isDesktopOnly": False}
    ),
    "wx-app/project.config.json": json.dumps(WECHAT_PROJECT, ensure_ascii=False, indent=2),
    "wx-app/app.json": json.dumps({"pages": ["pages/index/index"], "window": {}}),
    "wx-app/cloudfunctions/chat/package.json": json.dumps(
        {"name": "chat", "main": "index.js", "dependencies": {"wx-server-sdk": "~3.0.1"}}
    ),
    "uni-app/manifest.json": json.dumps(
        {"name": "ask", "appid": "__UNI__0A1B2C3", "versionName": "1.0.0",
         "mp-weixin": {"appid": "", "setting": {"urlCheck": False}}, "vueVersion": "3"}
    ),
    "uni-app/pages.json": json.dumps(
        {"pages": [{"path": "pages/index/index", "style": {"navigationBarTitleText": "ask"}}]}
    ),
    "taro-app/package.json": json.dumps(
        {"name": "taro-app", "dependencies": {"@tarojs/taro": "3.6.34", "react": "^18"}}
    ),
    # --- servers, functions, containers
    "worker/wrangler.toml": 'name = "ask"\nmain = "src/index.ts"\n'
    'compatibility_date = "2024-09-01"\n\n[assets]\ndirectory = "./public"\n',
    "worker/package.json": json.dumps({"name": "ask", "devDependencies": {"wrangler": "^3.78.0"}}),
    "vercel-app/vercel.json": json.dumps({"rewrites": [{"source": "/(.*)", "destination": "/"}]}),
    "vercel-app/package.json": json.dumps({"name": "v", "devDependencies": {"vite": "^5"}}),
    "netlify-site/netlify.toml": '[build]\n  command = "npm run build"\n  publish = "dist"\n'
    '  functions = "netlify/functions"\n',
    "lambda-svc/serverless.yml": "service: ask\nprovider:\n  name: aws\n  runtime: nodejs20.x\n"
    "functions:\n  chat:\n    handler: handler.chat\n",
    "deno-app/deno.json": json.dumps({"tasks": {"start": "deno run -A main.ts"}}),
    "py-svc/pyproject.toml": '[project]\nname = "ask"\nversion = "0.1.0"\n'
    'dependencies = ["fastapi>=0.115", "uvicorn"]\n',
    "st-app/requirements.txt": "streamlit==1.38.0\nopenai>=1.40\n",
    "gr-app/requirements.txt": "gradio>=4.44\n",
    "go-svc/go.mod": "module example.com/ask\n\ngo 1.23\n\n"
    "require github.com/gin-gonic/gin v1.10.0\n",
    "java-svc/pom.xml": "<project><modelVersion>4.0.0</modelVersion><parent><groupId>"
    "org.springframework.boot</groupId></parent></project>\n",
    "rust-svc/Cargo.toml": '[package]\nname = "ask"\nversion = "0.1.0"\n\n[dependencies]\n'
    'axum = "0.7"\ntokio = { version = "1", features = ["full"] }\n',
    "static-site/Dockerfile": "FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm run build\n\n"
    "FROM nginx:1.27-alpine\nCOPY --from=build /app/dist /usr/share/nginx/html\n",
    "static-site/package.json": json.dumps({"name": "s", "devDependencies": {"vite": "^5"}}),
}  # fmt: skip

NEXT = "next15/package.json"
VITE = "vite-app/package.json"

PROJECT_CASES = [
    # --- Next.js (create-next-app output)
    Case("next15/src/app/page.tsx", f'const PROMPT_KEY = "{KEY}";\n@REAL@', "server", [
        f"Next.js server component ({NEXT}, app/ without 'use client'): rendered on the server",
        ".tsx file: front-end component source",
        "uses browser globals (window, document, localStorage)"]),  # src="/window.svg"
    Case("next15/src/lib/llm-config.ts", f'export const llm = {{ key: "{KEY}" }};\n', "client", [
        "imported by client code: next15/src/lib/llm-config.ts ← next15/src/app/chat/ChatBox.tsx"
        " ('use client')"]),
    Case("next15/src/lib/prompts.ts", f'export const system = {{ key: "{KEY}" }};\n', "client", [
        "imported by client code: next15/src/lib/prompts.ts ← next15/src/lib/index.ts ←"
        " next15/src/app/chat/Settings.tsx ('use client')"]),
    Case("next15/src/lib/server-config.ts", f'export const server = {{ key: "{KEY}" }};\n',
         "server", ["imported only by server code: next15/src/lib/server-config.ts ←"
                    " next15/src/app/api/chat/route.ts (Next.js route handler)"]),
    Case("next15/src/middleware.ts", f'export const config = {{ k: "{KEY}" }};\n', "server", [
        f"Next.js middleware.ts ({NEXT}): runs on the server or edge"]),
    Case("next15/.env", f"DEEPSEEK_API_KEY={KEY}\n", "server", [
        f"unprefixed variable (DEEPSEEK_API_KEY) in a .env file of a Next.js app ({NEXT}):"
        " its bundler inlines only public-prefixed variables"]),
    Case("next15/next.config.ts", "import type { NextConfig } from \"next\";\n"
         f'const nextConfig: NextConfig = {{ env: {{ DEEPSEEK_KEY: "{KEY}" }} }};\n'
         "export default nextConfig;\n", "client", [
        "env in next.config.ts: Next.js inlines it into the browser bundle",
        "next.config.ts: bundler configuration; its env/define values are inlined into the"
        " bundle"]),
    Case("next15/src/lib/unused.ts", f'export const k = "{KEY}";\n', "unknown", [
        f"Next.js app ({NEXT}): neither the file nor its project says which side it runs on"]),
    # --- Vite (create-vite output)
    Case("vite-app/src/api.js", f'export const key = "{KEY}";\n', "client", [
        f"Vite app ({VITE}): src/ is bundled for browsers", f"front-end package ({VITE} depends"
        " on vite)"]),
    Case("vite-app/vite.config.ts", "import react from '@vitejs/plugin-react'\n"
         "import { defineConfig } from 'vite'\nexport default defineConfig({\n"
         f"  plugins: [react()],\n  define: {{ __KEY__: JSON.stringify('{KEY}') }},\n}})\n",
         "client", [
        "define in vite.config.ts: the bundler inlines the value into the bundle",
        "vite.config.ts: bundler configuration; its env/define values are inlined into the"
        " bundle", f"front-end package ({VITE} depends on vite)"]),
    Case("vite-app/.env", f"DEEPSEEK_API_KEY={KEY}\n", "server", [
        f"unprefixed variable (DEEPSEEK_API_KEY) in a .env file of a Vite app ({VITE}):"
        " its bundler inlines only public-prefixed variables"]),
    Case("vite-app/src/config.json", f'{{"key": "{KEY}"}}\n', "client", [
        f"Vite app ({VITE}): src/ is bundled for browsers",
        f"configuration file of the Vite app ({VITE}): takes the project's target"]),
    # --- Nuxt, SvelteKit, Astro, Gatsby, Angular, Remix
    Case("nuxt-app/server/api/chat.ts", f'const key = "{KEY}";\n', "server", [
        "Nuxt server/ (nuxt-app/package.json): Nitro server routes",
        "server/ folder: back-end code"]),
    Case("kit-app/src/lib/server/llm.ts", f'export const key = "{KEY}";\n', "server", [
        "SvelteKit $lib/server (kit-app/package.json): never bundled for browsers",
        "server/ folder: back-end code"]),
    Case("kit-app/src/routes/+page.ts", f'export const load = () => ({{ k: "{KEY}" }});\n',
         "client", ["SvelteKit universal load (kit-app/package.json, +page.ts): runs in the"
                    " browser too"]),
    Case("kit-app/src/routes/chat/+page.server.ts",
         f'import {{ KEY }} from "$env/static/private";\nconst k = "{KEY}";\n', "server", [
        "+page.server.ts: a server-only module (SvelteKit/Remix convention)",
        "imports $env/…/private: SvelteKit refuses it in browser code"]),
    Case("gatsby-site/gatsby-node.js", f'const key = "{KEY}";\n', "server", [
        "gatsby-node (gatsby-site/package.json): runs in Node.js at build time",
        "front-end package (gatsby-site/package.json depends on gatsby)"]),
    Case("ng-app/src/environments/environment.ts",
         f'export const environment = {{ deepseekKey: "{KEY}" }};\n', "client", [
        "Angular environment file (ng-app/package.json, src/environments/): compiled into the"
        " browser bundle", "Angular app (ng-app/package.json): src/ is bundled for browsers",
        "front-end package (ng-app/package.json depends on @angular/core)"]),
    Case("remix-app/app/.server/llm.ts", f'export const key = "{KEY}";\n', "server", [
        "Remix .server/ folder (remix-app/package.json): never bundled for browsers"]),
    # --- phones, desktops, games, extensions, mini-programs
    Case("droid/app/src/main/java/com/example/ask/Api.kt",
         f'package com.example.ask\nimport okhttp3.OkHttpClient\nconst val KEY = "{KEY}"\n',
         "client", ["Android app module (droid/app/build.gradle.kts): src/main/ is packaged into"
                    " the app", "Kotlin code: usually a server (JVM)"]),
    Case("droid/app/src/main/res/raw/config.json", f'{{"key": "{KEY}"}}\n', "client", [
        "Android app module (droid/app/build.gradle.kts): src/main/ is packaged into the app"]),
    Case("droid/app/src/main/assets/llm.properties", f"key={KEY}\n", "client", [
        "Android app module (droid/app/build.gradle.kts): src/main/ is packaged into the app"]),
    Case("ios-app/Ask/Config.xcconfig", f"DEEPSEEK_KEY = {KEY}\n", "client", [
        "Xcode project (ios-app/Ask.xcodeproj): an iOS/macOS app on users' devices",
        ".xcconfig file: iOS/macOS app code ships on users' devices"]),
    Case("flutter_app/lib/api.dart", f"const key = '{KEY}';\n", "client", [
        "Flutter app (flutter_app/pubspec.yaml): runs on users' devices",
        "Dart code: a Flutter app on users' devices"]),
    Case("flutter_app/assets/config.json", f'{{"key": "{KEY}"}}\n', "client", [
        "Flutter app (flutter_app/pubspec.yaml): assets/ is bundled into the app",
        "assets/ folder: bundled front-end assets"]),
    Case("rn-app/src/config.ts", f'export const key = "{KEY}";\n', "client", [
        "React Native app (rn-app/package.json depends on react-native): runs on users'"
        " devices"]),
    Case("expo-app/app.json", json.dumps({"expo": {"name": "ask", "slug": "ask",
                                                   "extra": {"deepseekKey": KEY}}}),
         "client", ["extra in app.json: Expo ships it inside the app (Constants.expoConfig.extra)",
                    "Expo app config (expo-app/package.json): read by the app on users' devices",
                    "configuration file of the Expo app (expo-app/package.json): takes the"
                    " project's target"]),
    Case("electron-app/src/main.js",
         f'const {{ app }} = require("electron");\nconst k = "{KEY}";\n',
         "client", ["imports electron: an Electron app on users' machines",
                    "Electron app (electron-app/package.json depends on electron): ships to"
                    " users' machines"]),
    Case("tauri-app/src-tauri/src/lib.rs", f'const KEY: &str = "{KEY}";\n', "client", [
        "src-tauri/: a Tauri desktop app on users' machines",
        "Tauri app (tauri-app/src-tauri/tauri.conf.json): ships to users' machines",
        "Rust code: usually a server or a tool"]),
    Case("game/Assets/Scripts/Api.cs", f'public static class Api {{ const string K = "{KEY}"; }}\n',
         "client", ["Unity project (game/ProjectSettings/): Assets/ is built into the game on"
                    " players' devices", "scripts/ folder: scripts run by the developer or CI",
                    ".NET code: usually a server"]),
    Case("userscripts/ask.user.js", "// ==UserScript==\n// @name Ask\n// @match https://*/*\n"
         f"// ==/UserScript==\nconst key = \"{KEY}\";\n", "client", [
        "userscript (// ==UserScript==): runs in users' browsers"]),
    Case("vscode-ext/src/extension.ts", f'import * as vscode from "vscode";\nconst k = "{KEY}";\n',
         "client", ["VS Code extension (vscode-ext/package.json has engines.vscode): runs in"
                    " users' editors"]),
    Case("jb-plugin/src/main/kotlin/Ask.kt", f'const val KEY = "{KEY}"\n', "client", [
        "JetBrains IDE plugin (jb-plugin/build.gradle.kts applies org.jetbrains.intellij): runs"
        " in users' IDEs", "Kotlin code: usually a server (JVM)"]),
    Case("obsidian-plugin/main.ts", f'const k = "{KEY}";\n', "client", [
        "Obsidian plugin (obsidian-plugin/manifest.json has minAppVersion): runs in users'"
        " Obsidian app"]),
    Case("wx-app/pages/index/index.js", f'const key = "{KEY}";\nwx.request({{ url: "x" }});\n',
         "client", ["WeChat mini-program (wx-app/project.config.json): its files run in the app"
                    " on users' phones",
                    "calls the mini-program API (wx.*/my.*/uni.*): runs in the app"]),
    Case("wx-app/cloudfunctions/chat/index.js",
         f'const cloud = require("wx-server-sdk");\nconst key = "{KEY}";\n', "server", [
        "back-end package (wx-app/cloudfunctions/chat/package.json depends on wx-server-sdk)"]),
    Case("wx-app/cloudfunctions/login/index.js", f'exports.main = async () => "{KEY}";\n',
         "server", ["WeChat cloud function (wx-app/project.config.json: cloudfunctionRoot"
                    " cloudfunctions/): runs on WeChat's servers"]),
    Case("droid/local.properties", f"sdk.dir=/opt/android\nDEEPSEEK_KEY={KEY}\n", "client", [
        "Android app module (droid/build.gradle.kts): its files build the app"]),
    Case("uni-app/common/config.js", f'export default {{ key: "{KEY}" }};\n', "client", [
        "uni-app (uni-app/manifest.json with pages.json): compiled into mini-programs and apps"
        " on users' devices"]),
    Case("taro-app/src/config.ts", f'export const key = "{KEY}";\n', "client", [
        "Taro app (taro-app/package.json depends on @tarojs/taro): compiled into mini-programs"]),
    # --- servers, functions, containers
    Case("worker/src/index.ts", f'export default {{ fetch() {{ return "{KEY}"; }} }};\n',
         "server", ["Cloudflare Worker (worker/wrangler.toml): runs at the edge, not in"
                    " browsers"]),
    Case("worker/public/app.js", f'const k = "{KEY}";\n', "client", [
        "Worker static assets (worker/wrangler.toml: public/): served to browsers",
        "public/ folder: its files are served to browsers as they are"]),
    Case("vercel-app/api/chat.ts", f'export default function h() {{ return "{KEY}"; }}\n',
         "server", ["Vercel function (vercel-app/vercel.json: api/): runs on Vercel's servers"]),
    Case("netlify-site/netlify/functions/ask.mts", f'export default () => "{KEY}";\n', "server", [
        "Netlify function (netlify-site/netlify.toml: netlify/functions/): runs on Netlify's"
        " servers", "netlify/ folder: back-end code"]),
    Case("lambda-svc/handler.js", f'module.exports.chat = async () => "{KEY}";\n', "server", [
        "Serverless Framework service (lambda-svc/serverless.yml): Lambda functions run on"
        " AWS"]),
    Case("deno-app/main.ts", f'Deno.serve(() => new Response("{KEY}"));\n', "server", [
        "Deno project (deno-app/deno.json): runs on Deno or Deno Deploy"]),
    Case("py-svc/config/settings.yaml", f"deepseek:\n  key: {KEY}\n", "server", [
        "configuration file of the Python project (py-svc/pyproject.toml): takes the project's"
        " target"]),
    Case("st-app/.streamlit/secrets.toml", f'DEEPSEEK_KEY = "{KEY}"\n', "server", [
        "configuration file of the Streamlit app (st-app/requirements.txt): takes the project's"
        " target"]),
    Case("gr-app/app.py", f'import gradio as gr\nKEY = "{KEY}"\n', "server", [
        "imports gradio: back-end (or developer-run) Python",
        "Python code: runs on a server or the developer's machine",
        "Gradio app (gr-app/requirements.txt depends on gradio): runs on the server; browsers"
        " get only its pages"]),
    Case("go-svc/config.yaml", f"key: {KEY}\n", "server", [
        "configuration file of the Go module (go-svc/go.mod): takes the project's target"]),
    Case("java-svc/src/main/resources/application.yml", f"deepseek:\n  key: {KEY}\n", "server", [
        "configuration file of the Maven project (java-svc/pom.xml): takes the project's target"]),
    Case("rust-svc/src/main.rs", f'const KEY: &str = "{KEY}";\n', "server", [
        "Rust server (rust-svc/Cargo.toml depends on a server framework)",
        "Rust code: usually a server or a tool"]),
    Case("static-site/dist/config.js", f'window.CFG = {{ key: "{KEY}" }};\n', "client", [
        "document root (static-site/Dockerfile copies dist/ into /usr/share/nginx/html):"
        " nginx/Apache/Caddy serves its files to browsers as they are",
        "dist/ folder: build output, usually deployed to browsers",
        "uses browser globals (window, document, localStorage)"]),
]  # fmt: skip


def scaffold(root: Path) -> None:
    """Real create-vite and create-next-app output, then the hand-written markers."""
    env = {"CI": "1", "NEXT_TELEMETRY_DISABLED": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    subprocess.run(
        [str(BIN / "create-vite"), "vite-app", "--template", "react-ts", "--no-interactive"],
        cwd=root, check=True, capture_output=True, env=env,
    )  # fmt: skip
    subprocess.run(
        [str(BIN / "create-next-app"), "next15", "--ts", "--app", "--eslint", "--no-tailwind",
         "--src-dir", "--import-alias", "@/*", "--skip-install", "--disable-git", "--yes",
         "--no-turbopack", "--use-npm"],
        cwd=root, check=True, capture_output=True, env=env,
    )  # fmt: skip
    for rel, text in CONTEXT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def plant(root: Path, cases: list[Case] = PROJECT_CASES) -> dict[str, str]:
    keys: dict[str, str] = {}
    for case in cases:
        key = keys[case.path] = new_key()
        target = root / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = case.text
        if "@REAL@" in text:
            text = text.replace("@REAL@", target.read_text(encoding="utf-8"))
        target.write_text(text.replace(KEY, key), encoding="utf-8")
    return keys


def layered(root: Path) -> dict[str, str]:
    """Keys in decoded layers: x.js.gz, x.js.br, a zip member, a container image layer."""
    keys = {name: new_key() for name in ("gz", "br", "zip", "image")}
    assets = root / "vite-app" / "dist" / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "index-Bx9aQ2kL.js.gz").write_bytes(gzip.compress(f'var k="{keys["gz"]}";'.encode()))
    (assets / "vendor-C4fT9wQe.js.br").write_bytes(
        brotli.compress(f'var k="{keys["br"]}";'.encode())
    )
    release = root / "vite-app" / "release"
    release.mkdir()
    with zipfile.ZipFile(release / "site.zip", "w") as site:
        site.writestr("dist/app.js", f'var k="{keys["zip"]}";')
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = f'var k="{keys["image"]}";'.encode()
        info = tarfile.TarInfo("usr/share/nginx/html/assets/app.js")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    image = root / "images"
    image.mkdir()
    with tarfile.open(image / "web.tar", "w") as tar:
        blob = gzip.compress(layer.getvalue())
        info = tarfile.TarInfo("blobs/sha256/0f1e2d3c")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    return keys
