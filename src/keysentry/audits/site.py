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
import hashlib

from keysentry import exposure
from keysentry.audits.progress import Progress
from keysentry.config import Config
from keysentry.engine import layers
from keysentry.engine.scanner import Scanner
from keysentry.model.finding import Finding, SitePlacement
from keysentry.model.report import Report, ScanError
from keysentry.sources.site import Fetched, SiteOptions, crawl
from keysentry.sources.site.links import Kind
from keysentry.sources.site.scope import BadURL, normalize

SERVED = "served to browsers by {url} (HTTP {status})"
IN_MAP = (
    "in the source map's sourcesContent ({source}): downloadable even where the bundle"
    " itself no longer holds it"
)


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
    scanned: dict[bytes, list[Finding]] = {}
    done = 0
    try:
        excluded = config.is_excluded if config.exclude else None  # URL paths, not fetched
        for fetched in crawl(good, options, layers.limits(config), report, excluded):
            digest = hashlib.sha256(fetched.response.body).digest()
            if digest in scanned:
                report.stats["responses_repeated"] += 1
                report.findings.extend(_placed(f, fetched) for f in scanned[digest])
            else:
                scanned[digest] = _scan(scanner, fetched)
            done += 1
            shown.update(done, report.stats["bytes_fetched"], len(report.findings))
    finally:
        shown.close()
    return report


def _scan(scanner: Scanner, fetched: Fetched) -> list[Finding]:
    target = fetched.target
    body = fetched.response.body
    found = scanner.scan_bytes(body, target)
    if fetched.kind is Kind.MAP and not target.path.lower().endswith(".map") and found:
        layers.annotate(found, "sourcemap", body)  # named by a header, not by its path
    for finding in found:
        _place(finding, fetched)
    return list(found)


def _place(finding: Finding, fetched: Fetched) -> None:
    response = fetched.response
    finding.site = SitePlacement(
        url=response.url,
        status=response.status,
        content_type=response.content_type,
        referrer=fetched.request.referrer,
    )
    finding.exposure = exposure.CLIENT
    finding.exposure_evidence = [SERVED.format(url=response.url, status=response.status)]
    if finding.original_source is not None:
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
