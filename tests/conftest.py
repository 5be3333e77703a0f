"""Shared fixtures. The `stack` fixture starts the real servers once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Before anything imports TensorFlow: skops' import looks every numpy ufunc up across
# all loaded modules, about 1 s now and 5 s once TensorFlow and Rasa are loaded.
import skops.io  # noqa: F401  isort: skip

from bot import PROJECT_ROOT
from bot.training import is_up_to_date, train
from tests.report import REPORT
from tests.stack import Stack

# Tests here start servers (Rasa, the action server, PostgreSQL, Chromium...); so do
# tests anywhere that use these fixtures. `make unit` runs everything else.
SERVER_DIRS = ("integration", "production", "browser")
SERVER_FIXTURES = {"stack", "production"}
# Checks that take a minute or more on their own (rasa data validate in a subprocess,
# every held-out/end-to-end item against every training example): not for `make unit`.
SLOW = (
    "tests/e2e/test_independence.py::test_no_",
    "tests/staff/test_nlu.py::test_nasty_texts_survive_the_export",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs servers `servers` and the slowest checks `slow`, so
    `pytest -m "not servers and not slow"` (make unit) is the fast set, whatever
    markers a test file remembered to declare."""
    tests_dir = PROJECT_ROOT / "tests"
    for item in items:
        parts = item.path.relative_to(tests_dir).parts if tests_dir in item.path.parents else ()
        fixtures = set(getattr(item, "fixturenames", ()))
        if (parts and parts[0] in SERVER_DIRS) or fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.servers)
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the suite's own figures (hostile-input counts, safety recall) at the end."""
    if REPORT:
        terminalreporter.section("Meso Assistant figures")
        for name, line in REPORT.items():
            terminalreporter.write_line(f"{name}: {line}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real action server, Rasa server, demo site and staff app on free ports."""
    if not is_up_to_date(PROJECT_ROOT) and train(PROJECT_ROOT) != 0:
        pytest.fail("rasa train failed; run `make train` to see why")
    from tests.fakes.graph_api import FakeGraphAPI

    graph_api = FakeGraphAPI()
    graph_api.start()
    running = Stack(workdir=tmp_path_factory.mktemp("stack"), graph_api=graph_api)
    running.prepare()
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
        graph_api.stop()
