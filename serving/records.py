"""Tables of the scoring service: stored answers and queued Event Hook deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credwatch.db import Base, UTCDateTime

DELIVERY_STATUSES = ("pending", "working", "done", "failed")


class StoredAnswer(Base):
    """The answer given to a scoring request, kept so that a replay gets it again.

    `key` is the caller's `Idempotency-Key` or a fingerprint of the request's
    events, prefixed by the API key's id so that callers never see each other's
    answers. `request_hash` tells a reused `Idempotency-Key` with another body apart
    from a true replay.
    """

    __tablename__ = "stored_answers"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HookDelivery(Base):
    """One Okta Event Hook delivery, stored before it is acknowledged.

    The body is kept until the delivery has been scored, then dropped: the events
    themselves go on to the event store.
    """

    __tablename__ = "hook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    delivery_id: Mapped[str | None] = mapped_column(String(128), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_hook_deliveries_status_id", "status", "id"),)
