"""What a response leads to: the URLs a browser would load next, found without running code.

HTML is parsed with selectolax (Lexbor: the HTML5 parsing algorithm browsers use, so
broken markup is read the way a browser reads it). JavaScript, CSS, source maps and
manifests are searched with small patterns over their literal strings: import
specifiers, ``import()``, workers, ``importScripts``, webpack-style chunk URL builders
whose chunk list is a literal, ``sourceMappingURL`` comments, and asset paths.

A link is ``guessed`` when the code does not say for sure that a browser loads it (a
string that looks like a chunk, a conventional manifest, a ``.map`` probe): a guessed
URL that is missing is not an error, and one answered by an HTML page (a single-page
app's fallback) is not scanned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from keysentry.sources.site.scope import resolve

MAX_LINKS = 20_000  # per response: past this the rest of its links are dropped (and said)


class Kind(str, Enum):
    """What a URL is expected to be; the response's Content-Type has the last word."""

    PAGE = "page"
    SCRIPT = "script"
    STYLE = "style"
    MAP = "map"
    MANIFEST = "manifest"
    SITEMAP = "sitemap"
    ROBOTS = "robots"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Link:
    url: str  # absolute, normalised
    kind: Kind
    guessed: bool = False


# what each extension of an asset path is
_EXTENSION_KIND = {
    "js": Kind.SCRIPT,
    "mjs": Kind.SCRIPT,
    "cjs": Kind.SCRIPT,
    "css": Kind.STYLE,
    "map": Kind.MAP,
    "json": Kind.MANIFEST,
    "webmanifest": Kind.MANIFEST,
}
_ASSET_PATH = re.compile(
    rb"""(?<![\w$])["'`]((?:\.{1,2}/|/)?[\w@~.+\-]+(?:/[\w@~.+\-]+)*"""
    rb"""\.(?:m?js|cjs|css|map|json|webmanifest))(?:\?[^"'`\s]{0,200})?["'`]"""
)
_QUOTED = rb"""["'`]([^"'`\s]{1,2000})["'`]"""
_EXPLICIT = [  # the specifier a browser resolves against the script's URL
    re.compile(rb"\b(?:import|export)\b[\w$\s{},*]{0,2000}?\bfrom\s*" + _QUOTED),
    re.compile(rb"\bimport\s*" + _QUOTED),
    re.compile(rb"\bimport\s*\(\s*" + _QUOTED + rb"\s*\)"),
    re.compile(rb"\bnew\s+URL\s*\(\s*" + _QUOTED + rb"\s*,\s*import\.meta\.url"),
]
_DOCUMENT_RELATIVE = [  # resolved against the page's URL (a worker's base is the document's)
    re.compile(rb"\bnew\s+(?:Shared)?Worker\s*\(\s*" + _QUOTED),
    re.compile(rb"\bserviceWorker\s*\.\s*register\s*\(\s*" + _QUOTED),
]
_IMPORT_SCRIPTS = re.compile(rb"\bimportScripts\s*\(([^)]{1,5000})\)")
_STRING = re.compile(_QUOTED)
_MAP_COMMENT = re.compile(rb"[#@]\s*sourceMappingURL\s*=\s*([^\s'\"*]{1,2000})")
_CSS_IMPORT = re.compile(rb"""@import\s+(?:url\(\s*)?["']?([^"')\s;]{1,2000})""")
# webpack's chunk URL builder (``__webpack_require__.u``), whose chunk list is a literal:
# "static/chunks/" + ({12:"name"}[e] || e) + "." + {12:"a1b2"}[e] + ".js"
_CHUNK_BUILDER = re.compile(
    rb'"([^"\s]{0,300})"\s*\+\s*(\(\s*\{([^{}]{0,500000})\}\s*\[\s*[\w$]+\s*\]\s*\|\|\s*[\w$]+'
    rb'\s*\)|[\w$]+)\s*\+\s*"([^"\s]{0,60})"\s*\+\s*\{([^{}]{1,2000000})\}\s*\[\s*[\w$]+\s*\]'
    rb'\s*\+\s*"([^"\s]{0,60})"'
)
_PAIR = re.compile(rb'([\w$]+|"[^"]{0,300}")\s*:\s*"([^"]{0,300})"')
_PUBLIC_PATH = re.compile(rb'\.p\s*=\s*"([^"]{0,500})"')


def kind_of_path(url: str, default: Kind) -> Kind:
    path = urlsplit(url).path
    ending = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _EXTENSION_KIND.get(ending, default)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _bases(url: str, page: str | None, literal: str) -> list[str]:
    """Where a bare relative path found in the script at url may point, likeliest first.

    Bundlers write chunk paths relative to the build's root (``assets/x.js`` in
    ``/app/assets/index.js`` means ``/app/assets/x.js``): when the literal's first folder
    is one of the script's, that root is tried first, then the script's own folder.
    """
    bases = []
    first = literal.split("/", 1)[0]
    parts = urlsplit(url)
    if "/" in literal and first not in (".", ".."):
        at = parts.path.find(f"/{first}/")
        if at >= 0:
            bases.append(f"{parts.scheme}://{parts.netloc}{parts.path[: at + 1]}")
    bases.append(url)
    if page is not None:
        bases.append(page)
    return bases


