"""The audit log: who viewed, exported or changed what, and from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.staff.models import AuditEntry

SYSTEM_ACTOR = "system"


def record(
    target_db: Engine | Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Add one audit row; pass a Session to make it part of the change it records."""
    entry = AuditEntry(
        actor=actor[:64],
        action=action[:40],
        target=None if target is None else target[:255],
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        ip=ip,
    )
    if isinstance(target_db, Session):
        target_db.add(entry)
        return
    with session_scope(target_db) as session:
        session.add(entry)


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    target: str = ""
    page: int = 1
    size: int = 100


def search(engine: Engine, query: AuditQuery) -> tuple[list[AuditEntry], int]:
    """Newest first, filtered by exact actor/action/target."""
    conditions = []
    if query.actor:
        conditions.append(AuditEntry.actor == query.actor)
    if query.action:
        conditions.append(AuditEntry.action == query.action)
    if query.target:
        conditions.append(AuditEntry.target == query.target)
    with session_scope(engine) as session:
        total = session.execute(
            sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions)
        ).scalar_one()
        rows = (
            session.execute(
                sa.select(AuditEntry)
                .where(*conditions)
                .order_by(AuditEntry.id.desc())
                .limit(query.size)
                .offset((query.page - 1) * query.size)
            )
            .scalars()
            .all()
        )
    return list(rows), int(total)


def actions(engine: Engine) -> list[tuple[str, int]]:
    """Every action name with its count, for the audit page's facet."""
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(AuditEntry.action, sa.func.count())
            .group_by(AuditEntry.action)
            .order_by(sa.func.count().desc())
        ).all()
    return [(name, int(count)) for name, count in rows]
