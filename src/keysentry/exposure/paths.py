"""What a location alone says: file names, folders and archive containers."""

from __future__ import annotations

from keysentry.exposure.signals import (
    JS_LIKE,
    WEB_ASSETS,
    Signal,
    client,
    extension,
    server,
    split_location,
)
from keysentry.model.pattern import lazy

_SHIPPED_FOLDERS = {
    "public": (2, "public/ folder: its files are served to browsers as they are"),
    "static": (2, "static/ folder: its files are served to browsers as they are"),
    "www": (2, "www/ folder: web root served to browsers (or packaged into a Cordova app)"),
    "wwwroot": (2, "wwwroot/ folder: web root served to browsers"),
    "dist": (1, "dist/ folder: build output, usually deployed to browsers"),
    "build": (1, "build/ folder: build output, usually deployed to browsers"),
    "out": (1, "out/ folder: build output (static export)"),
    "assets": (1, "assets/ folder: bundled front-end assets"),
    "storybook-static": (2, "storybook-static/ folder: a Storybook build served to browsers"),
}

_CONTAINERS = {
    "apk": client(3, "inside an Android app package (.apk): installed on users' devices"),
    "aab": client(3, "inside an Android App Bundle (.aab): installed on users' devices"),
    "aar": client(3, "inside an Android library (.aar): compiled into Android apps"),
    "ipa": client(3, "inside an iOS app package (.ipa): installed on users' devices"),
    "crx": client(3, "inside a Chrome extension package (.crx): runs in users' browsers"),
    "xpi": client(3, "inside a Firefox extension package (.xpi): runs in users' browsers"),
    "asar": client(3, "inside an Electron app archive (.asar): ships to users' machines"),
    "vsix": client(3, "inside a VS Code extension (.vsix): runs on users' machines"),
    "exe": client(3, "inside a Windows executable (.exe): a desktop app on users' machines"),
    "msi": client(3, "inside a Windows installer (.msi): a desktop app on users' machines"),
    "dmg": client(3, "inside a macOS disk image (.dmg): a desktop app on users' machines"),
    "appimage": client(3, "inside an AppImage: a desktop app on users' machines"),
    "war": server(2, "inside a Java web archive (.war): deployed to an application server"),
}

_CI_FILES = {
    ".gitlab-ci.yml": "GitLab CI pipeline",
    "jenkinsfile": "Jenkins pipeline",
    "azure-pipelines.yml": "Azure Pipelines",
    "bitbucket-pipelines.yml": "Bitbucket Pipelines",
    ".travis.yml": "Travis CI",
    "cloudbuild.yaml": "Google Cloud Build",
    "buildspec.yml": "AWS CodeBuild",
}
_SERVER_FILES = {
    "procfile": "Procfile: processes run on a server",
    "fly.toml": "fly.toml: deployment of a server app",
    "app.yaml": "app.yaml: App Engine server configuration",
    "serverless.yml": "serverless.yml: cloud functions configuration",
    "wrangler.toml": "wrangler.toml: Cloudflare Worker (runs at the edge, not in browsers)",
    "vercel.json": "vercel.json: deployment configuration",
    "netlify.toml": "netlify.toml: deployment configuration",
    "nginx.conf": "nginx configuration: a server",
    "httpd.conf": "Apache configuration: a server",
    "supervisord.conf": "supervisord configuration: a server",
    "pulumi.yaml": "Pulumi project: infrastructure as code",
    "cdk.json": "AWS CDK app: infrastructure as code",
    "kustomization.yaml": "Kustomize configuration: server deployment",
    "skaffold.yaml": "Skaffold configuration: server deployment",
}
_SERVER_EXTENSIONS = {
    "py": (2, "Python code: runs on a server or the developer's machine"),
    "ipynb": (2, "Jupyter notebook: run by the developer"),
    "go": (2, "Go code: a server or a tool run by the developer"),
    "rb": (2, "Ruby code: runs on a server or the developer's machine"),
    "php": (2, "PHP code: runs on the server"),
    "sh": (2, "shell script: run by the developer, CI or a server"),
    "bash": (2, "shell script: run by the developer, CI or a server"),
    "zsh": (2, "shell script: run by the developer, CI or a server"),
    "ps1": (2, "PowerShell script: run by the developer, CI or a server"),
    "tf": (2, "Terraform: infrastructure as code"),
    "tfvars": (2, "Terraform variables: infrastructure as code"),
    "hcl": (2, "HCL configuration: infrastructure as code"),
    "service": (2, "systemd unit: a server process"),
    "rs": (1, "Rust code: usually a server or a tool"),
    "cs": (1, ".NET code: usually a server"),
    "java": (1, "Java code: usually a server (JVM)"),
    "kt": (1, "Kotlin code: usually a server (JVM)"),
    "scala": (1, "Scala code: usually a server"),
    "ex": (1, "Elixir code: usually a server"),
    "exs": (1, "Elixir code: usually a server"),
}
_BUNDLER_CONFIG = lazy(
    r"(?:(?:vite|next|nuxt|webpack|rollup|astro|svelte|quasar)\.config|gatsby-config)"
    r"\.(?:js|ts|mjs|cjs|mts)$"
)
# web servers' document roots, as they appear in container image layers
_DOCUMENT_ROOTS = (
    (("usr", "share", "nginx", "html"), "nginx"),
    (("var", "www", "html"), "the web server"),
    (("usr", "local", "apache2", "htdocs"), "Apache httpd"),
    (("usr", "share", "caddy"), "Caddy"),
)
_BACKEND_FOLDERS = frozenset({"server", "backend", "functions", "lambda", "lambdas", "netlify"})
_HASHED = lazy(r"[.-]([A-Za-z0-9_]{8,32})(?:\.chunk)?\.(?:m?js|css)$")


