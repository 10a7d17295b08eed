"""Which files of a project ship to users: the project's own target, its special folders
(areas), the conventions of its framework, and the block a key sits in.

``project_signals`` speaks for a whole file; ``key_signals`` for one key
(``runtimeConfig.public`` and private ``runtimeConfig`` in one ``nuxt.config.ts``);
``role`` says whether a module is client or server code when the import graph
(imports.py) walks up from a key's module to the code that imports it.
"""

from __future__ import annotations

import re

from keysentry.exposure.blocks import enclosing_names
from keysentry.exposure.content import USE_CLIENT, USE_SERVER
from keysentry.exposure.projects import BROWSER, DEVICE, HYBRID, SERVER_SIDE, Project
from keysentry.exposure.signals import (
    CLIENT,
    JS_LIKE,
    SERVER,
    WEB_ASSETS,
    Signal,
    client,
    server,
)
from keysentry.model.pattern import lazy

CONFIG_FILES = frozenset(
    {
        "yml",
        "yaml",
        "json",
        "jsonc",
        "json5",
        "toml",
        "ini",
        "properties",
        "xml",
        "plist",
        "cfg",
        "conf",
    }
)
_NEXT_SPECIAL = lazy(r"(?:^|/)(?:middleware|instrumentation)\.[cm]?[jt]s$")
_SK_PRIVATE_ENV = lazy(rb"""["']\$env/(?:static|dynamic)/private["']""")
_SK_PUBLIC_ENV = lazy(rb"""["']\$env/(?:static|dynamic)/public["']""")
_ESBUILD_DEFINE = lazy(rb"--define[:=]")
_SCRIPT_OPEN = lazy(rb"<script\b", re.IGNORECASE)
_SCRIPT_CLOSE = lazy(rb"</script\s*>", re.IGNORECASE)
_BUNDLER_CONFIG = lazy(r"^(?:vite|vitest|webpack|rollup|rspack|esbuild|tsup)\.config\.")
_SERVER_FUNCTIONS = frozenset(
    {"getServerSideProps", "getStaticProps", "getStaticPaths", "getInitialProps"}
)
_REMIX_SERVER = frozenset({"loader", "action"})
_BLOCK_FILES = ("nuxt.config.", "next.config.", "app.json", "app.config.")


def _in(rel: str, folder: str) -> bool:
    return rel.startswith(folder + "/")


def _app_dir(rel: str) -> str | None:
    for base in ("app/", "src/app/"):
        if rel.startswith(base):
            return rel[len(base) :]
    return None


def _pages_dir(rel: str) -> str | None:
    for base in ("pages/", "src/pages/"):
        if rel.startswith(base):
            return rel[len(base) :]
    return None


def directive(head: bytes) -> str | None:
    if USE_CLIENT.search(head):
        return CLIENT
    if USE_SERVER.search(head):
        return SERVER
    return None


def project_signals(
    project: Project, rel: str, inner: str | None, ext: str, head: bytes
) -> list[Signal]:
    """What the project says of the file at ``rel`` (relative to its root). ``inner`` is
    the archive member path when the bytes are inside an archive at ``rel``."""
    found: list[Signal] = []
    name = rel.rsplit("/", 1)[-1].lower()
    env_file = name.startswith(".env") or name.endswith(".env")
    in_area = False
    if inner is None:
        for area in project.areas:
            if _in(rel, area.folder) or rel == area.folder:
                found.append(Signal(area.side, area.strength, area.reason))
                in_area = True  # the area speaks for the project: no project-wide signal
                break
        found += _framework_signals(project, rel, ext, head)
    side = project.side
    if side is None or env_file or in_area:
        return found
    if not project.code or ext in project.code:
        strength = project.strength if inner is None else 1
        reason = project.legacy or f"{project.label} ({project.marker})"
        found.append(Signal(side, strength, reason))
    elif ext in CONFIG_FILES or (project.target == DEVICE and ext in WEB_ASSETS):
        found.append(
            Signal(
                side,
                1,
                f"configuration file of the {project.label} ({project.marker}):"
                " takes the project's target",
            )
        )
    return found


