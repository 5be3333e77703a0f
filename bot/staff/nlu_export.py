"""Staff corrections as Rasa NLU training data (YAML, `version: "3.1"`).

The file must go into data/nlu/ and pass `rasa data validate --fail-on-warnings`
unchanged, so this module:
- writes each example on one line of a literal block (whitespace collapsed,
  non-printable characters dropped, so no YAML escaping is ever needed);
- turns square brackets in patient text into parentheses, because Rasa would read
  `[text](x)` as an entity annotation;
- keeps the entities the model found (only those of the domain), since an unannotated
  mention would teach the entity extractor that "sauna" is not an activity;
- replaces emails and phone numbers with example values, so no contact detail
  becomes training data;
- leaves out texts data/nlu already has, and texts it labels with another intent
  (Rasa warns about those), reporting how many.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.staff.domain import DomainInfo
from bot.staff.models import NluCorrection
from bot.staff.redact import redact_text

ANNOTATION = re.compile(r"\[([^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
SAFE_VALUE = re.compile(r"^[\w .'-]+$")
EXAMPLE_EMAIL = "someone@example.com"
EXAMPLE_PHONE = "0123 456 789"


def plain_text(example: str) -> str:
    """The text Rasa trains on: annotations replaced by their surface text."""
    return ANNOTATION.sub(lambda m: m.group(1), example)


def clean(segment: str) -> str:
    """One line of plain text safe for a YAML literal block and Rasa's example syntax."""
    text = re.sub(r"\s+", " ", segment)
    text = "".join(ch for ch in text if ch.isprintable())
    text = redact_text(text, email_mark=EXAMPLE_EMAIL, phone_mark=EXAMPLE_PHONE)
    return text.replace("[", "(").replace("]", ")")


def annotate(text: str, entities: list[dict[str, Any]], allowed: set[str]) -> str:
    """The example line: cleaned text with the domain's entities marked up."""
    spans = []
    for entity in entities:
        start, end, name = entity.get("start"), entity.get("end"), entity.get("entity")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            continue
        if name in allowed and SAFE_NAME.match(str(name)):
            spans.append((start, end, str(name), entity.get("value")))
    parts: list[str] = []
    position = 0
    for start, end, name, value in sorted(spans):
        if start < position:
            continue  # overlapping extractors: keep the first span
        parts.append(clean(text[position:start]))
        surface = clean(text[start:end]).strip()
        if surface:
            same = not isinstance(value, str) or value.lower() == surface.lower()
            if same or not SAFE_VALUE.match(value):
                parts.append(f"[{surface}]({name})")
            else:
                parts.append(f"[{surface}]" + json.dumps({"entity": name, "value": value}))
        position = end
    parts.append(clean(text[position:]))
    return re.sub(" {2,}", " ", "".join(parts)).strip()


def project_examples(nlu_dir: Path) -> dict[str, str]:
    """Every intent example already in data/nlu: plain text -> intent."""
    examples: dict[str, str] = {}
    if not nlu_dir.is_dir():
        return examples
    for path in sorted(nlu_dir.rglob("*.yml")) + sorted(nlu_dir.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue  # `rasa data validate` reports broken files; not our job here
        for item in (data.get("nlu") or []) if isinstance(data, dict) else []:
            if not isinstance(item, dict) or "intent" not in item:
                continue
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples[plain_text(line[2:].strip())] = str(item["intent"])
    return examples


@dataclass
class ExportResult:
    text: str
    examples: int
    intents: int
    already_present: int = 0
    conflicts: list[str] = field(default_factory=list)  # intents data/nlu used instead


def export_corrections(app_engine: Engine, project_root: Path, domain: DomainInfo) -> ExportResult:
    with session_scope(app_engine) as session:
        rows = list(
            session.execute(
                sa.select(NluCorrection)
                .where(NluCorrection.status.in_(("confirmed", "corrected")))
                .order_by(NluCorrection.created_at, NluCorrection.id)
            ).scalars()
        )
    existing = project_examples(project_root / "data" / "nlu")
    allowed_intents = set(domain.correctable_intents) or None
    entities = set(domain.entities)
    by_text: OrderedDict[str, tuple[str, str]] = OrderedDict()  # plain -> (intent, line)
    result = ExportResult(text="", examples=0, intents=0)
    for row in rows:
        intent = row.intent or ""
        if not SAFE_NAME.match(intent) or (allowed_intents and intent not in allowed_intents):
            continue
        line = annotate(row.text, _entities(row.entities_json), entities)
        plain = plain_text(line)
        if not plain:
            continue
        known = existing.get(plain)
        if known == intent:
            result.already_present += 1
            continue
        if known is not None:
            result.conflicts.append(known)
            continue
        by_text.pop(plain, None)  # the latest decision on a text wins
        by_text[plain] = (intent, line)
    grouped: dict[str, list[str]] = {}
    for intent, line in by_text.values():
        grouped.setdefault(intent, []).append(line)
    result.examples = len(by_text)
    result.intents = len(grouped)
    result.text = _render(grouped, result)
    return result


def _entities(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _render(grouped: dict[str, list[str]], result: ExportResult) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        'version: "3.1"',
        "",
        "# Intent examples from staff decisions in the Meso Assistant staff app.",
        f"# Exported {stamp}: {result.examples} examples for {result.intents} intents.",
        "# Contact details were replaced by example values. Review, save under",
        "# data/nlu/ (for example data/nlu/staff_corrections.yml) and retrain.",
    ]
    if result.already_present:
        lines.append(f"# Left out {result.already_present} already in data/nlu.")
    if result.conflicts:
        lines.append(
            f"# Left out {len(result.conflicts)} that data/nlu labels with another intent; "
            "resolve them in the staff app's NLU inbox."
        )
    if not grouped:
        lines += ["", "nlu: []", ""]
        return "\n".join(lines)
    lines += ["", "nlu:"]
    for intent in sorted(grouped):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {line}" for line in grouped[intent]]
    return "\n".join(lines) + "\n"
