"""A real HTTP/2 server on 127.0.0.1 for ``keysentry site`` tests: hypercorn over TLS.

hypercorn offers ``h2`` and ``http/1.1`` by ALPN, as a production server does; its
certificate is issued at run time by a throwaway CA from trustme, whose PEM file the
tests hand to keysentry (``--ca-bundle``, ``SSL_CERT_FILE``) or withhold (untrusted).
The ASGI app answers ``routes`` (path -> body) and records, for every request, its
path and the HTTP version the server spoke.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from site_support import content_type


@dataclass(frozen=True)
class Served:
    path: str
    http_version: str  # ASGI's: "1.1", "2"


class H2Site:
    """routes (path -> bytes) over HTTPS with HTTP/2 on 127.0.0.1; 404 for the rest."""

    def __init__(self, folder: Path, routes: dict[str, bytes] | None = None) -> None:
        self.routes: dict[str, bytes] = dict(routes or {})
        self.served: list[Served] = []
        self.ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        chain = folder / "server.pem"
        self.ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(chain))
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]
        self.config = Config()
        self.config.bind = [f"fd://{self._socket.fileno()}"]
        self.config.certfile = self.config.keyfile = str(chain)
        self.config.alpn_protocols = ["h2", "http/1.1"]
        self.config.accesslog = self.config.errorlog = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        self.served.append(Served(path, scope["http_version"]))
        body = self.routes.get(path)
        status = 200 if body is not None else 404
        body = body if body is not None else b"not found"
        headers = [(b"content-type", content_type(path).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._loop.call_soon(self._ready.set)
        self._loop.run_until_complete(
            serve(self.app, self.config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]
        )
        self._loop.close()

    def __enter__(self) -> H2Site:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._socket.detach()  # hypercorn took the descriptor over and closed it
