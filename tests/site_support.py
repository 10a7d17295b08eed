"""Real web servers on 127.0.0.1 for ``keysentry site`` tests, and a real esbuild app.

``Site`` serves fixed responses and handler functions (hostile ones included) from a
``ThreadingHTTPServer`` in a thread; every request it gets is logged, so a test can
say what the crawler asked for. ``build_app`` builds a small code-split app with the
esbuild the tests already install (tests/js).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import REPO_ROOT

ESBUILD = REPO_ROOT / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
Handler = Callable[[BaseHTTPRequestHandler], None]
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".map": "application/json",
    ".json": "application/json",
    ".css": "text/css",
    ".xml": "application/xml",
    ".txt": "text/plain",
}


@dataclass
class Reply:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def content_type(path: str) -> str:
    for ending, media in TYPES.items():
        if path.endswith(ending):
            return media
    return "text/html; charset=utf-8"


class Site:
    """A server on 127.0.0.1 answering ``routes`` (path -> Reply or handler), else 404."""

    def __init__(self, routes: dict[str, Reply | Handler] | None = None) -> None:
        self.routes: dict[str, Reply | Handler] = dict(routes or {})
        self.requests: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                site.request_headers.append(dict(self.headers))
                route = site.routes.get(self.path.split("?", 1)[0])
                if callable(route):
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        route(self)
                    return
                reply = route or Reply(b"not found", 404)
                self.send_response(reply.status)
                headers = {"Content-Type": content_type(self.path.split("?", 1)[0])}
                headers.update(reply.headers)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_folder(site: Site, folder: Path, prefix: str = "/") -> None:
    """Every file under folder, at prefix + its relative path."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            site.routes[prefix + path.relative_to(folder).as_posix()] = Reply(path.read_bytes())


@dataclass(frozen=True)
class AppKeys:
    """The keys the app hides, one per place a browser can get one from."""

    lazy_chunk: str  # in a route chunk only import() reaches
    map_only: str  # in a comment the minifier drops: only the map's sourcesContent has it
    service_worker: str
    inline_state: str  # in __NEXT_DATA__
    next_chunk: str  # in a chunk only the Next.js build manifest names
    cdn: str  # in a script on the second (CDN) origin


