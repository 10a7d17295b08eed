"""A labelled project tree for the exposure tests: every file, its verdict and its evidence.

Built at run time (keys from new_key(), so no key literal lives in the repo). ``@KEY@``
in a file's text becomes a fresh key; files without it are context (package.json,
manifest.json, AndroidManifest.xml, pubspec.yaml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from conftest import new_key

KEY = "@KEY@"

VITE = "VITE_ prefix: Vite inlines VITE_* variables into the browser bundle"
NEXT_PUBLIC = "NEXT_PUBLIC_ prefix: Next.js inlines NEXT_PUBLIC_* variables into the browser bundle"
WEB_PACKAGE = "front-end package (web/package.json depends on vite)"
VITE_SRC = "Vite app (web/package.json): src/ is bundled for browsers"
API_PACKAGE = "back-end package (api/package.json depends on express)"
EXTENSION = (
    "browser extension (extension/manifest.json has manifest_version):"
    " its files run in users' browsers"
)
ANDROID_MAIN = "Android app module (android/app/build.gradle): src/main/ is packaged into the app"
CONTAINER = "container image (backend/Dockerfile): runs on a server"
BROWSER_GLOBALS = "uses browser globals (window, document, localStorage)"
NO_SIGNAL = "no client-side or server-side signal in the path, the file or its folders"


@dataclass(frozen=True)
class Case:
    path: str
    text: str
    verdict: str
    evidence: list[str] = field(default_factory=list)


CONTEXT_FILES = {
    "web/package.json": json.dumps(
        {"name": "web", "dependencies": {"react": "^18"}, "devDependencies": {"vite": "^5"}}
    ),
    "next-app/package.json": json.dumps(
        {"name": "next-app", "dependencies": {"next": "^14", "react": "^18", "react-dom": "^18"}}
    ),
    "api/package.json": json.dumps({"name": "api", "dependencies": {"express": "^4"}}),
    "extension/manifest.json": json.dumps(
        {
            "manifest_version": 3,
            "name": "Ask",
            "version": "1.0",
            "background": {"service_worker": "background.js"},
        }
    ),
    "android/app/src/main/AndroidManifest.xml": '<manifest package="com.example.ask"/>\n',
    "flutter_app/pubspec.yaml": "name: ask\ndependencies:\n  flutter:\n    sdk: flutter\n",
    "desktop/package.json": json.dumps({"name": "desk", "devDependencies": {"electron": "^30"}}),
    "mobile/package.json": json.dumps({"name": "m", "dependencies": {"react-native": "0.74"}}),
}

CASES = [
    # --- public build-time variables, wherever they are set
    Case("web/.env.production", f"VITE_DEEPSEEK_KEY={KEY}\n", "client", [VITE]),
    Case(
        "web/.env",
        f"DEEPSEEK_API_KEY={KEY}\n",
        "server",
        [
            "unprefixed variable (DEEPSEEK_API_KEY) in a .env file of a Vite app"
            " (web/package.json): its bundler inlines only public-prefixed variables"
        ],
    ),
    Case("next-app/.env.local", f"NEXT_PUBLIC_DEEPSEEK_KEY={KEY}\n", "client", [NEXT_PUBLIC]),
    Case(
        "cra/.env",
        f"REACT_APP_DEEPSEEK_KEY={KEY}\n",
        "client",
        [
            "REACT_APP_ prefix: Create React App inlines REACT_APP_* variables into the browser"
            " bundle"
        ],
    ),
    Case(
        "nuxt/.env",
        f"NUXT_PUBLIC_DEEPSEEK_KEY={KEY}\n",
        "client",
        [
            "NUXT_PUBLIC_ prefix: Nuxt exposes NUXT_PUBLIC_* variables to the browser"
            " (runtimeConfig.public)"
        ],
    ),
    Case(
        "mobile/.env",
        f"EXPO_PUBLIC_DEEPSEEK_KEY={KEY}\n",
        "client",
        [
            "EXPO_PUBLIC_ prefix: Expo inlines EXPO_PUBLIC_* variables into the app on users'"
            " devices"
        ],
    ),
    Case(
        "kit/.env",
        f"PUBLIC_DEEPSEEK_KEY={KEY}\n",
        "client",
        ["PUBLIC_ prefix: SvelteKit and Astro expose PUBLIC_* variables to the browser"],
    ),
    Case(
        "gatsby/.env.production",
        f"GATSBY_DEEPSEEK_KEY={KEY}\n",
        "client",
        ["GATSBY_ prefix: Gatsby inlines GATSBY_* variables into the browser bundle"],
    ),
    Case(
        "vue2/.env",
        f"VUE_APP_DEEPSEEK_KEY={KEY}\n",
        "client",
        ["VUE_APP_ prefix: Vue CLI inlines VUE_APP_* variables into the browser bundle"],
    ),
    Case(
        "sb/.env",
        f"STORYBOOK_DEEPSEEK_KEY={KEY}\n",
        "client",
        ["STORYBOOK_ prefix: Storybook inlines STORYBOOK_* variables into the browser bundle"],
    ),
    # a public prefix in a server file still ships the key: the prefix wins, both are listed
    Case(
        "web/Dockerfile",
        f"FROM node:20 AS build\nARG VITE_DEEPSEEK_KEY={KEY}\nRUN npm run build\n",
        "client",
        [VITE, "Dockerfile: builds a server image"],
    ),
    Case(
        ".github/workflows/web.yml",
        f"jobs:\n  build:\n    env:\n      VITE_DEEPSEEK_KEY: {KEY}\n",
        "client",
        [VITE, "GitHub Actions workflow: runs in CI"],
    ),
    Case(
        "k8s/web.yaml",
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  env: |\n"
        f"    - name: NEXT_PUBLIC_DEEPSEEK_KEY\n      value: {KEY}\n",
        "client",
        [
            NEXT_PUBLIC,
            "Kubernetes/Helm folder: server deployment",
            "Kubernetes manifest (kind: ConfigMap)",
        ],
    ),
    Case(
        "web/src/api/client.ts",
        f'export const key = import.meta.env.VITE_DEEPSEEK_KEY ?? "{KEY}";\n',
        "client",
        [VITE, VITE_SRC, WEB_PACKAGE],
    ),
    # --- front-end source
    Case(
        "web/src/Chat.tsx",
        'import React from "react";\nimport OpenAI from "openai";\n'
        'const client = new OpenAI({ baseURL: "https://api.deepseek.com",\n'
        f'  apiKey: "{KEY}", dangerouslyAllowBrowser: true }});\n'
        "export const Chat = () => <div>{window.location.href}</div>;\n",
        "client",
        [
            "dangerouslyAllowBrowser: true: the OpenAI-compatible SDK runs in a browser",
            ".tsx file: front-end component source",
            "imports React: front-end framework code",
            VITE_SRC,
            BROWSER_GLOBALS,
            WEB_PACKAGE,
        ],
    ),
    Case(
        "web/src/App.vue",
        f'<script setup>\nconst key = "{KEY}";\n</script>\n<template><p/></template>\n',
        "client",
        [".vue component: compiled into the browser bundle", VITE_SRC, WEB_PACKAGE],
    ),
    Case(
        "web/src/Widget.svelte",
        f'<script>\n  let key = "{KEY}";\n</script>\n',
        "client",
        [".svelte component: compiled into the browser bundle", VITE_SRC, WEB_PACKAGE],
    ),
    Case(
        "web/src/ask.js",
        f'import {{ ref }} from "vue";\nconst key = "{KEY}";\n'
        'document.querySelector("#ask").onclick = () => fetch("/x");\n',
        "client",
        ["imports Vue: front-end framework code", VITE_SRC, BROWSER_GLOBALS, WEB_PACKAGE],
    ),
    Case(
        "site/index.html",
        f'<html><body><script>\nconst key = "{KEY}";\n</script></body></html>\n',
        "client",
        ["HTML page with a script: served to browsers"],
    ),
    Case(
        "web/public/config.js",
        f'window.ASK_CONFIG = {{ key: "{KEY}" }};\n',
        "client",
        [
            "public/ folder: its files are served to browsers as they are",
            BROWSER_GLOBALS,
            WEB_PACKAGE,
        ],
    ),
    Case(
        "web/vendor/ask.min.js",
        f'var k="{KEY}";\n',
        "client",
        ["minified file name (ask.min.js)", WEB_PACKAGE],
    ),
    Case(
        "django/static/js/chat.js",
        f'const key = "{KEY}";\n',
        "client",
        ["static/ folder: its files are served to browsers as they are"],
    ),
    Case(
        "next-app/app/chat/page.tsx",
        f'"use client";\nimport {{ useState }} from "react";\nconst key = "{KEY}";\n',
        "client",
        [
            '"use client" directive: a React client component',
            ".tsx file: front-end component source",
            "imports React: front-end framework code",
        ],
    ),
    Case(
        "next-app/.next/static/chunks/app-page.js",
        f'self.__next_f.push([1,"{KEY}"])\n',
        "client",
        [
            ".next/static/: Next.js browser chunks",
            "bundler output: Next.js browser runtime (self.__next_f)",
        ],
    ),
    Case(
        "legacy/public/bundle.js",
        f'(self.webpackChunkapp=self.webpackChunkapp||[]).push([[1],{{1:()=>"{KEY}"}}]);\n',
        "client",
        [
            "public/ folder: its files are served to browsers as they are",
            "bundler output: webpack runtime (webpackChunk)",
        ],
    ),
    Case(
        "next-app/next.config.js",
        f'module.exports = {{ env: {{ DEEPSEEK_KEY: "{KEY}" }} }};\n',
        "client",
        [
            "env in next.config.js: Next.js inlines it into the browser bundle",
            "next.config.js: bundler configuration; its env/define values are inlined into the"
            " bundle",
        ],
    ),
    # --- apps on users' devices
    Case(
        "extension/background.js",
        f'const key = "{KEY}";\nchrome.runtime.onMessage.addListener(() => {{}});\n',
        "client",
        [EXTENSION, "uses the browser extension API (chrome.*/browser.*)"],
    ),
    Case("extension/popup/config.json", f'{{"key": "{KEY}"}}\n', "client", [EXTENSION]),
    Case(
        "android/app/src/main/res/values/strings.xml",
        f'<resources>\n  <string name="deepseek_key">{KEY}</string>\n</resources>\n',
        "client",
        ["Android resource (res/values): compiled into the app", ANDROID_MAIN],
    ),
    Case(
        "android/app/src/main/java/com/example/ask/Api.kt",
        f'package com.example.ask\nconst val KEY = "{KEY}"\n',
        "client",
        [ANDROID_MAIN, "Kotlin code: usually a server (JVM)"],
    ),
    Case(
        "android/app/build.gradle",
        "android {\n  defaultConfig {\n"
        f'    buildConfigField "String", "DEEPSEEK_KEY", "\\"{KEY}\\""\n  }}\n}}\n',
        "client",
        ["buildConfigField: compiled into the Android app's BuildConfig"],
    ),
    Case(
        "ios/Ask/Info.plist",
        f"<plist><dict><key>DeepSeekKey</key><string>{KEY}</string></dict></plist>\n",
        "client",
        ["Info.plist: part of an iOS/macOS app bundle"],
    ),
    Case(
        "ios/Ask/Api.swift",
        f'import Foundation\nlet key = "{KEY}"\n',
        "client",
        [".swift file: iOS/macOS app code ships on users' devices"],
    ),
    Case(
        "mobile/App.js",
        f'import {{ View }} from "react-native";\nconst key = "{KEY}";\n',
        "client",
        [
            "imports react-native: a React Native app on users' devices",
            "React Native app (mobile/package.json depends on react-native): runs on users'"
            " devices",
        ],
    ),
    Case(
        "flutter_app/lib/main.dart",
        f"import 'package:flutter/material.dart';\nconst key = '{KEY}';\n",
        "client",
        [
            "imports package:flutter: a Flutter app on users' devices",
            "Flutter app (flutter_app/pubspec.yaml): runs on users' devices",
            "Dart code: a Flutter app on users' devices",
        ],
    ),
    Case(
        "desktop/main.js",
        f'const {{ app }} = require("electron");\nconst key = "{KEY}";\n',
        "client",
        [
            "imports electron: an Electron app on users' machines",
            "Electron app (desktop/package.json depends on electron): ships to users' machines",
        ],
    ),
    Case(
        "tauri/src-tauri/src/main.rs",
        f'const KEY: &str = "{KEY}";\n',
        "client",
        [
            "src-tauri/: a Tauri desktop app on users' machines",
            "Rust code: usually a server or a tool",
        ],
    ),
    # --- server side
    Case(
        "api/server.js",
        f'const express = require("express");\nconst key = "{KEY}";\nexpress().listen(8080);\n',
        "server",
        [
            "imports express: back-end (Node.js) code",
            "api/ folder at the root: serverless functions",
            API_PACKAGE,
        ],
    ),
    Case(
        "backend/app/main.py",
        f'from fastapi import FastAPI\nDEEPSEEK_API_KEY = "{KEY}"\n',
        "server",
        [
            "imports fastapi: back-end (or developer-run) Python",
            "backend/ folder: back-end code",
            "Python code: runs on a server or the developer's machine",
            CONTAINER,
        ],
    ),
    Case(
        "backend/Dockerfile",
        f"FROM python:3.12\nENV DEEPSEEK_API_KEY={KEY}\n",
        "server",
        ["backend/ folder: back-end code", "Dockerfile: builds a server image", CONTAINER],
    ),
    Case(
        "deploy/k8s/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        f"      containers:\n        - env:\n            - name: DEEPSEEK_API_KEY\n"
        f"              value: {KEY}\n",
        "server",
        ["Kubernetes/Helm folder: server deployment", "Kubernetes manifest (kind: Deployment)"],
    ),
    Case(
        "ops/worker.yaml",
        f"apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  annotations:\n    key: {KEY}\n",
        "server",
        ["Kubernetes manifest (kind: CronJob)"],
    ),
    Case(
        ".github/workflows/deploy.yml",
        f"jobs:\n  deploy:\n    env:\n      DEEPSEEK_API_KEY: {KEY}\n",
        "server",
        ["GitHub Actions workflow: runs in CI"],
    ),
    Case(
        ".gitlab-ci.yml",
        f"variables:\n  KEY: {KEY}\n",
        "server",
        ["GitLab CI pipeline: runs in CI"],
    ),
    Case(
        "docker-compose.yml",
        f"services:\n  api:\n    environment:\n      - DEEPSEEK_API_KEY={KEY}\n",
        "server",
        ["Docker Compose file: server deployment"],
    ),
    Case(
        "Procfile",
        f"web: DEEPSEEK_API_KEY={KEY} gunicorn app:app\n",
        "server",
        ["Procfile: processes run on a server"],
    ),
    Case(
        "infra/main.tf",
        f'resource "x" "y" {{\n  key = "{KEY}"\n}}\n',
        "server",
        ["Terraform: infrastructure as code"],
    ),
    Case(
        "notebooks/explore.ipynb",
        json.dumps({"cells": [{"source": [f'key = "{KEY}"']}]}) + "\n",
        "server",
        ["Jupyter notebook: run by the developer"],
    ),
    Case(
        "ops/rotate.sh",
        f"#!/bin/bash\nexport DEEPSEEK_API_KEY={KEY}\n",
        "server",
        [
            "shell script: run by the developer, CI or a server",
            "script with a #! line: run from the command line",
        ],
    ),
    Case(
        "web/scripts/seed.js",
        f'const key = "{KEY}";\n',
        "server",
        ["scripts/ folder: scripts run by the developer or CI", WEB_PACKAGE],
    ),
    Case(
        "next-app/pages/api/chat.ts",
        f'export default function handler(req, res) {{ const key = "{KEY}"; }}\n',
        "server",
        ["Next.js API route: runs on the server"],
    ),
    Case(
        "next-app/app/actions.ts",
        f'"use server";\nconst key = "{KEY}";\n',
        "server",
        ['"use server" directive: runs only on the server'],
    ),
    Case(
        "next-app/.next/server/app/page.js",
        f'var key = "{KEY}";\n',
        "server",
        [".next/server/: Next.js server build"],
    ),
    Case(
        "kit/src/routes/chat/+page.server.ts",
        f'const key = "{KEY}";\n',
        "server",
        ["+page.server.ts: a server-only module (SvelteKit/Remix convention)"],
    ),
    Case(
        "go/main.go",
        f'package main\nconst key = "{KEY}"\n',
        "server",
        ["Go code: a server or a tool run by the developer"],
    ),
    # --- nothing to go on
    Case("notes/keys.txt", f"old key: {KEY}\n", "unknown", [NO_SIGNAL]),
]


def materialise(root: object, cases: list[Case] = CASES) -> dict[str, str]:
    """Write the tree under root; returns path -> the key written there."""
    from pathlib import Path

    base = Path(str(root))
    keys: dict[str, str] = {}
    for rel, text in CONTEXT_FILES.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text, encoding="utf-8")
    for case in cases:
        key = new_key()
        keys[case.path] = key
        target = base / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(case.text.replace(KEY, key), encoding="utf-8")
    return keys
