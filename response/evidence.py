"""The Okta events that carry an incident's evidence, kept for its ticket.

An incident stores only event ids; the ticket must show the events themselves
(when, what, from where, with which client). Whoever scores events as they arrive
(`credwatch watch`) keeps a short summary of each event a detection cites, so the
ticket can be written later, even by another process, without the event store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from credwatch.db import Base, UTCDateTime, ensure_utc
from events.schemas import LogEvent


class EvidenceEvent(Base):
    """A cited Okta event, summarised."""

    __tablename__ = "evidence_events"

    uuid: Mapped[str] = mapped_column(String(255), primary_key=True)
    identity_id: Mapped[str | None] = mapped_column(String(255), index=True)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_type: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def summarise(event: LogEvent) -> dict[str, Any]:
    """What a ticket shows of one event."""
    actor = event.actor
    security = event.securityContext
    user_agent = event.user_agent
    return {
        "uuid": event.uuid,
        "published": event.published.strftime("%Y-%m-%dT%H:%M:%SZ")
        if event.published
        else None,
        "eventType": event.eventType,
        "displayMessage": event.displayMessage,
        "actor": (actor.alternateId or actor.id) if actor else None,
        "ip": event.ip,
        "place": ", ".join(str(v) for v in (event.city, event.country) if v),
        "asn": event.asn,
        "asOrg": security.asOrg if security else None,
        "userAgent": user_agent[:160] if user_agent else None,
        "outcome": event.outcome.result if event.outcome else None,
        "session": event.session_id,
        "apps": [
            target.displayName or target.alternateId or target.id
            for target in event.target or []
            if target.type == "AppInstance"
        ],
    }


def keep_evidence(
    session: Session, *, identity_id: str, events: Iterable[LogEvent]
) -> int:
    """Store summaries of events not kept yet; returns how many were new."""
    fresh = 0
    for event in events:
        if session.get(EvidenceEvent, event.uuid) is not None:
            continue
        session.add(
            EvidenceEvent(
                uuid=event.uuid,
                identity_id=identity_id,
                published=ensure_utc(event.published) if event.published else None,
                event_type=event.eventType,
                summary=summarise(event),
            )
        )
        fresh += 1
    return fresh


def evidence_for(session: Session, event_ids: list[str]) -> list[dict[str, Any]]:
    """Summaries of the kept events among `event_ids`, oldest first."""
    if not event_ids:
        return []
    rows = session.scalars(
        select(EvidenceEvent).where(EvidenceEvent.uuid.in_(event_ids[:500]))
    ).all()
    rows = sorted(
        rows, key=lambda row: (row.published is None, row.published, row.uuid)
    )
    return [dict(row.summary) for row in rows]
