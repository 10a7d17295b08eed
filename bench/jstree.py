"""A tree of 150+ MB of real JavaScript for the scan benchmarks, built once and cached.

The npm packages pinned in ``bench/jstree-npm/package-lock.json`` (monaco-editor,
echarts, pdfjs-dist, three, typescript, @babel/standalone, rxjs, lodash) are
installed with ``npm ci`` into ``bench/.work/npm``; their ``.js``, ``.mjs``,
``.cjs`` and ``.map`` files are then copied to ``bench/.work/jstree``, a folder
not named ``node_modules``, so that no scanner skips it by name.

``plant_keys`` writes randomly generated keys into ``jstree/planted/``: a small
config module, a copy of a large minified bundle with a key
in the middle of a long line, and a source map holding a key in
``sourcesContent``. Each is written so that every tool in the benchmark (keysentry,
betterleaks' ``deepseek-api-key`` rule, detect-secrets' keyword detector) is able
to find it.

Usable on its own (``python bench/jstree.py`` builds the tree and prints its size)
and imported by the benchmarks.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PACKAGES = HERE / "jstree-npm"
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".map")
PLANTED = "planted"
MIN_BYTES = 150_000_000


@dataclass(frozen=True)
class TreeFacts:
    path: Path
    files: int
    bytes: int


def _lock_digest() -> str:
    return hashlib.sha256((PACKAGES / "package-lock.json").read_bytes()).hexdigest()


def _install(npm_dir: Path) -> None:
    """npm ci the pinned packages into npm_dir (skipped when the lock has not changed)."""
    stamp = npm_dir / ".installed"
    if stamp.exists() and stamp.read_text() == _lock_digest():
        return
    if npm_dir.exists():
        shutil.rmtree(npm_dir)
    npm_dir.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(PACKAGES / name, npm_dir / name)
    print(f"installing the benchmark's npm packages into {npm_dir} ...", file=sys.stderr)
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund",
         "--loglevel=error"],
        cwd=npm_dir,
        check=True,
    )
    stamp.write_text(_lock_digest())


def _copy_js(modules: Path, tree: Path) -> None:
    for folder, dirs, files in os.walk(modules):
        dirs.sort()
        rel = Path(folder).relative_to(modules)
        for name in sorted(files):
            if name.endswith(JS_SUFFIXES):
                (tree / rel).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, tree / rel / name)


def build(work: Path = WORK) -> Path:
    """The JavaScript tree (without planted keys), built on first use."""
    npm_dir, tree = work / "npm", work / "jstree"
    _install(npm_dir)
    stamp = work / "jstree.built-from"
    if stamp.exists() and stamp.read_text() == _lock_digest():
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    print(f"copying JavaScript out of node_modules into {tree} ...", file=sys.stderr)
    _copy_js(npm_dir / "node_modules", tree)
    stamp.write_text(_lock_digest())
    return tree


def facts(tree: Path) -> TreeFacts:
    """How many JavaScript files and bytes the tree holds (planted files included)."""
    files = size = 0
    for folder, _, names in os.walk(tree):
        for name in names:
            if name.endswith(JS_SUFFIXES):
                files += 1
                size += os.path.getsize(os.path.join(folder, name))
    return TreeFacts(tree, files, size)


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def new_key() -> str:
    """A random key; betterleaks' rule drops values of entropy <= 3.5, so those are redrawn."""
    while True:
        key = "sk-" + secrets.token_hex(16)
        if _entropy(key) > 3.6:
            return key


def _largest_minified(tree: Path) -> Path:
    candidates = [p for p in tree.glob("**/min/**/*.js") if PLANTED not in p.parts]
    return max(candidates, key=lambda p: (p.stat().st_size, str(p)))


def plant_keys(tree: Path, fresh: bool = False) -> list[str]:
    """Three keys planted in tree/planted/, returned (never printed).

    The keys are drawn at random once and read back from the planted files
    afterwards, so that benchmarks sharing the tree, even at the same time, agree
    on them; ``fresh`` draws and plants new ones.
    """
    planted = tree / PLANTED
    files = [planted / "src" / "config.js", planted / "dist" / "app.min.js",
             planted / "dist" / "app.min.js.map"]
    if not fresh and all(f.exists() for f in files):
        keys = [_planted_key(f.read_bytes()) for f in files]
        if all(keys):
            return [k for k in keys if k]
    if planted.exists():
        shutil.rmtree(planted)
    (planted / "src").mkdir(parents=True)
    (planted / "dist").mkdir()
    keys = [new_key() for _ in range(3)]
    (planted / "src" / "config.js").write_text(
        "// client configuration\n"
        f'export const DEEPSEEK_API_KEY = "{keys[0]}";\n'
        'export const BASE_URL = "https://api.deepseek.com";\n'
    )
    bundle = _largest_minified(tree).read_bytes()
    middle = bundle.index(b";", len(bundle) // 2) + 1
    (planted / "dist" / "app.min.js").write_bytes(
        bundle[:middle] + b'var deepseekApiKey="' + keys[1].encode() + b'";' + bundle[middle:]
    )
    (planted / "dist" / "app.min.js.map").write_text(
        '{"version":3,"file":"app.min.js","sources":["../src/client.js"],'
        f'"sourcesContent":["const deepseekApiKey = \'{keys[2]}\';\\n'
        'export default deepseekApiKey;\\n"],'
        '"names":[],"mappings":"AAAA"}\n'
    )
    return keys


def _planted_key(data: bytes) -> str | None:
    found = re.search(rb'deepseekApiKey *= *["\']|DEEPSEEK_API_KEY = "', data)
    return data[found.end() : found.end() + 35].decode() if found else None


def main() -> None:
    tree = build()
    found = facts(tree)
    print(f"{found.path}: {found.files} files, {found.bytes / 1e6:.1f} MB of JavaScript")
    if found.bytes < MIN_BYTES:
        raise SystemExit(f"the tree holds less than {MIN_BYTES / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
