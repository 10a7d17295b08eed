"""Which URLs a crawl may fetch: pages on the start origins, assets also on allowed ones."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadURL(ValueError):
    """A URL keysentry cannot crawl (another scheme, no host)."""


def origin(url: str) -> str:
    """``https://example.com:8443`` of a URL (default ports left out, host lower-cased)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise BadURL(f"{url}: invalid port") from exc
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def normalize(url: str) -> str:
    """The URL without its fragment, scheme and host lower-cased; raises BadURL."""
    url, _ = urldefrag(url.strip())
    parts = urlsplit(url)
    if parts.scheme.lower() not in WEB_SCHEMES:
        raise BadURL(f"{url}: not an http or https URL")
    if not parts.hostname:
        raise BadURL(f"{url}: no host")
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), origin(url).split("://", 1)[1], path, parts.query, ""))


def resolve(base: str, link: str) -> str | None:
    """``link`` found in the response at ``base``, as an absolute http(s) URL, or None
    (``javascript:``, ``data:``, ``file:``, ``mailto:`` and the like are never fetched)."""
    link = link.strip()
    if not link or link.startswith("#") or len(link) > 4096:
        return None
    try:
        return normalize(urljoin(base, link))
    except (BadURL, ValueError):
        return None


class Scope:
    """Pages on the start URLs' origins; assets on those and the allowed ones."""

    def __init__(self, start_urls: list[str], allowed: tuple[str, ...] = ()) -> None:
        self.page_origins = frozenset(origin(u) for u in start_urls)
        self.asset_origins = self.page_origins | frozenset(origin(normalize(a)) for a in allowed)

    def allows_page(self, url: str) -> bool:
        return origin(url) in self.page_origins

    def allows_asset(self, url: str) -> bool:
        return origin(url) in self.asset_origins
