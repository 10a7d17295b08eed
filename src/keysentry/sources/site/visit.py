"""One request, as a worker handles it: fetch the URL, tell what came, find its links.

``visit`` runs where the body is (a worker): it fetches, says what the response is
(``kind_of_response``), finds what it leads to (links.py) and digests the body, and
returns a ``Visited``, everything the crawl needs to go on, without the body itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from keysentry.model.target import ScanTarget, SourceKind
from keysentry.model.text import escape_text
from keysentry.sources.site import links
from keysentry.sources.site.fetch import Fetcher, FetchError, RedirectCheck, Response
from keysentry.sources.site.links import Found, Kind, Link
from keysentry.sources.site.scope import resolve


@dataclass(frozen=True)
class Request:
    url: str
    kind: Kind
    depth: int  # links followed from a start URL
    referrer: str | None = None  # the response that linked here
    page: str | None = None  # the page whose code led here (a worker's base URL)
    guessed: bool = False
    # a map's request: the places (line, column) of the keys found in the bundle that
    # named it (the referrer), for the worker that reads the map to place in their sources
    lookups: tuple[tuple[int, int], ...] = ()

    def follow(self, link: Link, url: str, page: str | None) -> Request:
        """The request for a link found in this request's response (at url)."""
        return Request(link.url, link.kind, self.depth + 1, url, page, link.guessed)


@dataclass(frozen=True)
class Fetched:
    """One response to scan: what was asked, what came, and what it is."""

    request: Request
    response: Response
    kind: Kind  # by its Content-Type, else what the link expected
    target: ScanTarget


@dataclass(frozen=True)
class Visited:
    """What a worker says of one request: the response (or why there is none), what it
    is when it is to be scanned, and the links it leads to."""

    request: Request
    response: Response | None
    error: FetchError | None = None
    kind: Kind | None = None  # None: neither scanned nor followed (see ``scanned_kind``)
    found: Found | None = None
    robots: tuple[str, ...] = ()  # robots.txt's lines, for the crawl's parser
    digest: bytes = b""  # sha256 of the body: a body served again is scanned once

    def fetched(self) -> Fetched:
        assert self.response is not None and self.kind is not None
        return Fetched(self.request, self.response, self.kind, target_of(self.response.url))


def kind_of_response(response: Response, expected: Kind) -> Kind:
    media = response.content_type
    if "html" in media:
        return Kind.PAGE
    if "javascript" in media or "ecmascript" in media:
        return Kind.SCRIPT
    if media == "text/css":
        return Kind.STYLE
    if "json" in media or media.endswith("manifest"):
        if expected is Kind.MAP or urlsplit(response.url).path.endswith(".map"):
            return Kind.MAP
        return Kind.MANIFEST
    if "xml" in media and expected is Kind.SITEMAP:
        return Kind.SITEMAP
    return expected


def scanned_kind(request: Request, response: Response) -> Kind | None:
    """What the response is scanned as, or None: a guessed URL the site does not have,
    or one a single-page app answers with its page (its fallback, not the file)."""
    if request.guessed and response.status >= 400:
        return None
    kind = kind_of_response(response, request.kind)
    if request.guessed and kind is Kind.PAGE and request.kind is not Kind.PAGE:
        return None
    return kind


def target_of(url: str) -> ScanTarget:
    """What findings in the response at url show as their path: the URL's path."""
    return ScanTarget(escape_text(urlsplit(url).path or "/"), SourceKind.SITE)


def visit(
    fetcher: Fetcher, request: Request, check: RedirectCheck, probe_maps: bool
) -> tuple[Visited, bytes]:
    """The request fetched and read for links; the body is returned beside, for a scan."""
    try:
        response, body = fetcher.get(request.url, check)
    except FetchError as exc:
        return Visited(request, None, exc), b""
    kind = scanned_kind(request, response)
    if kind is None:
        return Visited(request, response), b""
    found, robots = None, ()
    if response.status < 400:
        found, robots = _follow(request, response, body, kind, probe_maps)
    digest = hashlib.sha256(body).digest()
    return Visited(request, response, None, kind, found, robots, digest), body


def _follow(
    request: Request, response: Response, body: bytes, kind: Kind, probe_maps: bool
) -> tuple[Found | None, tuple[str, ...]]:
    url = response.url
    page = url if kind is Kind.PAGE else request.page
    if kind is Kind.PAGE:
        return links.html_links(body, url), ()
    if kind is Kind.SCRIPT:
        return _with_map(links.js_links(body, url, page), response, body, probe_maps), ()
    if kind is Kind.STYLE:
        return _with_map(links.css_links(body, url), response, body, probe_maps), ()
    if kind is Kind.MANIFEST:
        return links.json_links(body, url), ()
    if kind is Kind.SITEMAP:
        return links.sitemap_links(body, url), ()
    if kind is Kind.ROBOTS:
        found, lines = links.robots_links(body, url)
        return found, tuple(lines)
    return None, ()


def _with_map(found: Found, response: Response, body: bytes, probe_maps: bool) -> Found:
    """The header's map, else (unless --no-map-probe) ``X.js.map`` when nothing names one."""
    if response.source_map:
        target = resolve(response.url, response.source_map)
        if target is None:
            return found
        return Found([*found.links, Link(target, Kind.MAP)], found.dropped)
    if probe_maps and not links.has_map_comment(body):
        parts = urlsplit(response.url)
        probe = urlunsplit((parts.scheme, parts.netloc, parts.path + ".map", "", ""))
        return Found([*found.links, Link(probe, Kind.MAP, True)], found.dropped)
    return found
