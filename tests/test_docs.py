"""The docs name only tests that exist: every tests/ path and test function in
README.md and docs/*.md is checked against the tree."""

from __future__ import annotations

import re
from pathlib import Path

from bot import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# A path may end in a glob: `tests/browser/test_takeover*.py`.
TEST_PATH = re.compile(r"\btests/[A-Za-z0-9_./*-]*[A-Za-z0-9_*]")
# `test_name` in backticks or after `::`: a test function the docs point readers to;
# `test_forged_*` names a family. (`test_x.py` is a file, checked by its path.)
TEST_NAME = re.compile(r"(?:`|::)(test_[a-z0-9_]+\*?)(?![.a-z0-9_])")


def _defined_test_names() -> set[str]:
    pattern = re.compile(r"^\s*(?:async\s+)?def (test_[a-z0-9_]+)", re.MULTILINE)
    return {
        name
        for path in (PROJECT_ROOT / "tests").rglob("test_*.py")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }


def _is_defined(name: str, defined: set[str]) -> bool:
    if name.endswith("*"):
        return any(test.startswith(name[:-1]) for test in defined)
    return name in defined


def _mentions(pattern: re.Pattern[str]) -> list[tuple[Path, int, str]]:
    found = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            found += [(doc, number, match) for match in pattern.findall(line)]
    return found


def test_every_tests_path_in_the_docs_exists() -> None:
    missing = [
        f"{doc.relative_to(PROJECT_ROOT)}:{line}: {path}"
        for doc, line, path in _mentions(TEST_PATH)
        if not any(PROJECT_ROOT.glob(path.split("::")[0]))
    ]
    assert not missing, "docs name tests that don't exist:\n" + "\n".join(missing)


def test_every_test_function_in_the_docs_exists() -> None:
    defined = _defined_test_names()
    missing = [
        f"{doc.relative_to(PROJECT_ROOT)}:{line}: {name}"
        for doc, line, name in _mentions(TEST_NAME)
        if not _is_defined(name, defined)
    ]
    assert not missing, "docs name test functions that don't exist:\n" + "\n".join(missing)


def test_the_checker_sees_a_missing_test(tmp_path: Path) -> None:
    line = "see `tests/nowhere/test_ghost.py::test_ghost`, `test_docs.py`, `test_ghosts_*`"
    assert TEST_PATH.findall(line) == ["tests/nowhere/test_ghost.py"]
    assert TEST_NAME.findall(line) == ["test_ghost", "test_ghosts_*"]
    assert "test_ghost" not in _defined_test_names()
