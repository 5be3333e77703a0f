"""Helpers for integration tests: domain responses and tracker-store lookups."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import sqlalchemy as sa
import yaml

from bot import PROJECT_ROOT
from bot.config import load_clinic_config


@lru_cache(maxsize=1)
def domain_responses() -> dict[str, list[dict]]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def response_openings(name: str, clinic_path: str | None = None, length: int = 40) -> list[str]:
    """The first characters of each variation of a domain response, clinic values filled."""
    clinic = load_clinic_config(PROJECT_ROOT / "clinic.yml" if clinic_path is None else clinic_path)
    values = clinic.template_values()
    openings = []
    for variation in domain_responses()[name]:
        text = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), variation["text"])
        openings.append(text[:length])
    return openings


def starts_with_response(text: str, name: str) -> bool:
    return any(text.startswith(opening) for opening in response_openings(name))


def last_user_intent(tracker_db_url: str, sender_id: str) -> tuple[str | None, float | None]:
    """The intent Rasa predicted for the sender's latest message (for failure reports)."""
    engine = sa.create_engine(tracker_db_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"sender": sender_id},
        ).fetchone()
    engine.dispose()
    if row is None:
        return None, None
    intent = json.loads(row[0]).get("parse_data", {}).get("intent", {})
    return intent.get("name"), intent.get("confidence")
