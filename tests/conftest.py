"""Shared fixtures. The `stack` fixture starts the real servers once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import PROJECT_ROOT
from bot.training import is_up_to_date, train
from tests.report import REPORT
from tests.stack import Stack


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
