"""`keysentry site` vs `wget --mirror` + `keysentry scan`, on a real 20+ MB build on 127.0.0.1.

The site: the npm packages pinned in bench/jstree-npm (installed once by jstree.py into
bench/.work/npm) bundled by esbuild (tests/js) into a code-split production build, as a
docs or playground site would ship them: an entry script that loads seven routes lazily
(three, echarts, monaco-editor, pdfjs-dist, typescript, @babel/standalone, rxjs+lodash),
six module workers (monaco's language workers, pdf.js's), a service worker, source maps,
and 40 HTML pages that link to each other. Minified JavaScript: over 20 MB; with maps
about 100 MB. Built once into bench/.work/site/ and served from 127.0.0.1 by a separate
Python process (http.server, HTTP/1.1).

Each page names the entry script and preloads its route's chunk, as docs frameworks
render pages; one route (the TypeScript playground) only the entry script reaches.
Five keys are planted, one per place a browser can get one from: the entry script, that
lazy route chunk, a comment only the route's source map holds, the service worker, and
a page's inline JSON state. `wget --mirror --page-requisites --no-parent -e robots=off`
(how a user mirrors a site with its assets) does not read JavaScript, so it cannot
reach the lazy chunk, workers and maps; the bench prints which keys each side finds
and checks that `keysentry site` finds every key the two steps find. A third row,
`wget -i` of every file the site holds, then `keysentry scan`, moves the same bytes as
the crawl: the like-for-like floor. The server (a separate process, TCP_NODELAY,
sendfile) is the same for all three. keysentry's modules are byte-compiled first, as
an install has them (PYTHONDONTWRITEBYTECODE would make every run compile them).

It prints, for each command and each pair of steps, the median wall and CPU time,
the largest process's and the whole process tree's peak memory, the bytes fetched and
the keys found; then which place each side found a key in, what the bytes wget never
downloads hold, the ratios of `site` to each pair of steps in wall and CPU time, and
the load average at the start and at the end (the machine's other work stretches
wall times; CPU times and ratios measured in one run are what to compare).

    .venv/bin/python bench/site_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jstree
from measure import Run, compile_bytecode, measure

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = jstree.WORK
SITE = WORK / "site"
ESBUILD = REPO / "tests" / "js" / "node_modules" / ".bin" / "esbuild"
MIN_JS_BYTES = 20_000_000
PAGES = 40
ROUTES = {
    "three": 'import * as THREE from "three";\n'
    "export default (el) => { el.textContent = String(new THREE.Vector3(1, 2, 3).length()); };\n",
    "charts": 'import * as echarts from "echarts";\n'
    "export default (el) => echarts.init(el).setOption({ series: [{ type: 'bar' }] });\n",
    "editor": 'import * as monaco from "monaco-editor/editor/editor.api.js";\n'
    'export default (el) => monaco.editor.create(el, { value: "x" });\n',
    "pdf": 'import * as pdfjs from "pdfjs-dist";\n'
    "export default (el) => { el.textContent = pdfjs.version; };\n",
    "ts": 'import ts from "typescript";\n'
    'export default (el) => { el.textContent = ts.transpile("let a: number = 1"); };\n',
    "babel": 'import * as Babel from "@babel/standalone";\n'
    'export default (el) => { el.textContent = Babel.transform("a => a", {}).code; };\n',
    "rx": 'import { of, map } from "rxjs";\nimport _ from "lodash";\n'
    "export default (el) => of(1).pipe(map((x) => _.add(x, 1))).subscribe((v) => {"
    " el.textContent = v; });\n",
}
MONACO = "node_modules/monaco-editor/esm/vs"
WORKERS = {
    "ts.worker": f"{MONACO}/language/typescript/ts.worker.js",
    "json.worker": f"{MONACO}/language/json/json.worker.js",
    "css.worker": f"{MONACO}/language/css/css.worker.js",
    "html.worker": f"{MONACO}/language/html/html.worker.js",
    "editor.worker": f"{MONACO}/editor/editor.worker.js",
    "pdf.worker": "node_modules/pdfjs-dist/build/pdf.worker.mjs",
}
# how a user mirrors a site with its assets: everything linked, scripts and styles of
# each page, nothing above the start URL, robots.txt not obeyed (it is their own site)
WGET_MIRROR = (
    "wget",
    "--mirror",
    "--page-requisites",
    "--no-parent",
    "-e",
    "robots=off",
    "--no-verbose",
)
PLACES = ("entry script", "lazy route chunk", "source map only", "service worker", "inline state")
SERVER = r"""
import functools, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers (40 ms a response, whatever its size)
    disable_nagle_algorithm = True
    def log_message(self, *args): pass
    def copyfile(self, source, outputfile):  # the kernel copies the file: no Python loop
        outputfile.flush()
        self.connection.sendfile(source)
