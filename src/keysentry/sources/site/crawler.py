"""The crawl: from the start URLs, every response a browser could load, each fetched once.

Requests go to the workers (workers.py, ``--concurrency`` of them); each fetches its
URL, reads it for links and, when asked, scans the body where it was read. This
process keeps the crawl's state: what was queued, the scope, ``--exclude`` and
robots.txt (for links and redirect hops alike), the limits, and the digests of the
bodies scanned (a body served again at another URL is scanned once). Scripts, maps
and manifests go before further pages, so a page's code is read before the crawl
moves on. What was not fetched because of a limit, the scope or a failure is
recorded in the report: stats for what is expected (a missing guessed map, a link to
another site), errors for what makes the audit incomplete.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from keysentry.containers.limits import Limits
from keysentry.model.report import Report, ScanError
from keysentry.sources.site import links
from keysentry.sources.site.fetch import Fetcher, FetchError
from keysentry.sources.site.links import Kind
from keysentry.sources.site.options import USER_AGENT_NAME, SiteOptions
from keysentry.sources.site.scope import Scope, normalize
from keysentry.sources.site.visit import Fetched, Request, Visited
from keysentry.sources.site.workers import Ask, Scan, Scanned, Workers

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from urllib.robotparser import RobotFileParser

T = TypeVar("T")
# a script's scan -> the places (line, column) of its keys, for its source map to place
Lookups = Callable[[T], tuple[tuple[int, int], ...]]

# asked for on every start origin; missing ones are expected (guessed)
CONVENTIONAL = (
    ("/robots.txt", Kind.ROBOTS),
    ("/sitemap.xml", Kind.SITEMAP),
    ("/manifest.json", Kind.MANIFEST),
    ("/asset-manifest.json", Kind.MANIFEST),
    ("/.vite/manifest.json", Kind.MANIFEST),
)
# statuses that mean the crawl did not see what browsers get (401/403: staging credentials)
INCOMPLETE_STATUSES = frozenset({401, 403, 407, 429})
_STAT_OF_KIND = {
    Kind.PAGE: "pages",
    Kind.SCRIPT: "scripts",
    Kind.STYLE: "styles",
    Kind.MAP: "maps",
    Kind.MANIFEST: "manifests",
    Kind.SITEMAP: "sitemaps",
    Kind.ROBOTS: "robots",
}


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A response the crawl scanned: its scan's result, or None when the same body was
    scanned for an earlier URL (``digest`` names the body either way)."""

    fetched: Fetched
    digest: bytes
    result: T | None


def url_path(url: str) -> str:
    """What exclude globs match for a URL: its path, percent-decoded, without the leading
    slash (``https://cdn.example/lib/a%20b.js?v=2`` -> ``lib/a b.js``), whatever the origin."""
    return unquote(urlsplit(url).path).lstrip("/")


def protocol_stat(http_version: str) -> str:
    """``responses_http2``, ``responses_http1_1``: how many responses came over each."""
    return "responses_" + http_version.lower().replace("/", "").replace(".", "_")


def _origin_of(url: str) -> str:
    return urlunsplit((*urlsplit(url)[:2], "", "", ""))


