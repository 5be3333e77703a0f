"""Turning Rasa bot messages into WhatsApp Cloud API message payloads.

Limits are Meta's (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
text bodies up to 4096 characters, interactive bodies up to 1024, at most 3 reply buttons
with titles up to 20 characters and ids up to 256, and lists of at most 10 rows with titles
up to 24 characters, ids up to 200 and descriptions up to 72.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_ID_LIMIT = 200
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LABEL = "Choose a topic"

ELLIPSIS = "…"

_SENTENCE_END = re.compile(r"[.!?…][)\"'»”’]*\s+")
_MARKDOWN_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_SOURCES_PREFIX = "sources:"


def truncate(text: str, limit: int) -> str:
    """Shorten to at most ``limit`` characters, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def format_for_whatsapp(text: str) -> str:
    """Rewrite the bot's light Markdown into WhatsApp's formatting.

    The answer contract ends every answer with a ``Sources:`` line; on WhatsApp it is set
    in italics so that it reads as a citation rather than part of the answer.
    """
    text = _MARKDOWN_BOLD.sub(r"*\1*", text)
    text = _MARKDOWN_LINK.sub(r"\1 (\2)", text)
    lines = text.rstrip().split("\n")
    last = lines[-1].strip()
    if last.lower().startswith(_SOURCES_PREFIX) and not (
        last.startswith("_") and last.endswith("_")
    ):
        lines[-1] = f"_{last}_"
    return "\n".join(lines)


def _cut_position(text: str, limit: int) -> int:
    """Where to cut ``text`` (longer than ``limit``) so the head fits in ``limit``.

    Prefer a paragraph break, then a line break, then a sentence end, then a space; a
    boundary is only used if it leaves the head at least a quarter full, so that one
    early paragraph break does not produce a stub message.
    """
    window = text[: limit + 1]
    floor = limit // 4
    for separator in ("\n\n", "\n"):
        index = window.rfind(separator, 0, limit)
        if index >= floor:
            return index
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if sentence_ends and sentence_ends[-1] >= floor:
        return sentence_ends[-1]
    space = max(window.rfind(" ", 0, limit + 1), window.rfind("\t", 0, limit + 1))
    if space >= floor:
        return space
    return limit


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into chunks of at most ``limit`` characters on natural boundaries."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        cut = _cut_position(text, limit)
        head = text[:cut].rstrip()
        if head:
            chunks.append(head)
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def text_payload(to: str, body: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def _unique(titles: Iterable[str], limit: int) -> list[str]:
    """Truncated titles, made unique (Meta rejects duplicate titles in one message)."""
    seen: set[str] = set()
    result: list[str] = []
    for title in titles:
        candidate = truncate(title, limit) or "Option"
        number = 2
        while candidate in seen:
            suffix = f" {number}"
            candidate = truncate(title, limit - len(suffix)) + suffix
            number += 1
        seen.add(candidate)
        result.append(candidate)
    return result


def _options(buttons: Iterable[dict[str, Any]], id_limit: int) -> list[tuple[str, str]]:
    """(id, full title) pairs for buttons that carry a payload; ids are the payloads."""
    options: list[tuple[str, str]] = []
    seen_ids: set[str] = set()
    for button in buttons:
        payload = str(button.get("payload") or "").strip()
        title = str(button.get("title") or "").strip()
        if not payload:
            continue
        if len(payload) > id_limit:
            # A cut payload would trigger the wrong intent; sending the title instead lets
            # the patient's tap be understood by NLU like a typed message.
            logger.warning(
                "WhatsApp: a button payload is longer than %d characters; its title is "
                "sent as the reply id instead.",
                id_limit,
            )
            payload = truncate(title or payload, id_limit)
        if payload in seen_ids:
            continue
        seen_ids.add(payload)
        options.append((payload, title or payload))
    return options


def link_lines(buttons: Iterable[dict[str, Any]]) -> list[str]:
    """Rasa URL buttons have no WhatsApp reply equivalent; they become text lines."""
    lines = []
    for button in buttons:
        url = str(button.get("url") or "").strip()
        if url and not button.get("payload"):
            title = str(button.get("title") or "").strip()
            lines.append(f"{title}: {url}" if title else url)
    return lines


def interactive_payload(to: str, body: str, buttons: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Reply buttons for up to 3 choices, a list for more; None when nothing is clickable.

    ``body`` must already fit in INTERACTIVE_BODY_LIMIT.
    """
    options = _options(buttons, BUTTON_ID_LIMIT)
    if not options:
        return None
    if len(options) <= MAX_BUTTONS:
        titles = _unique((title for _, title in options), BUTTON_TITLE_LIMIT)
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": payload, "title": title}}
                for (payload, _), title in zip(options, titles, strict=True)
            ]
        }
        kind = "button"
    else:
        options = _options(buttons, ROW_ID_LIMIT)
        if len(options) > MAX_LIST_ROWS:
            logger.debug(
                "WhatsApp: %d choices, only the first %d fit in a list.",
                len(options),
                MAX_LIST_ROWS,
            )
            options = options[:MAX_LIST_ROWS]
        titles = _unique((title for _, title in options), ROW_TITLE_LIMIT)
        rows = []
        for (payload, full_title), title in zip(options, titles, strict=True):
            row = {"id": payload, "title": title}
            if title != " ".join(full_title.split()):
                row["description"] = truncate(full_title, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        action = {"button": LIST_BUTTON_LABEL, "sections": [{"rows": rows}]}
        kind = "list"
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": body}, "action": action},
    }
