"""Fixtures shared by the Rasa-extension tests."""

from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage

# A server that accepts connections and never answers (a hung action server).
from tests.rasa_ext.test_circuit_breaker import hung_server  # noqa: F401


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    """An empty model storage for components to train into and load from."""
    return LocalModelStorage(tmp_path)
