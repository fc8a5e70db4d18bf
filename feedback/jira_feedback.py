"""`credwatch feedback`: verdicts from tickets resolved since the saved cursor.

Each resolved credwatch ticket is read for its incident and verdict
(feedback.ticket_verdicts). A verdict on a known incident is recorded like any
other (feedback.labels); a ticket without a verdict, naming no incident, or naming
one this database does not know is reported and left alone. The cursor moves to
the newest `updated` read, in the same transaction as the verdicts, so a crash
neither loses nor doubles one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from feedback.labels import record_verdict
from feedback.records import FeedbackCursor
from feedback.ticket_verdicts import TicketReading, read_ticket, verdict_values
from response.errors import UnknownIncident

logger = logging.getLogger(__name__)

CURSOR_NAME = "jira-verdicts"
# The first run, with no cursor yet, looks back this far.
FIRST_LOOKBACK = timedelta(days=30)


@dataclass
class FeedbackReport:
    """What one pass over the resolved tickets found."""

    tickets: int = 0
    applied: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    # Tickets left alone, each with the reason.
    problems: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "applied": self.applied,
            "unchanged": self.unchanged,
            "problems": self.problems,
            "cursor": self.cursor,
        }


def read_cursor(session: Session, name: str = CURSOR_NAME) -> datetime | None:
    row = session.get(FeedbackCursor, name)
    return datetime.fromisoformat(row.value) if row is not None else None


def save_cursor(
    session: Session, value: datetime, *, now: datetime, name: str = CURSOR_NAME
) -> None:
    row = session.get(FeedbackCursor, name)
    text = ensure_utc(value).isoformat()
    if row is None:
        session.add(FeedbackCursor(name=name, value=text, updated_at=now))
    else:
        row.value = text
        row.updated_at = now
    session.flush()


def collect_jira_verdicts(
    session: Session,
    *,
    source: Any,
    verdict_source: str,
    extra_values: dict[str, str],
    label_prefix: str,
    field_id: str | None,
    suppress_hours: float,
    now: datetime | None = None,
) -> FeedbackReport:
    """Apply the verdicts of tickets resolved since the cursor; move the cursor.

    `source` is a `JiraVerdictSource` (or anything with its `resolved_since`).
    """
    now = ensure_utc(now or datetime.now(UTC))
    since = read_cursor(session) or now - FIRST_LOOKBACK
    values = verdict_values(extra_values)
    extra_fields = (field_id,) if verdict_source == "field" and field_id else ()
    report = FeedbackReport()
    newest = since
    for issue in source.resolved_since(since=since, now=now, extra_fields=extra_fields):
        report.tickets += 1
        reading = read_ticket(
            issue,
            source=verdict_source,  # type: ignore[arg-type]
            values=values,
            label_prefix=label_prefix,
            field_id=field_id,
        )
        updated = _jira_time(reading.updated)
        if updated is not None and updated > newest:
            newest = updated
        _apply(session, reading, report=report, suppress_hours=suppress_hours, now=now)
    save_cursor(session, newest, now=now)
    report.cursor = newest.isoformat()
    logger.info(
        "feedback: %d tickets, %d verdicts applied, %d unchanged, %d left alone",
        report.tickets,
        len(report.applied),
        report.unchanged,
        len(report.problems),
    )
    return report


def _apply(
    session: Session,
    reading: TicketReading,
    *,
    report: FeedbackReport,
    suppress_hours: float,
    now: datetime,
) -> None:
    if reading.problem is not None or reading.verdict is None:
        report.problems.append(
            {
                "ticket": reading.key,
                "incident_id": reading.incident_id,
                "problem": reading.problem or "no verdict",
            }
        )
        logger.warning("ticket %s left alone: %s", reading.key, reading.problem)
        return
    try:
        with session.begin_nested():
            outcome = record_verdict(
                session,
                incident_id=reading.incident_id,  # type: ignore[arg-type]
                verdict=reading.verdict,
                source="jira",
                actor=f"jira:{reading.key}",
                source_ref=reading.key,
                suppress_hours=suppress_hours,
                now=now,
            )
    except UnknownIncident:
        report.problems.append(
            {
                "ticket": reading.key,
                "incident_id": reading.incident_id,
                "problem": f"names incident {reading.incident_id}, "
                "which credwatch does not know",
            }
        )
        logger.warning(
            "ticket %s names unknown incident %s", reading.key, reading.incident_id
        )
        return
    if outcome.changed:
        report.applied.append(
            {
                "ticket": reading.key,
                "incident_id": outcome.incident_id,
                "verdict": outcome.verdict,
                "suppression_id": outcome.suppression_id,
            }
        )
    else:
        report.unchanged += 1


def _jira_time(text: str | None) -> datetime | None:
    """Jira's `2026-03-02T10:15:30.000+0000` (or ISO with a colon) as aware UTC."""
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern).astimezone(UTC)
        except ValueError:
            continue
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError:
        logger.warning("unreadable Jira time %r", text)
        return None
