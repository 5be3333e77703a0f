"""``python -m bot spacy build``: build the project's spaCy pipeline."""

from __future__ import annotations

import argparse

from bot.cli import CommandGroup
from bot.config import get_settings
from bot.nlp import ensure_pipeline, save_pipeline


def _build(args: argparse.Namespace) -> int:
    target = get_settings().spacy_model_dir
    if args.force:
        save_pipeline(target)
    else:
        ensure_pipeline(target)
    print(f"spaCy pipeline ready at {target}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "spacy", "the project's spaCy pipeline")
    build = group.add("build", _build, "build spacy_pipeline/ (blank English + lookups)")
    build.add_argument("--force", action="store_true", help="rebuild even if present")
