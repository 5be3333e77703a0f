"""Fact texts for the fact ids a bot answer cites (from its answer_meta payload).

Optional by design: if the fact base is missing or a fact id was renamed since the
conversation, the transcript still shows the ids and sources from the payload.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.staff.conversations import Turn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FactView:
    id: str
    text: str
    origin: str


@lru_cache(maxsize=2)
def _fact_base(url: str) -> Any:
    # One FactBase per URL; it re-reads a SQLite file rebuilt by `facts build` itself.
    from sqlalchemy import create_engine

    from bot.facts.query import FactBase

    return FactBase(create_engine(url))


def facts_for_turns(facts_db_url: str, turns: list[Turn]) -> dict[str, FactView]:
    wanted = {
        fact_id
        for turn in turns
        for reply in turn.replies
        if reply.answer
        for fact_id in reply.answer.fact_ids
    }
    if not wanted or not facts_db_url:
        return {}
    try:
        base = _fact_base(facts_db_url)
        facts = {fact_id: base.fact(fact_id) for fact_id in wanted}
    except Exception:  # the transcript must render even with a missing or broken fact base
        log.info("fact base unavailable for the staff transcript", exc_info=True)
        return {}
    found = {}
    for fact_id, fact in facts.items():
        if fact is not None:
            found[fact_id] = FactView(fact.id, fact.text, fact.origin)
    return found
