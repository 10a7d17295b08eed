"""Which files of a project define an environment variable: ``.env*`` files and CI settings.

The guide asks this for the variables a bundler inlined a key from
(``import.meta.env.VITE_DEEPSEEK_API_KEY``), so the owner edits the definition, not the
bundle. Only the names are matched; no value is read or shown.
"""

from __future__ import annotations

import re
from pathlib import Path

from keysentry.model.text import escape_text

# CI and hosting settings that set build-time variables, relative to the project root
CI_SETTINGS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "netlify.toml",
    "vercel.json",
    "Dockerfile",
)
ENV_FILES = (".env*", "*/.env*")
MAX_BYTES = 1024 * 1024  # a settings file larger than this is not one


def _files(root: Path) -> list[Path]:
    found: dict[Path, None] = {}
    for pattern in (*ENV_FILES, *CI_SETTINGS):
        for path in sorted(root.glob(pattern)):
            if "node_modules" not in path.parts and path.is_file():
                found.setdefault(path, None)
    return list(found)


def find_definitions(root: Path, names: list[str]) -> dict[str, list[str]]:
    """name -> ``path:line`` of each line of a ``.env*`` or CI file that names it."""
    if not names:
        return {}
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    places: dict[str, list[str]] = {}
    for path in _files(root):
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        shown = escape_text(path.relative_to(root).as_posix())
        for number, line in enumerate(text.splitlines(), 1):
            for name in dict.fromkeys(pattern.findall(line)):
                places.setdefault(name, []).append(f"{shown}:{number}")
    return places
