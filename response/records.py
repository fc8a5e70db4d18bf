"""Tables of the response stage: incidents, the audit trail of actions, verdicts.

An incident gathers every medium-or-higher detection of one identity until an
analyst resolves it; at most one incident per identity is open at a time, which the
database itself enforces with a partial unique index. Each action the response
takes (or would take, in dry-run) is one row of the audit trail, at most one of
each kind per incident, so replaying a detection can never act twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credwatch.db import Base, UTCDateTime

INCIDENT_STATUSES = ("open", "resolved")
VERDICTS = ("true-positive", "false-positive", "expected")
ACTION_MODES = ("dry-run", "enforce")
# `held`: stopped by the circuit breaker until a person approves or drops it.
ACTION_STATUSES = ("planned", "recorded", "done", "failed", "skipped", "held")

# Incidents of a long-running compromise would otherwise grow without bound; the
# first events (the ones that opened the incident) are the ones kept.
MAX_EVENT_IDS = 500
MAX_REASONS = 100
# Fingerprints of the detections already merged, newest last, for idempotency.
MAX_DETECTION_KEYS = 500

AUTOMATED_ACTOR = "credwatch"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Incident(Base):
    """One identity's suspected sharing or compromise, from detection to verdict."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(255), index=True)
    identity_kind: Mapped[str] = mapped_column(String(32))
    identity_name: Mapped[str | None] = mapped_column(String(255))
    tier: Mapped[str] = mapped_column(String(16))
    risk: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the evidence happened, as opposed to when credwatch wrote it down; the
    # summaries' time-to-detect and time-to-respond need both.
    first_detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    event_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    detection_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    detection_count: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str | None] = mapped_column(String(32))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verdict_by: Mapped[str | None] = mapped_column(String(255))
    ticket_url: Mapped[str | None] = mapped_column(String(1024))
    model_version: Mapped[str | None] = mapped_column(String(64))

    actions: Mapped[list[Action]] = relationship(
        back_populates="incident",
        order_by="Action.id",
        cascade="all, delete-orphan",
        foreign_keys="Action.incident_id",
    )
    verdicts: Mapped[list[VerdictRecord]] = relationship(
        back_populates="incident",
        order_by="VerdictRecord.id",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint(_one_of("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(
            f"verdict IS NULL OR {_one_of('verdict', VERDICTS)}", name="verdict"
        ),
        # The database, not only the code, guarantees one open incident per
        # identity, so two processes racing on the same identity cannot both open one.
        Index(
            "uq_incidents_one_open_per_identity",
            "identity_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    def __repr__(self) -> str:
        return (
            f"Incident(id={self.id!r}, identity_id={self.identity_id!r}, "
            f"tier={self.tier!r}, status={self.status!r})"
        )


class Action(Base):
    """One response action in the audit trail: what, to whom, why, how it went."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255), default=AUTOMATED_ACTOR)
    reason: Mapped[str] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(Text)
    # For a reversal ('unsuspend', ...): the action it undoes.
    reverses_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(
        back_populates="actions", foreign_keys=[incident_id]
    )

    __table_args__ = (
        UniqueConstraint("incident_id", "kind"),
        CheckConstraint(_one_of("mode", ACTION_MODES), name="mode"),
        CheckConstraint(_one_of("status", ACTION_STATUSES), name="status"),
    )

    def __repr__(self) -> str:
        return (
            f"Action(id={self.id!r}, incident_id={self.incident_id!r}, "
            f"kind={self.kind!r}, mode={self.mode!r}, status={self.status!r})"
        )


class VerdictRecord(Base):
    """Every verdict given on an incident, including ones later changed."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(back_populates="verdicts")

    __table_args__ = (CheckConstraint(_one_of("verdict", VERDICTS), name="verdict"),)
