"""How many random keys the placeholder rule rejects (it must be none): issue 12 §7.

Usage::

    .venv/bin/python bench/placeholder_rate.py [--keys 1000000]
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections import Counter

from keysentry.engine.detector import placeholder_clause


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args()
    clauses = Counter(placeholder_clause("sk-" + secrets.token_hex(16)) for _ in range(args.keys))
    clauses.pop(None, None)
    rejected = sum(clauses.values())
    print(f"load average {os.getloadavg()[0]:.2f} (shared machine)")
    print(
        f"random keys: {args.keys:,}; rejected as placeholders: {rejected}"
        f" (false-reject rate {rejected / args.keys:.2e}); by clause: {dict(clauses)}"
    )


if __name__ == "__main__":
    main()
