"""``python -m bot nlu export``: staff corrections as Rasa NLU YAML for data/nlu/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.appdb import migrated_engine
from bot.cli import CommandGroup
from bot.config import get_settings
from bot.staff import audit
from bot.staff.cli import CLI_ACTOR
from bot.staff.domain import load_domain
from bot.staff.nlu_export import export_corrections


def _export(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = migrated_engine(settings.app_db_url)
    result = export_corrections(engine, settings.project_root, load_domain(settings.project_root))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.text, encoding="utf-8")
        destination = str(out)
    else:
        sys.stdout.write(result.text)
        destination = "stdout"
    audit.record(
        engine,
        CLI_ACTOR,
        "export_nlu",
        None,
        {"examples": result.examples, "intents": result.intents, "to": destination},
    )
    notes = [f"{result.examples} examples for {result.intents} intents written to {destination}"]
    if result.already_present:
        notes.append(f"{result.already_present} left out: already in data/nlu")
    if result.conflicts:
        notes.append(f"{len(result.conflicts)} left out: data/nlu labels the same text differently")
    print("; ".join(notes), file=sys.stderr)
    return 0


def _sync(_args: argparse.Namespace) -> int:
    from bot.facts.nlu_sync import GENERATED, VocabularyConflict, sync

    try:
        changed = sync()
    except VocabularyConflict as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = GENERATED.relative_to(get_settings().project_root)
    print(f"{'Wrote' if changed else 'Up to date:'} {where}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(
        subparsers, "nlu", "NLU training data: staff corrections, synonyms from the vocabulary"
    )
    export = group.add(
        "export", _export, "write staff intent corrections as Rasa NLU YAML (version 3.1)"
    )
    export.add_argument(
        "--out",
        metavar="FILE",
        help="file to write, e.g. data/nlu/staff_corrections.yml (default: stdout)",
    )
    group.add(
        "sync",
        _sync,
        "write data/nlu/generated/synonyms.yml (entity synonyms, lookup tables) "
        "from data/facts/vocabulary.yml",
    )
