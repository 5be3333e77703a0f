"""Write conversations into a SQL tracker store exactly as Rasa's SQLTrackerStore does.

Events are Rasa's own event classes, serialised with `as_dict()`, and stored with the
column mapping of `SQLTrackerStore.save` (intent_name from parse_data, action_name
from `name`) in a table created from Rasa's own `SQLEvent` model. So the staff app is
tested against the real format without running a Rasa server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

SQLEvent = SQLTrackerStore.SQLEvent


class TrackerWriter:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            # Test data only: skip fsync on every one of the many small commits.
            sa.event.listen(
                self.engine, "connect", lambda conn, _: conn.execute("PRAGMA synchronous=OFF")
            )
        SQLEvent.__table__.create(self.engine, checkfirst=True)

    def insert(self, sender_id: str, event: Event) -> int:
        data = event.as_dict()
        with self.engine.begin() as conn:
            result = conn.execute(
                SQLEvent.__table__.insert().values(
                    sender_id=sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
            )
            return int(result.inserted_primary_key[0])

    def conversation(
        self, sender_id: str, start: float | None = None, channel: str = "rest"
    ) -> ConversationBuilder:
        return ConversationBuilder(self, sender_id, start or time.time() - 600, channel)

    def count(self, sender_id: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(SQLEvent.__table__)
        if sender_id is not None:
            query = query.where(SQLEvent.__table__.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


class ConversationBuilder:
    """One conversation, one event per simulated second, in Rasa's usual order."""

    def __init__(self, writer: TrackerWriter, sender_id: str, start: float, channel: str) -> None:
        self.writer = writer
        self.sender_id = sender_id
        self.clock = start
        self.channel = channel
        self.ids: list[int] = []

    def _add(self, event: Event) -> int:
        self.clock += 1.0
        event.timestamp = self.clock
        event_id = self.writer.insert(self.sender_id, event)
        self.ids.append(event_id)
        return event_id

    def session_start(self) -> ConversationBuilder:
        self._add(ActionExecuted("action_session_start"))
        self._add(SessionStarted())
        self._add(ActionExecuted("action_listen"))
        return self

    def user(
        self,
        text: str,
        intent: str,
        confidence: float = 0.95,
        entities: list[dict[str, Any]] | None = None,
        ranking: list[tuple[str, float]] | None = None,
        fact_ranking: list[tuple[str, float]] | None = None,
    ) -> int:
        ranking = ranking or [(intent, confidence)]
        parse_data = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "text": text,
            "message_id": f"m{len(self.ids)}",
            "metadata": {},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
        if fact_ranking:
            parse_data["fact_ranking"] = [
                {"id": fact, "intent": intent, "score": score, "match": score}
                for fact, score in fact_ranking
            ]
        return self._add(
            UserUttered(
                text,
                intent=parse_data["intent"],
                entities=entities or [],
                parse_data=parse_data,
                input_channel=self.channel,
                message_id=f"m{len(self.ids)}",
            )
        )

    def action(self, name: str, policy: str = "RulePolicy", confidence: float = 1.0) -> int:
        return self._add(ActionExecuted(name, policy=policy, confidence=confidence))

    def bot(
        self,
        text: str | None,
        buttons: list[dict[str, str]] | None = None,
        custom: dict[str, Any] | None = None,
    ) -> int:
        data = {
            "elements": None,
            "quick_replies": None,
            "buttons": buttons,
            "attachment": None,
            "image": None,
            "custom": custom,
        }
        return self._add(BotUttered(text, data=data, metadata={"utter_action": None}))

    def answer(
        self, text: str, topic: str, fact_ids: list[str], sources: list[dict[str, Any]]
    ) -> int:
        """An answer as the answering action sends it: text, then answer_meta."""
        self.action("action_answer", policy="RulePolicy")
        text_id = self.bot(text, buttons=[{"title": "Does it hurt?", "payload": "/ask_pain"}])
        meta = {"kind": "answer_meta", "topic": topic, "fact_ids": fact_ids, "sources": sources}
        self.bot(None, custom={"data": meta})
        self.action("action_listen", policy="RulePolicy")
        return text_id

    def slot(self, name: str, value: Any) -> int:
        return self._add(SlotSet(name, value))

    def form(self, name: str | None) -> int:
        return self._add(ActiveLoop(name))
