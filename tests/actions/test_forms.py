"""validate_handoff_form: the handoff form meets patients where they are.

Typed numbers and addresses are understood at every step, words work like the
buttons, a question in the middle of the form hands the turn back to the rules, and
an answer that doesn't fit is asked again as ONE message (a variation of the form's
own question chosen by Rasa's response filter, the one the running bot uses).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa_sdk.executor import CollectingDispatcher

from actions.contact import ContactDetail
from actions.forms import NOTED, REASK_SLOT, ValidateHandoffForm, detail_before, is_question_intent
from actions.handoff import form_start
from bot import PROJECT_ROOT
from tests.actions.conftest import make_tracker, responses, slot_events, user_event

FORM = "handoff_form"
REJECTED = {"event": "action_execution_rejected", "name": FORM}


async def validate(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    requested: str,
    text: str,
    slots: dict[str, Any] | None = None,
    value: Any = None,
    intent: str = "inform",
) -> list[dict[str, Any]]:
    """Run the validation action as Rasa's form does after the patient answered."""
    tracker = make_tracker(
        intent=intent,
        text=text,
        slots={**(slots or {}), "requested_slot": requested},
        active_loop=FORM,
        candidates={requested: text if value is None else value},
    )
    return await ValidateHandoffForm().run(dispatcher, tracker, domain)


async def run_form_validation(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], requested: str, text: str, **kwargs
) -> dict[str, Any]:
    events = await validate(dispatcher, domain, requested, text, **kwargs)
    assert REJECTED["event"] not in [event["event"] for event in events]
    # A validator never talks: the form's next question is the turn's one prompt.
    assert responses(dispatcher) == []
    return slot_events(events)


def question_text(domain: dict[str, Any], slot: str, **slots: Any) -> str:
    """The utter_ask_<slot> text Rasa's NLG picks with these slot values.

    Exactly one variation must fit: Rasa picks at random among several, and a
    random choice between a question and a re-ask would be a bug.
    """
    variations = ResponseVariationFilter(domain["responses"]).responses_for_utter_action(
        f"utter_ask_{slot}", "rest", {REASK_SLOT: None, **slots}
    )
    assert len(variations) == 1, variations
    return variations[0]["text"]


# --- name ---------------------------------------------------------------------------


async def test_name_is_accepted(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_name", "my name is Anna Kowalski"
    )

    assert slots["contact_name"] == "Anna Kowalski"
    assert slots[REASK_SLOT] is None


async def test_a_non_name_is_asked_again_in_one_message(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_name", "no")

    assert slots["contact_name"] is None
    assert slots[REASK_SLOT] == "contact_name"
    assert question_text(domain, "contact_name", **slots).startswith("Sorry, I just need a name")


@pytest.mark.parametrize(
    ("text", "channel", "value"),
    [
        ("+34 612 345 678", "phone", "+34 612 345 678"),
        ("anna@example.com", "email", "anna@example.com"),
        ("whatsapp me on 0034 612 345 678", "whatsapp", "0034 612 345 678"),
    ],
)
async def test_a_number_or_address_instead_of_the_name_is_kept(
    dispatcher, domain, text: str, channel: str, value: str
) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_name", text)

    assert (slots["contact_channel"], slots["contact_value"]) == (channel, value)
    # Only the name is still missing, and the question says the detail was kept.
    assert slots["contact_name"] is None
    assert slots[REASK_SLOT] == NOTED
    assert "noted" in question_text(domain, "contact_name", **slots)


# --- channel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel", "intent"),
    [
        ("phone", "phone", "inform"),
        ("Email", "email", "inform"),
        ("whatsapp", "whatsapp", "inform"),
        # NLU reads a bare "call me" as a request for a person: still an answer here.
        ("call me", "phone", "request_human"),
        ("email is fine", "email", "inform"),
        ("whatsapp pls", "whatsapp", "inform"),
        ("by phone", "phone", "inform"),
        ("text me on whatsapp", "whatsapp", "inform"),
        ("can you ring me", "phone", "chitchat"),
        # A channel word is an answer even when NLU hears a question.
        ("can you whatsapp me?", "whatsapp", "ask_clinic_services"),
    ],
)
async def test_typed_channel_words_work_like_the_buttons(
    dispatcher, domain, text: str, channel: str, intent: str
) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_channel", text, intent=intent)

    assert slots["contact_channel"] == channel
    assert "contact_value" not in slots
    assert slots[REASK_SLOT] is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("+34 612 345 678", "+34 612 345 678"),
        ("0034 612 345 678", "0034 612 345 678"),
        ("+34-612-345-678", "+34 612 345 678"),
        ("+34.612.345.678", "+34 612 345 678"),
        ("(+34) 612 345 678", "+34 612 345 678"),
        ("+44 (0)20 7946 0958", "+44 20 7946 0958"),
        ("you can call me on 612 345 678", "612 345 678"),
    ],
)
async def test_a_number_typed_at_the_channel_question_means_phone(
    dispatcher, domain, text: str, value: str
) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_channel", text)

    assert slots["contact_channel"] == "phone"
    assert slots["contact_value"] == value
    assert slots[REASK_SLOT] is None