handler = functools.partial(Handler, directory=sys.argv[1])
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
"""


def _esbuild(cwd: Path, *args: str) -> None:
    subprocess.run(
        [
            str(ESBUILD),
            *args,
            "--bundle",
            "--format=esm",
            "--minify",
            "--sourcemap",
            "--loader:.ttf=file",
            "--log-level=error",
        ],
        cwd=cwd,
        check=True,
    )


def build_site(npm_dir: Path, keys: list[str]) -> Path:
    """The production build and its pages in SITE (rebuilt when the keys file is missing)."""
    stamp = SITE / "keys.json"
    if stamp.exists() and json.loads(stamp.read_text()) == keys:
        _pages(SITE / "assets", keys)  # cheap: the pages follow this script's layout
        return SITE
    if SITE.exists():
        shutil.rmtree(SITE)
    src = npm_dir / "site-src"  # inside npm_dir: imports resolve from its node_modules
    if src.exists():
        shutil.rmtree(src)
    (src / "routes").mkdir(parents=True)
    out = SITE / "assets"
    print("building the site with esbuild ...", file=sys.stderr)
    _esbuild(
        npm_dir,
        *(f"workers/{name}={path}" for name, path in WORKERS.items()),
        f"--outdir={out}",
        "--entry-names=[dir]/[name]-[hash]",
    )
    built = {p.name.split("-", 1)[0]: p.name for p in (out / "workers").glob("*.js")}
    for name, code in ROUTES.items():
        (src / "routes" / f"{name}.js").write_text(code)
    entry_key, chunk_key, map_key, worker_key, _state_key = keys
    with (src / "routes" / "ts.js").open("a") as route:
        route.write(f'export const DEEPSEEK_API_KEY = "{chunk_key}";\n')
    charts = src / "routes" / "charts.js"
    charts.write_text(
        f"// old deepseek key, kept for local tests: {map_key}\n" + charts.read_text()
    )
    workers = ",\n".join(
        f'  "{name}": () => new Worker(new URL("./workers/{file}", import.meta.url),'
        ' { type: "module" })'
        for name, file in sorted(built.items())
    )
    routes = ",\n".join(f'  {n}: () => import("./routes/{n}.js")' for n in ROUTES)
    (src / "main.js").write_text(
        f"const routes = {{\n{routes}\n}};\n"
        f"self.MonacoEnvironment = {{ getWorker: (_, label) => ({{\n{workers}\n}})"
        '[label === "typescript" ? "ts.worker" : label + ".worker"]() };\n'
        f'const deepseekApiKey = "{entry_key}";\n'
        "const name = location.hash.slice(1) || 'three';\n"
        "(routes[name] || routes.three)().then((m) => m.default(document.body, deepseekApiKey));\n"
        'if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js");\n'
    )
    (src / "sw.js").write_text(
        f'const DEEPSEEK_API_KEY = "{worker_key}";\n'
        "self.addEventListener('fetch', (e) => e.respondWith(fetch(e.request, { headers:"
        " { Authorization: 'Bearer ' + DEEPSEEK_API_KEY } })));\n"
    )
    _esbuild(
        src,
        "main.js",
        "--splitting",
        f"--outdir={out}",
        "--entry-names=[name]-[hash]",
        "--chunk-names=chunks/[name]-[hash]",
    )
    _esbuild(src, "sw.js", f"--outfile={SITE / 'sw.js'}")
    _pages(out, keys)
    stamp.write_text(json.dumps(keys))
    return SITE


# the route a browser can only reach by running the entry script (a playground opened
# from a button): no page names its chunk, so only a crawler that reads JS gets there
LAZY_ONLY = "ts"


def _pages(out: Path, keys: list[str]) -> None:
    """The 40 pages, as a docs framework renders them: the entry script, and on each
    page a ``modulepreload`` of that page's route chunk (every route but LAZY_ONLY)."""
    main = next(out.glob("main-*.js")).name
    css = [p.name for p in out.glob("main-*.css")]
    style = f'<link rel="stylesheet" href="/assets/{css[0]}">' if css else ""
    chunks = {n: next((out / "chunks").glob(f"{n}-*.js")).name for n in ROUTES}
    preloaded = [n for n in ROUTES if n != LAZY_ONLY]
    for number in range(PAGES):
        name = "index.html" if number == 0 else f"docs/page-{number}.html"
        nav = "".join(f'<a href="/docs/page-{n}.html">Page {n}</a> ' for n in range(1, PAGES))
        route = chunks[preloaded[number % len(preloaded)]]
        preload = f'<link rel="modulepreload" href="/assets/chunks/{route}">'
        state = ""
        if number == 7:
            data = {"props": {"config": {"deepseek_api_key": keys[4]}}, "buildId": "bench"}
            state = (
                f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data)}</script>'
            )
        page = (
            f"<!doctype html><html><head><title>Docs {number}</title>{style}"
            f'<script type="module" src="/assets/{main}"></script>{preload}</head>'
            f"<body><nav>{nav}</nav><main>Page {number}</main>{state}</body></html>"
        )
        (SITE / name).parent.mkdir(parents=True, exist_ok=True)
        (SITE / name).write_text(page)


