"""docs/security.md's rule for viewers: no contact details (names typed into the
contact form included), and no looking a conversation up by phone number."""

from __future__ import annotations

from tests.staff.conftest import Staff

NAME = "Philippa Quenby"


def _form_conversation(tracker) -> None:  # type: ignore[no-untyped-def]
    talk = tracker.conversation("web-form-name", channel="socketio")
    talk.session_start()
    talk.user("can someone call me back?", "request_human", 0.95)
    talk.form("handoff_form")
    talk.bot("What name should the clinic use?")
    talk.user(NAME, "inform", 0.4)
    talk.slot("contact_name", NAME)
    talk.user("tomorrow after 5pm", "inform", 0.4)
    talk.slot("contact_time", "tomorrow after 5pm")
    talk.slot("contact_channel", "phone")
    talk.form(None)
    talk.user("thanks, what is mesotherapy?", "ask_what_is", 0.9)


def test_viewer_cannot_open_a_conversation_by_phone_number(viewer: Staff, sample) -> None:  # type: ignore[no-untyped-def]
    for key in ("447700900123", "+447700900123"):
        assert viewer.client.get(f"/conversations/{key}").status_code == 404
    # The same 404 as for a conversation that doesn't exist: no oracle.
    assert viewer.client.get("/conversations/447700900999").status_code == 404


def test_reviewer_still_opens_it(reviewer: Staff, sample) -> None:  # type: ignore[no-untyped-def]
    assert reviewer.client.get("/conversations/447700900123").status_code == 200


def test_viewer_does_not_see_names_typed_into_the_form(viewer: Staff, tracker) -> None:  # type: ignore[no-untyped-def]
    _form_conversation(tracker)
    page = viewer.client.get("/conversations/web-form-name").text
    assert NAME not in page and "tomorrow after 5pm" not in page
    assert "thanks, what is mesotherapy?" in page  # answers after the form stay visible
    assert "can someone call me back?" in page


def test_viewer_cannot_find_a_conversation_by_a_name_typed_into_the_form(
    viewer: Staff, tracker
) -> None:  # type: ignore[no-untyped-def]
    _form_conversation(tracker)
    found = viewer.client.get("/conversations", params={"q": "Quenby"})
    assert found.status_code == 200 and "web-form-name" not in found.text
    assert "web-form-name" in viewer.client.get("/conversations", params={"q": "what is meso"}).text


def test_reviewer_sees_the_form_answers(reviewer: Staff, tracker) -> None:  # type: ignore[no-untyped-def]
    _form_conversation(tracker)
    assert NAME in reviewer.client.get("/conversations/web-form-name").text


def test_viewer_does_not_see_a_number_typed_at_the_channel_question(viewer: Staff, tracker) -> None:  # type: ignore[no-untyped-def]
    # The handoff form infers the channel from a typed number, so the channel slot's
    # raw value (from_text) is the number itself before validation says "phone".
    talk = tracker.conversation("web-form-channel", channel="socketio")
    talk.session_start()
    talk.user("can someone call me back?", "request_human", 0.95)
    talk.form("handoff_form")
    talk.bot("How would you like them to contact you?")
    talk.user("+34 612 345 678", "inform", 0.7)
    talk.slot("contact_channel", "+34 612 345 678")
    talk.slot("contact_channel", "phone")
    talk.slot("contact_value", "+34 612 345 678")
    talk.form(None)
    page = viewer.client.get("/conversations/web-form-channel").text
    assert "612 345 678" not in page
    assert "phone" in page  # the chosen channel itself says nothing about the patient