async def test_a_number_with_whatsapp_named_means_whatsapp(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_channel", "whatsapp: +34 612 345 678"
    )

    assert (slots["contact_channel"], slots["contact_value"]) == ("whatsapp", "+34 612 345 678")


async def test_an_address_typed_at_the_channel_question_fills_both(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_channel", "email me at anna@example.com"
    )

    assert (slots["contact_channel"], slots["contact_value"]) == ("email", "anna@example.com")


async def test_a_number_is_an_answer_whatever_nlu_thought(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_channel", "+34 612 345 678", intent="ask_price"
    )

    assert slots["contact_value"] == "+34 612 345 678"


async def test_an_unknown_channel_is_asked_again_in_one_message(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_channel", "carrier pigeon")

    assert slots["contact_channel"] is None
    assert slots[REASK_SLOT] == "contact_channel"
    reask = question_text(domain, "contact_channel", **slots)
    assert "phone" in reask and "email" in reask and "WhatsApp" in reask
    assert reask != question_text(domain, "contact_channel")


# --- value --------------------------------------------------------------------------


async def test_good_phone_is_accepted(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "+44 7700 900123", slots={"contact_channel": "phone"}
    )

    assert slots["contact_value"] == "+44 7700 900123"
    assert slots[REASK_SLOT] is None


async def test_a_whatsapp_number_stays_whatsapp(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "my number is +34 612 345 678",
        slots={"contact_channel": "whatsapp"},
    )  # fmt: skip

    assert (slots["contact_channel"], slots["contact_value"]) == ("whatsapp", "+34 612 345 678")


@pytest.mark.parametrize(
    "bad", ["07", "my number is secret", "call me maybe", "12 34", "612 345 67a"]
)
@pytest.mark.parametrize("channel", ["phone", "whatsapp"])
async def test_bad_phone_is_asked_again_once_with_an_example(
    dispatcher, domain, bad: str, channel: str
) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", bad, slots={"contact_channel": channel}
    )

    assert slots["contact_value"] is None
    assert slots[REASK_SLOT] == "contact_value"
    reask = question_text(domain, "contact_value", contact_channel=channel, **slots)
    assert reask.startswith("That doesn't look like a phone number")
    assert "+44 7700 900123" in reask


async def test_good_email_is_accepted(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "it's anna.k@gmail.com",
        slots={"contact_channel": "email"},
    )  # fmt: skip

    assert slots["contact_value"] == "anna.k@gmail.com"


@pytest.mark.parametrize("bad", ["anna at gmail dot com", "anna@gmail", "no idea"])
async def test_bad_email_is_asked_again_once_with_an_example(dispatcher, domain, bad: str) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", bad, slots={"contact_channel": "email"}
    )

    assert slots["contact_value"] is None
    reask = question_text(domain, "contact_value", contact_channel="email", **slots)
    assert reask.startswith("That doesn't look like an email address")
    assert "name@example.com" in reask


async def test_a_number_given_for_email_switches_to_phone(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "just call 07700 900456",
        slots={"contact_channel": "email"},
    )  # fmt: skip

    assert (slots["contact_channel"], slots["contact_value"]) == ("phone", "07700 900456")


async def test_naming_another_channel_switches_and_asks_for_it(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "actually email is better",
        slots={"contact_channel": "phone"},
    )  # fmt: skip

    assert slots["contact_channel"] == "email"
    assert slots["contact_value"] is None
    assert slots[REASK_SLOT] is None
    assert question_text(domain, "contact_value", **slots).startswith("What email address")


