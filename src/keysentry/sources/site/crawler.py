"""The crawl: from the start URLs, every response a browser could load, each fetched once.

Requests run on a few threads (``--concurrency``); this generator hands each response
to its caller, which scans it, then queues what the response leads to (links.py).
Scripts, maps and manifests go before further pages, so a page's code is read before
the crawl moves on. What was not fetched because of a limit, the scope or a failure
is recorded in the report: stats for what is expected (a missing guessed map, a link
to another site), errors for what makes the audit incomplete.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from keysentry.containers.limits import Limits
from keysentry.model.report import Report, ScanError
from keysentry.model.target import ScanTarget, SourceKind
from keysentry.model.text import escape_text
from keysentry.sources.site import links
from keysentry.sources.site.fetch import Fetcher, FetchError, Response
from keysentry.sources.site.links import Found, Kind, Link
from keysentry.sources.site.options import USER_AGENT_NAME, SiteOptions
from keysentry.sources.site.scope import Scope, normalize, resolve

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
class Request:
    url: str
    kind: Kind
    depth: int  # links followed from a start URL
    referrer: str | None = None  # the response that linked here
    page: str | None = None  # the page whose code led here (a worker's base URL)
    guessed: bool = False


@dataclass(frozen=True)
class Fetched:
    """One response to scan: what was asked, what came, and what it is."""

    request: Request
    response: Response
    kind: Kind  # by its Content-Type, else what the link expected
    target: ScanTarget


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


def url_path(url: str) -> str:
    """What exclude globs match for a URL: its path, percent-decoded, without the leading
    slash (``https://cdn.example/lib/a%20b.js?v=2`` -> ``lib/a b.js``), whatever the origin."""
    return unquote(urlsplit(url).path).lstrip("/")


def protocol_stat(http_version: str) -> str:
    """``responses_http2``, ``responses_http1_1``: how many responses came over each."""
    return "responses_" + http_version.lower().replace("/", "").replace(".", "_")


def target_of(url: str) -> ScanTarget:
    """What findings in the response at url show as their path: the URL's path."""
    return ScanTarget(escape_text(urlsplit(url).path or "/"), SourceKind.SITE)


class Crawl:
    def __init__(
        self,
        start_urls: list[str],
        options: SiteOptions,
        limits: Limits,
        report: Report,
        excluded: Callable[[str], bool] | None = None,
    ) -> None:
        self.options, self.report = options, report
        self.excluded = excluded  # url_path -> whether --exclude (or the configuration) drops it
        self.start = [normalize(u) for u in start_urls]
        self.scope = Scope(self.start, options.allow_origins)
        self.fetcher = Fetcher(options, limits)
        self.assets: deque[Request] = deque()
        self.pages: deque[Request] = deque()
        self.seen: set[str] = set()
        self.robots: dict[str, RobotFileParser] = {}
        self.pages_started = 0
        self.bytes_read = 0
        self.limited: dict[str, int] = {}  # limit name -> requests it stopped

    @property
    def stats(self) -> dict[str, int]:
        return self.report.stats

    def run(self) -> Iterator[Fetched]:
        pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="keysentry-site")
        try:
            origins = sorted({urlunsplit((*urlsplit(u)[:2], "", "", "")) for u in self.start})
            for origin in origins:  # robots.txt first: its rules apply to everything else
                self.add(Request(f"{origin}/robots.txt", Kind.ROBOTS, 0, guessed=True))
            yield from self.drain(pool)
            for url in self.start:
                self.add(Request(url, Kind.PAGE, 0))
            for origin in origins:
                for path, kind in CONVENTIONAL[1:]:
                    self.add(Request(origin + path, kind, 0, guessed=True))
            yield from self.drain(pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.fetcher.close()
            self.report_limits()

    def drain(self, pool: ThreadPoolExecutor) -> Iterator[Fetched]:
        inflight: dict[Future[Response | FetchError], Request] = {}
        while self.assets or self.pages or inflight:
            while len(inflight) < self.options.concurrency and (self.assets or self.pages):
                request = self.assets.popleft() if self.assets else self.pages.popleft()
                if self.admit(request):
                    inflight[pool.submit(self.fetch, request)] = request
            if not inflight:
                break
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                request = inflight.pop(future)
                yield from self.handle(request, future.result())

    def fetch(self, request: Request) -> Response | FetchError:
        allowed = self.scope.allows_page if request.kind is Kind.PAGE else self.scope.allows_asset
        try:
            return self.fetcher.get(request.url, allowed)
        except FetchError as exc:
            return exc

    def limit(self, name: str) -> bool:
        self.limited[name] = self.limited.get(name, 0) + 1
        self.stats[f"skipped_{name.replace('-', '_')}"] += 1
        return False

    def admit(self, request: Request) -> bool:
        """Whether a queued request may still go out (limits counted when it is dispatched)."""
        if self.bytes_read >= self.options.max_bytes:
            return self.limit("max-bytes")
        if request.kind is Kind.PAGE:
            if self.pages_started >= self.options.max_pages:
                return self.limit("max-pages")
            self.pages_started += 1
        return True

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
        parser = self.robots.get(urlunsplit((*urlsplit(url)[:2], "", "", "")))
        if parser is not None and not parser.can_fetch(USER_AGENT_NAME, url):
            self.stats["skipped_robots"] += 1
            return
        self.seen.add(url)
        (self.pages if request.kind is Kind.PAGE else self.assets).append(request)

    def handle(self, request: Request, result: Response | FetchError) -> Iterator[Fetched]:
        if isinstance(result, FetchError):
            message = str(result)
            if request.guessed and message.startswith("off-scope"):
                self.stats["skipped_off_scope"] += 1
            elif request.guessed:  # a file the site may not have: counted, not an error
                self.stats["guesses_failed"] += 1
            else:
                self.stats["requests_failed"] += 1
                self.report.errors.append(ScanError(request.url, message))
            return
        response = result
        self.seen.add(response.url)
        self.stats[f"responses_{response.status}"] += 1
        self.stats[protocol_stat(response.http_version)] += 1
        self.stats["bytes_fetched"] += response.wire_bytes
        self.bytes_read += len(response.body)
        if request.guessed and response.status >= 400:
            return  # a conventional file this site does not have
        kind = kind_of_response(response, request.kind)
        if request.guessed and kind is Kind.PAGE and request.kind is not Kind.PAGE:
            self.stats["guesses_answered_by_a_page"] += 1  # a single-page app's fallback
            return
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
        self.stats[_STAT_OF_KIND[kind]] += 1
        self.stats["bytes_decoded"] += len(response.body)
        yield Fetched(request, response, kind, target_of(response.url))
        if response.status >= 400:
            return
        self.follow(request, response, kind)

    def follow(self, request: Request, response: Response, kind: Kind) -> None:
        body, url = response.body, response.url
        page = url if kind is Kind.PAGE else request.page
        found: Found | None = None
        if kind is Kind.PAGE:
            found = links.html_links(body, url)
        elif kind is Kind.SCRIPT:
            found = links.js_links(body, url, page)
        elif kind is Kind.STYLE:
            found = links.css_links(body, url)
        elif kind is Kind.MANIFEST:
            found = links.json_links(body, url)
        elif kind is Kind.SITEMAP:
            found = links.sitemap_links(body, url)
        elif kind is Kind.ROBOTS:
            found, lines = links.robots_links(body, url)
            if self.options.respect_robots:
                parser = RobotFileParser()
                parser.parse(lines)
                self.robots[urlunsplit((*urlsplit(url)[:2], "", "", ""))] = parser
        if found is None:
            return
        if found.dropped:
            self.stats["skipped_links_per_response"] += found.dropped
            self.report.notes.append(
                f"{url}: more than {links.MAX_LINKS} links; {found.dropped} were not followed"
            )
        for link in found.links:
            self.add(self.request_for(link, request, url, page))
        if kind in (Kind.SCRIPT, Kind.STYLE):
            self.maps_of(request, response, page)

    def request_for(self, link: Link, parent: Request, url: str, page: str | None) -> Request:
        return Request(link.url, link.kind, parent.depth + 1, url, page, link.guessed)

    def maps_of(self, request: Request, response: Response, page: str | None) -> None:
        """The header's map, else (unless --no-map-probe) ``X.js.map`` when nothing names one."""
        if response.source_map:
            target = resolve(response.url, response.source_map)
            if target is not None:
                self.add(Request(target, Kind.MAP, request.depth + 1, response.url, page))
            return
        if self.options.probe_maps and not links.has_map_comment(response.body):
            parts = urlsplit(response.url)
            probe = urlunsplit((parts.scheme, parts.netloc, parts.path + ".map", "", ""))
            self.add(Request(probe, Kind.MAP, request.depth + 1, response.url, page, True))

    def report_limits(self) -> None:
        where = self.start[0] if self.start else "(site)"
        flags = {
            "max-pages": self.options.max_pages,
            "max-bytes": self.options.max_bytes,
            "max-depth": self.options.max_depth,
        }
        for name, count in sorted(self.limited.items()):
            self.report.errors.append(
                ScanError(
                    where,
                    f"--{name} {flags[name]:,} reached: {count:,} URL(s) were not fetched;"
                    f" raise --{name} to audit them",
                )
            )


def crawl(
    start_urls: list[str],
    options: SiteOptions,
    limits: Limits,
    report: Report,
    excluded: Callable[[str], bool] | None = None,
) -> Iterator[Fetched]:
    """Every response of the site, as it arrives; errors and counts go into ``report``.
    ``excluded`` (a URL's url_path -> bool) names URLs never to fetch."""
    return Crawl(start_urls, options, limits, report, excluded).run()
