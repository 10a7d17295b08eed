"""Marker files: what one folder's markers say its project builds.

Each reader takes the bytes of one marker (read once per scan by projects.ProjectIndex)
and returns a Kind: the target, the framework, the wording of the evidence, and the
folders with a side of their own (areas). Markers that cannot be parsed say nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from keysentry.exposure.projects import BROWSER, DEVICE, HYBRID, SERVER_SIDE, Area
from keysentry.exposure.signals import CLIENT, JS_LIKE, SERVER
from keysentry.model.pattern import lazy


@dataclass(frozen=True)
class Kind:
    """What one marker says; the folder's markers are merged into one Project."""

    rank: int  # lower decides first
    target: str
    framework: str
    label: str
    marker: str  # file name of the marker, relative to the folder
    code: frozenset[str] = frozenset()
    strength: int = 1
    legacy: str = ""
    areas: tuple[Area, ...] = ()


def _deps(package: dict[str, object]) -> set[str]:
    deps: set[str] = set()
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        value = package.get(section)
        if isinstance(value, dict):
            deps.update(k for k in value if isinstance(k, str))
    return deps


def _load_json(raw: bytes | None) -> dict[str, object] | None:
    if raw is None:
        return None
    import json  # here: most scans read no manifest, and json's import is not free

    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _load_toml(raw: bytes | None) -> dict[str, object]:
    if raw is None:
        return {}
    import tomllib  # here: only a project that has a TOML marker file pays for the parser

    try:
        return tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return {}


def _folder_value(table: object, *keys: str) -> str | None:
    for key in keys:
        if not isinstance(table, dict):
            return None
        table = table.get(key)
    if isinstance(table, str) and table.strip("./"):
        return table.strip().removeprefix("./").strip("/")
    return None


# package.json dependencies: (dependency, framework, label, what it means)
_DEVICE_PACKAGES = (
    ("electron", "electron", "Electron app", "ships to users' machines"),
    ("expo", "expo", "Expo app", "runs on users' devices"),
    ("react-native", "react-native", "React Native app", "runs on users' devices"),
    ("@capacitor/core", "capacitor", "Capacitor app", "runs on users' devices"),
    ("@tauri-apps/api", "tauri", "Tauri app", "its front end ships in the desktop app"),
    ("@dcloudio/uni-app", "uni-app", "uni-app", "compiled into mini-programs and apps"),
    ("@tarojs/taro", "taro", "Taro app", "compiled into mini-programs"),
    ("obsidian", "obsidian", "Obsidian plugin", "runs in users' Obsidian app"),
)
_HYBRID_PACKAGES = (
    ("next", "next", "Next.js app"),
    ("nuxt", "nuxt", "Nuxt app"),
    ("@sveltejs/kit", "sveltekit", "SvelteKit app"),
    ("@remix-run/react", "remix", "Remix app"),
    ("@react-router/dev", "remix", "React Router app"),
    ("astro", "astro", "Astro site"),
)
FRONTEND_PACKAGES = (
    ("vite", "vite"),
    ("react-scripts", "cra"),
    ("@vue/cli-service", "vue-cli"),
    ("@angular/core", "angular"),
    ("gatsby", "gatsby"),
    ("react-dom", ""),
    ("vue", ""),
    ("svelte", ""),
    ("solid-js", ""),
    ("preact", ""),
    ("parcel", ""),
)
_FRONTEND_LABELS = {
    "vite": "Vite app",
    "cra": "Create React App",
    "vue-cli": "Vue CLI app",
    "angular": "Angular app",
    "gatsby": "Gatsby site",
}
BACKEND_PACKAGES = (
    "express",
    "fastify",
    "koa",
    "@nestjs/core",
    "@hapi/hapi",
    "restify",
    "hono",
    "wx-server-sdk",
    "@vercel/node",
    "@netlify/functions",
    "wrangler",
    "@cloudflare/workers-types",
)


