"""Outbound formatting: splitting, citations, reply buttons and lists."""

from __future__ import annotations

import pytest

from bot.channels.whatsapp_messages import (
    BUTTON_TITLE_LIMIT,
    ROW_TITLE_LIMIT,
    TEXT_LIMIT,
    format_for_whatsapp,
    interactive_payload,
    link_lines,
    split_text,
    truncate,
)

TO = "15550001111"


def _paragraphs(total: int) -> str:
    sentence = "Mesotherapy sessions usually take about thirty minutes each. "
    paragraph = (sentence * 8).strip()
    text = ""
    while len(text) < total:
        text += paragraph + "\n\n"
    return text[:total].rstrip() + "."


def test_short_text_is_one_chunk() -> None:
    assert split_text("Hello there.") == ["Hello there."]
    assert split_text("   ") == []


def test_5000_characters_split_on_paragraphs() -> None:
    text = _paragraphs(5000)
    chunks = split_text(text)
    assert len(chunks) == 2
    assert all(len(c) <= TEXT_LIMIT for c in chunks)
    assert chunks[0].endswith(".")  # cut at a paragraph end, not mid-word
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_sentence_boundary_when_no_paragraphs() -> None:
    text = "This is one sentence that goes on. " * 150  # ~5250 chars, no newlines
    chunks = split_text(text.strip())
    assert all(len(c) <= TEXT_LIMIT for c in chunks)
    assert chunks[0].endswith("on.")


def test_word_boundary_then_hard_cut() -> None:
    words = "word " * 1200
    chunks = split_text(words)
    assert all(len(c) <= TEXT_LIMIT and not c.startswith(" ") for c in chunks)
    assert all(c.endswith("word") for c in chunks)
    blob = "x" * 9000
    chunks = split_text(blob)
    assert [len(c) for c in chunks] == [4096, 4096, 808]


@pytest.mark.parametrize("limit", [50, 100, 1024])
def test_chunks_never_exceed_the_limit(limit: int) -> None:
    text = _paragraphs(3000) + "\n" + "y" * 300 + " tail"
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_sources_line_is_italic() -> None:
    text = "You usually need about 10 sessions.\nSources: What Is Mesotherapy?; Vizox Clinique"
    assert format_for_whatsapp(text) == (
        "You usually need about 10 sessions.\n_Sources: What Is Mesotherapy?; Vizox Clinique_"
    )


def test_text_without_sources_is_unchanged() -> None:
    assert format_for_whatsapp("Hello!\nHow can I help?") == "Hello!\nHow can I help?"


def test_only_a_trailing_sources_line_is_formatted_and_only_once() -> None:
    text = "Sources: are mentioned here\nbut this is the end."
    assert format_for_whatsapp(text) == text
    once = format_for_whatsapp("A.\nSources: X")
    assert format_for_whatsapp(once) == once


def test_markdown_bold_and_links_become_whatsapp_style() -> None:
    text = "This is **important**. See [the guide](https://example.org/guide)."
    assert (
        format_for_whatsapp(text)
        == "This is *important*. See the guide (https://example.org/guide)."
    )


def test_truncate_marks_the_cut() -> None:
    assert truncate("short", 20) == "short"
    cut = truncate("How many sessions do I need?", 20)
    assert len(cut) == 20 and cut.endswith("…")


def test_three_buttons_become_reply_buttons() -> None:
    buttons = [
        {"title": "Side effects", "payload": "/ask_side_effects"},
        {"title": "How many sessions will I need in total?", "payload": "/ask_number_of_sessions"},
        {"title": "Aftercare: sauna", "payload": '/ask_aftercare{"activity":"sauna"}'},
    ]
    payload = interactive_payload(TO, "Body", buttons)
    assert payload["to"] == TO and payload["messaging_product"] == "whatsapp"
    interactive = payload["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Body"}
    replies = [b["reply"] for b in interactive["action"]["buttons"]]
    assert [r["id"] for r in replies] == [b["payload"] for b in buttons]
    assert all(len(r["title"]) <= BUTTON_TITLE_LIMIT for r in replies)
    assert replies[1]["title"] == "How many sessions w…"


def test_more_than_three_buttons_become_a_list() -> None:
    buttons = [
        {"title": f"Topic number {i} with a long title", "payload": f"/ask_topic_{i}"}
        for i in range(12)
    ]
    payload = interactive_payload(TO, "Pick one", buttons)
    interactive = payload["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"]
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert [r["id"] for r in rows] == [f"/ask_topic_{i}" for i in range(10)]
    assert all(len(r["title"]) <= ROW_TITLE_LIMIT for r in rows)
    # The full title survives in the description when the title had to be cut.
    assert rows[0]["description"] == "Topic number 0 with a long title"


def test_four_short_buttons_list_rows_have_no_description() -> None:
    buttons = [{"title": t, "payload": f"/{t}"} for t in ("yes", "no", "maybe", "later")]
    rows = interactive_payload(TO, "?", buttons)["interactive"]["action"]["sections"][0]["rows"]
    assert rows == [{"id": f"/{t}", "title": t} for t in ("yes", "no", "maybe", "later")]


def test_duplicate_titles_after_truncation_are_made_unique() -> None:
    buttons = [
        {"title": "Aftercare for the sauna", "payload": "/a"},
        {"title": "Aftercare for the sun", "payload": "/b"},
    ]
    replies = interactive_payload(TO, "?", buttons)["interactive"]["action"]["buttons"]
    titles = [b["reply"]["title"] for b in replies]
    assert len(set(titles)) == 2 and all(len(t) <= BUTTON_TITLE_LIMIT for t in titles)


def test_duplicate_payloads_are_dropped() -> None:
    buttons = [{"title": "A", "payload": "/x"}, {"title": "B", "payload": "/x"}]
    replies = interactive_payload(TO, "?", buttons)["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in replies] == ["/x"]


def test_over_long_payload_falls_back_to_the_title() -> None:
    buttons = [{"title": "Sauna", "payload": "/ask_aftercare" + "x" * 300}]
    (button,) = interactive_payload(TO, "?", buttons)["interactive"]["action"]["buttons"]
    assert button["reply"] == {"id": "Sauna", "title": "Sauna"}


def test_buttons_without_payload_are_not_clickable() -> None:
    buttons = [{"title": "Website", "url": "https://clinic.example"}]
    assert interactive_payload(TO, "?", buttons) is None
    assert link_lines(buttons) == ["Website: https://clinic.example"]


def test_missing_title_uses_the_payload() -> None:
    (button,) = interactive_payload(TO, "?", [{"payload": "/greet"}])["interactive"]["action"][
        "buttons"
    ]
    assert button["reply"] == {"id": "/greet", "title": "/greet"}