class _Collector:
    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.dropped = 0

    def add(self, url: str | None, kind: Kind, guessed: bool = False) -> None:
        if url is None:
            return
        known = self.links.get(url)
        if known is not None:
            if known.guessed and not guessed:
                self.links[url] = Link(url, known.kind, False)
            return
        if len(self.links) >= MAX_LINKS:
            self.dropped += 1
            return
        self.links[url] = Link(url, kind, guessed)

    def candidates(self, bases: Iterable[str], literal: str, kind: Kind, guessed: bool) -> None:
        for index, base in enumerate(bases):
            self.add(resolve(base, literal), kind, guessed or index > 0)


@dataclass(frozen=True)
class Found:
    links: list[Link]
    dropped: int  # links past MAX_LINKS


def _found(collector: _Collector) -> Found:
    return Found(list(collector.links.values()), collector.dropped)


def html_links(body: bytes, url: str) -> Found:
    """Scripts, styles, preloads, manifests, import maps, frames, same-site pages."""
    from selectolax.lexbor import LexborHTMLParser  # only a crawl parses HTML

    tree = LexborHTMLParser(body)
    out = _Collector()
    base_tag = tree.css_first("base[href]")
    base = resolve(url, base_tag.attributes.get("href") or "") if base_tag else None
    base = base or url

    def attr(node: object, name: str) -> str:
        return (getattr(node, "attributes", {}).get(name) or "").strip()

    for node in tree.css("script"):
        kind_attr = attr(node, "type").lower()
        src = attr(node, "src")
        if src:
            out.add(resolve(base, src), Kind.SCRIPT)
            continue
        text = (node.text(deep=True) or "").encode("utf-8", "replace")
        if kind_attr == "importmap":
            _import_map(text, base, out)
        elif attr(node, "id") == "__NEXT_DATA__":
            _next_data(text, base, out)
        elif kind_attr in ("", "module", "text/javascript", "application/javascript"):
            _js_into(text, base, base, out)
    for node in tree.css("link[href]"):
        rels = set(attr(node, "rel").lower().split())
        href = resolve(base, attr(node, "href"))
        if "manifest" in rels:
            out.add(href, Kind.MANIFEST)
        elif "stylesheet" in rels:
            out.add(href, Kind.STYLE)
        elif "modulepreload" in rels:
            out.add(href, Kind.SCRIPT)
        elif rels & {"preload", "prefetch"}:
            as_ = {"script": Kind.SCRIPT, "style": Kind.STYLE, "worker": Kind.SCRIPT}
            kind = as_.get(attr(node, "as").lower())
            if kind is None and href is not None:
                kind = kind_of_path(href, Kind.MANIFEST)
                if kind is Kind.MANIFEST and attr(node, "as").lower() not in ("fetch", ""):
                    continue  # fonts, images: nothing a key scan reads
            out.add(href, kind or Kind.SCRIPT)
    for node in tree.css("a[href], area[href], iframe[src], frame[src]"):
        link = attr(node, "href") or attr(node, "src")
        target = resolve(base, link)
        if target is not None:
            out.add(target, kind_of_path(target, Kind.PAGE))
    return _found(out)


def _import_map(text: bytes, base: str, out: _Collector) -> None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return
    if not isinstance(data, dict):
        return
    maps = [data.get("imports")]
    scopes = data.get("scopes")
    if isinstance(scopes, dict):
        maps += list(scopes.values())
    for mapping in maps:
        if isinstance(mapping, dict):
            for value in mapping.values():
                if isinstance(value, str) and not value.endswith("/"):
                    out.add(resolve(base, value), Kind.SCRIPT)