def _package_kind(raw: bytes) -> Kind | None:
    package = _load_json(raw)
    if package is None:
        return None
    deps = _deps(package)
    engines = package.get("engines")
    if isinstance(engines, dict) and "vscode" in engines:
        return Kind(
            1,
            DEVICE,
            "vscode",
            "VS Code extension",
            "package.json",
            JS_LIKE,
            3,
            "VS Code extension ({} has engines.vscode): runs in users' editors",
        )
    for dep, framework, label, wording in _DEVICE_PACKAGES:
        if dep in deps:
            return Kind(
                2,
                DEVICE,
                framework,
                label,
                "package.json",
                JS_LIKE,
                2,
                f"{label} ({{}} depends on {dep}): {wording}",
            )
    for dep, framework, label in _HYBRID_PACKAGES:
        if dep in deps:
            return Kind(5, HYBRID, framework, label, "package.json", JS_LIKE)
    backend = [d for d in BACKEND_PACKAGES if d in deps]
    frontend = [(d, f) for d, f in FRONTEND_PACKAGES if d in deps]
    if frontend and not backend:
        dep = frontend[0][0]
        framework = next((f for _, f in frontend if f), "")
        label = _FRONTEND_LABELS.get(framework, "front-end app")
        return Kind(
            6,
            BROWSER,
            framework,
            label,
            "package.json",
            JS_LIKE,
            1,
            f"front-end package ({{}} depends on {dep})",
        )
    if backend and not frontend:
        return Kind(
            7,
            SERVER_SIDE,
            "node",
            "Node.js server",
            "package.json",
            JS_LIKE,
            2,
            f"back-end package ({{}} depends on {backend[0]})",
        )
    return Kind(20, "", "", "JavaScript package", "package.json", JS_LIKE)


def _manifest_kind(raw: bytes, names: frozenset[str]) -> Kind | None:
    manifest = _load_json(raw)
    if manifest is None:
        return None
    if "manifest_version" in manifest:
        return Kind(
            0,
            DEVICE,
            "extension",
            "browser extension",
            "manifest.json",
            frozenset(),
            3,
            "browser extension ({} has manifest_version): its files run in users' browsers",
        )
    if "minAppVersion" in manifest and "id" in manifest:
        return Kind(
            1,
            DEVICE,
            "obsidian",
            "Obsidian plugin",
            "manifest.json",
            frozenset(),
            3,
            "Obsidian plugin ({} has minAppVersion): runs in users' Obsidian app",
        )
    if "pages.json" in names:
        return Kind(
            1,
            DEVICE,
            "uni-app",
            "uni-app",
            "manifest.json",
            frozenset(),
            3,
            "uni-app ({} with pages.json): compiled into mini-programs and apps on users' devices",
        )
    return None


def _miniprogram_kind(raw: bytes, name: str) -> Kind | None:
    config = _load_json(raw)
    if config is None:
        return None
    label = "WeChat mini-program" if name == "project.config.json" else "Alipay mini-program"
    areas: tuple[Area, ...] = ()
    cloud = _folder_value(config, "cloudfunctionRoot")
    if cloud:
        areas = (
            Area(
                cloud,
                SERVER,
                3,
                f"WeChat cloud function ({{}}: cloudfunctionRoot"
                f" {cloud}/): runs on WeChat's servers",
            ),
        )
    return Kind(
        0,
        DEVICE,
        "miniprogram",
        label,
        name,
        frozenset(),
        3,
        f"{label} ({{}}): its files run in the app on users' phones",
        areas,
    )


_ANDROID_PLUGIN = lazy(
    rb"(?:com\.|plugins\.)android[.-](?:application|library|dynamic-feature)|^android\s*\{",
    re.MULTILINE,
)
_JETBRAINS_PLUGIN = lazy(rb"org\.jetbrains\.intellij")
_JVM_SERVER = lazy(
    rb"spring-boot|springframework|io\.ktor[.:]ktor-server|micronaut|quarkus|vertx|dropwizard"
)


