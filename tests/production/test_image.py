"""The container image carries no secrets or patient data, runs as a non-root user, and
builds on a base whose Python 3.10 still gets security fixes.

The build itself can't run here (no Docker engine), so the Dockerfile and
.dockerignore are checked as text, with Docker's own matching rules for the ignore file.
"""

from __future__ import annotations

import fnmatch

import pytest

from bot import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
SENSITIVE = [
    ".env",
    "deploy/.env",
    "var/meso.db",
    "var/tracker.db",
    "var/staff_secret.key",
    "var/conversation_id.key",
    "var/endpoints.rasa.yml",
    "models/current.tar.gz",
    ".git/config",
    "tests/fixtures/tracker.json",
]


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _match(pattern: list[str], path: list[str]) -> bool:
    """Go's filepath.Match per segment, with "**" for any number of directories."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_match(pattern[1:], path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], pattern[0]) and _match(pattern[1:], path[1:])


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; '!' re-includes; a pattern that
    matches a directory excludes everything under it."""
    ignored = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = (raw[1:] if negate else raw).strip("/").split("/")
        if any(_match(pattern, parts[: i + 1]) for i in range(len(parts))):
            ignored = not negate
    return ignored


def _patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


@pytest.mark.parametrize("path", SENSITIVE)
def test_dockerignore_keeps_secrets_and_patient_data_out(path: str) -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing"
    assert _ignored(path, _patterns()), path


def test_the_matcher_follows_dockers_rules() -> None:
    assert _ignored("a/b/.env", ["**/.env"]) and _ignored(".env", ["**/.env"])
    assert not _ignored(".env.example", ["**/.env.*", "!.env.example"])
    assert not _ignored("bot/app.py", ["var/", "**/*.db"])


def test_only_named_paths_are_copied() -> None:
    sources = []
    for op, args in _instructions():
        if op == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            sources += parts[:-1]
    assert sources, "no COPY in the Dockerfile"
    assert "." not in sources and "./" not in sources, "COPY . copies the whole checkout"
    for source in sources:
        assert not source.startswith(("var", ".env", "deploy/.env", "models", "tests")), source


def test_runs_as_a_non_root_user() -> None:
    users = [args.strip() for op, args in _instructions() if op == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), users


def test_base_image_still_patches_python_3_10() -> None:
    (base,) = [args for op, args in _instructions() if op == "FROM"]
    # python:3.10-* images follow upstream 3.10, which stopped getting fixes in
    # October 2026; Ubuntu 22.04 patches its own python3.10 until 2027 (ESM: 2032).
    assert base.startswith("ubuntu:22.04"), base
