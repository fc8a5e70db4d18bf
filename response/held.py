"""Actions waiting for a person: held by the circuit breaker, or failed for good.

`approve` sends such an action back to the outbox (it then bypasses the breaker,
since a person decided); `drop` cancels it. Both are written to the audit trail
with who decided. Like the other queries these flush and leave the commit to the
caller.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from response.errors import ResponseError
from response.outbox import OutboxEntry, enqueue_action, entry_for_action
from response.records import Action

logger = logging.getLogger(__name__)

WAITING_STATUSES = ("held", "failed")


class UnknownAction(ResponseError, LookupError):
    """No action has the given id, or it is not waiting for a person."""


def waiting_actions(session: Session) -> list[Action]:
    """Held actions, and failed ones the outbox gave up on, oldest first."""
    rows = session.scalars(
        select(Action).where(Action.status.in_(WAITING_STATUSES)).order_by(Action.id)
    ).all()
    waiting = []
    for action in rows:
        entry = entry_for_action(session, action.id)
        # A failed action still being retried is not waiting for anyone yet.
        if action.status == "failed" and entry is not None and entry.state == "pending":
            continue
        waiting.append(action)
    return waiting


def approve(
    session: Session, action_id: int, *, actor: str, now: datetime | None = None
) -> Action:
    """Release a held (or given-up) action to run; the breaker no longer applies."""
    now = ensure_utc(now or datetime.now(UTC))
    action, entry = _waiting(session, action_id)
    action.status = "planned"
    action.outcome = f"approved by {actor}: queued in the outbox"
    action.updated_at = now
    if entry is None:
        entry = enqueue_action(session, action, now=now)
    entry.state = "pending"
    entry.approved_by = actor
    entry.next_attempt_at = now
    entry.claimed_until = None
    entry.attempts = 0
    entry.updated_at = now
    session.flush()
    logger.info("action %s (%s) approved by %s", action.id, action.kind, actor)
    return action


def drop(
    session: Session, action_id: int, *, actor: str, now: datetime | None = None
) -> Action:
    """Cancel a held (or given-up) action: it will not run."""
    now = ensure_utc(now or datetime.now(UTC))
    action, entry = _waiting(session, action_id)
    action.status = "skipped"
    action.outcome = f"dropped by {actor}; it was: {action.outcome}"
    action.updated_at = now
    if entry is not None:
        entry.state = "cancelled"
        entry.updated_at = now
    session.flush()
    logger.info("action %s (%s) dropped by %s", action.id, action.kind, actor)
    return action


def _waiting(
    session: Session, action_id: int | str
) -> tuple[Action, OutboxEntry | None]:
    text = str(action_id).strip().lstrip("#")
    action = session.get(Action, int(text)) if text.isdigit() else None
    if action is None:
        raise UnknownAction(f"no action {action_id}")
    if action.status not in WAITING_STATUSES:
        raise UnknownAction(
            f"action {action.id} is {action.status}, not held or failed: nothing to decide"
        )
    return action, entry_for_action(session, action.id)
