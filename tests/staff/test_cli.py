"""`python -m bot staff ...` and `python -m bot nlu export`, run as real processes."""

from __future__ import annotations

import sqlalchemy as sa
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.db import engine_for, session_scope
from bot.staff.auth import UserStore
from bot.staff.models import AuditEntry, NluCorrection
from tests.staff.test_retention import run_cli

PASSWORD = "a long enough password"


def test_staff_add_reads_the_password_from_stdin(config) -> None:
    result = run_cli(
        config, "staff", "add", "Nurse.Ana", "--role", "reviewer", stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    store = UserStore(engine_for(config.app_db_url))
    user = store.get("nurse.ana")
    assert user is not None and user.role == "reviewer"
    assert user.password_hash.startswith("$argon2id$")
    assert store.authenticate("nurse.ana", PASSWORD) is not None
    with session_scope(engine_for(config.app_db_url)) as session:
        assert session.execute(sa.select(AuditEntry).where(AuditEntry.action == "add_user")).first()


def test_staff_add_refuses_bad_input(config) -> None:
    short = run_cli(config, "staff", "add", "ana", "--role", "viewer", stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad_role = run_cli(config, "staff", "add", "ana", "--role", "owner", stdin=PASSWORD)
    assert bad_role.returncode == 2
    run_cli(config, "staff", "add", "ana", "--role", "viewer", stdin=PASSWORD)
    again = run_cli(config, "staff", "add", "ana", "--role", "admin", stdin=PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_there_is_no_password_option(config) -> None:
    result = run_cli(config, "staff", "add", "ana", "--role", "viewer", "--password", PASSWORD)
    assert result.returncode == 2


def test_staff_passwd_role_disable_and_list(config) -> None:
    run_cli(config, "staff", "add", "ana", "--role", "viewer", stdin=PASSWORD)
    assert run_cli(config, "staff", "passwd", "ana", stdin="another password!").returncode == 0
    assert run_cli(config, "staff", "role", "ana", "admin").returncode == 0
    assert run_cli(config, "staff", "disable", "ana").returncode == 0
    listing = run_cli(config, "staff", "list").stdout
    assert "ana" in listing and "admin" in listing and "disabled" in listing
    store = UserStore(engine_for(config.app_db_url))
    assert store.authenticate("ana", "another password!") is None  # disabled


def test_nlu_export_cli(config, tracker, tmp_path) -> None:
    conversation = tracker.conversation("cli")
    event_id = conversation.user("does the needle hurt a lot", "nlu_fallback", 0.3)
    with session_scope(engine_for(config.app_db_url)) as session:
        session.add(
            NluCorrection(
                sender_id="cli",
                event_id=event_id,
                text="does the needle hurt a lot",
                intent="ask_pain",
                status="corrected",
                created_by="reviewer",
            )
        )
    out = tmp_path / "nlu" / "staff_corrections.yml"
    result = run_cli(config, "nlu", "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "1 examples for 1 intents" in result.stderr
    [example] = RasaYAMLReader().read(out).intent_examples
    assert (example.get("text"), example.get("intent")) == (
        "does the needle hurt a lot",
        "ask_pain",
    )
    to_stdout = run_cli(config, "nlu", "export")
    assert to_stdout.stdout.startswith('version: "3.1"')
