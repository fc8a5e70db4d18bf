"""The durable outbox: work for outside services, written with the decision to do it.

An entry is added in the same transaction as the audit row it carries out (or the
ticket comment it posts), so a decision is never committed without its work, and
work is never lost to a crash: the executor (`response.executor`) picks up every
due entry, including those a stopped process had claimed, once their lease ends.

Entry states:

- `pending`: to run at `next_attempt_at` (again after a transient failure);
- `held`: stopped by the circuit breaker until a person approves or drops it;
- `done`: carried out; `cancelled`: its action was released or dropped first;
- `dead`: failed for good (a refusal, or too many attempts) until re-approved.

`ActionAttempt` is the audit of each try: written and committed before the call
goes out, completed after it, so a crash mid-call still leaves the trace.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from credwatch.db import Base, UTCDateTime, ensure_utc
from response.records import Action

logger = logging.getLogger(__name__)

ENTRY_KINDS = ("action", "ticket_comment")
ENTRY_STATES = ("pending", "held", "done", "cancelled", "dead")


class OutboxEntry(Base):
    """One piece of outside work waiting to be carried out, or carried out."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The audit row this entry carries out; at most one entry per action.
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), unique=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A worker's claim; another may take the entry once the lease has run out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # Who released a held or dead entry; such work bypasses the circuit breaker.
    approved_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


class ActionAttempt(Base):
    """One try at an outbox entry: who, what, why, the request, and how it went."""

    __tablename__ = "action_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), index=True
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    # False when a person approved the work: the breaker counts automation only.
    automated: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ok: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(Text)
    responses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


def enqueue_action(session: Session, action: Action, *, now: datetime) -> OutboxEntry:
    """Queue an audit row for the executor (the row must have its id)."""
    entry = OutboxEntry(
        kind="action",
        action_id=action.id,
        incident_id=action.incident_id,
        state="pending",
        payload={},
        attempts=0,
        next_attempt_at=ensure_utc(now),
        created_at=ensure_utc(now),
        updated_at=ensure_utc(now),
    )
    session.add(entry)
    return entry


def enqueue_comment(
    session: Session,
    *,
    incident_id: int,
    text: str,
    priority: str | None = None,
    now: datetime,
) -> OutboxEntry:
    """Queue a comment for the incident's ticket (and a priority raise, if given)."""
    entry = OutboxEntry(
        kind="ticket_comment",
        action_id=None,
        incident_id=incident_id,
        state="pending",
        payload={"text": text, "priority": priority},
        attempts=0,
        next_attempt_at=ensure_utc(now),
        created_at=ensure_utc(now),
        updated_at=ensure_utc(now),
    )
    session.add(entry)
    return entry


def due_entry_ids(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Pending entries whose time has come and that no live claim holds, oldest first."""
    now = ensure_utc(now)
    statement = (
        select(OutboxEntry.id)
        .where(
            OutboxEntry.state == "pending",
            OutboxEntry.next_attempt_at <= now,
            or_(OutboxEntry.claimed_until.is_(None), OutboxEntry.claimed_until < now),
        )
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def claim(session: Session, entry_id: int, *, now: datetime, lease: timedelta) -> bool:
    """Take the entry for one worker; False when another holds it or it is not due.

    One conditional UPDATE, so two workers racing for an entry cannot both win.
    """
    now = ensure_utc(now)
    result = session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.id == entry_id,
            OutboxEntry.state == "pending",
            or_(OutboxEntry.claimed_until.is_(None), OutboxEntry.claimed_until < now),
        )
        .values(claimed_until=now + lease, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def automated_attempts_since(
    session: Session, *, kinds: tuple[str, ...], since: datetime
) -> int:
    """Automated first tries at these kinds since `since`, across the organisation."""
    statement = select(func.count(ActionAttempt.id)).where(
        ActionAttempt.kind.in_(kinds),
        ActionAttempt.automated.is_(True),
        ActionAttempt.attempt == 1,
        ActionAttempt.started_at >= ensure_utc(since),
    )
    return int(session.scalar(statement) or 0)


def entry_for_action(session: Session, action_id: int) -> OutboxEntry | None:
    return session.scalars(
        select(OutboxEntry).where(OutboxEntry.action_id == action_id)
    ).one_or_none()


def attempts_of(session: Session, action_id: int) -> list[ActionAttempt]:
    return list(
        session.scalars(
            select(ActionAttempt)
            .where(ActionAttempt.action_id == action_id)
            .order_by(ActionAttempt.id)
        )
    )