def _is_hash(text: str) -> bool:
    has_digit = any(c.isdigit() for c in text)
    has_alpha = any(c.isalpha() for c in text)
    inner_upper = any(c.isupper() for c in text[1:])
    return (
        (has_digit and has_alpha)
        or (inner_upper and any(c.islower() for c in text))
        or (text.isupper() and len(text) == 8)
    )


def path_signals(location: str) -> list[Signal]:
    """What the location alone says (file names, folders, archive containers)."""
    containers, inner = split_location(location)
    found: list[Signal] = []
    for container in [*containers, inner]:  # an app package scanned whole counts too
        signal = _CONTAINERS.get(extension(container))
        if signal is not None:
            found.append(signal)
    parts = [p for p in inner.split("/") if p not in ("", ".")]
    if not parts:
        return found
    name, folders = parts[-1], [p.lower() for p in parts[:-1]]
    lower, ext = name.lower(), extension(name)
    found += _client_path(folders, name, lower, ext)
    found += _server_path(folders, lower, ext)
    return found


def _has_run(folders: list[str], *run: str) -> bool:
    n = len(run)
    return any(tuple(folders[i : i + n]) == run for i in range(len(folders) - n + 1))


def _client_path(folders: list[str], name: str, lower: str, ext: str) -> list[Signal]:
    found: list[Signal] = []
    if _has_run(folders, ".next", "static") or _has_run(folders, "_next", "static"):
        found.append(client(3, ".next/static/: Next.js browser chunks"))
    if _has_run(folders, ".output", "public"):
        found.append(client(3, ".output/public/: Nuxt's files served to browsers"))
    for run, server_name in _DOCUMENT_ROOTS:
        if _has_run(folders, *run):
            found.append(
                client(3, f"{'/'.join(run)}/: {server_name}'s document root, served to browsers")
            )
            break
    if _has_run(folders, ".svelte-kit", "output", "client"):
        found.append(client(3, ".svelte-kit/output/client/: SvelteKit browser build"))
    if ext in WEB_ASSETS:
        specific = bool(found)  # .next/static/ says more than static/
        for folder in dict.fromkeys(folders):
            if folder in _SHIPPED_FOLDERS and not specific:
                strength, reason = _SHIPPED_FOLDERS[folder]
                found.append(client(strength, reason))
        hashed = _HASHED.search(name)
        if hashed and _is_hash(hashed.group(1)):
            found.append(client(2, f"hashed chunk name ({name}): bundler output"))
    if ".min." in lower and ext in ("js", "css", "mjs"):
        found.append(client(2, f"minified file name ({name})"))
    if ext in ("jsx", "tsx"):
        found.append(client(2, f".{ext} file: front-end component source"))
    elif ext in ("vue", "svelte"):
        found.append(client(2, f".{ext} component: compiled into the browser bundle"))
    if _BUNDLER_CONFIG.match(lower):
        found.append(
            client(
                2,
                f"{name}: bundler configuration; its env/define values are inlined into the bundle",
            )
        )
    if ".client." in lower and ext in JS_LIKE:
        found.append(client(2, f"{name}: a client-only module"))
    if ext == "xml" and folders[-1:] and folders[-1].startswith("values") and "res" in folders:
        found.append(client(3, "Android resource (res/values): compiled into the app"))
    if lower == "androidmanifest.xml":
        found.append(client(3, "AndroidManifest.xml: part of an Android app"))
    if lower in ("index.android.bundle", "main.jsbundle"):
        found.append(client(3, f"{name}: React Native bundle shipped inside the app"))
    if lower == "info.plist" or lower == "googleservice-info.plist":
        found.append(client(3, f"{name}: part of an iOS/macOS app bundle"))
    elif ext in ("swift", "m", "mm", "xcconfig"):
        found.append(client(2, f".{ext} file: iOS/macOS app code ships on users' devices"))
    if ext == "dart":
        found.append(client(2, "Dart code: a Flutter app on users' devices"))
    if "src-tauri" in folders:
        found.append(client(3, "src-tauri/: a Tauri desktop app on users' machines"))
    if any(f.endswith(".app") for f in folders) and "contents" in folders:
        found.append(client(3, "inside a macOS .app bundle: a desktop app on users' machines"))
    if lower == "manifest.json":
        found.append(client(1, "manifest.json: web app or extension manifest"))
    return found


