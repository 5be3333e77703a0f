"""domain.yml and the dialogue data agree with the contract and with the actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot import PROJECT_ROOT
from bot.contract import LANGUAGE_ENTITY, LOGISTICS_INTENTS
from bot.facts.contract import ENTITY_VALUES, TOPICS

GENERAL = ["greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "chitchat",
           "request_human", "stop", "inform"]  # fmt: skip
SAFETY = ["personal_medical", "report_urgent", "out_of_scope"]
CONTRACT_INTENTS = [f"ask_{t}" for t in TOPICS] + ["ask_what_about", *GENERAL,
                    *LOGISTICS_INTENTS, *SAFETY]  # fmt: skip
CLINIC_PLACEHOLDERS = {"clinic_name", "clinic_phone", "clinic_emergency_number",
                       "clinic_hours", "clinic_email", "clinic_address"}  # fmt: skip
# Values the actions pass in with the response (dispatcher.utter_message(reference=...)).
ACTION_PLACEHOLDERS = {"reference", "next_opening"}
EXAMPLE_NUMBERS = {"+44 7700 900123"}  # Ofcom's range reserved for drama: never a real line


def response_texts(domain: dict[str, Any]) -> dict[str, list[str]]:
    return {name: [v["text"] for v in variants] for name, variants in domain["responses"].items()}


def dialogue_steps() -> list[dict[str, Any]]:
    steps = []
    for path in sorted((PROJECT_ROOT / "data").glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in (data.get("rules") or []) + (data.get("stories") or []):
            steps.extend(block.get("steps", []))
            steps.extend(block.get("condition", []))
    return steps


def test_every_contract_intent_and_entity_is_in_the_domain(domain: dict[str, Any]) -> None:
    assert set(CONTRACT_INTENTS) <= set(domain["intents"])
    # Plus the language detector's entity, which no training example carries.
    assert set(domain["entities"]) == set(ENTITY_VALUES) | {LANGUAGE_ENTITY}


def test_every_domain_intent_has_a_rule_or_story(domain: dict[str, Any]) -> None:
    used = {step["intent"] for step in dialogue_steps() if "intent" in step}
    assert set(domain["intents"]) - used == set()


def test_slots(domain: dict[str, Any]) -> None:
    slots = domain["slots"]
    assert slots["topic"]["mappings"] == [{"type": "custom"}]
    for kind in ENTITY_VALUES:
        assert slots[kind]["mappings"] == [{"type": "from_entity", "entity": kind}]
    # Only consent steers the dialogue (the no-consent rule); everything else is data.
    for name, slot in slots.items():
        assert slot["influence_conversation"] is (name == "contact_consent"), name
    assert slots["contact_consent"]["type"] == "bool"
    for name in ("contact_name", "contact_channel", "contact_value", "contact_time"):
        [mapping] = slots[name]["mappings"]
        assert mapping["type"] == "from_text"
        assert "stop" in mapping["not_intent"] and "report_urgent" in mapping["not_intent"]
        assert mapping["conditions"] == [{"active_loop": "handoff_form", "requested_slot": name}]
    assert domain["forms"]["handoff_form"]["required_slots"] == [
        "contact_name", "contact_channel", "contact_value", "contact_time", "contact_consent",
    ]  # fmt: skip


def test_responses_use_only_known_placeholders_and_invent_no_clinic_values(
    domain: dict[str, Any],
) -> None:
    for name, texts in response_texts(domain).items():
        for text in texts:
            placeholders = set(re.findall(r"{(\w+)}", text))
            assert placeholders <= CLINIC_PLACEHOLDERS | ACTION_PLACEHOLDERS, name
            # Examples of what a patient may type (“after 5pm”) are not clinic values.
            without_examples = re.sub(r"“[^”]*”", "", text)
            for example in EXAMPLE_NUMBERS:
                without_examples = without_examples.replace(example, "")
            # No phone numbers, emergency numbers or opening hours typed into the domain.
            assert not re.search(r"\d{3,}|\b\d{1,2}(:\d\d)?\s*(am|pm)\b", without_examples), name


def test_urgent_care_comes_first_and_names_the_numbers(domain: dict[str, Any]) -> None:
    [text] = response_texts(domain)["utter_urgent_care"]
    assert "urgent medical care" in text
    assert text.index("{clinic_emergency_number}") < text.index("{clinic_phone}")
    rules = yaml.safe_load((PROJECT_ROOT / "data/rules/urgent.yml").read_text())["rules"]
    urgent = [r for r in rules if r["steps"][0] == {"intent": "report_urgent"}]
    assert len(urgent) == 2  # outside and inside the handoff form
    for rule in urgent:
        replies = [s["action"] for s in rule["steps"] if s.get("action", "").startswith("utter_")]
        assert replies[0] == "utter_urgent_care"


def test_responses_that_must_stand_alone(domain: dict[str, Any]) -> None:
    texts = response_texts(domain)
    assert "{clinic_phone}" in texts["utter_action_unavailable"][0]
    assert "{clinic_phone}" in texts["utter_no_consent"][0]
    assert "{clinic_hours}" in texts["utter_logistics_hours"][0]
    assert "{clinic_address}" in texts["utter_logistics_location"][0]
    assert "{clinic_hours}" in texts["utter_handoff_submitted"][0]
    assert "shorter" in texts["utter_message_too_long"][0]
    assert (
        "not personal medical advice" in texts["utter_greet_disclaimer"][0].replace("\n", " ")
        or "isn't personal medical advice" in texts["utter_greet_disclaimer"][0]
    )


def test_every_logistics_intent_answers_then_offers_staff() -> None:
    rules = yaml.safe_load((PROJECT_ROOT / "data/rules/handoff.yml").read_text())["rules"]
    flows = {r["steps"][0].get("intent"): [s.get("action") for s in r["steps"][1:]] for r in rules}
    for intent in LOGISTICS_INTENTS:
        assert flows[intent] == [f"utter_logistics_{intent.removeprefix('ask_')}",
                                 "utter_offer_handoff"]  # fmt: skip


def test_every_response_the_actions_send_exists(domain: dict[str, Any]) -> None:
    sent = set()
    for path in (PROJECT_ROOT / "actions").glob("*.py"):
        sent |= set(re.findall(r'response="(utter_\w+)"', path.read_text(encoding="utf-8")))
        sent |= set(re.findall(r'RESPONSE = "(utter_\w+)"', path.read_text(encoding="utf-8")))
    assert sent, "no responses found: did the pattern change?"
    assert sent <= set(domain["responses"])


def test_form_questions_exist_for_every_required_slot(domain: dict[str, Any]) -> None:
    for slot in domain["forms"]["handoff_form"]["required_slots"]:
        assert f"utter_ask_{slot}" in domain["responses"]


def test_actions_listed_in_the_domain_exist(domain: dict[str, Any]) -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(PROJECT_ROOT, "actions").glob("*.py")
    )
    for action in domain["actions"]:
        assert f'return "{action}"' in source, action


def test_every_response_is_used_somewhere(domain: dict[str, Any]) -> None:
    """Rules/stories use most responses; the rest are sent by code Rasa's validator can't see.

    `rasa data validate` warns "utterance ... is not used in any story or rule" for
    exactly the second group; this test keeps that list explained and complete.
    """
    in_dialogue = {step["action"] for step in dialogue_steps() if "action" in step}
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("actions", "bot/rasa_ext", "bot")
        for path in (PROJECT_ROOT / folder).glob("*.py")
    )
    by_code = set(re.findall(r'"(utter_\w+)"', code))
    form_questions = {f"utter_ask_{s}" for s in domain["forms"]["handoff_form"]["required_slots"]}
    rasa_default = {"utter_default"}  # action_default_fallback (RulePolicy core fallback)

    unexplained = set(domain["responses"]) - in_dialogue - by_code - form_questions - rasa_default
    assert unexplained == set()


def test_the_out_of_scope_decline_says_what_the_assistant_does_and_offers_no_contact(
    domain: dict,
) -> None:
    [variant] = domain["responses"]["utter_out_of_scope"]
    text = variant["text"]
    assert "mesotherapy for hair loss" in text
    assert "{clinic_" not in text and not variant.get("buttons")


def test_the_bot_challenge_reply_never_opens_by_agreeing(domain: dict) -> None:
    for variant in domain["responses"]["utter_bot_challenge"]:
        assert not variant["text"].lower().startswith(("yes", "yeah", "sure"))
        assert "not a person" in variant["text"]


def test_other_language_replies_give_the_emergency_number_and_the_clinic_team(
    domain: dict,
) -> None:
    variants = domain["responses"]["utter_other_language"]
    languages = {c["value"] for v in variants for c in v.get("condition") or []}
    assert {"es", "fr", "de", "it", "pt"} <= languages
    for variant in variants:
        assert "{clinic_emergency_number}" in variant["text"]
        assert "English" in variant["text"]
        assert variant["buttons"][0]["payload"] == "/request_human"
