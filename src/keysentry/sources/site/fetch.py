"""One URL fetched with httpx: each redirect hop checked by the crawl, the body bounded.

Redirects are followed here, not by httpx: each hop's target is checked by the
caller's ``check`` (the same scope, ``--exclude`` and robots rules as a link, and
whether the crawl fetched it already), and a loop is caught by its URLs as well as
by its length. The body is read raw and decoded by ``encoding`` (the decompression
budget, and the crawl's ``--max-bytes``), never by httpx's own decoders; a response
that never ends, or ends too late, is cut at ``--timeout``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from keysentry import __version__
from keysentry.containers.limits import Budget, ContainerError, Limits
from keysentry.sources.site import encoding, scope
from keysentry.sources.site.options import MAX_REDIRECTS, USER_AGENT_NAME, SiteOptions
from keysentry.sources.site.shared import ByteBudget, Pace

USER_AGENT = f"keysentry/{__version__} ({USER_AGENT_NAME}: audits what this site ships)"
ACCEPT_ENCODING = "gzip, br, zstd, deflate"
RAW_STEP = 1 << 16


class FetchError(Exception):
    """A URL that gave no body to scan; the message says why (timeout, TLS, scope...).

    ``stat`` is set when the crawl's own rules stopped a redirect (a target the user
    excluded, robots.txt, one fetched already): counted under that name, not an error.
    """

    def __init__(self, message: str, stat: str | None = None) -> None:
        super().__init__(message)
        self.stat = stat

    def __reduce__(self) -> tuple[type[FetchError], tuple[str, str | None]]:
        return FetchError, (str(self), self.stat)  # it crosses a pipe from a worker


# a redirect hop's target -> why it may not be fetched, or None
RedirectCheck = Callable[[str], FetchError | None]


@dataclass(frozen=True)
class Response:
    """What came back for a URL, but its body (which stays with the worker that read it)."""

    url: str  # after redirects
    status: int
    content_type: str  # the media type, lower-case, without parameters
    source_map: str | None  # the SourceMap / X-SourceMap header
    size: int  # bytes of the decoded body
    wire_bytes: int
    problem: str | None = None  # why the body is not all of the response
    http_version: str = "HTTP/1.1"  # as httpx says: "HTTP/1.1", "HTTP/2"
    cut: bool = False  # the crawl's --max-bytes ran out while its body was read


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


def _http2_available() -> bool:
    try:
        import h2  # noqa: F401  (httpx speaks HTTP/2 when h2 is installed)
    except ImportError:
        return False
    return True


def _verify(options: SiteOptions, tls: bool) -> ssl.SSLContext | bool:
    """The CAs to trust: --ca-bundle's file, else the system's (or SSL_CERT_FILE's).

    A crawl with no https origin in its scope never opens TLS: its context loads no
    CA at all (loading the system's took 30 ms), so it could not connect anywhere."""
    if not tls:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not options.verify_tls:
        return False
    if options.ca_bundle is None:
        return True  # httpx reads SSL_CERT_FILE / SSL_CERT_DIR (trust_env)
    try:
        return ssl.create_default_context(cafile=options.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(f"--ca-bundle {options.ca_bundle}: cannot be read ({exc})") from exc


class Fetcher:
    """One httpx client for a crawl: made before the workers start, each forked worker
    uses its own copy (and its own connections); threads share it (httpx pools them)."""

    def __init__(self, options: SiteOptions, limits: Limits, tls: bool = True) -> None:
        """``tls``: whether any origin in scope is https (HTTP/2 is only spoken over TLS)."""
        self.options = options
        self.limits = limits  # the decompression limits of the configuration (max_decompressed_mb)
        self.pace = Pace(options.rate)
        self.budget = ByteBudget(options.max_bytes)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        headers.update(dict(options.headers))
        self.client = httpx.Client(
            http2=tls and _http2_available(),
            timeout=httpx.Timeout(options.timeout),
            follow_redirects=False,
            headers=headers,
            cookies=dict(options.cookies),
            verify=_verify(options, tls),
            limits=httpx.Limits(
                max_connections=options.concurrency,
                max_keepalive_connections=options.concurrency,
            ),
            trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE from the environment
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, check: RedirectCheck) -> tuple[Response, bytes]:
        """The response at url and its decoded body, each redirect hop passed by ``check``
        first; raises FetchError."""
        chain = [url]
        for _ in range(MAX_REDIRECTS + 1):
            location = self._once(url)
            if not isinstance(location, str):
                return location
            target = scope.resolve(url, location)
            if target is None:
                raise FetchError(f"redirect to {location!r}, which is not an http(s) URL")
            if target in chain:
                raise FetchError("redirect loop: " + " -> ".join([*chain, target]))
            refusal = check(target)
            if refusal is not None:
                raise refusal
            chain.append(target)
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects: " + " -> ".join(chain[:4]) + " ...")

    def _once(self, url: str) -> tuple[Response, bytes] | str:
        """A response and its body, or the Location a redirect points to."""
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
                raw = _RawBody(answer.iter_raw(), deadline, limit, timeout)
                budget = Budget(self.limits)  # one per response, as one per file
                decoded = encoding.decode(
                    raw,  # type: ignore[arg-type]
                    answer.headers.get("content-encoding", ""),
                    budget,
                    limit,
                    self.budget.take,
                )
                media = answer.headers.get("content-type", "").split(";", 1)[0]
                response = Response(
                    url=url,
                    status=answer.status_code,
                    content_type=media.strip().lower(),
                    source_map=answer.headers.get("sourcemap") or answer.headers.get("x-sourcemap"),
                    size=len(decoded.body),
                    wire_bytes=raw.count,
                    problem=decoded.problem,
                    http_version=answer.http_version,
                    cut=decoded.cut,
                )
                return response, decoded.body
        except httpx.HTTPError as exc:
            raise FetchError(describe(exc)) from exc
        except ValueError as exc:  # what h11 or httpx raise on a malformed answer
            raise FetchError(f"malformed response: {exc}") from exc