# --- time and consent ---------------------------------------------------------------


async def test_best_time_is_kept_as_typed(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_time", "weekday mornings")

    assert slots["contact_time"] == "weekday mornings"


@pytest.mark.parametrize("text", ["10.00-12.00", "on 12.05.2026 please"])
async def test_times_and_dates_are_not_phone_numbers(dispatcher, domain, text: str) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_time", text, slots={"contact_channel": "email"}
    )

    assert slots["contact_time"] == text.removesuffix(".")
    assert "contact_value" not in slots


async def test_a_new_number_at_the_time_question_replaces_the_old(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_time", "better use +34 612 345 678",
        slots={"contact_channel": "phone", "contact_value": "+44 7700 900123"},
    )  # fmt: skip

    assert slots["contact_value"] == "+34 612 345 678"
    assert slots["contact_time"] is None
    assert "noted" in question_text(domain, "contact_time", **slots)


@pytest.mark.parametrize(("intent", "value"), [("affirm", True), ("deny", False)])
async def test_consent_buttons(dispatcher, domain, intent: str, value: bool) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_consent", f"/{intent}", value=value, intent=intent
    )

    assert slots["contact_consent"] is value


async def test_unclear_consent_is_asked_again_in_one_message(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_consent", "maybe later")

    assert slots["contact_consent"] is None
    reask = question_text(domain, "contact_consent", **slots)
    assert reask.startswith("Please answer yes or no")


async def test_complete_form_requests_no_further_slot(dispatcher, domain) -> None:
    filled = {
        "contact_name": "Anna",
        "contact_channel": "phone",
        "contact_value": "+44 7700 900123",
        "contact_time": "mornings",
    }
    slots = await run_form_validation(
        dispatcher, domain, "contact_consent", "/affirm", slots=filled, value=True, intent="affirm"
    )

    assert slots["contact_consent"] is True
    # No requested_slot override: Rasa's form action sees every slot filled and ends.
    assert "requested_slot" not in slots


# --- questions in the middle of the form -------------------------------------------


@pytest.mark.parametrize(
    ("requested", "text", "intent"),
    [
        ("contact_name", "does it hurt though?", "ask_pain"),
        ("contact_channel", "how much does it cost?", "ask_price"),
        ("contact_value", "is it safe?", "ask_safety"),
        ("contact_time", "does it hurt?", "ask_pain"),
        ("contact_consent", "what about the gym?", "ask_what_about"),
        ("contact_name", "i'm pregnant, is that ok?", "personal_medical"),
    ],
)
async def test_a_question_hands_the_turn_back_to_the_rules(
    dispatcher, domain, requested: str, text: str, intent: str
) -> None:
    events = await validate(
        dispatcher, domain, requested, text, slots={"contact_channel": "phone"}, intent=intent
    )

    assert REJECTED in [{"event": e["event"], "name": e.get("name")} for e in events]
    slots = slot_events(events)
    assert slots[requested] is None  # the question is not kept as an answer
    assert slots[REASK_SLOT] is None  # and the form's plain question follows
    assert responses(dispatcher) == []


@pytest.mark.parametrize(
    ("requested", "text", "intent", "slot", "value"),
    [
        # What NLU really said for these answers (model of 2026-12-02): answering a
        # practitioner question instead would ask for the name again, every turn.
        ("contact_name", "Dr Patel", "ask_practitioner", "contact_name", "Dr Patel"),
        ("contact_time", "every other week", "ask_course_schedule", "contact_time",
         "every other week"),
    ],
)  # fmt: skip
async def test_an_answer_nlu_took_for_a_question_is_still_an_answer(
    dispatcher, domain, requested: str, text: str, intent: str, slot: str, value: str
) -> None:
    slots = await run_form_validation(
        dispatcher, domain, requested, text, slots={"contact_channel": "phone"}, intent=intent
    )

    assert slots[slot] == value


@pytest.mark.parametrize(
    ("requested", "text", "intent"),
    [
        ("contact_channel", "price", "ask_price"),  # no channel: answer it, ask again
        ("contact_time", "tell me about the side effects", "ask_side_effects"),
    ],
)
async def test_a_question_without_a_question_mark_is_answered(
    dispatcher, domain, requested: str, text: str, intent: str
) -> None:
    events = await validate(dispatcher, domain, requested, text, intent=intent)

    assert REJECTED in [{"event": e["event"], "name": e.get("name")} for e in events]


async def test_after_the_answer_the_form_asks_again_without_rejecting(dispatcher, domain) -> None:
    # The form runs again on the same message after the rule answered it: no slot was
    # taken from it this time, so validation neither rejects nor sets anything.
    tracker = make_tracker(
        intent="ask_pain",
        text="does it hurt though?",
        slots={"requested_slot": "contact_channel", "contact_name": "Anna"},
        active_loop=FORM,
    )

    assert await ValidateHandoffForm().run(dispatcher, tracker, domain) == []


async def test_a_new_form_starts_with_no_reask_pending(dispatcher, domain) -> None:
    tracker = make_tracker(intent="request_human", text="talk to a person",
                           slots={REASK_SLOT: "contact_value"})  # fmt: skip

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert slot_events(events) == {REASK_SLOT: None}


async def test_a_number_in_the_request_itself_is_carried_into_the_form(dispatcher, domain) -> None:
    tracker = make_tracker(
        intent="request_human", text="can someone call me on +34 612 345 678 please"
    )

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    # Kept, and the first question says so ("Thanks, I've noted how to reach you...").
    assert slot_events(events) == {
        "contact_channel": "phone",
        "contact_value": "+34 612 345 678",
        REASK_SLOT: NOTED,
    }
    assert dispatcher.messages == []


async def test_an_address_given_before_an_accepted_offer_is_carried(dispatcher, domain) -> None:
    # "inform" -> "Would you like someone from the clinic team to contact you?" -> "yes"
    before = [user_event("inform", "my email is Anna.K@Example.com", timestamp=100.0)]
    tracker = make_tracker(intent="affirm", text="yes please", events=before)

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert slot_events(events)["contact_value"] == "Anna.K@example.com"
    assert detail_before(tracker.events) == (ContactDetail("email", "Anna.K@example.com"), 100.0)


async def test_a_number_from_an_earlier_form_is_not_carried(dispatcher, domain) -> None:
    earlier = [
        user_event("inform", "+34 612 345 678"),
        {"event": "active_loop", "name": None, "timestamp": 1.0},
        user_event("greet", "hi again"),
    ]
    tracker = make_tracker(intent="request_human", text="talk to a person", events=earlier)

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert slot_events(events) == {REASK_SLOT: None}


def test_a_carried_number_is_erased_with_the_form_answers_when_consent_is_declined() -> None:
    # form_start is where FormAnswerEraser starts rewriting the stored events.
    tracker = make_tracker(
        intent="deny",
        events=[
            user_event("ask_pain", "does it hurt?", timestamp=50.0),
            user_event("request_human", "call me on +34 612 345 678", timestamp=100.0),
            {"event": "active_loop", "name": FORM, "timestamp": 101.0},
        ],
    )
    assert form_start(tracker) == 100.0
    plain = make_tracker(
        intent="deny",
        events=[
            user_event("request_human", "talk to a person", timestamp=100.0),
            {"event": "active_loop", "name": FORM, "timestamp": 101.0},
        ],
    )
    assert form_start(plain) == 101.0


def test_every_question_intent_has_an_in_form_rule_that_resumes_the_form(domain) -> None:
    rules = yaml.safe_load((PROJECT_ROOT / "data/rules/forms.yml").read_text())["rules"]
    resumed: set[str] = set()
    for rule in rules:
        if rule.get("condition") != [{"active_loop": FORM}]:
            continue
        steps = rule["steps"]
        first = steps[0].get("or", [steps[0]])
        if steps[-2:] == [{"action": FORM}, {"active_loop": FORM}]:
            resumed |= {step["intent"] for step in first if "intent" in step}
    questions = {intent for intent in domain["intents"] if is_question_intent(intent)}
    assert len(questions) > 30
    assert questions == resumed


def test_each_slot_has_one_question_for_every_reask_state(domain) -> None:
    for slot in domain["forms"]["handoff_form"]["required_slots"]:
        for reask in (None, slot, NOTED):
            for channel in ("phone", "email", "whatsapp"):
                question_text(domain, slot, contact_reask=reask, contact_channel=channel)
