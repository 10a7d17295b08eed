"""``keysentry site URL...``"""

from __future__ import annotations

import re
import ssl
import sys
from typing import Any

import click

from keysentry.cli.common import finish, load_config, report_options

_SIZE = re.compile(r"(\d+)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class Size(click.ParamType):
    """A byte count: ``1048576``, ``512k``, ``64M``, ``1G`` (binary units)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value).strip())
        if match is None or int(match.group(1)) == 0:
            self.fail(f"{value!r} is not a size such as 500k, 64M or 1G", param, ctx)
        return int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]


def _headers(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    pairs = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise click.BadParameter(f"{value!r} is not 'Name: value'", ctx, param)
        pairs.append((name.strip(), content.strip()))
    return tuple(pairs)


def _cookies(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    pairs = []
    for value in values:
        for part in value.split(";"):
            name, sep, content = part.strip().partition("=")
            if not sep or not name:
                raise click.BadParameter(f"{value!r} is not 'name=value'", ctx, param)
            pairs.append((name, content))
    return tuple(pairs)


@click.command()
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Also fetch scripts, maps and manifests from this origin (a CDN such as"
    " https://cdn.example.com); repeat for several. Pages stay on the start URLs' origins.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="HTML pages fetched at most (scripts, maps and manifests are not pages).",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Links followed from a start URL at most.",
)
@click.option(
    "--max-bytes",
    type=Size(),
    default="1G",
    show_default=True,
    help="Decoded bytes of all responses together.",
)
@click.option(
    "--max-response-bytes",
    type=Size(),
    default="64M",
    show_default=True,
    help="Decoded bytes of one response; a larger one is scanned up to this.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for one response, from the request to its last byte.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Requests per second at most, all together (default: no limit).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    callback=_headers,
    help="Send this header with every request (e.g. 'Authorization: Bearer ...' for"
    " a staging site); repeat for several.",
)
@click.option(
    "--cookie",
    "cookies",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_cookies,
    help="Send this cookie with every request; repeat for several.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trust the CAs in this PEM file (a staging site's own CA) instead of the"
    " system's; SSL_CERT_FILE does the same from the environment.",
)
@click.option(
    "--respect-robots", is_flag=True, help="Obey robots.txt (it is always read for URLs to audit)."
)
@click.option(
    "--no-map-probe",
    is_flag=True,
    help="Do not ask for X.js.map when a script names no source map.",
)
@click.option(
    "--no-decode",
    is_flag=True,
    help="Scan responses as served: no base64, escapes or inline source maps.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@report_options
def site(
    urls: tuple[str, ...],
    allow_origins: tuple[str, ...],
    max_pages: int,
    max_depth: int,
    max_bytes: int,
    max_response_bytes: int,
    timeout: float,
    concurrency: int,
    rate: float,
    headers: tuple[tuple[str, str], ...],
    cookies: tuple[tuple[str, str], ...],
    ca_bundle: str | None,
    respect_robots: bool,
    no_map_probe: bool,
    no_decode: bool,
    quiet: bool,
    config_path: Any,
    excludes: tuple[str, ...],
    **options: Any,
) -> None:
    """Crawl deployed sites and scan everything a browser can download from them.

    Pages, scripts, lazy chunks, workers, source maps, manifests and inline state, on
    the origins of the URLs given (and --allow-origin ones). JavaScript is never run.
    Proxies come from HTTP_PROXY/HTTPS_PROXY/NO_PROXY.

    Exit codes: 0 nothing found, 1 keys found, 2 usage error or incomplete crawl.
    """
    from keysentry.audits.site import audit_site
    from keysentry.sources.site import SiteOptions
    from keysentry.sources.site.scope import BadURL, normalize

    for origin in allow_origins:
        try:
            normalize(origin)
        except BadURL as exc:
            raise click.BadParameter(str(exc), param_hint="--allow-origin") from exc
    if ca_bundle is not None:
        try:
            ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise click.BadParameter(
                f"{ca_bundle}: not a PEM file of CA certificates ({exc})", param_hint="--ca-bundle"
            ) from exc
    config = load_config(config_path, excludes, options["verbose"])
    if no_decode:
        config.decode = False
    site_options = SiteOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        max_bytes=max_bytes,
        max_response_bytes=max_response_bytes,
        timeout=timeout,
        concurrency=concurrency,
        rate=rate,
        allow_origins=allow_origins,
        headers=headers,
        cookies=cookies,
        respect_robots=respect_robots,
        probe_maps=not no_map_probe,
        ca_bundle=ca_bundle,
    )
    progress = not quiet and sys.stderr.isatty()
    report = audit_site(list(urls), config, site_options, progress=progress)
    finish(report, command="site", **options)
