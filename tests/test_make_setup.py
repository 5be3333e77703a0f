"""`make setup` is made of file targets: a second call redoes nothing (issue #18), and a
changed input redoes only the step that reads it."""

from __future__ import annotations

import os
import subprocess

from bot import PROJECT_ROOT


def make(*args: str) -> subprocess.CompletedProcess:
    # Without the URLs, the fact base and the app database are the files make can see;
    # without MAKELEVEL/MAKEFLAGS, a run under `make unit` is not a sub-make ("make[1]:").
    dropped = ("MESO_FACTS_DB_URL", "MESO_APP_DB_URL", "MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_second_make_setup_has_nothing_to_do() -> None:
    first = make("setup")
    assert first.returncode == 0, first.stdout + first.stderr
    assert make("-q", "setup").returncode == 0
    dry_run = make("-n", "setup")
    assert dry_run.stdout.strip().endswith("Nothing to be done for 'setup'."), dry_run.stdout


def test_a_changed_fact_file_rebuilds_only_the_fact_base() -> None:
    make("setup")
    # -W: as if data/facts/risks.yml had just changed, without touching it.
    assert make("-q", "-W", "data/facts/risks.yml", "setup").returncode == 1
    commands = make("-n", "-W", "data/facts/risks.yml", "setup").stdout
    assert "bot facts build" in commands
    assert "pip install" not in commands
    assert "npm ci" not in commands
    assert "bot db upgrade" not in commands
