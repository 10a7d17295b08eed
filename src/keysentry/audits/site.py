"""``keysentry site URL...``: every response of a deployed site through the scanner.

The crawl (sources/site) yields responses; each is scanned like a file, through the
same layers (an inline map, base64, a map's ``sourcesContent``), and every finding
is placed on the web: its URL and status, ``exposure: client`` with the response as
evidence (a key a browser can download is the strongest §2.2 evidence there is).
A body served again at another URL (a single-page app's fallback, a copied chunk)
is scanned once; its findings are repeated for each URL that serves it.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from keysentry import exposure
from keysentry.audits import bundle_origins
from keysentry.audits.progress import Progress
from keysentry.config import Config
from keysentry.decoders.sourcemap_mappings import (
    MAX_MAP_BYTES,
    OriginalPosition,
    original_positions,
)
from keysentry.engine import layers
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding, SitePlacement
from keysentry.model.report import Report, ScanError
from keysentry.sources.site import Fetched, Outcome, SiteOptions, crawl
from keysentry.sources.site.links import MAPPED, Kind
from keysentry.sources.site.scope import BadURL, normalize

SERVED = "served to browsers by {url} (HTTP {status})"
IN_MAP = (
    "in the source map's sourcesContent ({source}): downloadable even where the bundle"
    " itself no longer holds it"
)


@dataclass
class BodyScan:
    """One body's scan, as it comes back from the worker that read the body."""

    report: Report  # its findings (not yet placed on the web) and what the scan reported
    # a map's: where it places each key its bundle asked about (Request.lookups)
    origins: list[OriginalPosition | None] = field(default_factory=list)


def audit_site(
    urls: list[str], config: Config, options: SiteOptions, *, progress: bool = False
) -> Report:
    """Crawl the sites at urls and scan what they serve; a bad URL is an error, not a stop."""
    report = Report()
    good = []
    for url in urls:
        try:
            good.append(normalize(url))
        except BadURL as exc:
            report.errors.append(ScanError(url, str(exc)))
    if not good:
        return report
    scanner = Scanner(config, report)
    shown = Progress(progress)
    first: dict[bytes, list[Finding]] = {}  # a body's digest -> its findings, once scanned
    repeats: list[Outcome[BodyScan]] = []
    unplaced: dict[str, list[Finding]] = {}  # a script's URL -> its keys, for its map to place
    done = 0
    excluded = config.is_excluded if config.exclude else None  # URL paths, not fetched
    scan = functools.partial(_scan_here, scanner)  # run by the worker that read the body
    try:
        limits = layers.limits(config)
        for outcome in crawl(good, options, limits, report, scan, excluded, _lookups):
            if outcome.result is None:  # the same body, scanned for an earlier URL
                report.stats["responses_repeated"] += 1
                repeats.append(outcome)
                continue
            part, fetched = outcome.result.report, outcome.fetched
            first[outcome.digest] = _placed_all(part.findings, fetched)
            if fetched.kind in MAPPED:
                unplaced[fetched.response.url] = bundle_origins.bundle_keys(part.findings)
            elif outcome.result.origins and fetched.request.referrer in unplaced:
                _place_in_sources(unplaced.pop(fetched.request.referrer), outcome)
            report.findings.extend(first[outcome.digest])
            report.errors.extend(part.errors)
            report.stats.update(part.stats)
            report.notes.extend(part.notes)
            done += 1
            shown.show(
                f"keysentry: responses {done:,}  {report.stats['bytes_fetched'] / 1e6:,.1f} MB"
                f" fetched  findings {len(report.findings)}"
            )
    finally:
        shown.close()
    for outcome in repeats:
        report.findings.extend(_placed(f, outcome.fetched) for f in first.get(outcome.digest, []))
    return report


def _lookups(scanned: BodyScan) -> tuple[tuple[int, int], ...]:
    """Where a script's own keys are, for its source map to say where they came from."""
    return tuple((f.line, f.column) for f in bundle_origins.bundle_keys(scanned.report.findings))


def _place_in_sources(keys: list[Finding], outcome: Outcome[BodyScan]) -> None:
    """A bundle's keys named by the original source and line its map gives them."""
    bundle, map_url = outcome.fetched.request.referrer or "", outcome.fetched.request.url
    assert outcome.result is not None
    if urlsplit(bundle)[:2] == urlsplit(map_url)[:2]:  # the map's path, from the bundle's folder
        folder = posixpath.dirname(urlsplit(bundle).path)
        map_url = posixpath.relpath(urlsplit(map_url).path, folder or "/")
    bundle_origins.place(keys, outcome.result.origins, map_url)


def _scan_here(scanner: Scanner, fetched: Fetched, body: bytes) -> BodyScan:
    """One response's findings (not yet placed on the web) and what its scan reported;
    for a map its bundle asked about (``Request.lookups``), where it places those keys."""
    scanner = dataclasses.replace(scanner, report=Report())
    target = fetched.target
    found = scanner.scan_bytes(body, target)
    if fetched.kind is Kind.MAP and not target.path.lower().endswith(".map") and found:
        layers.annotate(found, "sourcemap", body)  # named by a header, not by its path
    origins: list[OriginalPosition | None] = []
    lookups = fetched.request.lookups
    if fetched.kind is Kind.MAP and lookups and len(body) <= MAX_MAP_BYTES:
        origins = original_positions(body.decode("utf-8", "replace"), list(lookups))
    return BodyScan(scanner.report, origins)  # findings placed on the web by the caller


def _placed_all(found: list[Finding], fetched: Fetched) -> list[Finding]:
    for finding in found:
        _place(finding, fetched)
    return found


def _place(finding: Finding, fetched: Fetched) -> None:
    response = fetched.response
    finding.site = SitePlacement(
        url=response.url,
        status=response.status,
        content_type=response.content_type,
        referrer=fetched.request.referrer,
    )
    finding.exposure = exposure.CLIENT
    site = finding.site  # its URL redacted: a path or query may hold a key
    finding.exposure_evidence = [SERVED.format(url=site.url, status=response.status)]
    in_map = fetched.kind is Kind.MAP or finding.decoded_from  # a map's, or an inline map's
    if in_map and finding.original_source is not None:  # (not a bundle key its map placed)
        finding.exposure_evidence.append(IN_MAP.format(source=finding.original_source))
    finding.severity = exposure.severity(exposure.CLIENT, finding.confidence, finding.provider)


def _placed(finding: Finding, fetched: Fetched) -> Finding:
    """The same key in the same bytes, served at another URL."""
    copy = dataclasses.replace(
        finding,
        path=fetched.target.path,
        exposure_evidence=[],
        decoded_from=list(finding.decoded_from),
    )
    _place(copy, fetched)
    return copy
