"""What a file's own text says: imports, runtimes, directives, minified lines."""

from __future__ import annotations

import re

from keysentry.exposure.signals import (
    JS_LIKE,
    WEB_ASSETS,
    Signal,
    client,
    extension,
    server,
    split_location,
)
from keysentry.model.pattern import lazy

_MODULE = lazy(
    rb"""(?:\bfrom\s*|\brequire\(\s*|\bimport\s*\(?\s*)["']((?:@[\w.-]+/)?[\w.:-]+)[\w./-]*["']"""
)
_PY_IMPORT = lazy(rb"^[ \t]*(?:from|import)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
FRONTEND_MODULES = {
    "react": "React",
    "react-dom": "React",
    "vue": "Vue",
    "svelte": "Svelte",
    "@angular/core": "Angular",
    "solid-js": "Solid",
    "preact": "Preact",
    "lit": "Lit",
    "jquery": "jQuery",
    "@remix-run/react": "Remix",
    "next/link": "Next.js",
    "next/router": "Next.js",
    "next/navigation": "Next.js",
}
APP_MODULES = {
    "react-native": client(3, "imports react-native: a React Native app on users' devices"),
    "expo": client(3, "imports expo: an Expo app on users' devices"),
    "electron": client(3, "imports electron: an Electron app on users' machines"),
    "@capacitor/core": client(3, "imports @capacitor/core: a Capacitor app on users' devices"),
    "@tauri-apps/api": client(3, "imports @tauri-apps/api: a Tauri app on users' machines"),
}
BACKEND_MODULES = frozenset(
    {
        "express",
        "fastify",
        "koa",
        "@hapi/hapi",
        "hapi",
        "@nestjs/core",
        "@nestjs/common",
        "restify",
        "next/server",
        "server-only",
        "@vercel/node",
        "@netlify/functions",
        "@cloudflare/workers-types",
        "http",
        "node:http",
        "https",
        "node:https",
        "fs",
        "node:fs",
        "child_process",
        "node:child_process",
        "hono/node-server",
        "@hono/node-server",
    }
)
BACKEND_PY = frozenset(
    {
        "fastapi",
        "flask",
        "django",
        "starlette",
        "aiohttp",
        "tornado",
        "sanic",
        "uvicorn",
        "litestar",
        "bottle",
        "falcon",
        "quart",
        "streamlit",
        "gradio",
        "celery",
        "boto3",
    }
)
_BUNDLERS = (
    (b"__webpack_require__", "webpack runtime (__webpack_require__)"),
    (b"webpackChunk", "webpack runtime (webpackChunk)"),
    (b"webpackJsonp", "webpack runtime (webpackJsonp)"),
    (b"vite:preloadError", "Vite runtime (vite:preloadError)"),
    (b"__vitePreload", "Vite runtime (__vitePreload)"),
    (b"/@vite/client", "Vite dev client (/@vite/client)"),
    (b"{exports:{}}).exports", "esbuild runtime (CommonJS wrapper helper)"),
    (b"__toESM(", "esbuild runtime (__toESM)"),
    (b"parcelRequire", "Parcel runtime (parcelRequire)"),
    (b"getDefaultExportFromCjs", "Rollup runtime (getDefaultExportFromCjs)"),
    (b"TURBOPACK", "Turbopack runtime"),
    (b"self.__next_f", "Next.js browser runtime (self.__next_f)"),
    (b"__BUNDLE_START_TIME__", "Metro bundle (React Native)"),
)
_BROWSER_GLOBALS = lazy(
    rb"\b(?:window|document|localStorage|sessionStorage|navigator)\s*\.\s*[A-Za-z_]"
)
_EXTENSION_API = lazy(rb"\b(?:chrome|browser)\.(?:runtime|storage|tabs|action)\b")
_DANGEROUS = lazy(rb"dangerouslyAllowBrowser[\"']?\s*:\s*(?:true|!0)\b")
USE_CLIENT = lazy(rb"""\A(?:\s|//[^\n]*\n|/\*.*?\*/)*["']use client["']""", re.DOTALL)
USE_SERVER = lazy(rb"""\A(?:\s|//[^\n]*\n|/\*.*?\*/)*["']use server["']""", re.DOTALL)
_USERSCRIPT = lazy(rb"^//\s*==UserScript==", re.MULTILINE)
_WX_API = lazy(
    rb"\b(?:wx|my|uni)\.(?:request|getStorageSync|setStorageSync|navigateTo|showToast|login)\("
)
_HTML_SCRIPT = lazy(rb"<script\b", re.IGNORECASE)
_K8S = lazy(rb"^apiVersion:\s*\S+\s*$.*?^kind:\s*(\w+)", re.MULTILINE | re.DOTALL)
_CLOUDFORMATION = lazy(rb"AWSTemplateFormatVersion|Transform:\s*AWS::Serverless")
_SHEBANG_NODE = lazy(rb"\A#![^\n]*\b(?:node|deno|bun|python3?|bash|sh)\b")
_ANDROID_IMPORT = lazy(rb"^import\s+android(?:x)?\.", re.MULTILINE)
_FLUTTER_IMPORT = b"package:flutter/"
_VAPOR_IMPORT = lazy(rb"^import\s+(?:Vapor|Hummingbird|Kitura)\b", re.MULTILINE)


def _module_root(name: str) -> str:
    return name if name.startswith("@") or name.startswith("next/") else name.split("/")[0]


def content_signals(location: str, head: bytes) -> list[Signal]:
    """What the file's own text says, from its first bytes (imports, runtimes, directives)."""
    _, inner = split_location(location)
    ext = extension(inner.rsplit("/", 1)[-1])
    found: list[Signal] = []
    if _DANGEROUS.search(head):
        found.append(
            client(3, "dangerouslyAllowBrowser: true: the OpenAI-compatible SDK runs in a browser")
        )
    if ext in JS_LIKE or ext in ("html", "htm", "") or ext in WEB_ASSETS:
        found += _js_signals(head, ext)
    if ext in ("js", "") and _USERSCRIPT.search(head[:4096]):
        found.append(client(3, "userscript (// ==UserScript==): runs in users' browsers"))
    if ext in ("js", "mjs") and _WX_API.search(head):
        found.append(client(2, "calls the mini-program API (wx.*/my.*/uni.*): runs in the app"))
    if ext in ("html", "htm") and _HTML_SCRIPT.search(head):
        found.append(client(2, "HTML page with a script: served to browsers"))
    if ext == "py":
        for module in sorted({m.decode() for m in _PY_IMPORT.findall(head)} & BACKEND_PY):
            found.append(server(3, f"imports {module}: back-end (or developer-run) Python"))
            break
    if ext in ("java", "kt") and _ANDROID_IMPORT.search(head):
        found.append(client(3, "imports android.*: an Android app on users' devices"))
    if ext == "dart" and _FLUTTER_IMPORT in head:
        found.append(client(3, "imports package:flutter: a Flutter app on users' devices"))
    if ext == "swift" and _VAPOR_IMPORT.search(head):
        found.append(server(3, "imports a Swift server framework"))
    if ext in ("yml", "yaml", "json", "template"):
        kind = _K8S.search(head) if ext in ("yml", "yaml") else None
        if kind:
            found.append(server(2, f"Kubernetes manifest (kind: {kind.group(1).decode()})"))
        elif _CLOUDFORMATION.search(head):
            found.append(server(2, "CloudFormation/SAM template: infrastructure as code"))
    if ext in ("gradle", "kts") and b"buildConfigField" in head:
        found.append(client(3, "buildConfigField: compiled into the Android app's BuildConfig"))
    if _SHEBANG_NODE.search(head):
        found.append(server(2, "script with a #! line: run from the command line"))
    return found


def _js_signals(head: bytes, ext: str) -> list[Signal]:
    found: list[Signal] = []
    if USE_CLIENT.search(head):
        found.append(client(3, '"use client" directive: a React client component'))
    if USE_SERVER.search(head):
        found.append(server(3, '"use server" directive: runs only on the server'))
    modules = {_module_root(m.decode("ascii", "replace")) for m in _MODULE.findall(head)}
    for module in sorted(modules):
        if module in APP_MODULES:
            found.append(APP_MODULES[module])
    frontend = sorted({FRONTEND_MODULES[m] for m in modules if m in FRONTEND_MODULES})
    if frontend:
        names = ", ".join(frontend)
        found.append(client(2, f"imports {names}: front-end framework code"))
    backend = sorted(modules & BACKEND_MODULES)
    if backend:
        found.append(server(3, f"imports {', '.join(backend[:3])}: back-end (Node.js) code"))
    for marker, reason in _BUNDLERS:
        if marker in head:
            found.append(client(2, f"bundler output: {reason}"))
            break
    if _EXTENSION_API.search(head):
        found.append(client(2, "uses the browser extension API (chrome.*/browser.*)"))
    if _BROWSER_GLOBALS.search(head):
        found.append(client(1, "uses browser globals (window, document, localStorage)"))
    return found


def minified_signal(location: str, data: bytes, start: int, end: int) -> Signal | None:
    """A long dense line around the key in a script: minified code."""
    _, inner = split_location(location)
    if extension(inner) not in ("js", "mjs", "cjs", ""):
        return None
    lo = data.rfind(b"\n", max(0, start - 4096), start) + 1
    hi = data.find(b"\n", end, end + 4096)
    hi = min(len(data), end + 4096) if hi < 0 else hi
    if lo == 0 and start >= 4096:
        lo = start - 4096
    line = data[lo:hi]
    if len(line) < 250:
        return None
    spaces = line.count(b" ") + line.count(b"\t")
    if spaces / len(line) >= 0.08:
        return None
    shown = f"{len(line):,}" if len(line) < 8192 else "8,000+"
    return client(2, f"minified code: a {shown}-character line around the key")
