"""Opt-in live check of found keys: is each one still accepted by the DeepSeek API?

Only ever runs when the user passes ``--verify``. Each distinct key is sent once,
in an ``Authorization`` header, to ``GET {base}/user/balance``; the answer says
``live`` (200), ``revoked`` (401) or ``unknown`` (anything else, with the reason).
A key attributed to DashScope is never sent to DeepSeek. The key is never logged,
never put in a reason, and redirects are not followed (they would carry the header
to another host). Proxies come from the environment (urllib's default).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from keysentry import __version__
from keysentry.engine.attribution import DASHSCOPE, DEEPSEEK
from keysentry.model.clock import utc_timestamp
from keysentry.model.key import fingerprint, redact_text
from keysentry.model.text import escape_text
from keysentry.model.verification import LIVE, REVOKED, SKIPPED, UNKNOWN, Verification

if TYPE_CHECKING:  # the text report imports describe(); keep that import light
    from keysentry.guide.leaked_keys import LeakedKey
    from keysentry.model.report import Report

BASE_URL_ENV = "KEYSENTRY_VERIFY_BASE_URL"
TIMEOUT_ENV = "KEYSENTRY_VERIFY_TIMEOUT"
DEFAULT_BASE_URL = "https://api.deepseek.com"
DEFAULT_TIMEOUT = 5.0
WORKERS = 4
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class VerifyConfigError(Exception):
    """The endpoint or timeout from the environment cannot be used."""


def base_url(environ: Mapping[str, str] | None = None) -> str:
    """The API base: https only, except plain http to this machine (tests, local proxies)."""
    from urllib.parse import urlsplit

    env = os.environ if environ is None else environ
    url = env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.rstrip("/")
    raise VerifyConfigError(
        f"{BASE_URL_ENV}={url!r}: must be an https:// URL (plain http only for 127.0.0.1"
        " or localhost), so that keys never cross a network unencrypted"
    )


def timeout(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 60:
        raise VerifyConfigError(f"{TIMEOUT_ENV}={raw!r}: must be a number of seconds in (0, 60]")
    return value


def skip_reason(providers: Iterable[str]) -> str | None:
    """Why a key must not be sent to DeepSeek, or None when it may be."""
    named = set(providers)
    if DASHSCOPE not in named:
        return None
    if DEEPSEEK in named:
        return "not verified: attributed to both DeepSeek and DashScope"
    return "not verified: attributed to DashScope"


BODY_LIMIT = 64 * 1024  # a balance answer is a few hundred bytes


class _Deadline:
    """One deadline for a whole request: when it passes, every socket of the request is shut
    down, so whatever read is blocked (connect, headers, a body dripping a byte at a time)
    returns at once. Per-read socket timeouts alone let a slow server hold a key forever."""

    def __init__(self, seconds: float) -> None:
        import threading

        self.seconds = seconds
        self.expired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: Any) -> Any:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: Any) -> None:
    import socket

    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _opener(deadline: _Deadline) -> Any:
    """urllib's opener (proxies from the environment) that refuses to follow redirects and
    whose connections answer to the deadline.

    Imported here, not at the top: the hook and plain scans never pay for it.
    """
    import http.client
    import socket
    import urllib.request

    def watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Watched(base):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._create_connection = lambda *a, **k: deadline.watch(
                    socket.create_connection(*a, **k)
                )

            def connect(self) -> None:
                super().connect()
                deadline.watch(self.sock)  # the TLS socket that wraps the plain one

        return Watched

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(watched(http.client.HTTPConnection), req)

    class Tls(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(watched(http.client.HTTPSConnection), req, context=self._context)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # the 3xx surfaces as an HTTPError: unknown, and the key stays put

    return urllib.request.build_opener(NoRedirect, Plain, Tls)


def _reason(text: str) -> str:
    """What a server said, safe to show: keys redacted, control characters escaped, short."""
    return escape_text(redact_text(text))[:200]


def balance_answer(body: bytes) -> bool | None:
    """``is_available`` of a balance answer (a JSON object with that boolean), else None."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    available = data.get("is_available") if isinstance(data, dict) else None
    return available if isinstance(available, bool) else None