def _server_path(folders: list[str], lower: str, ext: str) -> list[Signal]:
    found: list[Signal] = []
    if _has_run(folders, ".next", "server"):
        found.append(server(3, ".next/server/: Next.js server build"))
    if _has_run(folders, "pages", "api") or (
        _has_run(folders, "app", "api") and lower.startswith("route.")
    ):
        found.append(server(3, "Next.js API route: runs on the server"))
    if ext in JS_LIKE and (".server." in lower or lower.startswith("+server.")):
        found.append(server(3, f"{lower}: a server-only module (SvelteKit/Remix convention)"))
    backend = [f for f in folders if f in _BACKEND_FOLDERS]
    if backend and not found:  # .next/server/ says more than server/
        found.append(server(2, f"{backend[0]}/ folder: back-end code"))
    scripts = [f for f in folders if f in ("scripts", "tools", "bin")]
    if scripts:
        found.append(server(2, f"{scripts[0]}/ folder: scripts run by the developer or CI"))
    if folders[:1] == ["api"]:
        found.append(server(2, "api/ folder at the root: serverless functions"))
    if lower in ("dockerfile", "containerfile") or lower.startswith("dockerfile."):
        found.append(server(2, "Dockerfile: builds a server image"))
    if lower.startswith(("docker-compose", "compose.")) and ext in ("yml", "yaml"):
        found.append(server(2, "Docker Compose file: server deployment"))
    if _has_run(folders, ".github", "workflows") and ext in ("yml", "yaml"):
        found.append(server(2, "GitHub Actions workflow: runs in CI"))
    elif _has_run(folders, ".circleci"):
        found.append(server(2, "CircleCI configuration: runs in CI"))
    elif lower in _CI_FILES:
        found.append(server(2, f"{_CI_FILES[lower]}: runs in CI"))
    if lower in _SERVER_FILES:
        found.append(server(2, _SERVER_FILES[lower]))
    elif lower.startswith("pulumi.") and ext in ("yml", "yaml"):
        found.append(server(2, f"{lower}: Pulumi stack configuration (infrastructure as code)"))
    if ext in _SERVER_EXTENSIONS:
        strength, reason = _SERVER_EXTENSIONS[ext]
        found.append(server(strength, reason))
    if any(f in ("k8s", "kubernetes", "helm", "charts", "manifests") for f in folders) and ext in (
        "yml",
        "yaml",
    ):
        found.append(server(2, "Kubernetes/Helm folder: server deployment"))
    return found
