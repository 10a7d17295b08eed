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

import ahocorasick_rs

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


MAPPED = frozenset({Kind.SCRIPT, Kind.STYLE})  # what a source map is the map of


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
_ASSET_ENDINGS = (b".js", b".mjs", b".cjs", b".css", b".map", b".json", b".webmanifest")
_QUOTES = b"\"'`"
_QUOTED = rb"""["'`]([^"'`\s]{1,2000})["'`]"""
# Each pattern starts with its anchor, a literal found with bytes.find (memchr speed)
# before the pattern is tried there: a regex search over megabytes of minified code
# would be far slower. Group 1 is the URL; "page" ones resolve against the page's URL
# (a worker's base is the document's), the others against the script's.
_ANCHORED: dict[bytes, list[tuple[re.Pattern[bytes], bool]]] = {
    b"import": [
        (re.compile(rb"import\b[\w$\s{},*]{0,2000}?\bfrom\s*" + _QUOTED), False),
        (re.compile(rb"import\s*" + _QUOTED), False),
        (re.compile(rb"import\s*\(\s*" + _QUOTED + rb"\s*\)"), False),
    ],
    b"export": [(re.compile(rb"export\b[\w$\s{},*]{0,2000}?\bfrom\s*" + _QUOTED), False)],
    b"new": [
        (re.compile(rb"new\s+URL\s*\(\s*" + _QUOTED + rb"\s*,\s*import\.meta\.url"), False),
        (re.compile(rb"new\s+(?:Shared)?Worker\s*\(\s*" + _QUOTED), True),
    ],
    b"serviceWorker": [(re.compile(rb"serviceWorker\s*\.\s*register\s*\(\s*" + _QUOTED), True)],
}
_IMPORT_SCRIPTS = re.compile(rb"importScripts\s*\(([^)]{1,5000})\)")
_ANCHOR_WORDS = (*_ANCHORED, b"importScripts")
# an asset path's ending where its string ends (or its query starts)
_ENDING_NEEDLES = tuple(end + bytes([c]) for end in _ASSET_ENDINGS for c in b"?\"'`")
# One pass over a script finds every anchor and every asset path's ending (leftmost
# longest: ``importScripts`` is not also an ``import``). No needle can overlap another
# (anchors are letters, endings start with a dot and end with a quote or ``?``), so
# none hides one; a dozen ``bytes.find`` passes took 15 times as long.
_JS_FINDER = ahocorasick_rs.BytesAhoCorasick(
    [*_ANCHOR_WORDS, *_ENDING_NEEDLES], matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
)
_STRING = re.compile(_QUOTED)
_MAP_COMMENT = re.compile(rb"[#@]\s*sourceMappingURL\s*=\s*([^\s'\"*]{1,2000})")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_CSS_IMPORT = re.compile(rb"""@import\s+(?:url\(\s*)?["']?([^"')\s;]{1,2000})""")
# webpack's chunk URL builder (``__webpack_require__.u``), whose chunk list is a literal:
# "static/chunks/" + ({12:"name"}[e] || e) + "." + {12:"a1b2"}[e] + ".js"
_CHUNK_BUILDER = re.compile(
    rb'"([^"\s]{0,300})"\s*\+\s*(\(\s*\{([^{}]{0,500000})\}\s*\[\s*[\w$]+\s*\]\s*\|\|\s*[\w$]+'
    rb'\s*\)|[\w$]+)\s*\+\s*"([^"\s]{0,60})"\s*\+\s*\{([^{}]{1,2000000})\}\s*\[\s*[\w$]+\s*\]'
    rb'\s*\+\s*"([^"\s]{0,60})"'
)
# the builder's hash lookup, ``}[e]+".js"``: rare in other code, so a body without one is
# not searched with the whole pattern (which tries a match at every quote)
_CHUNK_LOOKUP = re.compile(rb'\}\s*\[\s*[\w$]+\s*\]\s*\+\s*"')
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


@dataclass
class _Hits:
    """Where a script's anchors start (as a word's start) and its asset paths end."""

    anchors: dict[bytes, list[int]]
    endings: list[tuple[int, int]]  # (which of _ASSET_ENDINGS, where it starts)


def _hits(body: bytes) -> _Hits:
    hits = _Hits({word: [] for word in _ANCHOR_WORDS}, [])
    words = len(_ANCHOR_WORDS)
    per_ending = len(_ENDING_NEEDLES) // len(_ASSET_ENDINGS)
    for index, start, _ in _JS_FINDER.find_matches_as_indexes(body):
        if index >= words:
            hits.endings.append(((index - words) // per_ending, start))
        elif start == 0 or body[start - 1] not in _WORD:
            hits.anchors[_ANCHOR_WORDS[index]].append(start)
    hits.endings.sort()  # ending by ending, as _ASSET_ENDINGS lists them
    return hits


def _asset_strings(body: bytes, endings: list[tuple[int, int]]) -> Iterator[str]:
    """Quoted strings that are asset paths, found from their endings backwards."""
    seen: set[int] = set()
    for _, pos in endings:
        low = max(0, pos - 300)
        left = max(body.rfind(q, low, pos) for q in (b'"', b"'", b"`"))
        if left >= 0 and left not in seen:
            seen.add(left)
            match = _ASSET_PATH.match(body, left)
            if match is not None:
                yield _text(match.group(1))


def _js_into(body: bytes, url: str, page: str, out: _Collector) -> None:
    hits = _hits(body)
    for anchor, patterns in _ANCHORED.items():
        for pos in hits.anchors[anchor]:
            for pattern, page_relative in patterns:
                match = pattern.match(body, pos)
                if match is None:
                    continue
                literal = _text(match.group(1))
                if page_relative:
                    out.candidates([page, url], literal, Kind.SCRIPT, False)
                elif _is_specifier(literal):
                    out.add(resolve(url, literal), Kind.SCRIPT)
    for pos in hits.anchors[b"importScripts"]:
        match = _IMPORT_SCRIPTS.match(body, pos)
        if match is not None:
            for string in _STRING.finditer(match.group(1)):
                out.candidates([url], _text(string.group(1)), Kind.SCRIPT, False)
    _chunk_builders(body, url, out)
    for literal in _asset_strings(body, hits.endings):
        bases = _asset_bases(url, literal)
        target = resolve(url, literal)
        if bases and target is not None:
            out.candidates(bases, literal, kind_of_path(target, Kind.SCRIPT), True)
    _map_comment(body, url, out)


def _asset_bases(url: str, literal: str) -> list[str]:
    """Where a path string in a script points, when the code does not say: a path relative
    to the script (``./x.js``) or absolute, or a bundler's path relative to its build root
    (see ``_bases``). A bare name (``typescript.js``, a module id) or a path into
    ``node_modules`` (a bundled library's table of its own files) is not guessed at."""
    if "node_modules/" in literal:
        return []
    if literal.startswith(("./", "../", "/")):
        return [url]
    anchored = _bases(url, None, literal)
    return anchored[:-1]  # the build root only, when the first folder names one


def _is_specifier(literal: str) -> bool:
    """A URL-like import specifier (bare names like ``react`` need an import map)."""
    return literal.startswith(("./", "../", "/", "http://", "https://"))


def _chunk_builders(body: bytes, url: str, out: _Collector) -> None:
    if _CHUNK_LOOKUP.search(body) is None:
        return
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
