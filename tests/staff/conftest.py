"""Fixtures for the staff app: temporary SQLite databases, users, logged-in clients."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from bot import PROJECT_ROOT
from bot.appdb import upgrade
from bot.db import engine_for
from bot.handoff import HandoffRepository, utcnow
from bot.staff import auth
from bot.staff.app import create_app
from bot.staff.auth import UserStore
from bot.staff.config import StaffConfig
from tests.staff.tracker_builder import TrackerWriter

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with tiny costs: the production parameters take ~50 ms per hash, and
    these tests hash hundreds of times. test_passwords checks the real parameters."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    monkeypatch.setattr(auth, "_DUMMY_HASH", auth._hasher.hash("dummy"))


@pytest.fixture(scope="session")
def migrated_app_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app database at the newest migration, made once and copied for each test."""
    path = tmp_path_factory.mktemp("appdb") / "meso.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def config(tmp_path: Path, migrated_app_db: Path) -> StaffConfig:
    shutil.copyfile(migrated_app_db, tmp_path / "meso.db")
    return StaffConfig(
        app_db_url=f"sqlite:///{tmp_path / 'meso.db'}",
        tracker_db_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        project_root=PROJECT_ROOT,
        secret_key="unit-test-secret-key-0123456789abcdef",
        facts_db_url="",
        run_retention_task=False,
    )


@pytest.fixture
def tracker(config: StaffConfig) -> TrackerWriter:
    return TrackerWriter(config.tracker_db_url)


@pytest.fixture
def users(config: StaffConfig) -> UserStore:
    store = UserStore(engine_for(config.app_db_url))
    for role in ("viewer", "reviewer", "admin"):
        store.add(role, PASSWORD, role)
    return store


@pytest.fixture
def handoffs(config: StaffConfig) -> HandoffRepository:
    return HandoffRepository(engine_for(config.app_db_url))


@dataclass
class Staff:
    """A TestClient plus the helpers tests need to act as one user."""

    client: TestClient

    def login(
        self,
        username: str,
        password: str = PASSWORD,
        *,
        page: str = "/login",
        next: str | None = None,
    ):  # type: ignore[no-untyped-def]
        """Log in through the form at ``page``; the redirect response."""
        token = CSRF_INPUT.search(self.client.get(page).text).group(1)
        data = {"username": username, "password": password, "csrf_token": token}
        if next is not None:
            data["next"] = next
        response = self.client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response

    def csrf(self, path: str = "/") -> str:
        return CSRF_INPUT.search(self.client.get(path).text).group(1)

    def post(self, path: str, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
        return self.client.post(
            path, data={**data, "csrf_token": self.csrf()}, follow_redirects=False, **kwargs
        )


@pytest.fixture
def app_factory(config: StaffConfig, users: UserStore):  # type: ignore[no-untyped-def]
    """Build an app (optionally with config changes) and a client for it."""
    clients: list[TestClient] = []

    def make(**changes: object) -> Staff:
        app = create_app(config=replace(config, **changes))
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        return Staff(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def anonymous(app_factory) -> Staff:  # type: ignore[no-untyped-def]
    return app_factory()


def _as(app_factory, role: str) -> Iterator[Staff]:  # type: ignore[no-untyped-def]
    staff = app_factory()
    staff.login(role)
    yield staff


@pytest.fixture
def viewer(app_factory) -> Iterator[Staff]:  # type: ignore[no-untyped-def]
    yield from _as(app_factory, "viewer")


@pytest.fixture
def reviewer(app_factory) -> Iterator[Staff]:  # type: ignore[no-untyped-def]
    yield from _as(app_factory, "reviewer")


@pytest.fixture
def admin(app_factory) -> Iterator[Staff]:  # type: ignore[no-untyped-def]
    yield from _as(app_factory, "admin")


SOURCES = [{"id": "what-is-mesotherapy", "title": "What is mesotherapy?", "publisher": "Clinic"}]


@pytest.fixture
def sample(tracker: TrackerWriter, handoffs: HandoffRepository) -> dict[str, object]:
    """Three conversations: a good answer, a fallback with contact details, an urgent one."""
    now = time.time()
    good = tracker.conversation("web-good", start=now - 3 * 3600)
    good.session_start()
    good.user("how many sessions do I need?", "ask_number_of_sessions", 0.97)
    answer_id = good.answer(
        "Usually at least ten sessions.\nSources: Clinic",
        "number_of_sessions",
        ["number_of_sessions.minimum_ten"],
        SOURCES,
    )
    sauna_id = good.user(
        "can I go to the sauna after?",
        "ask_aftercare",
        0.45,
        entities=[{"entity": "activity", "value": "sauna", "start": 14, "end": 19}],
        ranking=[("ask_aftercare", 0.45), ("ask_what_about", 0.3)],
    )
    good.answer("Avoid the sauna for 48 hours.\nSources: Clinic", "aftercare", ["a.sauna"], SOURCES)

    fallback = tracker.conversation("web-fallback", start=now - 2 * 3600, channel="socketio")
    fallback.session_start()
    fallback_id = fallback.user(
        "blorf wuzzle? mail me at jane.doe@example.org or call +44 20 7946 0958",
        "nlu_fallback",
        0.6,
        ranking=[("nlu_fallback", 0.6), ("ask_price", 0.31), ("greet", 0.1)],
    )
    fallback.action("action_default_fallback", policy="RulePolicy")
    fallback.bot("Sorry, I didn't get that.")

    urgent = tracker.conversation("447700900123", start=now - 3600, channel="whatsapp")
    urgent.session_start()
    urgent.user("my scalp is bleeding after the session", "report_urgent", 0.92)
    urgent.bot("Please call 112 now.")
    urgent.form("handoff_form")
    form_answer_id = urgent.user("07700 900123", "inform", 0.3)
    urgent.form(None)
    urgent_request = handoffs.create(
        sender_id="447700900123",
        reason="urgent",
        channel="whatsapp",
        urgency="urgent",
        contact_name="Jane",
        contact_channel="phone",
        contact_value="+44 7700 900123",
        consent_at=utcnow(),
    )
    normal_request = handoffs.create(
        sender_id="web-fallback", reason="fallback", channel="socketio"
    )
    return {
        "answer_id": answer_id,
        "sauna_id": sauna_id,
        "fallback_id": fallback_id,
        "form_answer_id": form_answer_id,
        "urgent_request": urgent_request,
        "normal_request": normal_request,
    }