def _framework_signals(project: Project, rel: str, ext: str, head: bytes) -> list[Signal]:
    framework, marker = project.framework, project.marker
    js = ext in JS_LIKE
    found: list[Signal] = []
    if project.target == BROWSER and (ext in JS_LIKE or ext in WEB_ASSETS):
        if _in(rel, "src"):
            found.append(client(2, f"{project.label} ({marker}): src/ is bundled for browsers"))
        elif rel == "index.html":
            found.append(
                client(2, f"{project.label} ({marker}): index.html is the page browsers load")
            )
    if framework == "next" and js:
        page = _pages_dir(rel)
        app = _app_dir(rel)
        if _NEXT_SPECIAL.search(rel):
            found.append(
                server(3, f"Next.js {name_of(rel)} ({marker}): runs on the server or edge")
            )
        elif page is not None and not page.startswith("api/"):
            if not page.startswith(("_document.", "_middleware.")):
                found.append(client(2, f"Next.js page ({marker}, pages/): hydrated in the browser"))
        elif app is not None and directive(head) is None:
            if name_of(rel).startswith("route."):
                found.append(
                    server(3, f"Next.js route handler ({marker}, app/…/route): runs on the server")
                )
            else:
                found.append(
                    server(
                        3,
                        f"Next.js server component ({marker}, app/ without"
                        " 'use client'): rendered on the server",
                    )
                )
    elif framework == "nuxt":
        if _in(rel, "server"):
            found.append(server(3, f"Nuxt server/ ({marker}): Nitro server routes"))
        elif name_of(rel).startswith("app.config."):
            found.append(client(3, f"Nuxt app.config ({marker}): exposed to the browser"))
        elif js and rel.split("/", 1)[0] in (
            "pages",
            "components",
            "layouts",
            "composables",
            "plugins",
            "middleware",
            "app",
        ):
            found.append(
                client(2, f"Nuxt {rel.split('/', 1)[0]}/ ({marker}): bundled for browsers")
            )
    elif framework == "sveltekit" and js:
        if _in(rel, "src/lib/server"):
            found.append(server(3, f"SvelteKit $lib/server ({marker}): never bundled for browsers"))
        elif _in(rel, "src/routes") and re.match(r"\+(?:page|layout)\.[jt]s$", name_of(rel)):
            found.append(
                client(
                    2,
                    f"SvelteKit universal load ({marker}, {name_of(rel)}): runs in the browser too",
                )
            )
        if _SK_PRIVATE_ENV.search(head):
            found.append(server(3, "imports $env/…/private: SvelteKit refuses it in browser code"))
        elif _SK_PUBLIC_ENV.search(head):
            found.append(client(2, "imports $env/…/public: values SvelteKit sends to browsers"))
    elif framework == "remix" and js:
        if "/.server/" in "/" + rel:
            found.append(server(3, f"Remix .server/ folder ({marker}): never bundled for browsers"))
        elif "/.client/" in "/" + rel:
            found.append(client(3, f"Remix .client/ folder ({marker}): browser-only code"))
    elif framework == "astro" and js and _in(rel, "src/pages") and ext in ("js", "ts", "mjs"):
        found.append(
            server(
                2,
                f"Astro endpoint ({marker}, src/pages/*.{ext}): runs at build time"
                " or on the server",
            )
        )
    elif framework == "gatsby" and js:
        stem = name_of(rel).split(".", 1)[0]
        if stem in ("gatsby-node", "gatsby-ssr"):
            found.append(server(2, f"{stem} ({marker}): runs in Node.js at build time"))
        elif stem == "gatsby-browser":
            found.append(client(3, f"gatsby-browser ({marker}): runs in the browser"))
    elif framework == "angular" and _in(rel, "src/environments"):
        found.append(
            client(
                3,
                f"Angular environment file ({marker}, src/environments/):"
                " compiled into the browser bundle",
            )
        )
    elif framework == "expo" and re.match(r"app(?:\.config\.[cm]?[jt]s|\.json)$", rel):
        found.append(client(2, f"Expo app config ({marker}): read by the app on users' devices"))
    return found


def name_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].lower()


