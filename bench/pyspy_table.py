#!/usr/bin/env python
"""Top-N tables from a py-spy profile in collapsed form (`py-spy record -f raw`).

docs/profiles/ keeps these small text tables instead of flamegraph SVGs. Two views:
inclusive share per function (a function counted once per sample it is on the stack)
and self share per package (site-packages' top folder, or ``bot``, ``stdlib``).

    .venv/bin/python bench/pyspy_table.py profile.txt [--top 25] [--match rasa]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def package(frame: str) -> str:
    match = FRAME.match(frame)
    file = match.group("file") if match else frame
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/bot/" in file or "/actions/" in file:
        return "bot (ours)"
    if file.startswith("<frozen") or "/lib/python3" in file:
        return "stdlib"
    return file


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    file = match.group("file")
    file = file.split("site-packages/", 1)[-1].split("/work/main/", 1)[-1]
    return f"{match.group('function')} ({file}:{match.group('line') or '?'})"


def tables(samples: list[tuple[list[str], int]], top: int, match: str | None) -> str:
    total = sum(count for _, count in samples) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in samples:
        for frame in set(stack):
            if match is None or match in frame:
                inclusive[short(frame)] += count
        own[package(stack[-1])] += count
    lines = [f"{total} samples", "", "| inclusive | function |", "| ---: | --- |"]
    for name, count in inclusive.most_common(top):
        lines.append(f"| {100 * count / total:.1f} % | `{name}` |")
    lines += ["", "| self | package |", "| ---: | --- |"]
    for name, count in own.most_common(top):
        lines.append(f"| {100 * count / total:.1f} % | {name} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only functions whose frame contains this text")
    args = parser.parse_args()
    print(tables(parse(args.profile), args.top, args.match))
    return 0


if __name__ == "__main__":
    sys.exit(main())
