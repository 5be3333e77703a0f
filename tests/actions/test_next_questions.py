"""Next-question buttons: every payload triggers an intent (and entity) of the domain."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from actions.next_questions import ASK_STAFF, FOLLOW_UPS, next_questions
from bot.facts.contract import ENTITY_VALUES, TOPICS

PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$")


def check_payload(payload: str, domain: dict[str, Any]) -> None:
    match = PAYLOAD.match(payload)
    assert match, payload
    assert match["intent"] in domain["intents"], payload
    if match["entities"]:
        for kind, value in json.loads(match["entities"]).items():
            assert kind in domain["entities"]
            assert value in ENTITY_VALUES[kind], payload


def test_every_topic_has_follow_ups() -> None:
    assert set(FOLLOW_UPS) == set(TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
def test_follow_up_payloads_are_valid_intents(topic: str, domain: dict[str, Any]) -> None:
    questions = next_questions(topic)

    assert 2 <= len(questions) <= 3
    for question in questions:
        check_payload(question.payload, domain)
        assert question.intent != f"ask_{topic}" or question.entity is not None


def test_payload_with_an_entity_uses_rasa_syntax() -> None:
    [sauna] = [q for q in FOLLOW_UPS["aftercare"] if q.entity == ("activity", "sauna")]

    assert sauna.payload == '/ask_aftercare{"activity":"sauna"}'


def test_the_question_just_answered_is_not_offered_again() -> None:
    questions = next_questions("aftercare", {"activity": "sauna"})

    assert ("activity", "sauna") not in [q.entity for q in questions]


def test_staff_offer_comes_first_when_requested(domain: dict[str, Any]) -> None:
    questions = next_questions("aftercare", {"activity": "swimming"}, offer_staff=True)

    assert questions[0] == ASK_STAFF
    check_payload(ASK_STAFF.payload, domain)


def test_domain_buttons_are_valid_payloads(domain: dict[str, Any]) -> None:
    for name, variants in domain["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []):
                if button["payload"].startswith("/"):
                    check_payload(button["payload"], domain)
                else:
                    # Plain-text buttons answer a form question (contact channel).
                    assert name in {"utter_ask_contact_channel", "utter_invalid_contact_channel"}
