"""Tables of the feedback stage: labelled spans, cursors, suppressions, proposals.

A verdict resolves an incident (response/records.py keeps it on the incident); the
feedback stage also keeps what the verdict is about in a form training can use: the
identity, the span of time the incident covered, its events and detections. Those
`verdict_labels` rows are the labelled history every retrain reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from credwatch.db import Base, UTCDateTime
from response.records import VERDICTS

VERDICT_SOURCES = ("cli", "api", "jira")
PROPOSAL_KINDS = ("agent_network", "known_network", "shared_access")
PROPOSAL_STATUSES = ("proposed", "accepted", "rejected")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class VerdictLabel(Base):
    """One verdict on one incident, with the span, events and detections it covers."""

    __tablename__ = "verdict_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[str] = mapped_column(String(255), index=True)
    identity_kind: Mapped[str] = mapped_column(String(32))
    # From the start of the hour of the first detection to the last detection.
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    verdict: Mapped[str] = mapped_column(String(32))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    event_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    detection_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16))
    # The ticket key for Jira verdicts.
    source_ref: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_one_of("verdict", VERDICTS), name="verdict"),
        CheckConstraint(_one_of("source", VERDICT_SOURCES), name="source"),
    )


class FeedbackCursor(Base):
    """Where a verdict source was last read up to (Jira: the newest `updated` seen)."""

    __tablename__ = "feedback_cursors"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suppression(Base):
    """A pattern that raises no incident until it expires or is lifted.

    The identity is always named; the network (`AS123` or an address block, as
    features name networks) and the client family narrow it when set.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(255), index=True)
    network: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(255))


class MapProposal(Base):
    """A change to the deployment map that "expected" verdicts suggest."""

    __tablename__ = "map_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The agent's or person's id; empty for an organisation-wide known network.
    identity_id: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        UniqueConstraint("kind", "identity_id", "value"),
        CheckConstraint(_one_of("kind", PROPOSAL_KINDS), name="kind"),
        CheckConstraint(_one_of("status", PROPOSAL_STATUSES), name="status"),
    )


class PolicyChange(Base):
    """A change to how credwatch decides: promotions, suppressions, map, rules."""

    __tablename__ = "policy_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
