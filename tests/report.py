"""Figures that tests want shown at the end of every run (pytest hides passing output)."""

from __future__ import annotations

REPORT: dict[str, str] = {}


def report(name: str, line: str) -> None:
    REPORT[name] = line
    print(f"\n{name}: {line}")
