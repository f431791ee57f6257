#!/usr/bin/env python3
"""Shares of CPU samples by category, from `perf script` output (docs/PERFORMANCE.md).

    perf record -F 999 --call-graph dwarf,32768 -o perf.data -- COMMAND
    perf script -i perf.data | python3 bench/stack-share.py [--root FRAME] NAME=SUBSTRING ...

Each sample is counted once, in the first category (in the order given) with a
frame whose text contains SUBSTRING; samples matching none are "other". With
--root, only samples with a frame containing FRAME are counted.
"""
import collections
import sys


def main(argv):
    root = ""
    if len(argv) > 1 and argv[0] == "--root":
        root, argv = argv[1], argv[2:]
    categories = [a.split("=", 1) for a in argv]
    if not categories or any(len(c) != 2 for c in categories):
        sys.exit(__doc__)
    counts, total, stack = collections.Counter(), 0, []

    def flush():
        nonlocal total
        if stack and any(root in frame for frame in stack):
            total += 1
            name = next((n for n, sub in categories if any(sub in f for f in stack)), "other")
            counts[name] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            stack = []
        elif line[0] in " \t":
            stack.append(line.strip())
    flush()
    print(f"{total} samples" + (f" under {root}" if root else ""))
    for name, n in counts.most_common():
        print(f"  {name:50s} {n:6d}  {100 * n / max(total, 1):5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
