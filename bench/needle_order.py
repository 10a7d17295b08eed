"""Searching the order the decoders' needle pass is given its needles in: the SIMD search
(Teddy) puts needles into buckets by that order, which decides how often a bucket's
fingerprint matches for nothing.

Random orders first, then swaps of two needles kept when they are faster twice over,
each order timed (best of 3) on a fixed 30% sample of bench/jstree.py's JavaScript
tree. Any order finds the same hits; only the time differs. Prints the best order
found, as the Python literal decoders/__init__.py's ``_PASS_ORDER`` is written in::

    .venv/bin/python bench/needle_order.py [--seconds 300]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import ahocorasick_rs

import jstree
from keysentry import decoders


def _sample(tree: Path, fraction: float) -> list[bytes]:
    rng = random.Random(1)
    files = sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    return [p.read_bytes() for p in files if rng.random() < fraction]


def _cost(order: list[bytes], sample: list[bytes]) -> float:
    find = ahocorasick_rs.BytesAhoCorasick(
        order, matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
    ).find_matches_as_indexes
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for data in sample:
            find(data)
        best = min(best, time.process_time() - started)
    return best


def search(needles: list[bytes], sample: list[bytes], seconds: float) -> list[bytes]:
    rng = random.Random(2)
    best_order, best = list(needles), _cost(list(needles), sample)
    print(f"given order: {best * 1000:.1f} ms", flush=True)
    for _ in range(30):
        order = rng.sample(needles, len(needles))
        cost = _cost(order, sample)
        if cost < best:
            best, best_order = cost, order
    print(f"best of 30 random orders: {best * 1000:.1f} ms", flush=True)
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        order = list(best_order)
        i, j = rng.sample(range(len(order)), 2)
        order[i], order[j] = order[j], order[i]
        if _cost(order, sample) < best * 0.995:
            again = _cost(order, sample)  # a lucky run is not kept
            if again < best:
                best, best_order = again, order
                print(f"swap: {best * 1000:.1f} ms", flush=True)
    return best_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="time for the swaps")
    parser.add_argument("--work", type=Path, default=jstree.WORK)
    args = parser.parse_args()
    sample = _sample(jstree.build(args.work), 0.3)
    print(f"sample: {len(sample)} files, {sum(map(len, sample)) / 1e6:.0f} MB")
    order = search(list(decoders.TRIGGERS), sample, args.seconds)
    print("order:", ", ".join(repr(needle) for needle in order))


if __name__ == "__main__":
    main()
