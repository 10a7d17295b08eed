"""What ``keysentry site`` may fetch, and how fast: the scope and the limits of one crawl."""

from __future__ import annotations

from dataclasses import dataclass

USER_AGENT_NAME = "keysentry-site"  # what robots.txt rules name us by
MAX_REDIRECTS = 10  # a longer chain is a loop, whatever its URLs


@dataclass(frozen=True)
class SiteOptions:
    """One crawl's scope and limits (the CLI's options; defaults are the CLI's)."""

    max_pages: int = 200  # HTML pages fetched (scripts, maps and manifests are not pages)
    max_depth: int = 10  # links followed from a start URL, whatever they lead to
    max_bytes: int = 1 << 30  # decoded bytes of all responses together
    max_response_bytes: int = 64 << 20  # decoded bytes of one response
    timeout: float = 30.0  # seconds for one response, from the request to its last byte
    concurrency: int = 4  # requests in flight at once
    rate: float = 0.0  # requests per second, all together (0: no limit)
    allow_origins: tuple[str, ...] = ()  # origins besides the start URLs' (CDNs), for assets
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request (Authorization...)
    cookies: tuple[tuple[str, str], ...] = ()
    respect_robots: bool = False  # robots.txt is always read for URLs; obeyed only if asked
    probe_maps: bool = True  # ask for ``X.js.map`` when a script names no map
    verify_tls: bool = True
    ca_bundle: str | None = None  # a PEM file of CAs to trust instead of the system's