def key_signals(
    project: Project | None, name: str, ext: str, data: bytes, start: int
) -> list[Signal]:
    """What the block around one key says (per key, not per file)."""
    lower = name.lower()
    framework = project.framework if project is not None else ""
    found: list[Signal] = []
    line_start = data.rfind(b"\n", max(0, start - 2048), start) + 1
    if _ESBUILD_DEFINE.search(data, line_start, start):
        found.append(client(3, f"esbuild --define in {name}: the value is inlined into the bundle"))
    if ext == "astro":
        return found + _astro_key(name, data, start)
    if not (ext in JS_LIKE or ext in ("json", "jsonc", "json5")):
        return found
    if not _blocks_matter(lower, framework, data):
        return found
    names = enclosing_names(data, start)
    if not names:
        return found
    if lower.startswith("nuxt.config.") and "runtimeConfig" in names:
        at = names.index("runtimeConfig")
        if "public" in names[:at]:
            found.append(client(3, f"runtimeConfig.public in {name}: Nuxt sends it to the browser"))
        else:
            found.append(server(3, f"private runtimeConfig in {name}: Nuxt keeps it on the server"))
    if lower.startswith("next.config."):
        if "serverRuntimeConfig" in names:
            found.append(server(3, f"serverRuntimeConfig in {name}: only on the server"))
        elif "publicRuntimeConfig" in names:
            found.append(client(3, f"publicRuntimeConfig in {name}: sent to the browser"))
        elif "env" in names:
            found.append(client(3, f"env in {name}: Next.js inlines it into the browser bundle"))
    if "DefinePlugin" in names or "EnvironmentPlugin" in names:
        plugin = "DefinePlugin" if "DefinePlugin" in names else "EnvironmentPlugin"
        found.append(client(3, f"webpack {plugin} in {name}: the value is inlined into the bundle"))
    elif "define" in names and (_BUNDLER_CONFIG.match(lower) or b"esbuild" in data[:4096]):
        found.append(client(3, f"define in {name}: the bundler inlines the value into the bundle"))
    app_config = lower == "app.json" or lower.startswith("app.config.")
    if app_config and "extra" in names and (framework == "expo" or "expo" in names):
        found.append(
            client(3, f"extra in {name}: Expo ships it inside the app (Constants.expoConfig.extra)")
        )
    server_function = next((n for n in names if n in _SERVER_FUNCTIONS), None)
    if server_function and framework in ("next", ""):
        found.append(
            server(3, f"inside {server_function} in {name}: Next.js runs it only on the server")
        )
    remix = next((n for n in names if n in _REMIX_SERVER), None)
    if remix and framework == "remix":
        found.append(server(3, f"inside the {remix} of {name}: Remix runs it only on the server"))
    return found


def _blocks_matter(lower: str, framework: str, data: bytes) -> bool:
    """Whether a rule below can apply (cheap checks, so a bundle is not read backwards)."""
    return (
        lower.startswith(_BLOCK_FILES)
        or bool(_BUNDLER_CONFIG.match(lower))
        or framework in ("next", "remix")
        or b"DefinePlugin" in data
        or b"EnvironmentPlugin" in data
        or b"esbuild" in data[:4096]
    )


def _astro_key(name: str, data: bytes, start: int) -> list[Signal]:
    if data.startswith(b"---"):
        end = data.find(b"\n---", 3)
        if end < 0 or start < end:
            return [
                server(2, f"frontmatter of {name}: Astro runs it at build time or on the server")
            ]
    opened = [m.end() for m in _SCRIPT_OPEN.finditer(data, 0, start)]
    if opened and not _SCRIPT_CLOSE.search(data, opened[-1], start):
        return [client(3, f"<script> in {name}: Astro bundles it for browsers")]
    return []


def role(project: Project, rel: str, head: bytes) -> tuple[str, str] | None:
    """Whether a module that imports a key's module is client code, server code or
    neither (then its own importers decide)."""
    said = directive(head)
    if said == CLIENT:
        return CLIENT, "'use client'"
    if said == SERVER:
        return SERVER, "'use server'"
    name = name_of(rel)
    ext = name.rsplit(".", 1)[-1]
    if project.framework == "next":
        if _NEXT_SPECIAL.search(rel):
            return SERVER, "Next.js middleware"
        if _app_dir(rel) is not None:
            if name.startswith("route."):
                return SERVER, "Next.js route handler"
            if re.match(r"(?:page|layout|template|default|not-found)\.", name):
                return SERVER, "Next.js server component"
            return None
        page = _pages_dir(rel)
        if page is not None and page.startswith("api/"):
            return SERVER, "Next.js API route"
        if page is not None and not page.startswith("_document."):
            return CLIENT, "Next.js page"
        return None
    if ".server." in name or _in(rel, "server") or "/server/" in rel or "/api/" in "/" + rel:
        return SERVER, "server module"
    if ext in ("vue", "svelte", "astro"):
        return CLIENT, f".{ext} component"
    if ext in ("jsx", "tsx") or ".client." in name:
        return CLIENT, "front-end component"
    if project.target in (BROWSER, DEVICE):
        return CLIENT, project.label
    if project.target == SERVER_SIDE:
        return SERVER, project.label
    if project.target == HYBRID and project.framework == "sveltekit" and _in(rel, "src/routes"):
        return CLIENT, "SvelteKit route module"
    return None
