"""Detection rate over a matrix of javascript-obfuscator options (issue 12 gap 3).

For each combination of ``--string-array-encoding`` (base64, rc4), ``--split-strings``,
``--string-array-rotate``, ``--string-array-shuffle``, ``--string-array-wrappers-count``
(0, 1, 2), ``--string-array-wrappers-type`` (variable, function) and
``--string-array-calls-transform`` (false, true; threshold 1), a small module
holding random keys (one in an object, one in a call, one in a template-free constant
beside other strings) is obfuscated by the real obfuscator in tests/js, scanned with
``keysentry scan --format json``, and the keys found (with ``decoded_from`` starting
``string-array``) are counted. Prints the rate per option value and the combinations
that missed a key.

Usage::

    .venv/bin/python bench/obfuscator_matrix.py [--keys 3] [--seeds 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from keysentry.model.key import fingerprint

ROOT = Path(__file__).resolve().parent.parent
OBFUSCATOR = ROOT / "tests" / "js" / "node_modules" / ".bin" / "javascript-obfuscator"
AXES = {
    "string-array-encoding": ["base64", "rc4"],
    "split-strings": ["false", "true"],
    "string-array-rotate": ["false", "true"],
    "string-array-shuffle": ["false", "true"],
    "string-array-wrappers-count": ["0", "1", "2"],
    "string-array-wrappers-type": ["variable", "function"],
    # every call's arguments moved into objects of its scope (decoders/calls_transform.py)
    "string-array-calls-transform": ["false", "true"],
}


def _source(keys: list[str]) -> str:
    return (
        f"const client = {{ apiKey: '{keys[0]}', base: 'https://api.example.com' }};\n"
        f"function headers() {{ return {{ Authorization: 'Bearer ' + '{keys[1]}' }}; }}\n"
        f"const names = ['alpha', 'beta', 'gamma'];\nconst fallback = \"{keys[2]}\";\n"
        "console.log(client.base, headers(), names, fallback);\n"
    )


def _found(work: Path, options: dict[str, str], keys: list[str], seed: int) -> int:
    entry, out = work / "in.js", work / "out.js"
    entry.write_text(_source(keys))
    args = [str(OBFUSCATOR), str(entry), "--output", str(out), "--seed", str(seed)]
    args += ["--string-array", "true", "--string-array-threshold", "1"]
    args += ["--split-strings-chunk-length", "5", "--string-array-calls-transform-threshold", "1"]
    for name, value in options.items():
        args += [f"--{name}", value]
    subprocess.run(args, check=True, capture_output=True)
    text = out.read_text()
    assert not any(key in text for key in keys), "a key left in plain text"
    proc = subprocess.run(
        [sys.executable, "-m", "keysentry", "scan", str(out), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(proc.stdout)["findings"]
    wanted = {fingerprint(k) for k in keys}
    return len({f["fingerprint"] for f in findings} & wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=3, choices=[3])
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (shared machine)")
    per_value: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    missed: list[str] = []
    total = [0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        for values in itertools.product(*AXES.values()):
            options = dict(zip(AXES, values, strict=True))
            for seed in range(1, args.seeds + 1):
                keys = ["sk-" + secrets.token_hex(16) for _ in range(3)]
                hit = _found(Path(tmp), options, keys, seed)
                total[0] += hit
                total[1] += len(keys)
                for item in options.items():
                    per_value[item][0] += hit
                    per_value[item][1] += len(keys)
                print(f"{hit}/{len(keys)} {options}", flush=True)
                if hit < len(keys):
                    missed.append(
                        f"{hit}/{len(keys)} " + " ".join(f"--{k} {v}" for k, v in options.items())
                    )
    print(f"keys found: {total[0]}/{total[1]} ({100 * total[0] / total[1]:.1f}%)")
    for (name, value), (hit, count) in sorted(per_value.items()):
        print(f"  --{name} {value}: {hit}/{count} ({100 * hit / count:.0f}%)")
    print(f"combinations that missed a key: {len(missed)}")
    for line in missed:
        print("  " + line)


if __name__ == "__main__":
    main()
