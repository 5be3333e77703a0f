"""End-to-end evaluation: patient messages through the real Rasa and action servers.

Each item of ``tests/e2e/patients.yml`` is sent over the REST channel (after its
``context`` message, in the same conversation, for a follow-up). What the patient
saw is then read back:

- the **route**, from what the bot did for that message: the actions it ran and the
  responses it sent, read from the tracker store (a patient can't see a response
  name, but can tell an urgent-care reply from an answer);
- the **facts sent**, from the reply's ``answer_meta`` payload.

``make eval`` runs every item and writes ``results/e2e.json`` and a confusion chart;
``tests/integration/test_e2e.py`` runs a share of them with floors.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, text

ROUTES = (
    "answer",
    "not_covered",
    "handoff",
    "medical_handoff",
    "urgent",
    "out_of_scope",
    "smalltalk",
    "other_language",
)
FALLBACK = "fallback"  # "sorry, I didn't get that": never the right route
ANSWERABLE = frozenset({"answer"})

# What the bot did, most telling first: the first step found decides the route.
_ROUTE_OF_STEP: tuple[tuple[str, str], ...] = (
    ("utter_urgent_care", "urgent"),
    ("utter_other_language", "other_language"),
    ("utter_cannot_give_personal_advice", "medical_handoff"),
    ("action_personal_medical_context", "medical_handoff"),
    ("answer_meta:covered", "answer"),
    ("answer_meta:not_covered", "not_covered"),
    ("utter_no_facts", "not_covered"),
    ("utter_ask_what_about_clarify", FALLBACK),
    ("utter_out_of_scope", "out_of_scope"),
    ("handoff_form", "handoff"),
    ("utter_logistics_", "handoff"),
    ("utter_handoff_", "handoff"),
    ("utter_offer_handoff", "handoff"),
    ("utter_ask_rephrase", FALLBACK),
    ("utter_offer_staff_after_fallback", FALLBACK),
    ("utter_default", FALLBACK),
    ("action_default_fallback", FALLBACK),
    ("utter_greet", "smalltalk"),
    ("utter_goodbye", "smalltalk"),
    ("utter_you_are_welcome", "smalltalk"),
    ("utter_chitchat", "smalltalk"),
    ("utter_bot_challenge", "smalltalk"),
    ("utter_anything_else", "smalltalk"),
    ("utter_message_too_long", "smalltalk"),
)


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    route: str
    facts: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    context: str | None = None
    voice: str = "plain"


@dataclass
class Outcome:
    item: Item
    route: str
    fact_ids: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    intent: str | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def route_ok(self) -> bool:
        return self.route == self.item.route

    @property
    def answer_ok(self) -> bool:
        """The first fact sent is an acceptable one (answer items)."""
        return self.route_ok and bool(self.fact_ids) and self.fact_ids[0] in self.item.facts

    @property
    def second_ok(self) -> bool:
        """A two-question item: the other question answered too, or offered as a button."""
        return any(fact in self.item.also for fact in self.fact_ids[1:])


def load_items(path: Path) -> list[Item]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: list[Item] = []
    for raw in document.get("items") or []:
        route = raw["route"]
        if route not in ROUTES:
            raise ValueError(f"{path}: item {raw.get('id')}: unknown route {route!r}")
        items.append(
            Item(
                id=str(raw["id"]),
                text=str(raw["text"]),
                route=route,
                facts=tuple(raw.get("facts") or ()),
                also=tuple(raw.get("also") or ()),
                context=raw.get("context"),
                voice=str(raw.get("voice") or "plain"),
            )
        )
    return items


def route_of(steps: Sequence[str]) -> str:
    for marker, route in _ROUTE_OF_STEP:
        if any(step == marker or step.startswith(marker) for step in steps):
            return route
    return FALLBACK if not steps else f"other:{steps[0]}"


class TrackerReader:
    """The events of one conversation after its last user message, from the SQL store."""

    def __init__(self, tracker_db_url: str) -> None:
        self.engine = create_engine(tracker_db_url)

    def last_turn(self, sender: str) -> tuple[list[str], dict[str, Any]]:
        """(steps, parse data of the last user message)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT type_name, action_name, data FROM events WHERE sender_id = :s "
                     "ORDER BY id"),
                {"s": sender},
            ).fetchall()  # fmt: skip
        steps: list[str] = []
        parse: dict[str, Any] = {}
        for type_name, action_name, data in rows:
            event = json.loads(data) if data else {}
            if type_name == "user":
                steps, parse = [], event.get("parse_data") or {}
            elif type_name == "action" and action_name and action_name != "action_listen":
                steps.append(action_name)
            elif type_name == "bot":
                utter = (event.get("metadata") or {}).get("utter_action")
                if utter:
                    steps.append(utter)
                custom = ((event.get("data") or {}).get("custom") or {}).get("data") or {}
                if custom.get("kind") == "answer_meta":
                    covered = custom.get("covered", True)
                    steps.append("answer_meta:covered" if covered else "answer_meta:not_covered")
        return steps, parse


def _answer_facts(messages: Iterable[dict[str, Any]]) -> list[str]:
    facts: list[str] = []
    for message in messages:
        custom = message.get("custom")
        data = custom.get("data") if isinstance(custom, dict) else None
        if isinstance(data, dict) and data.get("kind") == "answer_meta":
            facts.extend(str(fact) for fact in data.get("fact_ids") or [])
    return facts