def check_key(key: str, base: str, seconds: float) -> Verification:
    """One request for one key, all of it within ``seconds``: never holding the key.

    ``live`` only for a 200 whose body is a balance answer; ``revoked`` for a 401;
    anything else (other statuses, malformed or oversized answers, a captive portal's
    page, network errors, the deadline) is ``unknown`` with the reason.
    """
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        base + "/user/balance",
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            "User-Agent": f"keysentry/{__version__} (leak verification)",
        },
        method="GET",
    )
    deadline = _Deadline(seconds)
    timed_out = f"timed out after {seconds:g} s"
    try:
        with _opener(deadline).open(request, timeout=seconds) as response:
            code = response.status
            body = response.read(BODY_LIMIT + 1)
            short = bool(response.length) and len(body) <= BODY_LIMIT  # declared, not sent
        if deadline.expired:
            status, reason, available = UNKNOWN, timed_out, None
        elif code != 200:
            status, reason, available = UNKNOWN, f"HTTP {code}: not a balance answer", None
        elif len(body) > BODY_LIMIT:
            status, reason, available = UNKNOWN, "HTTP 200 with an oversized body", None
        elif short:
            status, reason, available = UNKNOWN, "HTTP 200 with a truncated body", None
        elif (available := balance_answer(body)) is None:
            status = UNKNOWN
            reason = "HTTP 200 whose body is not a balance answer (a proxy or captive portal?)"
        else:
            status, reason = LIVE, None
    except urllib.error.HTTPError as exc:
        available = None
        status, reason = _refused(exc.code, str(exc.reason))
        exc.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is an OSError
        available = None
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        status = UNKNOWN
        if deadline.expired or isinstance(cause, TimeoutError):
            reason = timed_out
        elif isinstance(exc, http.client.HTTPException):
            reason = _reason(f"malformed HTTP answer: {type(exc).__name__}: {exc}")
        else:
            reason = _reason(f"network error: {cause}")
    finally:
        deadline.cancel()
    return Verification(status, reason, available, utc_timestamp())


def _refused(code: int, text: str) -> tuple[str, str]:
    if code == 401:
        return REVOKED, "HTTP 401: the API rejects this key"
    if code == 429:
        return UNKNOWN, "HTTP 429: rate limited; try again later"
    if 300 <= code < 400:
        return UNKNOWN, f"HTTP {code}: redirect not followed"
    return UNKNOWN, _reason(f"HTTP {code} {text}")


def verify_keys(
    keys: Mapping[str, tuple[str, list[str]]],
    *,
    environ: Mapping[str, str] | None = None,
    workers: int = WORKERS,
) -> dict[str, Verification]:
    """Verify each key once: fingerprint -> (key, providers it was attributed to).

    Returns fingerprint -> verification. Raises VerifyConfigError before any
    request when the environment names an unusable endpoint or timeout.
    """
    base, seconds = base_url(environ), timeout(environ)
    results: dict[str, Verification] = {}
    to_check: dict[str, str] = {}
    for fp, (key, providers) in keys.items():
        reason = skip_reason(providers)
        if reason is None:
            to_check[fp] = key
        else:
            results[fp] = Verification(SKIPPED, reason)
    if to_check:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(to_check)))) as pool:
            futures = {fp: pool.submit(check_key, k, base, seconds) for fp, k in to_check.items()}
            for fp, future in futures.items():
                results[fp] = future.result()
    return results


NOT_HELD = Verification(
    SKIPPED,
    "not verified: the report holds no full key (write it with --show-secrets,"
    " or run the guide without --from)",
)


def verify_leaked_keys(
    keys: list[LeakedKey], *, environ: Mapping[str, str] | None = None
) -> list[LeakedKey]:
    """Verify the keys known in full; the others are skipped. Returns them live first."""
    from keysentry.guide.leaked_keys import LeakedKey

    known = {k.fingerprint: (k.secret, k.providers) for k in keys if k.secret}
    results = verify_keys(known, environ=environ)
    for key in keys:
        key.verification = results.get(key.fingerprint) or NOT_HELD
    return sorted(keys, key=LeakedKey.rank)


def verify_report(report: Report, *, environ: Mapping[str, str] | None = None) -> None:
    """Set ``verification`` on every finding, checking each distinct key once."""
    keys: dict[str, tuple[str, list[str]]] = {}
    for finding in report.findings:
        fp = fingerprint(finding.secret)
        keys.setdefault(fp, (finding.secret, []))[1].append(finding.provider)
    results = verify_keys(keys, environ=environ)
    for finding in report.findings:
        finding.verification = results[finding.fingerprint]
    report.stats["keys_verified"] = sum(1 for r in results.values() if r.status != SKIPPED)


def describe(verification: Verification | None) -> str:
    """One line for people: ``LIVE (is_available: true)``, ``revoked``, ``unknown: timed out``."""
    if verification is None:
        return "not checked (pass --verify to check)"
    status = verification.status
    if status == LIVE:
        text = "LIVE"
        if verification.is_available is not None:
            text += f" (is_available: {str(verification.is_available).lower()})"
    elif status == REVOKED:
        text = "revoked (the API rejects it)"
    elif status == SKIPPED:
        return verification.reason or "not verified"
    else:
        text = f"unknown: {verification.reason or 'no answer'}"
    if verification.checked_at:
        text += f", checked {verification.checked_at}"
    return text
