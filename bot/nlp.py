"""The project's spaCy pipeline: blank English + sentencizer + lookup lemmatizer.

No pretrained spaCy model can be downloaded here, so we build one from the
`spacy-lookups-data` tables and save it inside the repo (``spacy_pipeline/``),
the relative path that ``config.yml`` gives to Rasa's SpacyNLP.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language

PIPELINE_NAME = "en_meso_lookup"


def build_pipeline() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["description"] = "Blank English with sentencizer and lookup lemmatizer"
    return nlp


def save_pipeline(target: Path) -> Path:
    nlp = build_pipeline()
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


def ensure_pipeline(target: Path) -> Path:
    """Build the pipeline unless a saved one is already there (idempotent)."""
    if (target / "meta.json").is_file() and (target / "lemmatizer").exists():
        return target
    return save_pipeline(target)


@lru_cache(maxsize=1)
def load_pipeline() -> Language:
    from bot.config import get_settings

    path = get_settings().spacy_model_dir
    if not (path / "meta.json").is_file():
        return build_pipeline()
    return spacy.load(path)
