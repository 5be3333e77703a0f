"""Live staff takeover: take a conversation from the bot, talk to the patient, hand it back.

How it works (docs/staff-app.md, "Live takeover"):

- **The lock** is a `staff_takeovers` row keyed by the conversation (takeover_models.py):
  inserting it is a compare-and-set in the database, so it holds across staff-app
  processes, and the loser is told who holds the conversation.
- **The pause** is Rasa's own `pause` event, appended through Rasa's HTTP API with the API
  token; Rasa then stores the patient's messages (parsed by the NLU pipeline) without
  answering them, on every replica, because the state is in the tracker.
- **Staff messages** are bot events appended the same way with
  ``output_channel=takeover&execute_side_effects=true``: Rasa sends them through
  bot.channels.takeover to the widget's socket.io room or to WhatsApp, and keeps them
  in the tracker with metadata naming the staff account.
- **The live feed** reads the tracker store's `events` table by id (`feed`), so any
  staff-app process can serve it; nothing is held in memory.
- **Idle timeout**: every staff-app process runs `expire_idle` periodically; the hand-back
  deletes the row only if it is still idle (compare-and-set again), so exactly one
  process tells the patient. Handoff requests are not touched: they stay open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.whatsapp_window import WINDOW, last_inbound
from bot.clinic_hours import OpeningHours
from bot.config import Settings, get_settings
from bot.contract import (
    RASA_API_TOKEN_ENV,
    STAFF_MESSAGE_KIND,
    STAFF_METADATA_KEY,
    TAKEOVER_KIND,
    TAKEOVER_OUTPUT_CHANNEL,
    URGENT_INTENT,
)
from bot.db import session_scope
from bot.staff import audit
from bot.staff.background import running
from bot.staff.events import events, has_events_table, parse_data
from bot.staff.models import utcnow
from bot.staff.takeover_models import StaffTakeover

logger = logging.getLogger(__name__)

DEFAULT_IDLE_SECONDS = Settings.takeover_idle_seconds
# What staff may call themselves to the patient; they pick the one that is true.
DEFAULT_TITLES = Settings.takeover_titles
MAX_MESSAGE_CHARS = 2000
FEED_LIMIT = 200
RASA_TIMEOUT_S = 20.0

LEFT_TEXT = (
    "The clinic team member has left the chat, and the automated assistant is back. "
    "You can keep asking questions here."
)
IDLE_TEXT = (
    "The clinic team member had to step away, so the automated assistant is back. "
    "If you asked the clinic to contact you, that request stays open."
)


def joined_text(title: str) -> str:
    article = "An" if title[:1].lower() in "aeiou" else "A"
    return f"{article} {title} from the clinic has joined the chat. You're now talking to a person."


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TakeoverConfig:
    rasa_url: str
    api_token: str | None
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    titles: tuple[str, ...] = DEFAULT_TITLES

    @property
    def enabled(self) -> bool:
        return bool(self.api_token)

    # The clinic's opening hours (clinic.yml); None: not configured, never "closed".
    opening_hours: OpeningHours | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TakeoverConfig:
        """From bot.config.Settings: MESO_RASA_API_TOKEN (also what `python -m bot serve
        rasa` enables the API with), MESO_RASA_API_URL, MESO_TAKEOVER_IDLE_SECONDS,
        MESO_TAKEOVER_TITLES and clinic.yml's opening_hours."""
        settings = settings or get_settings()
        return cls(
            rasa_url=settings.takeover_rasa_url,
            api_token=settings.rasa_api_token,
            idle_seconds=settings.takeover_idle_seconds,
            titles=settings.takeover_titles,
            opening_hours=settings.clinic.opening_hours,
        )


# ----------------------------------------------------------------------------- errors


class TakeoverError(Exception):
    """A takeover action that can't be done; the message says why, for staff."""

    status = 409


class AlreadyHeld(TakeoverError):
    def __init__(self, holder: StaffTakeover) -> None:
        super().__init__(
            f"{holder.held_by} ({holder.title}) already has this conversation, since "
            f"{holder.started_at:%H:%M} UTC."
        )
        self.holder = holder


class NotHolder(TakeoverError):
    status = 403


class WindowClosed(TakeoverError):
    pass


class RasaUnavailable(TakeoverError):
    status = 502


class TakeoverOff(TakeoverError):
    status = 503


# ------------------------------------------------------------------------- Rasa's API


