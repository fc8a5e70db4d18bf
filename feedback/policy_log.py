"""The record of changes to how credwatch decides, which the summaries count.

Promotions and rollbacks of the model, suppressions added and lifted, map changes
accepted: each is one `PolicyChange` row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from feedback.records import PolicyChange


def log_change(
    session: Session, *, kind: str, detail: str, actor: str, now: datetime | None = None
) -> PolicyChange:
    row = PolicyChange(
        kind=kind,
        detail=detail[:2000],
        actor=actor,
        at=ensure_utc(now or datetime.now(UTC)),
    )
    session.add(row)
    session.flush()
    return row


def changes_between(
    session: Session, *, since: datetime, until: datetime
) -> list[PolicyChange]:
    return list(
        session.scalars(
            select(PolicyChange)
            .where(
                PolicyChange.at >= ensure_utc(since),
                PolicyChange.at < ensure_utc(until),
            )
            .order_by(PolicyChange.at)
        )
    )