class Crawl(Generic[T]):
    def __init__(
        self,
        start_urls: list[str],
        options: SiteOptions,
        limits: Limits,
        report: Report,
        scan: Scan[T],
        excluded: Callable[[str], bool] | None = None,
        lookups: Lookups[T] | None = None,
    ) -> None:
        self.options, self.report, self.scan = options, report, scan
        self.lookups_of = lookups
        self.lookups: dict[str, tuple[tuple[int, int], ...]] = {}  # a bundle URL -> its keys
        self.waiting: dict[str, list[Request]] = {}  # maps held until their bundle is scanned
        self.excluded = excluded  # url_path -> whether --exclude (or the configuration) drops it
        self.start = [normalize(u) for u in start_urls]
        self.scope = Scope(self.start, options.allow_origins)
        tls = any(o.startswith("https:") for o in self.scope.asset_origins)
        self.fetcher = Fetcher(options, limits, tls)
        self.assets: deque[Request] = deque()
        self.pages: deque[Request] = deque()
        self.seen: set[str] = set()
        self.digests: set[bytes] = set()  # of the bodies scanned
        self.robots: dict[str, RobotFileParser] = {}
        self.pages_started = 0
        self.limited: dict[str, int] = {}  # limit name -> requests it stopped

    @property
    def stats(self) -> dict[str, int]:
        return self.report.stats

    def run(self) -> Iterator[Outcome[T]]:
        options = self.options
        workers = Workers(options.concurrency, self.fetcher, self.scan, options.probe_maps)
        finished = False
        try:
            origins = sorted({_origin_of(u) for u in self.start})
            for origin in origins:  # robots.txt first: its rules apply to everything else
                self.add(Request(f"{origin}/robots.txt", Kind.ROBOTS, 0, guessed=True))
            yield from self.drain(workers)
            for url in self.start:
                self.add(Request(url, Kind.PAGE, 0))
            for origin in origins:
                for path, kind in CONVENTIONAL[1:]:
                    self.add(Request(origin + path, kind, 0, guessed=True))
            yield from self.drain(workers)
            finished = True
        finally:
            workers.close(abort=not finished)  # stopped early: no waiting for fetches
            self.fetcher.close()
            self.report_limits()

    def drain(self, workers: Workers) -> Iterator[Outcome[T]]:
        """Every queued request (and what they lead to) handed to a free worker."""
        idle = list(workers.conns)
        busy: dict[Connection, Request] = {}
        scanning: dict[Connection, tuple[Fetched, bytes]] = {}  # worker -> what it scans
        while True:
            while idle and (self.assets or self.pages):
                request = self.assets.popleft() if self.assets else self.pages.popleft()
                request = self.with_lookups(request, scanning)
                if request is None:
                    continue  # held until the bundle that named it is scanned
                if self.admit(request):
                    conn = idle.pop()
                    conn.send(request)
                    busy[conn] = request
            if not busy:
                return
            for conn in workers.ready(busy):
                message = workers.receive(conn)
                if isinstance(message, Ask):
                    conn.send(self.check_redirect(busy[conn], message.target))
                    continue
                if isinstance(message, Scanned):
                    fetched, digest = scanning.pop(conn)
                    self.scanned(fetched, message.result)
                    yield Outcome(fetched, digest, message.result)
                else:
                    fetched = self.handle(message)
                    if fetched is not None:  # its worker waits: to scan the body or not
                        first = message.digest not in self.digests
                        conn.send(first)
                        if first:
                            self.digests.add(message.digest)
                            scanning[conn] = (fetched, message.digest)
                            continue  # busy until its scan comes
                        yield Outcome(fetched, message.digest, None)  # scanned at another URL
                del busy[conn]
                idle.append(conn)

    def with_lookups(
        self, request: Request, scanning: dict[Connection, tuple[Fetched, bytes]]
    ) -> Request | None:
        """A map's request, with the places of its bundle's keys (``Lookups``); None
        while that bundle is still being scanned (the request waits for it)."""
        if self.lookups_of is None or request.kind is not Kind.MAP or request.referrer is None:
            return request
        referrer = request.referrer
        if any(fetched.response.url == referrer for fetched, _ in scanning.values()):
            self.waiting.setdefault(referrer, []).append(request)
            return None
        places = self.lookups.pop(referrer, ())
        return replace(request, lookups=places) if places else request

    def scanned(self, fetched: Fetched, result: T) -> None:
        """A body's scan is back: a script or style's keys to place, and its maps to go."""
        if self.lookups_of is not None and fetched.kind in links.MAPPED:
            places = self.lookups_of(result)
            if places:
                self.lookups[fetched.response.url] = places
        self.assets.extendleft(reversed(self.waiting.pop(fetched.response.url, [])))

    def limit(self, name: str) -> bool:
        self.limited[name] = self.limited.get(name, 0) + 1
        self.stats[f"skipped_{name.replace('-', '_')}"] += 1
        return False

    def admit(self, request: Request) -> bool:
        """Whether a queued request may still go out (limits counted when it is dispatched)."""
        if self.fetcher.budget.exhausted:
            return self.limit("max-bytes")
        if request.kind is Kind.PAGE:
            if self.pages_started >= self.options.max_pages:
                return self.limit("max-pages")
            self.pages_started += 1
        return True

    def robots_allow(self, url: str) -> bool:
        parser = self.robots.get(_origin_of(url))
        return parser is None or parser.can_fetch(USER_AGENT_NAME, url)

    def add(self, request: Request) -> None:
        url = request.url
        if url in self.seen:
            return
        if self.excluded is not None and self.excluded(url_path(url)):
            self.seen.add(url)
            self.stats["skipped_excluded"] += 1  # asked for by the user: not a gap
            return
        if request.kind is Kind.PAGE and not self.scope.allows_page(url):
            self.stats["skipped_off_scope"] += 1
            return
        if not self.scope.allows_asset(url):
            self.stats["skipped_off_scope"] += 1
            if not request.guessed:
                self.seen.add(url)
                self.report.errors.append(
                    ScanError(
                        url,
                        f"off-scope: a {request.kind} browsers load from"
                        f" {request.referrer or 'the site'}, not fetched"
                        " (--allow-origin adds its origin)",
                    )
                )
            return
        if request.depth > self.options.max_depth:
            self.limit("max-depth")
            return
        if not self.robots_allow(url):
            self.stats["skipped_robots"] += 1
            return
        self.seen.add(url)
        (self.pages if request.kind is Kind.PAGE else self.assets).append(request)

    def check_redirect(self, request: Request, target: str) -> FetchError | None:
        """Whether a redirect hop of request may be fetched: the scope, --exclude and
        robots.txt as for a link, and not when the crawl has that URL already."""
        if request.kind is Kind.PAGE:
            in_scope = self.scope.allows_page(target)
        else:
            in_scope = self.scope.allows_asset(target)
        if not in_scope:
            return FetchError(
                f"off-scope: redirects to {target}, outside the crawl's origins"
                " (--allow-origin adds one)"
            )
        if self.excluded is not None and self.excluded(url_path(target)):
            return FetchError(f"redirects to {target}, excluded", "skipped_excluded")
        if not self.robots_allow(target):
            return FetchError(
                f"redirects to {target}, which robots.txt disallows", "skipped_robots"
            )
        if target in self.seen:  # fetched, or queued to be: not asked for twice
            return FetchError(f"redirects to {target}, fetched already", "redirects_to_known_urls")
        self.seen.add(target)
        return None

    def handle(self, visited: Visited) -> Fetched | None:
        """A worker's report on a request counted and followed; what is to be scanned."""
        request, response, error = visited.request, visited.response, visited.error
        if error is not None or response is None:
            message = str(error)
            if error is not None and error.stat is not None:
                self.stats[error.stat] += 1  # the crawl's own rules: not a gap
            elif request.guessed and message.startswith("off-scope"):
                self.stats["skipped_off_scope"] += 1
            elif request.guessed:  # a file the site may not have: counted, not an error
                self.stats["guesses_failed"] += 1
            else:
                self.stats["requests_failed"] += 1
                self.report.errors.append(ScanError(request.url, message))
            return None
        self.seen.add(response.url)
        self.stats[f"responses_{response.status}"] += 1
        self.stats[protocol_stat(response.http_version)] += 1
        self.stats["bytes_fetched"] += response.wire_bytes
        if response.cut:
            self.limit("max-bytes")
        if visited.kind is None:
            if not (request.guessed and response.status >= 400):
                self.stats["guesses_answered_by_a_page"] += 1  # a single-page app's fallback
            return None  # else a conventional file this site does not have
        if response.problem is not None:
            self.report.errors.append(ScanError(response.url, response.problem))
        if response.status in INCOMPLETE_STATUSES or response.status >= 500:
            self.report.errors.append(
                ScanError(
                    response.url,
                    f"HTTP {response.status}: browsers may get other content"
                    " (staging credentials: --header or --cookie); its body was scanned",
                )
            )
        self.stats[_STAT_OF_KIND[visited.kind]] += 1
        self.stats["bytes_decoded"] += response.size
        self.follow(visited)
        return visited.fetched()

    def follow(self, visited: Visited) -> None:
        """Queue what the response leads to (and learn robots.txt's rules, if obeyed)."""
        found, response = visited.found, visited.response
        if found is None or response is None:
            return
        url = response.url
        if visited.kind is Kind.ROBOTS and self.options.respect_robots:
            from urllib.robotparser import RobotFileParser  # only when obeyed

            parser = RobotFileParser()
            parser.parse(visited.robots)
            self.robots[_origin_of(url)] = parser
        if found.dropped:
            self.stats["skipped_links_per_response"] += found.dropped
            self.report.notes.append(
                f"{url}: more than {links.MAX_LINKS} links; {found.dropped} were not followed"
            )
        page = url if visited.kind is Kind.PAGE else visited.request.page
        for link in found.links:
            self.add(visited.request.follow(link, url, page))

    def report_limits(self) -> None:
        where = self.start[0] if self.start else "(site)"
        flags = {
            "max-pages": self.options.max_pages,
            "max-bytes": self.options.max_bytes,
            "max-depth": self.options.max_depth,
        }
        for name, count in sorted(self.limited.items()):
            what = (
                "were not fetched or were cut short" if name == "max-bytes" else "were not fetched"
            )
            self.report.errors.append(
                ScanError(
                    where,
                    f"--{name} {flags[name]:,} reached: {count:,} URL(s) {what};"
                    f" raise --{name} to audit them",
                )
            )


def crawl(
    start_urls: list[str],
    options: SiteOptions,
    limits: Limits,
    report: Report,
    scan: Scan[T],
    excluded: Callable[[str], bool] | None = None,
    lookups: Lookups[T] | None = None,
) -> Iterator[Outcome[T]]:
    """Every response of the site, each body scanned once by ``scan`` in the worker that
    read it, as it is done; errors and counts go into ``report``. ``excluded`` (a URL's
    url_path -> bool) names URLs never to fetch, whether linked or redirected to.
    ``lookups`` gives a script's scan the places to look up in its source map: the map's
    request carries them (``Request.lookups``) to the worker that reads the map."""
    return Crawl(start_urls, options, limits, report, scan, excluded, lookups).run()