def _next_data(text: bytes, base: str, out: _Collector) -> None:
    """Next.js: the build id names the build manifest every page of that build loads."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return
    if not isinstance(data, dict) or not isinstance(data.get("buildId"), str):
        return
    prefix = data.get("assetPrefix") if isinstance(data.get("assetPrefix"), str) else ""
    for name in ("_buildManifest.js", "_ssgManifest.js"):
        literal = f"{prefix.rstrip('/')}/_next/static/{data['buildId']}/{name}"
        out.add(resolve(base, literal), Kind.SCRIPT, guessed=True)


def js_links(body: bytes, url: str, page: str | None) -> Found:
    """Imports, chunks, workers and maps a script leads to (``page``: the page that ran it)."""
    out = _Collector()
    _js_into(body, url, page or url, out)
    return _found(out)


def _js_into(body: bytes, url: str, page: str, out: _Collector) -> None:
    for pattern in _EXPLICIT:
        for match in pattern.finditer(body):
            literal = _text(match.group(1))
            if _is_specifier(literal):
                out.add(resolve(url, literal), Kind.SCRIPT)
    for pattern in _DOCUMENT_RELATIVE:
        for match in pattern.finditer(body):
            literal = _text(match.group(1))
            out.candidates([page, url], literal, Kind.SCRIPT, False)
    for match in _IMPORT_SCRIPTS.finditer(body):
        for string in _STRING.finditer(match.group(1)):
            out.candidates([url], _text(string.group(1)), Kind.SCRIPT, False)
    _chunk_builders(body, url, out)
    for match in _ASSET_PATH.finditer(body):
        literal = _text(match.group(1))
        target = resolve(url, literal)
        if target is not None:
            out.candidates(
                _bases(url, page, literal), literal, kind_of_path(target, Kind.SCRIPT), True
            )
    _map_comment(body, url, out)


def _is_specifier(literal: str) -> bool:
    """A URL-like import specifier (bare names like ``react`` need an import map)."""
    return literal.startswith(("./", "../", "/", "http://", "https://"))


def _chunk_builders(body: bytes, url: str, out: _Collector) -> None:
    public = _PUBLIC_PATH.search(body)
    public_path = _text(public.group(1)) if public else ""
    for match in _CHUNK_BUILDER.finditer(body):
        prefix, _, names_raw, middle, hashes_raw, suffix = (
            _text(g) if g is not None else "" for g in match.groups()
        )
        names = dict(_pairs(names_raw.encode())) if names_raw else {}
        for chunk, digest in _pairs(hashes_raw.encode()):
            literal = f"{prefix}{names.get(chunk, chunk)}{middle}{digest}{suffix}"
            if public_path and public_path != "auto":
                out.add(resolve(resolve(url, public_path) or url, literal), Kind.SCRIPT)
            else:
                out.candidates(_bases(url, None, literal), literal, Kind.SCRIPT, False)


def _pairs(raw: bytes) -> Iterator[tuple[str, str]]:
    for key, value in _PAIR.findall(raw):
        yield _text(key).strip('"'), _text(value)


def _map_comment(body: bytes, url: str, out: _Collector) -> None:
    matches = list(_MAP_COMMENT.finditer(body[-4096:] if len(body) > 4096 else body))
    if not matches:
        return
    literal = _text(matches[-1].group(1))
    if not literal.startswith("data:"):  # an inline map is scanned with the script itself
        out.add(resolve(url, literal), Kind.MAP)


def has_map_comment(body: bytes) -> bool:
    return _MAP_COMMENT.search(body[-4096:] if len(body) > 4096 else body) is not None


def css_links(body: bytes, url: str) -> Found:
    out = _Collector()
    for match in _CSS_IMPORT.finditer(body):
        out.add(resolve(url, _text(match.group(1))), Kind.STYLE)
    _map_comment(body, url, out)
    return _found(out)


def json_links(body: bytes, url: str) -> Found:
    """Asset paths named anywhere in a manifest (web app, Vite, asset-manifest, import map)."""
    out = _Collector()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _found(out)
    root = resolve(url, "/") or url
    bases = [url, root]
    if "/.vite/" in url:
        bases.insert(0, url.split("/.vite/", 1)[0] + "/")
    for key, value in _strings(data):
        if key in ("start_url", "scope"):
            out.add(resolve(url, value), Kind.PAGE, guessed=True)
            continue
        if not _ASSET_PATH.fullmatch(b'"' + value.encode("utf-8", "replace") + b'"'):
            continue
        target = resolve(url, value)
        if target is not None:
            out.candidates(bases, value, kind_of_path(target, Kind.SCRIPT), True)
    return _found(out)


def _strings(data: object, key: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > 64:
        return
    if isinstance(data, str):
        yield key, data
    elif isinstance(data, dict):
        for name, value in data.items():
            yield from _strings(value, str(name), depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value, key, depth + 1)


def robots_links(body: bytes, url: str) -> tuple[Found, list[str]]:
    """Sitemaps and the paths robots.txt names (as page seeds), and its lines for a parser."""
    out = _Collector()
    lines = _text(body).splitlines()
    for line in lines:
        field, _, value = line.partition(":")
        field, value = field.strip().lower(), value.split("#", 1)[0].strip()
        if field == "sitemap":
            out.add(resolve(url, value), Kind.SITEMAP)
        elif (
            field in ("allow", "disallow")
            and value.startswith("/")
            and not any(c in value for c in "*$")
        ):
            target = resolve(url, value)
            if target is not None:
                out.add(target, kind_of_path(target, Kind.PAGE), guessed=True)
    return _found(out), lines


def sitemap_links(body: bytes, url: str) -> Found:
    """``<loc>`` entries: pages, or further sitemaps of a sitemap index."""
    from selectolax.lexbor import LexborHTMLParser

    out = _Collector()
    for node in LexborHTMLParser(body).css("loc"):
        target = resolve(url, node.text() or "")
        if target is not None:
            xml = urlsplit(target).path.lower().endswith(".xml")
            out.add(target, Kind.SITEMAP if xml else kind_of_path(target, Kind.PAGE))
    return _found(out)