def _gradle_kind(raw: bytes, name: str, exists: Callable[[str], bool]) -> Kind | None:
    if _ANDROID_PLUGIN.search(raw) or exists("src/main/AndroidManifest.xml"):
        areas = tuple(
            Area(
                folder, CLIENT, 3, f"Android app module ({{}}): {folder}/ is packaged into the app"
            )
            for folder in ("src/main", "src/release", "src/debug", "res", "assets")
        )
        return Kind(
            1,
            DEVICE,
            "android",
            "Android app module",
            name,
            frozenset({"java", "kt", "xml", "json", "properties"}),
            1,
            "Android app module ({}): its files build the app",
            areas,
        )
    if _JETBRAINS_PLUGIN.search(raw):
        return Kind(
            1,
            DEVICE,
            "jetbrains",
            "JetBrains IDE plugin",
            name,
            frozenset({"java", "kt", "xml", "properties"}),
            3,
            "JetBrains IDE plugin ({} applies org.jetbrains.intellij): runs in users' IDEs",
        )
    if _JVM_SERVER.search(raw):
        return Kind(
            8,
            SERVER_SIDE,
            "jvm",
            "JVM service",
            name,
            frozenset({"java", "kt", "scala"}),
            2,
            "JVM service ({} uses a server framework): runs on a server",
        )
    return Kind(
        12,
        SERVER_SIDE,
        "jvm",
        "JVM project",
        name,
        frozenset({"java", "kt", "scala"}),
        1,
        "JVM project ({}): usually a server",
    )


_RUST_CLIENT = lazy(rb"^\s*(?:tauri|leptos|yew|dioxus|bevy|eframe|egui)\s*=", re.MULTILINE)
_RUST_SERVER = lazy(
    rb"^\s*(?:axum|actix-web|rocket|warp|poem|hyper|tonic|worker|lambda_runtime)\s*=",
    re.MULTILINE,
)
_GO_CLIENT = lazy(rb"github\.com/wailsapp/wails|fyne\.io/fyne|golang\.org/x/mobile")
_PY_APPS = (("streamlit", "Streamlit app"), ("gradio", "Gradio app"))


def _python_kind(raw: bytes, name: str) -> Kind:
    lower = raw.lower()
    for dep, label in _PY_APPS:
        if re.search(rb"(?<![\w-])" + dep.encode() + rb"(?![\w-])", lower):
            return Kind(
                9,
                SERVER_SIDE,
                dep,
                label,
                name,
                frozenset({"py"}),
                2,
                f"{label} ({{}} depends on {dep}): runs on the server; browsers get only its pages",
            )
    return Kind(
        10,
        SERVER_SIDE,
        "python",
        "Python project",
        name,
        frozenset({"py"}),
        2,
        "Python project ({}): runs on a server or the developer's machine",
    )


