"""A failed handoff write logs neither the patient's number nor their contact details
(unit level: no stack needed)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.handoff import ActionSubmitHandoff
from bot.db import make_engine
from bot.handoff import HandoffRepository
from tests.actions.conftest import load_tracker


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def domain() -> dict[str, Any]:
    return {}


async def test_a_database_failure_logs_no_phone_number_or_contact_details(
    tmp_path, dispatcher: CollectingDispatcher, domain: dict[str, Any], caplog
) -> None:
    broken: Engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    tracker = load_tracker("handoff_after_price")
    tracker.sender_id = "447700900123"  # a WhatsApp number, as before ids were hashed
    with caplog.at_level("DEBUG", logger="actions.handoff"):
        await ActionSubmitHandoff(HandoffRepository(broken)).run(dispatcher, tracker, domain)
    logged = "\n".join(
        record.getMessage() + (caplog.text if record.exc_info else "") for record in caplog.records
    )
    assert "OperationalError" in logged and "handoff_requests" in logged
    assert "447700900123" not in logged
    for value in ("contact_value", "contact_name"):
        slot = tracker.get_slot(value)
        assert not slot or str(slot) not in logged, value
    assert all(record.exc_info is None for record in caplog.records)
