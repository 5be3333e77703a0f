"""Fixtures shared by the Rasa-extension tests."""

# A server that accepts connections and never answers (a hung action server).
from tests.rasa_ext.test_circuit_breaker import hung_server  # noqa: F401
