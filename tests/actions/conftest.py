"""Fixtures for the action tests: tracker builder, dispatcher, domain, fact base, DB.

Nothing is mocked: the fact base is built from data/facts into a temporary
database once per test session, and handoff requests go to a temporary SQLite file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot import PROJECT_ROOT
from bot.appdb import upgrade
from bot.config import get_settings
from bot.db import make_engine
from bot.facts.build import build
from bot.facts.query import FactBase
from bot.handoff import HandoffRepository, HandoffRequest

FIXTURES = Path(__file__).parent / "fixtures"
SENDER_ID = "patient-42"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """domain.yml as the action server receives it (Rasa sends the same keys)."""
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def facts_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real fact base, built from data/facts into a temporary SQLite file."""
    db = tmp_path_factory.mktemp("facts") / "facts.db"
    url = f"sqlite:///{db}"
    build(PROJECT_ROOT / "data" / "facts", url, echo=lambda *_: None)
    return url


@pytest.fixture(scope="session")
def fact_base(facts_db_url: str) -> FactBase:
    return FactBase(create_engine(facts_db_url))


@pytest.fixture
def app_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh app database with the handoff table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'meso.db'}")
    HandoffRequest.__table__.create(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def repository(app_engine: Engine) -> HandoffRepository:
    return HandoffRepository(app_engine)


@pytest.fixture
def app_db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the app settings (MESO_APP_DB_URL) at a temporary database."""
    url = f"sqlite:///{tmp_path / 'settings-meso.db'}"
    upgrade(url)
    monkeypatch.setenv("MESO_APP_DB_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def user_event(
    intent: str,
    text: str = "",
    entities: Sequence[dict[str, Any]] = (),
    channel: str = "socketio",
    timestamp: float | None = None,
) -> dict[str, Any]:
    """A ``user`` event as Rasa sends it to the action server."""
    return {
        "event": "user",
        "timestamp": timestamp or time.time(),
        "text": text,
        "input_channel": channel,
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.98},
            "entities": list(entities),
            "text": text,
        },
    }


def entity(kind: str, value: str, text: str | None = None) -> dict[str, Any]:
    return {"entity": kind, "value": value, "start": 0, "end": len(text or value)}


def make_tracker(
    intent: str = "greet",
    text: str = "",
    entities: Sequence[dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    events: Sequence[dict[str, Any]] = (),
    sender_id: str = SENDER_ID,
    channel: str = "socketio",
    active_loop: str | None = None,
    candidates: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest message is ``intent`` / ``text`` / ``entities``.

    ``candidates`` are slot values extracted from that message; like Rasa's form
    action, they are appended as ``slot`` events so that validation sees them.
    """
    latest = user_event(intent, text, entities, channel)
    extracted = [
        {"event": "slot", "timestamp": time.time(), "name": name, "value": value}
        for name, value in (candidates or {}).items()
    ]
    return Tracker(
        sender_id=sender_id,
        slots={**(slots or {}), **(candidates or {})},
        latest_message=latest["parse_data"],
        events=[*events, latest, *extracted],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def load_tracker(name: str, **slots: Any) -> Tracker:
    """A tracker from tests/actions/fixtures/<name>.json (Rasa's tracker state shape).

    Keyword arguments override slot values, both in ``slots`` and in the slot events
    (e.g. the reference a previous action really created).
    """
    state = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    state["slots"].update(slots)
    for event in state["events"]:
        if event["event"] == "slot" and event["name"] in slots:
            event["value"] = slots[event["name"]]
    return Tracker.from_dict(state)


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["text"] for message in dispatcher.messages if message.get("text")]


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages if message.get("response")]


def customs(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [message["custom"] for message in dispatcher.messages if message.get("custom")]


def slot_events(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
