"""bot.contract against domain.yml and data/: a renamed intent, slot or response fails
here at once, not in a conversation."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import PROJECT_ROOT
from bot import contract as c
from bot.facts.loader import load_curation

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
INTENTS = {i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]}
# Rasa's own: never declared in a domain.
BUILT_IN = {c.FALLBACK_INTENT, c.SESSION_START_INTENT}


def _nlu_intents(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                found.add(block["intent"])
    return found


def test_every_contract_intent_is_in_the_domain() -> None:
    named = {
        c.URGENT_INTENT,
        c.PERSONAL_MEDICAL_INTENT,
        c.REQUEST_HUMAN_INTENT,
        c.OUT_OF_SCOPE_INTENT,
        c.TOO_LONG_INTENT,
        c.OTHER_LANGUAGE_INTENT,
        c.FOLLOW_UP_INTENT,
        *c.LOGISTICS_INTENTS,
        *c.SAFETY_INTENTS,
        *c.HANDOFF_REASONS,
        *c.RULE_INTENTS,
    }
    assert named - BUILT_IN <= INTENTS, sorted(named - BUILT_IN - INTENTS)


def test_the_answer_intents_are_the_fact_base_topics() -> None:
    topics = set(load_curation(PROJECT_ROOT / "data" / "facts").topics)
    asked = {i for i in INTENTS if i.startswith(c.ANSWER_INTENT_PREFIX)}
    assert {c.answer_intent(t) for t in topics} == asked - {c.FOLLOW_UP_INTENT} - set(
        c.LOGISTICS_INTENTS
    )
    assert {c.topic_of(i) for i in asked} - {None} == topics
    assert c.topic_of(c.FOLLOW_UP_INTENT) is None and c.topic_of("ask_price") is None


def test_learnt_intents_have_training_examples_and_rule_intents_none() -> None:
    examples = _nlu_intents(PROJECT_ROOT / "data" / "nlu")
    learnt = INTENTS - c.RULE_INTENTS
    assert learnt <= examples, sorted(learnt - examples)
    assert not (c.RULE_INTENTS & examples)


def test_slots_and_responses_of_the_contract_exist() -> None:
    assert {c.TOPIC_SLOT, c.DISCLAIMER_SLOT, c.LANGUAGE_ENTITY} <= set(DOMAIN["slots"])
    assert {c.GREETING_RESPONSE, c.URGENT_CARE_RESPONSE} <= set(DOMAIN["responses"])


def _user(intent: str) -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def test_session_start_is_the_widgets_request_only() -> None:
    bookkeeping = [
        {"event": "slot", "name": "x"},
        {"event": "action", "name": "action_extract_slots"},
        {"event": "user_featurization"},
    ]
    assert c.session_start_requested([*bookkeeping, _user(c.SESSION_START_INTENT)])
    assert not c.session_start_requested([*bookkeeping, _user("ask_pain")])
    # A session started by any other message: the newest event is the old session's.
    assert not c.session_start_requested([{"event": "action", "name": "action_listen"}])
    assert not c.session_start_requested([])