def run_item(item: Item, rasa_url: str, tracker: TrackerReader, timeout: float = 60) -> Outcome:
    sender = f"e2e-{item.id}-{uuid.uuid4().hex[:6]}"
    url = f"{rasa_url}/webhooks/rest/webhook"
    with httpx.Client(timeout=timeout) as client:
        if item.context:
            client.post(url, json={"sender": sender, "message": item.context}).raise_for_status()
        response = client.post(url, json={"sender": sender, "message": item.text})
        response.raise_for_status()
    messages = response.json()
    steps, parse = tracker.last_turn(sender)
    return Outcome(
        item=item,
        route=route_of(steps),
        fact_ids=_answer_facts(messages),
        steps=steps,
        intent=(parse.get("intent") or {}).get("name"),
        ranking=list(parse.get("fact_ranking") or [])[:3],
    )


def run(
    items: Sequence[Item],
    rasa_url: str,
    tracker_db_url: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    tracker = TrackerReader(tracker_db_url)
    outcomes: list[Outcome] = []
    for index, item in enumerate(items, start=1):
        outcomes.append(run_item(item, rasa_url, tracker))
        if progress is not None:
            progress(index, len(items))
    return outcomes


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The figures of docs/evaluation.md: route and answer accuracy, urgent, fallbacks."""
    answers = [o for o in outcomes if o.item.route == "answer"]
    urgent = [o for o in outcomes if o.item.route == "urgent"]
    not_urgent = [o for o in outcomes if o.item.route != "urgent"]
    probes = [o for o in outcomes if o.item.voice == "false_urgent_probe"]
    two = [o for o in outcomes if o.item.also]
    per_route: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        members = [o for o in outcomes if o.item.route == route]
        if members:
            per_route[route] = {
                "n": len(members),
                "accuracy": _share(sum(o.route_ok for o in members), len(members)),
                "predicted": dict(Counter(o.route for o in members).most_common()),
            }
    per_topic: dict[str, dict[str, Any]] = {}
    for outcome in answers:
        topic = outcome.item.facts[0].split(".")[0] if outcome.item.facts else "?"
        entry = per_topic.setdefault(topic, {"n": 0, "answer_ok": 0, "sent_topics": Counter()})
        entry["n"] += 1
        entry["answer_ok"] += outcome.answer_ok
        sent = outcome.fact_ids[0].split(".")[0] if outcome.fact_ids else outcome.route
        entry["sent_topics"][sent] += 1
    for entry in per_topic.values():
        entry["sent_topics"] = dict(entry["sent_topics"].most_common())
    voices: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        entry = voices.setdefault(outcome.item.voice, {"n": 0, "route_ok": 0})
        entry["n"] += 1
        entry["route_ok"] += outcome.route_ok
    return {
        "items": len(outcomes),
        "route_accuracy": _share(sum(o.route_ok for o in outcomes), len(outcomes)),
        "answer_accuracy": _share(sum(o.answer_ok for o in answers), len(answers)),
        "answer_items": len(answers),
        "urgent_recall": _share(sum(o.route == "urgent" for o in urgent), len(urgent)),
        "false_urgent_rate": _share(sum(o.route == "urgent" for o in not_urgent), len(not_urgent)),
        "false_urgent_probe_rate": _share(sum(o.route == "urgent" for o in probes), len(probes)),
        "fallback_rate_on_answerable": _share(
            sum(o.route == FALLBACK for o in answers), len(answers)
        ),
        "second_question_rate": _share(sum(o.second_ok for o in two), len(two)),
        "per_route": per_route,
        "per_topic": dict(sorted(per_topic.items())),
        "per_voice": dict(sorted(voices.items())),
    }


def failures(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    wrong = [
        o for o in outcomes if not o.route_ok or (o.item.route == "answer" and not o.answer_ok)
    ]
    return [
        {
            "id": o.item.id,
            "text": o.item.text,
            "context": o.item.context,
            "expected": o.item.route,
            "expected_facts": list(o.item.facts),
            "got": o.route,
            "sent_facts": o.fact_ids,
            "intent": o.intent,
            "ranking": o.ranking,
            "steps": o.steps,
        }
        for o in wrong
    ]


def write_report(outcomes: Sequence[Outcome], out_dir: Path) -> dict[str, Any]:
    """results/e2e.json (figures, failures, every outcome) and results/e2e-confusion.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(outcomes)
    report = {
        "summary": summary,
        "failures": failures(outcomes),
        "outcomes": [
            {**asdict(o.item), "got": o.route, "sent_facts": o.fact_ids, "intent": o.intent}
            for o in outcomes
        ],
    }
    (out_dir / "e2e.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    plot_confusion(outcomes, out_dir / "e2e-confusion.png")
    return summary


def plot_confusion(outcomes: Sequence[Outcome], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    expected = [route for route in ROUTES if any(o.item.route == route for o in outcomes)]
    predicted = expected + sorted({o.route for o in outcomes} - set(expected))
    counts = [[0] * len(predicted) for _ in expected]
    for outcome in outcomes:
        counts[expected.index(outcome.item.route)][predicted.index(outcome.route)] += 1
    figure, axes = plt.subplots(figsize=(1.1 * len(predicted) + 2, 0.6 * len(expected) + 2))
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(predicted)), predicted, rotation=45, ha="right")
    axes.set_yticks(range(len(expected)), expected)
    axes.set_xlabel("route the bot took")
    axes.set_ylabel("expected route")
    for row, values in enumerate(counts):
        for column, value in enumerate(values):
            if value:
                axes.text(column, row, str(value), ha="center", va="center", fontsize=8)
    axes.set_title("End-to-end routes (tests/e2e/patients.yml)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