_WEB_ROOTS = (
    "/usr/share/nginx/html",
    "/var/www/html",
    "/usr/local/apache2/htdocs",
    "/usr/share/caddy",
    "/srv/www",
    "/var/www",
)
_COPY = lazy(r"^\s*(?:COPY|ADD)\s+(.+)$", re.IGNORECASE | re.MULTILINE)
_WORKDIR = lazy(r"^\s*WORKDIR\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_FROM_WEB_SERVER = lazy(r"^\s*FROM\s+\S*(?:nginx|httpd|caddy)\b", re.IGNORECASE | re.MULTILINE)


def document_roots(text: str, name: str) -> tuple[Area, ...]:
    """Folders a Dockerfile copies into a web server's document root, relative to its folder."""
    workdirs = [w.rstrip("/") for w in _WORKDIR.findall(text)]
    areas: list[Area] = []
    for line in _COPY.findall(text):
        parts = [p for p in line.split() if not p.startswith("--")]
        if len(parts) < 2 or not any(parts[-1].rstrip("/").startswith(r) for r in _WEB_ROOTS):
            continue
        for source in parts[:-1]:
            for workdir in workdirs:
                if source.startswith(workdir + "/"):
                    source = source[len(workdir) + 1 :]
                    break
            source = source.removeprefix("./").strip("/")
            if source.startswith("/"):
                source = source.rsplit("/", 1)[-1]
            if source and source != ".":
                server = (
                    "a web server" if not _FROM_WEB_SERVER.search(text) else "nginx/Apache/Caddy"
                )
                areas.append(
                    Area(
                        source,
                        CLIENT,
                        3,
                        f"document root ({{dir}}{name} copies {source}/ into {parts[-1]}):"
                        f" {server} serves its files to browsers as they are",
                    )
                )
    return tuple(areas)


def _netlify_areas(raw: bytes) -> tuple[Area, ...]:
    config = _load_toml(raw)
    functions = (
        _folder_value(config, "functions", "directory")
        or _folder_value(config, "build", "functions")
        or "netlify/functions"
    )
    areas = [
        Area(
            functions,
            SERVER,
            3,
            f"Netlify function ({{dir}}netlify.toml: {functions}/): runs on Netlify's servers",
        ),
        Area(
            "netlify/edge-functions",
            SERVER,
            3,
            "Netlify edge function ({dir}netlify.toml: netlify/edge-functions/): runs at the edge",
        ),
    ]
    publish = _folder_value(config, "build", "publish")
    if publish:
        areas.append(
            Area(
                publish,
                CLIENT,
                3,
                f"Netlify publish folder ({{dir}}netlify.toml: {publish}/): served to browsers",
            )
        )
    return tuple(areas)


def _wrangler_kind(raw: bytes, name: str) -> Kind:
    config = _load_toml(raw) if name.endswith(".toml") else _load_json(raw) or {}
    areas: list[Area] = []
    assets = _folder_value(config, "assets", "directory") or _folder_value(config, "site", "bucket")
    if assets:
        areas.append(
            Area(assets, CLIENT, 3, f"Worker static assets ({{}}: {assets}/): served to browsers")
        )
    return Kind(
        3,
        SERVER_SIDE,
        "workers",
        "Cloudflare Worker",
        name,
        JS_LIKE,
        2,
        "Cloudflare Worker ({}): runs at the edge, not in browsers",
        tuple(areas),
    )


Reader = Callable[[str], bytes]  # a marker's bytes by file name (b"" when unreadable)


def device_kinds(names: frozenset[str], raw: Reader, exists: Callable[[str], bool]) -> list[Kind]:
    """Apps, extensions, games and mini-programs on users' devices."""
    kinds: list[Kind] = []
    if "manifest.json" in names:
        found = _manifest_kind(raw("manifest.json"), names)
        if found:
            kinds.append(found)
    for name in ("project.config.json", "mini.project.json"):
        if name in names:
            found = _miniprogram_kind(raw(name), name)
            if found:
                kinds.append(found)
    if "ProjectSettings" in names and "Assets" in names:
        kinds.append(
            Kind(
                0,
                DEVICE,
                "unity",
                "Unity project",
                "ProjectSettings/",
                frozenset({"cs"}),
                1,
                "Unity project ({}): builds a game",
                (
                    Area(
                        "Assets",
                        CLIENT,
                        3,
                        "Unity project ({}): Assets/ is built into the game on players' devices",
                    ),
                ),
            )
        )
    if "tauri.conf.json" in names and "Cargo.toml" in names:
        kinds.append(
            Kind(
                0,
                DEVICE,
                "tauri",
                "Tauri app",
                "tauri.conf.json",
                frozenset({"rs", "json", "toml"}),
                3,
                "Tauri app ({}): ships to users' machines",
            )
        )
    for name in ("build.gradle", "build.gradle.kts"):
        if name in names:
            found = _gradle_kind(raw(name), name, exists)
            if found:
                kinds.append(found)
            break
    if "pubspec.yaml" in names:
        if b"flutter:" in raw("pubspec.yaml"):
            kinds.append(
                Kind(
                    1,
                    DEVICE,
                    "flutter",
                    "Flutter app",
                    "pubspec.yaml",
                    frozenset({"dart"}),
                    3,
                    "Flutter app ({}): runs on users' devices",
                    (
                        Area(
                            "assets",
                            CLIENT,
                            3,
                            "Flutter app ({}): assets/ is bundled into the app",
                        ),
                    ),
                )
            )
        else:
            kinds.append(
                Kind(
                    10,
                    SERVER_SIDE,
                    "dart",
                    "Dart package",
                    "pubspec.yaml",
                    frozenset({"dart"}),
                    3,
                    "Dart package ({} does not use Flutter): a server or a tool",
                )
            )
    xcode = sorted(n for n in names if n.endswith((".xcodeproj", ".xcworkspace")))
    if xcode:
        kinds.append(
            Kind(
                1,
                DEVICE,
                "ios",
                "Xcode project",
                xcode[0],
                frozenset({"swift", "m", "mm", "h", "plist", "xcconfig", "json", "strings"}),
                3,
                "Xcode project ({}): an iOS/macOS app on users' devices",
            )
        )
    elif "Package.swift" in names:
        if re.search(rb"vapor|hummingbird|kitura", raw("Package.swift"), re.IGNORECASE):
            kinds.append(
                Kind(
                    8,
                    SERVER_SIDE,
                    "swift-server",
                    "Swift server",
                    "Package.swift",
                    frozenset({"swift"}),
                    3,
                    "Swift server ({} depends on a server framework)",
                )
            )
        else:
            kinds.append(
                Kind(
                    4,
                    DEVICE,
                    "swift",
                    "Swift package",
                    "Package.swift",
                    frozenset({"swift"}),
                    2,
                    "Swift package ({}): built into iOS/macOS apps",
                )
            )
    for name in ("wrangler.toml", "wrangler.json", "wrangler.jsonc"):
        if name in names:
            kinds.append(_wrangler_kind(raw(name), name))
            break
    for name in ("serverless.yml", "serverless.yaml"):
        if name in names:
            kinds.append(
                Kind(
                    3,
                    SERVER_SIDE,
                    "serverless",
                    "Serverless Framework service",
                    name,
                    JS_LIKE | {"py", "go", "java"},
                    2,
                    "Serverless Framework service ({}): Lambda functions run on AWS",
                )
            )
            break
    for name in ("deno.json", "deno.jsonc"):
        if name in names:
            kinds.append(
                Kind(
                    4,
                    SERVER_SIDE,
                    "deno",
                    "Deno project",
                    name,
                    JS_LIKE,
                    2,
                    "Deno project ({}): runs on Deno or Deno Deploy",
                    (
                        Area(
                            "islands",
                            CLIENT,
                            3,
                            "Fresh islands ({}): islands/ are hydrated in browsers",
                        ),
                        Area("static", CLIENT, 3, "Fresh static/ ({}): served to browsers as is"),
                    ),
                )
            )
            break
    return kinds


def package_kinds(names: frozenset[str], raw: Reader, exists: Callable[[str], bool]) -> list[Kind]:
    """package.json and angular.json: the JavaScript ecosystem."""
    kinds: list[Kind] = []
    if "package.json" in names:
        found = _package_kind(raw("package.json"))
        if found:
            kinds.append(found)
    if "angular.json" in names and not any(k.framework == "angular" for k in kinds):
        kinds.append(
            Kind(
                6,
                BROWSER,
                "angular",
                "Angular app",
                "angular.json",
                JS_LIKE,
                1,
                "Angular app ({}): compiled for browsers",
            )
        )
    return kinds


def service_kinds(names: frozenset[str], raw: Reader, exists: Callable[[str], bool]) -> list[Kind]:
    """Rust, Go, JVM, Python, PHP and Ruby projects."""
    kinds: list[Kind] = []
    if "Cargo.toml" in names and "tauri.conf.json" not in names:
        cargo = raw("Cargo.toml")
        if _RUST_CLIENT.search(cargo):
            kinds.append(
                Kind(
                    4,
                    DEVICE,
                    "rust-app",
                    "Rust app",
                    "Cargo.toml",
                    frozenset({"rs"}),
                    2,
                    "Rust app ({} depends on a GUI/wasm framework): runs on users' devices",
                )
            )
        elif _RUST_SERVER.search(cargo):
            kinds.append(
                Kind(
                    8,
                    SERVER_SIDE,
                    "rust",
                    "Rust server",
                    "Cargo.toml",
                    frozenset({"rs"}),
                    2,
                    "Rust server ({} depends on a server framework)",
                )
            )
    if "go.mod" in names:
        if _GO_CLIENT.search(raw("go.mod")):
            kinds.append(
                Kind(
                    4,
                    DEVICE,
                    "go-app",
                    "Go app",
                    "go.mod",
                    frozenset({"go"}),
                    2,
                    "Go app ({} depends on a GUI/mobile toolkit): runs on users' devices",
                )
            )
        else:
            kinds.append(
                Kind(
                    9,
                    SERVER_SIDE,
                    "go",
                    "Go module",
                    "go.mod",
                    frozenset({"go"}),
                    2,
                    "Go module ({}): a server or a tool",
                )
            )
    if "pom.xml" in names:
        kinds.append(
            Kind(
                9,
                SERVER_SIDE,
                "jvm",
                "Maven project",
                "pom.xml",
                frozenset({"java", "kt", "scala"}),
                2,
                "Maven project ({}): a JVM server",
            )
        )
    for name in ("pyproject.toml", "requirements.txt", "setup.py", "Pipfile"):
        if name in names:
            kinds.append(_python_kind(raw(name), name))
            break
    for name, label in (("composer.json", "PHP project"), ("Gemfile", "Ruby project")):
        if name in names:
            kinds.append(
                Kind(
                    10,
                    SERVER_SIDE,
                    name,
                    label,
                    name,
                    frozenset({"php", "rb", "erb"}),
                    2,
                    f"{label} ({{}}): runs on a server",
                )
            )
    return kinds


def area_kinds(names: frozenset[str], raw: Reader, exists: Callable[[str], bool]) -> list[Kind]:
    """Deployment configuration that gives folders a side: functions, document roots."""
    kinds: list[Kind] = []
    areas: list[Area] = []
    if "vercel.json" in names:
        areas.append(
            Area(
                "api",
                SERVER,
                3,
                "Vercel function ({dir}vercel.json: api/): runs on Vercel's servers",
            )
        )
    if "netlify.toml" in names:
        areas.extend(_netlify_areas(raw("netlify.toml")))
    for name in ("Dockerfile", "Containerfile"):
        if name in names:
            text = raw(name).decode("utf-8", "replace")
            roots = document_roots(text, name)
            areas.extend(roots)
            if not roots:
                kinds.append(
                    Kind(
                        15,
                        SERVER_SIDE,
                        "container",
                        "container image",
                        name,
                        frozenset(),
                        1,
                        "container image ({}): runs on a server",
                    )
                )
            break
    if areas:
        kinds.append(Kind(99, "", "", "", "", areas=tuple(areas)))
    return kinds


def folder_kinds(names: frozenset[str], raw: Reader, exists: Callable[[str], bool]) -> list[Kind]:
    """Every kind the markers among ``names`` (one folder's entries) say."""
    found: list[Kind] = []
    for kinds in (device_kinds, package_kinds, service_kinds, area_kinds):
        found += kinds(names, raw, exists)
    return found