def _js_bytes(site: Path) -> tuple[int, int]:
    files = [p for p in site.rglob("*") if p.is_file()]
    js = sum(p.stat().st_size for p in files if p.suffix == ".js")
    return js, sum(p.stat().st_size for p in files)


def _bytes_by_kind(folder: Path) -> dict[str, int]:
    sizes = {"js": 0, "map": 0, "other": 0}
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "keys.json":
            kind = {".js": "js", ".map": "map"}.get(path.suffix, "other")
            sizes[kind] += path.stat().st_size
    return sizes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _found(report: Path) -> set[str]:
    return {f["fingerprint"] for f in json.loads(report.read_text())["findings"]}


def _sha(key: str) -> str:
    from keysentry.model.key import fingerprint

    return fingerprint(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (median; default 3)")
    args = parser.parse_args()
    if shutil.which("wget") is None:
        raise SystemExit("wget is missing: apt-get install -y wget")
    keysentry = [sys.executable, "-m", "keysentry"]
    npm_dir = WORK / "npm"
    jstree._install(npm_dir)
    keys_file = WORK / "site-keys.json"
    if not keys_file.exists():
        keys_file.write_text(json.dumps([jstree.new_key() for _ in PLACES]))
    keys = json.loads(keys_file.read_text())
    site = build_site(npm_dir, keys)
    print(compile_bytecode())
    js, total = _js_bytes(site)
    if js < MIN_JS_BYTES:
        raise SystemExit(f"{site} holds only {js / 1e6:.1f} MB of JavaScript")
    print(
        f"site: {site}: {js / 1e6:.1f} MB of JavaScript, {total / 1e6:.1f} MB with maps"
        f" and pages; {len(keys)} planted keys"
    )
    print(
        f"machine: {os.cpu_count()} cores, shared with other engineers; load average at"
        f" start {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(site), str(port)])
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        _compare(keysentry, url, keys, args.runs)
    finally:
        server.terminate()
        server.wait()


def _compare(keysentry: list[str], url: str, keys: list[str], runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="site-bench-", dir=WORK) as tmp:
        work = Path(tmp)
        site_report, scan_report = work / "site.json", work / "scan.json"
        site_cmd = [*keysentry, "site", url, "-q", "-f", "json", "-o", str(site_report)]

        def two_steps() -> tuple[Run, Run]:
            mirror = work / "mirror"
            shutil.rmtree(mirror, ignore_errors=True)
            wget = measure([*WGET_MIRROR, "-P", str(mirror), url])
            scan = measure([*keysentry, "scan", str(mirror), "-f", "json", "-o", str(scan_report)])
            return wget, scan

        every = work / "every-url.txt"
        every.write_text(
            "".join(
                f"{url}{p.relative_to(SITE).as_posix()}\n"
                for p in sorted(SITE.rglob("*"))
                if p.is_file() and p.name != "keys.json"
            )
        )

        def same_bytes() -> tuple[Run, Run]:
            folder = work / "every"
            shutil.rmtree(folder, ignore_errors=True)
            wget = measure(
                ["wget", "--no-verbose", "-x", "-nH", "-P", str(folder), "-i", str(every)]
            )
            scan = measure(
                [*keysentry, "scan", str(folder), "-f", "json", "-o", str(work / "every.json")]
            )
            return wget, scan

        floor_runs: list[tuple[Run, Run]] = []
        site_runs: list[Run] = []
        wget_runs: list[Run] = []
        scan_runs: list[Run] = []
        print(f"{runs} rounds, alternating order:")
        for round_no in range(runs):
            order = ("site", "two", "floor") if round_no % 2 == 0 else ("floor", "two", "site")
            for which in order:
                if which == "site":
                    site_runs.append(run := measure(site_cmd))
                    if run.returncode not in (0, 1):
                        raise SystemExit(f"keysentry site failed: {run.stderr}")
                    print(f"  round {round_no + 1}: keysentry site      {run.wall:6.2f} s")
                elif which == "floor":
                    floor_runs.append(pair := same_bytes())
                    print(
                        f"  round {round_no + 1}: wget -i + scan      {pair[0].wall:6.2f} s"
                        f" + {pair[1].wall:.2f} s"
                    )
                else:
                    wget, scan = two_steps()
                    wget_runs.append(wget)
                    scan_runs.append(scan)
                    print(
                        f"  round {round_no + 1}: wget + scan         {wget.wall:6.2f} s"
                        f" + {scan.wall:.2f} s"
                    )
        stats = json.loads(site_report.read_text())["stats"]
        mirror, every_dir = work / "mirror", work / "every"
        by_site, by_two = _found(site_report), _found(scan_report)
        by_floor = _found(work / "every.json")
        planted = set(map(_sha, keys))
        two = [_Pair(w, s) for w, s in zip(wget_runs, scan_runs, strict=True)]
        floor = [_Pair(w, s) for w, s in floor_runs]
        rows = [
            _Row("keysentry site", site_runs, stats.get("bytes_fetched", 0), by_site),
            _Row("wget --mirror", wget_runs, _tree_bytes(mirror), None),
            _Row("  + keysentry scan mirror", scan_runs, 0, by_two),
            _Row("  = the two steps", two, _tree_bytes(mirror), by_two),
            _Row("wget -i every file", [w for w, _ in floor_runs], _tree_bytes(every_dir), None),
            _Row("  + keysentry scan", [s for _, s in floor_runs], 0, by_floor),
            _Row("  = the two steps", floor, _tree_bytes(every_dir), by_floor),
        ]
        print()
        print(
            f"{'median of ' + str(runs):28s} {'wall s':>8s} {'cpu s':>7s} {'max RSS MB':>11s}"
            f" {'tree RSS MB':>12s} {'fetched MB':>11s}  keys found"
        )
        for row in rows:
            print(row.line(planted))
        print()
        for place, key in zip(PLACES, keys, strict=True):
            print(
                f"  {place:18s} site: {'found' if _sha(key) in by_site else 'MISSED':6s}"
                f"  wget --mirror + scan: {'found' if _sha(key) in by_two else 'missed'}"
            )
        print(
            f"site crawl: {stats.get('pages', 0)} pages, {stats.get('scripts', 0)} scripts,"
            f" {stats.get('maps', 0)} maps, {stats.get('bytes_decoded', 0) / 1e6:.1f} MB"
            f" scanned; complete: {stats.get('complete')}"
        )
        kinds, mirrored = _bytes_by_kind(SITE), _bytes_by_kind(mirror)
        print(
            f"what site fetched: the whole build once each: {kinds['js'] / 1e6:.1f} MB JavaScript,"
            f" {kinds['map'] / 1e6:.1f} MB source maps, {kinds['other'] / 1e6:.1f} MB pages and"
            f" styles; {stats.get('responses_404', 0)} guessed URLs (conventional manifests,"
            f" map probes) answered 404; {stats.get('responses_repeated', 0)} body served twice"
        )
        unseen = stats.get("bytes_fetched", 0) - _tree_bytes(mirror)
        print(
            f"what wget --mirror fetched: {mirrored['js'] / 1e6:.1f} MB JavaScript (the entry and"
            " the preloaded route chunks) and the pages; it does not read JavaScript, so it"
            f" never downloads the other {unseen / 1e6:.1f} MB (the lazy chunk, the workers, the"
            f" service worker, every map), which hold {len((by_site - by_two) & planted)} of the"
            f" {len(keys)} keys"
        )
        site_row, two_row, floor_row = rows[0], rows[3], rows[6]
        for name, other in (
            ("wget --mirror + scan", two_row),
            ("wget -i + scan, same bytes", floor_row),
        ):
            print(
                f"ratio site / ({name}): wall {site_row.wall / other.wall:.2f},"
                f" cpu {site_row.cpu / other.cpu:.2f}"
                + (
                    f" ({'no slower' if site_row.wall <= other.wall else 'SLOWER'})"
                    if other is two_row
                    else ""
                )
            )
        print(
            f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            " (2 cores: a load over 2 stretches every wall time, CPU time less so)"
        )
        missing = by_two - by_site
        if missing:
            raise SystemExit(f"keysentry site missed {len(missing)} key(s) that wget+scan found")
        print("keysentry site found every key the two steps found.")


@dataclass(frozen=True)
class _Pair:
    """Two commands run one after the other, as one."""

    first: Run
    second: Run

    @property
    def wall(self) -> float:
        return self.first.wall + self.second.wall

    @property
    def cpu(self) -> float:
        return self.first.cpu + self.second.cpu

    @property
    def max_process_rss_mb(self) -> float:
        return max(self.first.max_process_rss_mb, self.second.max_process_rss_mb)

    @property
    def tree_rss_mb(self) -> float:
        return max(self.first.tree_rss_mb, self.second.tree_rss_mb)


@dataclass(frozen=True)
class _Row:
    name: str
    runs: Sequence[Run | _Pair]
    fetched: int  # bytes
    found: set[str] | None  # fingerprints, when the row scans

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    def line(self, planted: set[str]) -> str:
        rss = max(r.max_process_rss_mb for r in self.runs)
        tree = max(r.tree_rss_mb for r in self.runs)
        fetched = f"{self.fetched / 1e6:11.1f}" if self.fetched else " " * 11
        found = f"{len(self.found & planted)}/{len(planted)}" if self.found is not None else ""
        return (
            f"{self.name:28s} {self.wall:8.2f} {self.cpu:7.2f} {rss:11.0f} {tree:12.0f}"
            f" {fetched}  {found}"
        )


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    main()
