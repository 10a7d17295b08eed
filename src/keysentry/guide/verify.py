"""Opt-in live check of found keys: is each one still accepted by the DeepSeek API?

Only ever runs when the user passes ``--verify``. Each distinct key is sent once,
in an ``Authorization`` header, to ``GET {base}/user/balance``; the answer says
``live`` (200), ``revoked`` (401) or ``unknown`` (anything else, with the reason).
A key attributed to DashScope is never sent to DeepSeek. The key is never logged,
never put in a reason, and redirects are not followed (they would carry the header
to another host). Proxies come from the environment (urllib's default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from keysentry import __version__
from keysentry.engine.attribution import DASHSCOPE, DEEPSEEK
from keysentry.model.clock import utc_timestamp
from keysentry.model.key import fingerprint, redact_text

if TYPE_CHECKING:  # the text report imports describe(); keep that import light
    from keysentry.guide.leaked_keys import LeakedKey
    from keysentry.model.report import Report

BASE_URL_ENV = "KEYSENTRY_VERIFY_BASE_URL"
TIMEOUT_ENV = "KEYSENTRY_VERIFY_TIMEOUT"
DEFAULT_BASE_URL = "https://api.deepseek.com"
DEFAULT_TIMEOUT = 5.0
WORKERS = 4
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"
SKIPPED = "skipped"


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


@cache
def _opener() -> Any:
    """urllib's opener (proxies from the environment) that refuses to follow redirects.

    Imported here, not at the top: the hook and plain scans never pay for it.
    """
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # the 3xx surfaces as an HTTPError: unknown, and the key stays put

    return urllib.request.build_opener(NoRedirect)


def _reason(text: str) -> str:
    return redact_text(text)[:200]


def check_key(key: str, base: str, seconds: float) -> dict[str, Any]:
    """One request for one key: the verification record (never holding the key)."""
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
    result: dict[str, Any]
    try:
        with _opener().open(request, timeout=seconds) as response:
            body = response.read(65536)
        result = {"status": LIVE}
        try:
            available = json.loads(body).get("is_available")
        except (ValueError, AttributeError):
            available = None
        if isinstance(available, bool):
            result["is_available"] = available
        else:
            result["reason"] = "HTTP 200 without an is_available field"
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            result = {"status": REVOKED, "reason": "HTTP 401: the API rejects this key"}
        elif exc.code == 429:
            result = {"status": UNKNOWN, "reason": "HTTP 429: rate limited; try again later"}
        elif 300 <= exc.code < 400:
            result = {"status": UNKNOWN, "reason": f"HTTP {exc.code}: redirect not followed"}
        else:
            result = {"status": UNKNOWN, "reason": _reason(f"HTTP {exc.code} {exc.reason}")}
        exc.close()
    except TimeoutError:
        result = {"status": UNKNOWN, "reason": f"timed out after {seconds:g} s"}
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            text = f"timed out after {seconds:g} s"
        else:
            text = _reason(f"network error: {reason}")
        result = {"status": UNKNOWN, "reason": text}
    except (OSError, ValueError) as exc:  # connection reset, bad status line, ...
        result = {"status": UNKNOWN, "reason": _reason(f"network error: {exc}")}
    result["checked_at"] = utc_timestamp()
    return result


def verify_keys(
    keys: Mapping[str, tuple[str, list[str]]],
    *,
    environ: Mapping[str, str] | None = None,
    workers: int = WORKERS,
) -> dict[str, dict[str, Any]]:
    """Verify each key once: fingerprint -> (key, providers it was attributed to).

    Returns fingerprint -> verification record. Raises VerifyConfigError before
    any request when the environment names an unusable endpoint or timeout.
    """
    base, seconds = base_url(environ), timeout(environ)
    results: dict[str, dict[str, Any]] = {}
    to_check: dict[str, str] = {}
    for fp, (key, providers) in keys.items():
        reason = skip_reason(providers)
        if reason is None:
            to_check[fp] = key
        else:
            results[fp] = {"status": SKIPPED, "reason": reason}
    if to_check:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(to_check)))) as pool:
            futures = {fp: pool.submit(check_key, k, base, seconds) for fp, k in to_check.items()}
            for fp, future in futures.items():
                results[fp] = future.result()
    return results


def verify_leaked_keys(
    keys: list[LeakedKey], *, environ: Mapping[str, str] | None = None
) -> list[LeakedKey]:
    """Verify the keys known in full; the others are skipped. Returns them live first."""
    from keysentry.guide.leaked_keys import LeakedKey
    known = {k.fingerprint: (k.secret, k.providers) for k in keys if k.secret}
    results = verify_keys(known, environ=environ)
    for key in keys:
        key.verification = results.get(key.fingerprint) or {
            "status": SKIPPED,
            "reason": "not verified: the report holds no full key (write it with --show-secrets,"
            " or run the guide without --from)",
        }
    return sorted(keys, key=LeakedKey.rank)


def verify_report(report: Report, *, environ: Mapping[str, str] | None = None) -> None:
    """Set ``verification`` on every finding, checking each distinct key once."""
    keys: dict[str, tuple[str, list[str]]] = {}
    for finding in report.findings:
        fp = fingerprint(finding.secret)
        keys.setdefault(fp, (finding.secret, []))[1].append(finding.provider)
    results = verify_keys(keys, environ=environ)
    for finding in report.findings:
        finding.verification = dict(results[finding.fingerprint])
    report.stats["keys_verified"] = sum(1 for r in results.values() if r["status"] != SKIPPED)


def describe(verification: Mapping[str, Any] | None) -> str:
    """One line for people: ``LIVE (is_available: true)``, ``revoked``, ``unknown: timed out``."""
    if not verification:
        return "not checked (pass --verify to check)"
    status = verification.get("status", UNKNOWN)
    if status == LIVE:
        text = "LIVE"
        if "is_available" in verification:
            text += f" (is_available: {str(verification['is_available']).lower()})"
    elif status == REVOKED:
        text = "revoked (the API rejects it)"
    elif status == SKIPPED:
        return str(verification.get("reason", "not verified"))
    else:
        text = f"unknown: {verification.get('reason', 'no answer')}"
    if verification.get("checked_at"):
        text += f", checked {verification['checked_at']}"
    return text
