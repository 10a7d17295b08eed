"""The Python read floor: walk a tree and read every file whole, in two processes, no scan.

What any scanner written in Python pays at least on this machine before it looks at a
byte: the interpreter's start, ``os.scandir`` over the tree (symlinks not followed), and
``open`` + ``read`` of each regular file, the files shared between the processes by
alternation. bench/scan_bench.py times it beside the scanners. Usage::

    python bench/read_floor.py TREE [--processes 2]
"""

from __future__ import annotations

import argparse
import os
import sys


def files(root: bytes) -> list[bytes]:
    found, stack = [], [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(entry.path)
    return found


def read_all(paths: list[bytes]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            total += len(handle.read())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    paths = files(os.fsencode(args.tree))
    children = []
    for index in range(1, args.processes):
        pid = os.fork()
        if pid == 0:
            read_all(paths[index :: args.processes])
            os._exit(0)
        children.append(pid)
    read_all(paths[:: args.processes])
    for pid in children:
        os.waitpid(pid, 0)
    sys.exit(0)


if __name__ == "__main__":
    main()
