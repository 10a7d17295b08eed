"""Real servers for push tests: bare repositories with keysentry's pre-receive hook installed,
clones that push to them with real `git push`, and histories made with `git fast-import`."""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import git, git_env, run_keysentry


@dataclass(frozen=True)
class Server:
    bare: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def ref(self, name: str) -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", name],
            cwd=self.bare,
            env=git_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    def config(self, name: str, value: str) -> None:
        git(self.bare, "config", name, value)

    def log(self) -> list[dict]:
        path = self.bare / "keysentry-push.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def make_server(root: Path, *install_args: str, hook: bool = True) -> Server:
    bare = root / "server.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    server = Server(bare)
    if hook:
        install_pre_receive(server, *install_args)
    return server


def install_pre_receive(server: Server, *args: str) -> None:
    done = run_keysentry("install-hook", "--pre-receive", str(server.bare), *args)
    assert done.returncode == 0, done.stderr


def clone(server: Server, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", server.url, str(dest))
    git(dest, "checkout", "-q", "-B", "main")
    return dest


def push(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A real `git push`; git shows the hook's stderr as `remote:` lines."""
    return subprocess.run(
        ["git", "push", *args],
        cwd=repo,
        env=git_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )


def fast_import_history(repo: Path, commits: int, branch: str = "main", planted: str = "") -> None:
    """``commits`` commits on ``branch``, each changing one of 50 small files; the first one
    also adds ``planted`` (e.g. a key) at old/config.py."""
    stream = []
    for n in range(commits):
        mark = n + 1
        files = [(f"src/module{n % 50}.py", f"VALUE = {n}\n\ndef f():\n    return {n}\n")]
        if n == 0 and planted:
            files.append(("old/config.py", planted))
        body = "".join(
            f"M 100644 inline {path}\ndata {len(text.encode())}\n{text}\n" for path, text in files
        )
        message = f"commit {n}\n"
        parent = "" if n == 0 else f"from :{mark - 1}\n"
        stream.append(
            f"commit refs/heads/{branch}\nmark :{mark}\n"
            f"author A <a@example.com> {1600000000 + n} +0000\n"
            f"committer A <a@example.com> {1600000000 + n} +0000\n"
            f"data {len(message)}\n{message}{parent}{body}\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input="".join(stream).encode(),
        env=git_env(),
        check=True,
    )


def _split_cgi(output: bytes) -> tuple[bytes, bytes]:
    """A CGI program's output: its header block, and the body after the blank line."""
    ends = [(output.find(sep), len(sep)) for sep in (b"\r\n\r\n", b"\n\n")]
    found = [(at, size) for at, size in ends if at >= 0]
    if not found:
        return output, b""
    at, size = min(found)
    return output[:at], output[at + size :]


class SmartHttp:
    """``git http-backend`` behind a real HTTP server on 127.0.0.1: each request runs the
    backend as a CGI program (its environment, the request body on stdin, its headers
    and body sent back), as Apache or nginx with fcgiwrap would. Pushes arrive as
    REMOTE_USER ``user``: http-backend enables receive-pack only for a known user."""

    def __init__(self, server: Server, user: str = "alice") -> None:
        root, user_name = server.bare.parent, user

        class _Backend(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _cgi(self) -> None:
                path, _, query = self.path.partition("?")
                body = self._body()
                cgi = {
                    "GIT_PROJECT_ROOT": str(root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "REMOTE_USER": user_name,
                    "REMOTE_ADDR": "127.0.0.1",
                }
                done = subprocess.run(
                    ["git", "http-backend"],
                    input=body,
                    env=git_env(**cgi),
                    capture_output=True,
                    check=False,
                )
                head, payload = _split_cgi(done.stdout)
                status, headers = 200, []
                for line in head.decode("latin-1").splitlines():
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.name = server.bare.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/{self.name}"

    def __enter__(self) -> SmartHttp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()