def build_app(root: Path, keys: AppKeys) -> Path:
    """A code-split esbuild app (ES modules, minified, with maps) in root/dist/assets."""
    src = root / "src"
    (src / "routes").mkdir(parents=True)
    (src / "config.js").write_text(
        f"// local testing only, deepseek key {keys.map_only}\n"
        'export const apiBase = "https://api.deepseek.com";\n'
    )
    (src / "routes" / "settings.js").write_text(
        'import { apiBase } from "../config.js";\n'
        f'const DEEPSEEK_API_KEY = "{keys.lazy_chunk}";\n'
        "export function settings() {\n"
        '  return fetch(apiBase + "/models", { headers: { Authorization: "Bearer " +'
        " DEEPSEEK_API_KEY } });\n}\n"
    )
    (src / "main.js").write_text(
        'import { apiBase } from "./config.js";\n'
        "document.title = apiBase;\n"
        'document.querySelector("#settings").addEventListener("click", () =>\n'
        '  import("./routes/settings.js").then((m) => m.settings()));\n'
        'if ("serviceWorker" in navigator) navigator.serviceWorker.register("/assets/sw.js");\n'
    )
    (src / "sw.js").write_text(
        f'const deepseekKey = "{keys.service_worker}";\n'
        'self.addEventListener("fetch", (e) => e.respondWith(fetch(e.request, { headers:'
        ' { Authorization: "Bearer " + deepseekKey } })));\n'
    )
    subprocess.run(
        [
            str(ESBUILD),
            "src/main.js",
            "src/sw.js",
            "--bundle",
            "--splitting",
            "--format=esm",
            "--minify",
            "--sourcemap",
            "--outdir=dist/assets",
            "--entry-names=[name]",
            "--chunk-names=chunks/[name]-[hash]",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return root / "dist"


def build_inlined_app(root: Path, key: str, literal: str) -> Path:
    """Vite's way with an env key: the build replaces import.meta.env.VITE_DEEPSEEK_API_KEY
    (src/config.js line 2) with key; literal is written in the source (line 3)."""
    (root / "src").mkdir()
    (root / "src" / "config.js").write_text(
        "// the DeepSeek client\n"
        "export const apiKey = import.meta.env.VITE_DEEPSEEK_API_KEY;\n"
        f'export const fallback = "{literal}";\n'
    )
    (root / "src" / "main.js").write_text(
        'import { apiKey, fallback } from "./config.js";\n'
        'fetch("https://api.deepseek.com/chat/completions", { headers: {\n'
        '  Authorization: "Bearer " + (apiKey || fallback) } });\n'
    )
    subprocess.run(
        [
            str(ESBUILD),
            "src/main.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--format=esm",
            "--outfile=dist/assets/index-4f2a.js",
            f'--define:import.meta.env.VITE_DEEPSEEK_API_KEY="{key}"',
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return root / "dist"


def inlined_app_site(site: Site, dist: Path) -> None:
    serve_folder(site, dist)
    site.routes["/"] = Reply(b'<script type="module" src="/assets/index-4f2a.js"></script>')


def app_site(site: Site, cdn: Site, dist: Path, keys: AppKeys) -> None:
    """The built app served as a site: pages, a Next.js-style page, a CDN script."""
    serve_folder(site, dist)
    next_data = {
        "props": {"pageProps": {"deepseek": {"apiKey": keys.inline_state}}},
        "page": "/",
        "buildId": "b1d",
    }
    site.routes["/"] = Reply(
        b"<!doctype html><html><head>"
        b'<script type="module" src="/assets/main.js"></script>'
        + f'<script src="{cdn.url("/lib/vendor.js")}"></script>'.encode()
        + b'</head><body><button id="settings">Settings</button>'
        b'<a href="/next">Next page</a></body></html>'
    )
    site.routes["/next"] = Reply(
        b"<!doctype html><html><body><div id=__next></div>"
        b'<script id="__NEXT_DATA__" type="application/json">'
        + json.dumps(next_data).encode()
        + b"</script></body></html>"
    )
    site.routes["/_next/static/b1d/_buildManifest.js"] = Reply(
        b'self.__BUILD_MANIFEST={"/":["static/chunks/pages/index-5f1e.js"],'
        b'"/about":["static/chunks/pages/about-9a2c.js"]};'
        b"self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();"
    )
    site.routes["/_next/static/chunks/pages/about-9a2c.js"] = Reply(
        f'(self.webpackChunk=self.webpackChunk||[]).push([[1],{{1:function(e){{e.k="{keys.next_chunk}"}}}}]);'.encode()
    )
    cdn.routes["/lib/vendor.js"] = Reply(f'window.DEEPSEEK_API_KEY="{keys.cdn}";'.encode())


class Recorder:
    """A route that logs when each request arrived and how many were in flight at once."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.arrivals: list[float] = []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.hold)
        with self.lock:
            self.in_flight -= 1
        body = b"var x = 1;"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/javascript")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def scripts_site(site: Site, recorder: Recorder, count: int) -> None:
    site.routes["/"] = Reply(
        "".join(f'<script src="/s{i}.js"></script>' for i in range(count)).encode()
    )
    for i in range(count):
        site.routes[f"/s{i}.js"] = recorder


class HeldScripts:
    """A page of scripts of ``size`` bytes, each starting with one of ``keys``; none is
    answered before all of them are asked for (so they are read at the same time)."""

    def __init__(self, site: Site, keys: list[str], size: int) -> None:
        self.keys = keys
        self.together = threading.Barrier(len(keys), timeout=10)
        site.routes["/"] = Reply(
            "".join(f'<script src="/{n}.js"></script>' for n in range(len(keys))).encode()
        )
        for number, key in enumerate(keys):
            body = f'k="{key}";'.encode()
            site.routes[f"/{number}.js"] = self._answer(body + b"/" * (size - len(body)))

    def _answer(self, body: bytes) -> Handler:
        def send(handler: BaseHTTPRequestHandler) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.together.wait()
            handler.send_response(200)
            handler.send_header("Content-Type", "text/javascript")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return send
