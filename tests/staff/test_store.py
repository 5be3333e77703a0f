"""The conversation store on SQLite and on a real PostgreSQL server: feed, full-text
search, filters, facets, counts, the NLU inbox, and deletion (retention, erasure)."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import PROJECT_ROOT
from bot.appdb import upgrade
from bot.db import engine_for
from bot.handoff import HandoffRepository
from bot.staff.dashboard import compute
from bot.staff.events import tracker_engine
from bot.staff.filters import ConversationFilter, ListQuery, facet_counts
from bot.staff.nlu_inbox import InboxQuery, count_messages, select_messages
from bot.staff.retention import delete_sender, purge_older_than
from bot.staff.store import ConversationStore, messages_t
from tests.staff.tracker_builder import TrackerWriter

SECRET = "store-test-secret-0123456789abcdef"
UTC = ZoneInfo("UTC")
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[object]:
    from tests.production.services import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Backend:
    app_url: str
    tracker_url: str

    @property
    def app(self) -> sa.engine.Engine:
        return engine_for(self.app_url)

    @property
    def tracker(self) -> sa.engine.Engine:
        return tracker_engine(self.tracker_url)

    def store(self) -> ConversationStore:
        # check_seconds=0: every refresh also checks for rows deleted behind its back.
        return ConversationStore(self.app, self.tracker, SECRET, check_seconds=0)

    def senders(self, redacted: bool = False, **filters: str) -> set[str]:
        flt, errors = ConversationFilter.from_params(filters)
        assert errors == []
        query = ListQuery.build(flt, UTC, self.app.dialect.name, redacted)
        with self.app.connect() as conn:
            return {row.sender_id for row in conn.execute(query.select())}


# PostgreSQL is a real server: `make unit` runs the SQLite half.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        app_url = f"sqlite:///{tmp_path / 'meso.db'}"
        upgrade(app_url)  # the tables come from the migrations, as in production
        return Backend(app_url, f"sqlite:///{tmp_path / 'tracker.db'}")
    server = request.getfixturevalue("postgres")
    name = f"store_{next(_databases)}"
    admin = sa.create_engine(server.url("postgres").replace("meso:meso@", "postgres@"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} OWNER meso"))
    admin.dispose()
    upgrade(server.url(name))
    # One database for both, as deploy/docker-compose.yml runs it.
    return Backend(server.url(name), server.url(name))


@pytest.fixture
def writer(backend: Backend) -> TrackerWriter:
    return TrackerWriter(backend.tracker_url)


def _sample(writer: TrackerWriter) -> None:
    now = time.time()
    good = writer.conversation("web-good", start=now - 3 * 3600)
    good.session_start()
    good.user("how many sessions do I need?", "ask_number_of_sessions", 0.97)
    good.bot("Usually at least ten.")
    good.user("can I go to the sauna after?", "ask_aftercare", 0.45)
    fallback = writer.conversation("web-fallback", start=now - 2 * 3600, channel="socketio")
    fallback.session_start()
    fallback.user("blorf? mail jane.doe@example.org or call +44 20 7946 0958", "nlu_fallback", 0.6)
    fallback.action("action_default_fallback", policy="RulePolicy")
    fallback.bot("Sorry, I didn't get that.")
    urgent = writer.conversation("447700900123", start=now - 3600, channel="whatsapp")
    urgent.session_start()
    urgent.user("my scalp is bleeding after the session", "report_urgent", 0.92)
    urgent.form("handoff_form")
    urgent.user("my name is Zebedee Quux, 07700 900123", "inform", 0.3)
    urgent.form(None)


def test_search_filters_facets_and_counts(backend: Backend, writer: TrackerWriter) -> None:
    _sample(writer)
    assert backend.store().refresh() > 0
    # Full-text search: word prefixes, any case, bot replies too.
    assert backend.senders(q="SAUNA") == {"web-good"}
    assert backend.senders(q="saun") == {"web-good"}
    assert backend.senders(q="didn't get that") == {"web-fallback"}
    assert backend.senders(q="sauna hair") == set()  # every word must match
    assert backend.senders(q="web-fall") == {"web-fallback"}  # a sender id, for staff
    # Contact details and form answers are found only by roles that may see them.
    assert backend.senders(q="7946") == {"web-fallback"}
    assert backend.senders(q="7946", redacted=True) == set()
    assert backend.senders(q="zebedee") == {"447700900123"}
    assert backend.senders(q="zebedee", redacted=True) == set()
    assert backend.senders(q="bleeding", redacted=True) == {"447700900123"}
    assert backend.senders(q="web-fall", redacted=True) == set()
    assert backend.senders(q="\"') OR 1=1 --") == set()  # only ever words to look for
    # Filters as SQL.
    assert backend.senders(channel="whatsapp") == {"447700900123"}
    assert backend.senders(intent="ask_aftercare", max_conf="0.5") == {"web-good"}
    assert backend.senders(fallback="yes") == {"web-fallback"}
    assert backend.senders(handoff="urgent") == {"447700900123"}
    assert backend.senders(action="action_default_fallback") == {"web-fallback"}
    flt, _ = ConversationFilter.from_params({"fallback": "no"})
    query = ListQuery.build(flt, UTC, backend.app.dialect.name, False)
    with backend.app.connect() as conn:
        assert query.count(conn) == 2
        total, counts = facet_counts(conn, query)
    assert total == 2
    assert dict(counts["channel"]) == {"rest": 1, "whatsapp": 1}
    assert dict(counts["handoff"]) == {"urgent": 1, "none": 1}
    assert dict(counts["reviewed"]) == {"yes": 0, "no": 2}
    stats = compute(backend.app, UTC, 7)
    assert stats.conversations == 3 and stats.user_messages == 5
    assert stats.fallback_rate == pytest.approx(1 / 5)
    with backend.app.connect() as conn:
        inbox = InboxQuery(threshold=0.5)
        # The fallback and the 0.45 message; the form answer (0.3) is never shown.
        assert count_messages(conn, inbox) == 2
        texts = [m.text for m in select_messages(conn, inbox, 0, 10)]
    assert texts[0].startswith("blorf") and texts[1] == "can I go to the sauna after?"


def test_a_handoff_request_made_after_the_messages_updates_the_state(
    backend: Backend, writer: TrackerWriter
) -> None:
    _sample(writer)
    store = backend.store()
    store.refresh()
    assert backend.senders(handoff="requested") == set()
    HandoffRepository(backend.app).create(sender_id="web-good", reason="fallback", channel="rest")
    store.refresh()  # no new events: the new request alone is read, by id
    assert backend.senders(handoff="requested") == {"web-good"}
    assert backend.senders(handoff="urgent") == {"447700900123"}


def _store_rows(backend: Backend, sender_id: str) -> int:
    with backend.app.connect() as conn:
        return sum(
            conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE sender_id = :s"), {"s": sender_id}
            ).scalar_one()
            for table in ("staff_conversations", "staff_conversation_terms", "staff_messages")
        )


def test_deleting_a_patient_removes_their_store_rows(
    backend: Backend, writer: TrackerWriter, caplog: pytest.LogCaptureFixture
) -> None:
    _sample(writer)
    store = backend.store()
    store.refresh()
    assert _store_rows(backend, "web-fallback") > 0
    delete_sender(backend.app, backend.tracker, "web-fallback", SECRET, "cli")
    assert _store_rows(backend, "web-fallback") == 0
    assert backend.senders(q="didn't") == set()  # gone from the search index too
    assert _store_rows(backend, "web-good") > 0
    with caplog.at_level(logging.INFO, logger="bot.staff.store"):
        store.refresh()  # a deletion the store was told about is no reason to rebuild
    assert "rebuilding" not in caplog.text
    assert backend.senders() == {"web-good", "447700900123"}


def test_purge_removes_old_conversations_and_rebuilds_those_that_go_on(
    backend: Backend, writer: TrackerWriter, caplog: pytest.LogCaptureFixture
) -> None:
    long_ago = time.time() - 100 * 86400
    writer.conversation("old-conv", start=long_ago).user("hello long ago", "greet")
    mixed = writer.conversation("mixed", start=long_ago)
    mixed.user("first visit", "greet", 0.2)
    mixed.clock = time.time() - 3600
    mixed.user("back again", "ask_pain", 0.9)
    writer.conversation("fresh").user("hi", "greet")
    store = backend.store()
    store.refresh()
    assert backend.senders(q="first visit") == {"mixed"}

    purge_older_than(backend.app, backend.tracker, timedelta(days=90), SECRET, "cli")

    assert _store_rows(backend, "old-conv") == 0
    assert backend.senders() == {"mixed", "fresh"}
    assert backend.senders(q="first visit") == set()
    assert backend.senders(intent="greet") == {"fresh"}  # mixed's terms were rebuilt
    summary = store.get("mixed")
    assert summary is not None
    assert summary.user_message_count == 1 and summary.first_text == "back again"
    assert summary.min_confidence == pytest.approx(0.9)
    with backend.app.connect() as conn:
        texts = conn.execute(sa.select(messages_t.c.text)).scalars().all()
    assert sorted(texts) == ["back again", "hi"]
    with caplog.at_level(logging.INFO, logger="bot.staff.store"):
        store.refresh()
    assert "rebuilding" not in caplog.text


def test_new_events_after_a_purge_are_still_read(backend: Backend, writer: TrackerWriter) -> None:
    writer.conversation("old-conv", start=time.time() - 100 * 86400).user("old", "greet")
    store = backend.store()
    store.refresh()
    purge_older_than(backend.app, backend.tracker, timedelta(days=90), SECRET, "cli")
    writer.conversation("later").user("a new question", "ask_pain")
    assert store.refresh() > 0
    assert backend.senders() == {"later"}


def test_the_staff_app_starts_without_rasa_or_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bot.staff.app import create_app\n"
        "from bot.staff.config import StaffConfig\n"
        "from bot import PROJECT_ROOT\n"
        f"create_app(config=StaffConfig(app_db_url='sqlite:///{tmp_path}/m.db', "
        f"tracker_db_url='sqlite:///{tmp_path}/t.db', project_root=PROJECT_ROOT, "
        f"secret_key='{SECRET}', facts_db_url=''))\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'rasa', 'tensorflow'})\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
