"""Intent and entity names from the project's Rasa domain (domain.yml or domain/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.contract import FALLBACK_INTENT, SESSION_START_INTENT, TOO_LONG_INTENT

# Intents staff cannot choose as a correction: Rasa's built-ins, and the one our
# input-length component sets (it never comes from training examples).
NOT_CORRECTABLE = frozenset(
    {FALLBACK_INTENT, "restart", "back", SESSION_START_INTENT, TOO_LONG_INTENT}
)


@dataclass(frozen=True)
class DomainInfo:
    intents: tuple[str, ...]
    entities: tuple[str, ...]

    @property
    def correctable_intents(self) -> tuple[str, ...]:
        return tuple(i for i in self.intents if i not in NOT_CORRECTABLE)


def _names(items: Any) -> list[str]:
    names: list[str] = []
    for item in items or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names.extend(str(key) for key in item)
    return names


def load_domain(project_root: Path) -> DomainInfo:
    """Read every domain file; a missing domain gives empty lists, not an error."""
    single = project_root / "domain.yml"
    folder = project_root / "domain"
    paths = (
        [single] if single.is_file() else sorted(folder.rglob("*.yml")) if folder.is_dir() else []
    )
    intents: list[str] = []
    entities: list[str] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict):
            intents += [n for n in _names(data.get("intents")) if n not in intents]
            entities += [n for n in _names(data.get("entities")) if n not in entities]
    return DomainInfo(tuple(intents), tuple(entities))
