"""The durable queue of Event Hook deliveries, in the service's database.

A delivery is committed (on SQLite, the WAL is synced) before Okta gets its 204, so
an acknowledged delivery survives a crash. A worker claims the oldest waiting one
with a conditional UPDATE, which works the same on SQLite and PostgreSQL and lets
several server processes share one queue; a claim left behind by a process that
died is taken over after `CREDWATCH_HOOK_CLAIM_TIMEOUT_S` (ten minutes by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update

from credwatch.settings import Settings
from serving.records import HookDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
KEEP_DONE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    body: bytes
    attempts: int


class DeliveryQueue:
    """Deliveries waiting to be scored, and the record of those that were."""

    def __init__(self, settings: Settings) -> None:
        from response.flows import session_factory

        self.engine = session_factory(settings).kw["bind"]
        self.stale_claim = timedelta(seconds=settings.hook_claim_timeout_s)

    def enqueue(self, body: bytes) -> int:
        """Store a delivery durably; its id."""
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(HookDelivery).values(
                    received_at=datetime.now(UTC),
                    status="pending",
                    body=body,
                    size=len(body),
                    attempts=0,
                    events=0,
                    duplicates=0,
                    quarantined=0,
                )
            )
            return int(result.inserted_primary_key[0])

    def claim(self) -> Claimed | None:
        """Take the oldest waiting delivery, or None when there is none."""
        now = datetime.now(UTC)
        waiting = or_(
            HookDelivery.status == "pending",
            (HookDelivery.status == "working")
            & (HookDelivery.claimed_at < now - self.stale_claim),
        )
        with self.engine.begin() as connection:
            row = connection.execute(
                select(HookDelivery.id, HookDelivery.status, HookDelivery.attempts)
                .where(waiting)
                .order_by(HookDelivery.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            taken = connection.execute(
                update(HookDelivery)
                .where(HookDelivery.id == row.id, HookDelivery.status == row.status)
                .values(status="working", claimed_at=now, attempts=row.attempts + 1)
            )
            if taken.rowcount != 1:
                # Another process claimed it between the two statements.
                return None
            body = connection.execute(
                select(HookDelivery.body).where(HookDelivery.id == row.id)
            ).scalar_one()
        return Claimed(row.id, bytes(body or b""), row.attempts + 1)

    def seen_delivery(self, delivery_id: str, *, other_than: int) -> bool:
        """Whether another delivery with Okta's same `eventId` was already scored."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(HookDelivery.id)
                .where(
                    HookDelivery.delivery_id == delivery_id,
                    HookDelivery.id != other_than,
                    HookDelivery.status == "done",
                )
                .limit(1)
            ).first()
        return found is not None

    def finish(
        self,
        delivery: int,
        *,
        delivery_id: str | None,
        events: int,
        duplicates: int,
        quarantined: int,
    ) -> None:
        """Mark a delivery scored and drop its body (its events are in the store)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(HookDelivery)
                .where(HookDelivery.id == delivery)
                .values(
                    status="done",
                    body=None,
                    delivery_id=delivery_id,
                    processed_at=datetime.now(UTC),
                    events=events,
                    duplicates=duplicates,
                    quarantined=quarantined,
                    error=None,
                )
            )

    def fail(self, claimed: Claimed, error: str) -> str:
        """Put a delivery back for another try, or give up on it; its new status."""
        status = "pending" if claimed.attempts < MAX_ATTEMPTS else "failed"
        with self.engine.begin() as connection:
            connection.execute(
                update(HookDelivery)
                .where(HookDelivery.id == claimed.id)
                .values(status=status, error=error[:2000], claimed_at=None)
            )
        return status

    def depth(self) -> int:
        """Deliveries not yet scored (waiting or being scored)."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(HookDelivery)
                    .where(HookDelivery.status.in_(("pending", "working")))
                ).scalar_one()
            )

    def purge(self) -> int:
        """Forget deliveries scored more than `KEEP_DONE` ago."""
        cutoff = datetime.now(UTC) - KEEP_DONE
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(HookDelivery).where(
                    HookDelivery.status == "done", HookDelivery.processed_at < cutoff
                )
            )
        return result.rowcount or 0
