"""A real HTTP server on 127.0.0.1 that answers GET /user/balance per key, for --verify tests.

It plays the DeepSeek balance endpoint (and, for the proxy test, an HTTP proxy:
a proxy receives the absolute URL in the request line). Each key gets a scripted
answer; every request is recorded by fingerprint, so tests can assert what was
sent, how often, and that nothing was sent at all.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from keysentry.model.key import fingerprint

SLOW_SECONDS = 5.0
DRIP_SECONDS = 0.3  # between the bytes of a dripping answer
HOSTILE_BALANCE = json.dumps({"is_available": True, "balance_infos": []}).encode()


def _raw(answer: str, key: str) -> bytes | None:
    """The bytes of a malformed or misleading answer (None: not one of these)."""
    if answer == "bad_status":
        return b"HTTP/1.1 two hundred OK\r\n\r\n"
    if answer == "many_headers":
        return b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n" + HOSTILE_BALANCE
    if answer == "huge_header":
        return b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n" + HOSTILE_BALANCE
    if answer == "not_json":  # a captive portal's login page
        page = b"<html><body>Please log in to the hotel network</body></html>"
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + page
    if answer == "truncated":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n" + HOSTILE_BALANCE
    if answer == "huge_body":
        padding = b" " * (4 << 20)
        return b"HTTP/1.1 200 OK\r\n\r\n" + HOSTILE_BALANCE[:-1] + padding + b"}"
    if answer == "echo":  # an error page that repeats the request's key
        return f"HTTP/1.1 500 bad key {key}\r\nContent-Length: 0\r\n\r\n".encode()
    return None


HOSTILE = (
    "bad_status",
    "many_headers",
    "huge_header",
    "not_json",
    "truncated",
    "huge_body",
    "echo",
    "drip_body",
    "drip_headers",
)


class BalanceServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # key -> live | unavailable | revoked | 429 | 500 | slow | redirect | pause, or one
        # of HOSTILE's answers
        self.answers: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []  # (request path, fingerprint of the bearer key)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fingerprints(self) -> list[str]:
        with self.lock:
            return [fp for _, fp in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server: BalanceServer

    def log_message(self, format: str, *args: object) -> None:  # quiet: never print headers
        pass

    def _send(self, code: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        try:
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ")
        with self.server.lock:
            self.server.requests.append((self.path, fingerprint(key) if key else ""))
        if not self.path.endswith("/user/balance"):
            self._send(404, {"error": "not found"})
            return
        answer = self.server.answers.get(key, "revoked")
        if answer in HOSTILE:
            self._hostile(answer, key)
            return
        if answer == "pause":  # live, after a moment: shows how many requests overlap
            with self.server.lock:
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
            time.sleep(0.5)
            with self.server.lock:
                self.server.in_flight -= 1
            answer = "live"
        if answer == "live":
            balance = [{"currency": "CNY", "total_balance": "10.00"}]
            self._send(200, {"is_available": True, "balance_infos": balance})
        elif answer == "unavailable":
            self._send(200, {"is_available": False, "balance_infos": []})
        elif answer == "revoked":
            self._send(401, {"error": {"message": "Authentication Fails"}})
        elif answer == "429":
            self._send(429, {"error": {"message": "Rate limit reached"}})
        elif answer == "redirect":
            self._send(302, headers={"Location": f"{self.server.url}/stolen/user/balance"})
        elif answer == "slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, {"is_available": True})
        else:
            self._send(500, {"error": {"message": "Internal error"}})

    def _hostile(self, answer: str, key: str) -> None:
        self.close_connection = True
        try:
            raw = _raw(answer, key)
            if raw is not None:
                self.wfile.write(raw)
                return
            if answer == "drip_body":  # headers at once, then a byte at a time, forever
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                drip = b"{" + b" " * 99999
            else:  # drip_headers: the status line and headers a byte at a time
                drip = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: yes\r\n" * 10000
            for byte in drip:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(DRIP_SECONDS)
        except OSError:  # the client gave up
            pass


@contextmanager
def running_server() -> Iterator[BalanceServer]:
    server = BalanceServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def verify_env(server: BalanceServer, **extra: str) -> dict[str, str]:
    """The environment that points --verify at the test server and nowhere else."""
    return {
        "KEYSENTRY_VERIFY_BASE_URL": server.url,
        "KEYSENTRY_VERIFY_TIMEOUT": "2",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "HTTP_PROXY": "",
        "http_proxy": "",
        "HTTPS_PROXY": "",
        "https_proxy": "",
        **extra,
    }
