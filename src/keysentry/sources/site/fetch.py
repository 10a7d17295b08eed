"""One URL fetched with httpx: redirects kept in scope, the body bounded in size and time.

Redirects are followed here, not by httpx, so each hop is checked against the scope
and a loop is caught by its URLs as well as by its length. The body is read raw and
decoded by ``encoding`` (the decompression budget), never by httpx's own decoders;
a response that never ends, or ends too late, is cut at ``--timeout``.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from keysentry import __version__
from keysentry.containers.limits import Budget, ContainerError, Limits
from keysentry.sources.site import encoding, scope
from keysentry.sources.site.options import MAX_REDIRECTS, USER_AGENT_NAME, SiteOptions

USER_AGENT = f"keysentry/{__version__} ({USER_AGENT_NAME}: audits what this site ships)"
ACCEPT_ENCODING = "gzip, br, zstd, deflate"
RAW_STEP = 1 << 16


class FetchError(Exception):
    """A URL that gave no body to scan; the message says why (timeout, TLS, scope...)."""


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    content_type: str  # the media type, lower-case, without parameters
    source_map: str | None  # the SourceMap / X-SourceMap header
    body: bytes  # decoded
    wire_bytes: int
    problem: str | None = None  # why the body is not all of the response
    http_version: str = "HTTP/1.1"  # as httpx says: "HTTP/1.1", "HTTP/2"


class _Cut(ContainerError):
    """The connection's bytes stopped being read (time, size, or a transfer failure)."""


class _RawBody:
    """A response's raw bytes as a stream, cut at a deadline and at a size on the wire."""

    def __init__(
        self, chunks: Iterator[bytes], deadline: float, limit: int, timeout: float
    ) -> None:
        self._chunks, self._deadline, self._limit = chunks, deadline, limit
        self._timeout = timeout
        self._buffer = b""
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else RAW_STEP
        while not self._buffer:
            if time.monotonic() > self._deadline:
                raise _Cut(
                    f"timeout: the response did not end within {self._timeout:g} s (--timeout);"
                    " only its start was scanned"
                )
            try:
                chunk = next(self._chunks, None)
            except httpx.TimeoutException as exc:
                raise _Cut(f"timeout while reading ({exc.__class__.__name__})") from exc
            except httpx.HTTPError as exc:
                raise _Cut(f"the transfer failed: {describe(exc)}") from exc
            if chunk is None:
                return b""
            self.count += len(chunk)
            if self.count > self._limit:
                raise _Cut(
                    f"oversize: more than {self._limit >> 20} MiB on the wire"
                    " (--max-response-bytes); only its start was scanned"
                )
            self._buffer = chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def describe(exc: BaseException) -> str:
    """What went wrong with a request, in a user's words."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"TLS error: the certificate is not trusted ({cause.verify_message});"
                " --ca-bundle FILE or SSL_CERT_FILE names the CA that signed it"
            )
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({exc.__class__.__name__}): no answer in time (--timeout)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    return f"{exc.__class__.__name__}: {exc}"


class Pace:
    """At most ``rate`` requests a second across all threads (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self._interval
        if at > now:
            time.sleep(at - now)


def _http2_available() -> bool:
    try:
        import h2  # noqa: F401  (httpx speaks HTTP/2 when h2 is installed)
    except ImportError:
        return False
    return True


def _verify(options: SiteOptions) -> ssl.SSLContext | bool:
    """The CAs to trust: --ca-bundle's file, else the system's (or SSL_CERT_FILE's)."""
    if not options.verify_tls:
        return False
    if options.ca_bundle is None:
        return True  # httpx reads SSL_CERT_FILE / SSL_CERT_DIR (trust_env)
    try:
        return ssl.create_default_context(cafile=options.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(f"--ca-bundle {options.ca_bundle}: cannot be read ({exc})") from exc


class Fetcher:
    """One httpx client for a crawl, shared by its threads (httpx pools connections)."""

    def __init__(self, options: SiteOptions, limits: Limits) -> None:
        self.options = options
        self.limits = limits  # the decompression limits of the configuration (max_decompressed_mb)
        self.pace = Pace(options.rate)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        headers.update(dict(options.headers))
        self.client = httpx.Client(
            http2=_http2_available(),
            timeout=httpx.Timeout(options.timeout),
            follow_redirects=False,
            headers=headers,
            cookies=dict(options.cookies),
            verify=_verify(options),
            limits=httpx.Limits(
                max_connections=options.concurrency,
                max_keepalive_connections=options.concurrency,
            ),
            trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE from the environment
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, allowed: Callable[[str], bool]) -> Response:
        """The response at url, redirects followed while ``allowed``; raises FetchError."""
        chain = [url]
        for _ in range(MAX_REDIRECTS + 1):
            location = self._once(url)
            if isinstance(location, Response):
                return location
            target = scope.resolve(url, location)
            if target is None:
                raise FetchError(f"redirect to {location!r}, which is not an http(s) URL")
            if target in chain:
                raise FetchError("redirect loop: " + " -> ".join([*chain, target]))
            if not allowed(target):
                raise FetchError(
                    f"off-scope: redirects to {target}, outside the crawl's origins"
                    " (--allow-origin adds one)"
                )
            chain.append(target)
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects: " + " -> ".join(chain[:4]) + " ...")

    def _once(self, url: str) -> Response | str:
        """A response, or the Location a redirect points to."""
        self.pace.wait()
        timeout = self.options.timeout
        deadline = time.monotonic() + timeout
        limit = self.options.max_response_bytes
        try:
            with self.client.stream("GET", url) as answer:
                if answer.is_redirect and "location" in answer.headers:
                    return answer.headers["location"]
                declared = answer.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(
                        f"oversize: Content-Length {int(declared):,} bytes is over"
                        f" {limit >> 20} MiB (--max-response-bytes); not fetched"
                    )
                raw = _RawBody(answer.iter_raw(RAW_STEP), deadline, limit, timeout)
                budget = Budget(self.limits)  # one per response, as one per file
                decoded = encoding.decode(
                    raw,  # type: ignore[arg-type]
                    answer.headers.get("content-encoding", ""),
                    budget,
                    limit,
                )
                media = answer.headers.get("content-type", "").split(";", 1)[0]
                return Response(
                    url=url,
                    status=answer.status_code,
                    content_type=media.strip().lower(),
                    source_map=answer.headers.get("sourcemap") or answer.headers.get("x-sourcemap"),
                    body=decoded.body,
                    wire_bytes=raw.count,
                    problem=decoded.problem,
                    http_version=answer.http_version,
                )
        except httpx.HTTPError as exc:
            raise FetchError(describe(exc)) from exc
        except ValueError as exc:  # what h11 or httpx raise on a malformed answer
            raise FetchError(f"malformed response: {exc}") from exc