class RasaAPI:
    """The two calls takeover makes to the Rasa server, with the API token."""

    def __init__(self, config: TakeoverConfig) -> None:
        self.config = config

    async def append(self, sender_id: str, new_events: list[dict[str, Any]]) -> None:
        """Append events; Rasa sends their bot messages to the patient's channel."""
        url = f"{self.config.rasa_url}/conversations/{quote(sender_id, safe=':')}/tracker/events"
        params = {
            "token": self.config.api_token or "",
            "output_channel": TAKEOVER_OUTPUT_CHANNEL,
            "execute_side_effects": "true",
            "include_events": "NONE",
        }
        await self._post(url, new_events, params)

    async def typing(self, sender_id: str, typing: bool = True) -> None:
        url = f"{self.config.rasa_url}/webhooks/{TAKEOVER_OUTPUT_CHANNEL}/typing"
        headers = {"authorization": f"Bearer {self.config.api_token or ''}"}
        await self._post(url, {"sender_id": sender_id, "typing": typing}, headers=headers)

    async def _post(
        self,
        url: str,
        body: Any,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not self.config.enabled:
            raise TakeoverOff(
                f"Live takeover is off: set {RASA_API_TOKEN_ENV} for the Rasa server and "
                "the staff app (docs/staff-app.md)."
            )
        try:
            async with httpx.AsyncClient(timeout=RASA_TIMEOUT_S) as client:
                reply = await client.post(url, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(
                f"The Rasa server at {self.config.rasa_url} did not answer "
                f"({type(exc).__name__}); nothing was sent. Try again in a moment."
            ) from exc
        if reply.status_code >= 400:
            raise RasaUnavailable(
                f"The Rasa server refused the request (HTTP {reply.status_code}); nothing "
                "was sent. Check that it runs with the same API token as the staff app."
            )


# ------------------------------------------------------------------------ the service


def channel_of(sender_id: str) -> str:
    """The patient's channel, from the namespaced conversation id (conversation_ids.py)."""
    if sender_id.startswith("wa:"):
        return "whatsapp"
    if sender_id.startswith("web:"):
        return "socketio"
    return "rest"


@dataclass(frozen=True)
class Window:
    """WhatsApp's customer-service window for one conversation."""

    last_inbound: datetime | None
    now: datetime

    @property
    def seconds_left(self) -> int:
        if self.last_inbound is None:
            return 0
        return max(0, int((self.last_inbound + WINDOW - self.now).total_seconds()))

    @property
    def open(self) -> bool:
        return self.seconds_left > 0

    @property
    def reason(self) -> str:
        if self.open:
            return ""
        return (
            "WhatsApp allows free-form replies only within 24 hours of the patient's last "
            "message, and the patient hasn't written in that time. Nothing was sent; call "
            "the patient or wait until they write again."
        )


def _bot_event(text: str, kind: str, staff: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "event": "bot",
        "text": text,
        # The custom payload follows the text to the widget (its state); WhatsApp drops it.
        "data": {"custom": {"data": {"kind": kind, "title": staff["title"], **extra}}},
        "metadata": {STAFF_METADATA_KEY: staff},
    }


class Takeovers:
    def __init__(self, app_engine: Engine, tracker_engine: Engine, config: TakeoverConfig) -> None:
        self.app_engine = app_engine
        self.tracker_engine = tracker_engine
        self.config = config
        self.rasa = RasaAPI(config)
        StaffTakeover.__table__.create(app_engine, checkfirst=True)

    # ---- the lock ------------------------------------------------------------------
    def holder(self, sender_id: str) -> StaffTakeover | None:
        with session_scope(self.app_engine) as session:
            return session.get(StaffTakeover, sender_id)

    def _claim(self, sender_id: str, username: str, title: str) -> StaffTakeover:
        row = StaffTakeover(
            sender_id=sender_id, held_by=username, title=title, channel=channel_of(sender_id)
        )
        try:
            with session_scope(self.app_engine) as session:
                session.add(row)
        except IntegrityError:
            holder = self.holder(sender_id)
            if holder is None:  # released in between: try once more
                return self._claim(sender_id, username, title)
            raise AlreadyHeld(holder) from None
        return row

    def _release(
        self, sender_id: str, username: str | None = None, idle_before: datetime | None = None
    ) -> StaffTakeover | None:
        """Delete the row if it still matches; the row, or None if someone else won."""
        holder = self.holder(sender_id)
        if holder is None:
            return None
        conditions = [
            StaffTakeover.sender_id == sender_id,
            StaffTakeover.held_by == holder.held_by,
            StaffTakeover.started_at == holder.started_at,
        ]
        if username is not None:
            conditions.append(StaffTakeover.held_by == username)
        if idle_before is not None:
            conditions.append(StaffTakeover.last_staff_at < idle_before)
        with session_scope(self.app_engine) as session:
            deleted = session.execute(sa.delete(StaffTakeover).where(*conditions)).rowcount
        return holder if deleted == 1 else None

    def _touch(self, sender_id: str, username: str) -> bool:
        with session_scope(self.app_engine) as session:
            updated = session.execute(
                sa.update(StaffTakeover)
                .where(StaffTakeover.sender_id == sender_id, StaffTakeover.held_by == username)
                .values(last_staff_at=utcnow())
            ).rowcount
        return updated == 1

    def _require_holder(self, sender_id: str, username: str) -> StaffTakeover:
        holder = self.holder(sender_id)
        if holder is None:
            raise NotHolder("The assistant has this conversation: take it over first.")
        if holder.held_by != username:
            raise NotHolder(f"{holder.held_by} ({holder.title}) has this conversation, not you.")
        return holder

    # ---- actions ---------------------------------------------------------------------
    async def take_over(
        self, sender_id: str, username: str, title: str, ip: str | None = None
    ) -> StaffTakeover:
        if not self.config.enabled:
            raise TakeoverOff(
                f"Live takeover is off: set {RASA_API_TOKEN_ENV} for the Rasa server and the "
                "staff app (docs/staff-app.md)."
            )
        if title not in self.config.titles:
            raise TakeoverError(f"Choose how you are introduced: {', '.join(self.config.titles)}.")
        try:
            row = await asyncio.to_thread(self._claim, sender_id, username, title)
        except AlreadyHeld as held:
            await asyncio.to_thread(
                audit.record,
                self.app_engine,
                username,
                "takeover_refused",
                sender_id,
                {"held_by": held.holder.held_by},
                ip,
            )
            raise
        staff = {"username": username, "title": title}
        try:
            await self.rasa.append(
                sender_id,
                [
                    {"event": "pause"},
                    # A form the bot was running (e.g. the contact form) ends: a person
                    # now handles the request.
                    {"event": "active_loop", "name": None},
                    {"event": "slot", "name": "requested_slot", "value": None},
                    _bot_event(joined_text(title), TAKEOVER_KIND, staff, state="joined"),
                ],
            )
        except TakeoverError:
            await asyncio.to_thread(self._release, sender_id, username)
            raise
        await asyncio.to_thread(
            audit.record, self.app_engine, username, "takeover", sender_id, {"title": title}, ip
        )
        return row

    def window(self, sender_id: str) -> Window | None:
        """The WhatsApp window of a WhatsApp conversation; None for other channels."""
        if channel_of(sender_id) != "whatsapp":
            return None
        return Window(last_inbound(sender_id, self.app_engine), utcnow())

    async def send(self, sender_id: str, username: str, text: str, ip: str | None = None) -> None:
        text = text.strip()
        if not text:
            raise TakeoverError("The message is empty.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise TakeoverError(f"Messages are limited to {MAX_MESSAGE_CHARS} characters.")
        holder = await asyncio.to_thread(self._require_holder, sender_id, username)
        window = await asyncio.to_thread(self.window, sender_id)
        if window is not None and not window.open:
            await asyncio.to_thread(
                audit.record,
                self.app_engine,
                username,
                "takeover_send_refused",
                sender_id,
                {"reason": "whatsapp_24h_window"},
                ip,
            )
            raise WindowClosed(window.reason)
        staff = {"username": username, "title": holder.title}
        await self.rasa.append(sender_id, [_bot_event(text, STAFF_MESSAGE_KIND, staff)])
        await asyncio.to_thread(self._touch, sender_id, username)
        await asyncio.to_thread(
            audit.record,
            self.app_engine,
            username,
            "takeover_message",
            sender_id,
            {"chars": len(text)},
            ip,
        )

    async def typing(self, sender_id: str, username: str) -> None:
        await asyncio.to_thread(self._require_holder, sender_id, username)
        await self.rasa.typing(sender_id)

    async def hand_back(
        self, sender_id: str, username: str, *, force: bool = False, ip: str | None = None
    ) -> StaffTakeover:
        """Resume the bot. The holder hands back; an admin may `force` it for anyone."""
        if not force:
            await asyncio.to_thread(self._require_holder, sender_id, username)
        row = await asyncio.to_thread(self._release, sender_id, None if force else username)
        if row is None:
            raise NotHolder("The assistant already has this conversation.")
        await self._resume(row, LEFT_TEXT, "left")
        await asyncio.to_thread(
            audit.record,
            self.app_engine,
            username,
            "takeover_hand_back",
            sender_id,
            {"held_by": row.held_by, "reason": "staff"},
            ip,
        )
        return row

    async def _resume(self, row: StaffTakeover, text: str, state: str) -> None:
        staff = {"username": row.held_by, "title": row.title}
        await self.rasa.append(
            row.sender_id,
            [
                {"event": "resume"},
                _bot_event(text, TAKEOVER_KIND, staff, state=state),
                # The bot listens again, as after any turn it handled itself.
                {"event": "action", "name": "action_listen"},
            ],
        )

    def _idle(self, now: datetime) -> list[StaffTakeover]:
        cutoff = now - timedelta(seconds=self.config.idle_seconds)
        with session_scope(self.app_engine) as session:
            return list(
                session.execute(
                    sa.select(StaffTakeover).where(StaffTakeover.last_staff_at < cutoff)
                ).scalars()
            )

    async def expire_idle(self) -> int:
        """Hand back every conversation whose staff went quiet; how many."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.config.idle_seconds)
        handed_back = 0
        for row in await asyncio.to_thread(self._idle, now):
            won = await asyncio.to_thread(self._release, row.sender_id, None, cutoff)
            if won is None:
                continue  # another process handed it back, or staff spoke meanwhile
            try:
                await self._resume(won, IDLE_TEXT, "idle")
            except TakeoverError as exc:
                logger.error("Takeover idle hand-back could not reach Rasa: %s", exc)
                continue
            handed_back += 1
            await asyncio.to_thread(
                audit.record,
                self.app_engine,
                audit.SYSTEM_ACTOR,
                "takeover_hand_back",
                won.sender_id,
                {"held_by": won.held_by, "reason": "idle", "after_s": self.config.idle_seconds},
            )
        return handed_back

    # ---- the live feed ---------------------------------------------------------------
    def last_event_id(self, sender_id: str) -> int:
        if not has_events_table(self.tracker_engine):
            return 0
        with self.tracker_engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sender_id)
            ).scalar()
        return int(value or 0)

    def feed(self, sender_id: str, after: int) -> list[dict[str, Any]]:
        """Messages after event id `after`, oldest first: patient, bot and staff."""
        if not has_events_table(self.tracker_engine):
            return []
        with self.tracker_engine.connect() as conn:
            rows = conn.execute(
                sa.select(events.c.id, events.c.type_name, events.c.timestamp, events.c.data)
                .where(
                    events.c.sender_id == sender_id,
                    events.c.id > after,
                    events.c.type_name.in_(("user", "bot", "pause", "resume")),
                )
                .order_by(events.c.id)
                .limit(FEED_LIMIT)
            ).all()
        return [feed_item(r.id, r.type_name, r.timestamp, parse_data(r.data)) for r in rows]


def feed_item(event_id: int, type_name: str, timestamp: float | None, data: dict) -> dict[str, Any]:
    item: dict[str, Any] = {"id": event_id, "at": timestamp, "type": type_name}
    if type_name == "user":
        intent = ((data.get("parse_data") or {}).get("intent") or {}).get("name")
        item.update(kind="patient", text=data.get("text") or "", intent=intent)
        item["urgent"] = intent == URGENT_INTENT
    elif type_name == "bot":
        staff = (data.get("metadata") or {}).get(STAFF_METADATA_KEY)
        item.update(kind="staff" if staff else "bot", text=data.get("text") or "")
        if isinstance(staff, dict):
            item["by"] = f"{staff.get('username', '')} ({staff.get('title', '')})"
    else:
        item.update(kind="state", text="Bot paused" if type_name == "pause" else "Bot resumed")
    return item


@contextlib.asynccontextmanager
async def idle_task(takeovers: Takeovers) -> AsyncIterator[None]:
    """Run `expire_idle` in the background while the app runs (when takeover is on)."""
    if not takeovers.config.enabled:
        yield
        return
    period = max(1.0, min(30.0, takeovers.config.idle_seconds / 4))

    async def loop() -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await takeovers.expire_idle()
            except Exception:  # a database hiccup must not stop the next round
                logger.exception("Takeover idle check failed; retrying in %.0f s", period)

    async with running(loop()):
        yield
