"""A detect-secrets baseline that loads keysentry's plugin on every machine.

detect-secrets records a custom plugin as ``file://`` + the path given to ``--plugin``,
made absolute (``core/usage/plugins.py``), and loads it back with
``import_file_as_module(path)`` (``core/plugins/util.py``), which opens the path as it is:
a relative path is read from the folder detect-secrets runs in. A baseline that names
``…/site-packages/keysentry/…`` breaks on every other machine, virtualenv or Python
version ("Unable to load plugins!", every plugin off). So ``keysentry detect-secrets-init``
writes a one-line shim into the repository (``tools/keysentry_detect_secrets.py``, which
imports the plugin from whatever keysentry is installed) and records it as
``file://tools/keysentry_detect_secrets.py``; detect-secrets and its hook run from the
repository root (pre-commit does so), where that path resolves.

``detect-secrets audit --report`` looks plugins up before it reads the baseline's settings
(a cached mapping: upstream issue Yelp/detect-secrets#611) and fails on any custom plugin;
``audit_report`` reads the baseline first, then runs detect-secrets' own report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keysentry.model.key import TEXT_KEY_PATTERN, redact

SHIM_PATH = "tools/keysentry_detect_secrets.py"
SHIM = (
    "from keysentry.integrations.detect_secrets import DeepSeekDetector  # noqa: F401"
    "  (keysentry detect-secrets-init)\n"
)
PLUGIN_NAME = "DeepSeekDetector"
DEFAULT_BASELINE = ".secrets.baseline"
# the filter that hides `client = OpenAI(api_key="sk-…")` from every plugin (README)
INDIRECT_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
# paths older keysentry versions (and `--plugin "$(keysentry plugin-path)"`) recorded
_KEYSENTRY_PLUGIN = re.compile(r"keysentry/(plugins|integrations)/detect_secrets\.py$")


class SetupError(Exception):
    """The shim or the baseline cannot be written; the message says which and why."""


@dataclass(frozen=True)
class SetupResult:
    shim_written: bool
    baseline_created: bool
    paths_replaced: list[str]


def write_shim(root: Path, shim: str) -> bool:
    """The shim at root/shim; False when it is already there, as written."""
    path = root / shim
    if path.exists():
        if path.read_text(encoding="utf-8") == SHIM:
            return False
        raise SetupError(f"{path} exists and is not keysentry's shim; remove it or pick --shim")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIM, encoding="utf-8")
    return True


def _is_keysentry_plugin(entry: dict[str, Any], shim: str) -> bool:
    path = str(entry.get("path", ""))
    return (
        entry.get("name") == PLUGIN_NAME
        or bool(_KEYSENTRY_PLUGIN.search(path))
        or (path.endswith("/" + shim))
    )


def point_at_shim(baseline: dict[str, Any], shim: str) -> list[str]:
    """Make the baseline's keysentry plugin entry ``file://SHIM``; the old paths replaced."""
    plugins = baseline.setdefault("plugins_used", [])
    replaced = []
    kept = []
    for entry in plugins:
        if isinstance(entry, dict) and _is_keysentry_plugin(entry, shim):
            if entry.get("path") != f"file://{shim}":
                replaced.append(str(entry.get("path")))
            continue
        kept.append(entry)
    kept.append({"name": PLUGIN_NAME, "path": f"file://{shim}"})
    baseline["plugins_used"] = sorted(kept, key=lambda e: str(e.get("name", "")))
    return replaced


def _scan(root: Path, shim: str) -> dict[str, Any]:
    """A new baseline from detect-secrets itself, with the plugin and the filter off."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "detect_secrets",
            "scan",
            "--plugin",
            shim,
            "--disable-filter",
            INDIRECT_FILTER,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"detect-secrets scan failed: {done.stderr.strip()[-500:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def init(root: Path, baseline_name: str, shim: str) -> SetupResult:
    """Write the shim, and create the baseline or repoint the one there at the shim."""
    written = write_shim(root, shim)
    baseline_path = root / baseline_name
    created = not baseline_path.exists()
    try:
        data = _scan(root, shim) if created else json.loads(baseline_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(f"{baseline_path}: cannot read the baseline: {exc}") from exc
    if not isinstance(data, dict):
        raise SetupError(f"{baseline_path}: not a detect-secrets baseline")
    replaced = point_at_shim(data, shim)
    baseline_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return SetupResult(written, created, replaced)


def _hidden(value: str) -> str:
    """A secret as reports may show it: a DeepSeek key redacted, anything else cut short."""
    if TEXT_KEY_PATTERN.fullmatch(value):
        return redact(value)
    return f"{value[:4]}...({len(value)} characters)"


def redact_report(data: dict[str, Any]) -> dict[str, Any]:
    """detect-secrets' report prints each secret and its lines: hide them unless asked."""
    for result in data.get("results", []):
        secret = result.get("secrets")
        if not isinstance(secret, str) or not secret:
            continue
        hidden = _hidden(secret)
        result["secrets"] = hidden
        lines = result.get("lines") or {}
        result["lines"] = {n: str(text).replace(secret, hidden) for n, text in lines.items()}
    return data


def audit_report(baseline: Path, only: str | None = None, *, show_secrets: bool = False) -> str:
    """What ``detect-secrets audit --report`` prints, for a baseline with custom plugins;
    secrets redacted unless ``show_secrets``."""
    from detect_secrets.audit import report
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    ds_baseline.load(ds_baseline.load_from_file(str(baseline)), str(baseline))  # its plugins
    get_mapping_from_secret_type_to_class.cache_clear()  # built before they were known (#611)
    kind = {
        "real": report.SecretClassToPrint.REAL_SECRET,
        "false": report.SecretClassToPrint.FALSE_POSITIVE,
    }.get(only or "")
    data = report.generate_report(str(baseline), kind)
    if not show_secrets:
        data = redact_report(data)
    return json.dumps(data, indent=4, sort_keys=True)
