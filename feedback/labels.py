"""Recording a verdict: the incident resolved, and the span it covers kept for training.

Every way a verdict arrives (the command line, the API, a resolved Jira ticket)
goes through `record_verdict`, so each leaves the same trace: the verdict on the
incident and in its history (response.queries.set_verdict), a `VerdictLabel` with
the identity, the time span, the events and the detections it is about, and, for
an "expected" verdict, a suppression of the pattern when that is configured.
Like the response stage, these functions flush and leave the commit to the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from feedback.records import VerdictLabel
from response.queries import get_incident, set_verdict
from response.records import Incident

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerdictOutcome:
    """What recording one verdict did."""

    incident_id: int
    verdict: str
    changed: bool
    label_id: int | None
    suppression_id: int | None = None


def record_verdict(
    session: Session,
    *,
    incident_id: int | str,
    verdict: str,
    source: str,
    actor: str,
    source_ref: str | None = None,
    suppress_hours: float = 0.0,
    now: datetime | None = None,
) -> VerdictOutcome:
    """Resolve the incident with `verdict` and keep the labelled span.

    Giving the same verdict again from the same source and reference changes
    nothing (a Jira ticket is read again whenever it is edited). A different verdict
    replaces the incident's verdict and adds a label; training uses the newest label
    of each incident.
    """
    now = ensure_utc(now or datetime.now(UTC))
    incident = get_incident(session, incident_id)
    latest = latest_label(session, incident.id)
    if (
        latest is not None
        and incident.verdict == verdict
        and latest.verdict == verdict
        and latest.source_ref == source_ref
    ):
        return VerdictOutcome(
            incident_id=incident.id, verdict=verdict, changed=False, label_id=latest.id
        )

    set_verdict(session, incident.id, verdict, actor=actor, now=now)
    label = label_for(
        incident,
        verdict=verdict,
        source=source,
        actor=actor,
        source_ref=source_ref,
        now=now,
    )
    session.add(label)
    session.flush()

    suppression_id = None
    if verdict == "expected" and suppress_hours > 0:
        from feedback.suppressions import suppress_incident_pattern

        suppression = suppress_incident_pattern(
            session, incident=incident, hours=suppress_hours, actor=actor, now=now
        )
        suppression_id = suppression.id if suppression is not None else None
    logger.info(
        "verdict %s on incident %s from %s%s",
        verdict,
        incident.id,
        source,
        f" ({source_ref})" if source_ref else "",
    )
    return VerdictOutcome(
        incident_id=incident.id,
        verdict=verdict,
        changed=True,
        label_id=label.id,
        suppression_id=suppression_id,
    )


def label_for(
    incident: Incident,
    *,
    verdict: str,
    source: str,
    actor: str,
    source_ref: str | None,
    now: datetime,
) -> VerdictLabel:
    """The labelled span of an incident: from the hour of its first detection on."""
    first = ensure_utc(incident.first_detected_at)
    return VerdictLabel(
        incident_id=incident.id,
        identity_id=incident.identity_id,
        identity_kind=incident.identity_kind,
        # Detections name the time the window reached its tier; the window itself
        # began at the top of that hour.
        start=first.replace(minute=0, second=0, microsecond=0),
        end=ensure_utc(incident.last_detected_at),
        verdict=verdict,
        rules=list(incident.rules),
        event_ids=list(incident.event_ids),
        detection_keys=list(incident.detection_keys),
        source=source,
        source_ref=source_ref,
        actor=actor,
        created_at=now,
    )


def latest_label(session: Session, incident_id: int) -> VerdictLabel | None:
    return session.scalars(
        select(VerdictLabel)
        .where(VerdictLabel.incident_id == incident_id)
        .order_by(VerdictLabel.id.desc())
        .limit(1)
    ).first()


def current_labels(
    session: Session, *, since: datetime | None = None
) -> list[VerdictLabel]:
    """The newest label of every incident, oldest span first.

    With `since`, only spans that end at or after it.
    """
    rows = session.scalars(select(VerdictLabel).order_by(VerdictLabel.id)).all()
    newest: dict[int, VerdictLabel] = {}
    for row in rows:
        newest[row.incident_id] = row
    labels = sorted(newest.values(), key=lambda row: (row.start, row.id))
    if since is not None:
        since = ensure_utc(since)
        labels = [row for row in labels if ensure_utc(row.end) >= since]
    return labels
