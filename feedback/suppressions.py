"""Suppressions: a pattern an analyst called expected raises no incident for a while.

A pattern always names the identity, and may narrow to a network (`AS123`, or an
address block when Okta gave no AS, the way features name networks) and a client
family (`python-requests`, `browser:Chrome`). A detection is suppressed when an
active suppression names its identity and every event it cites falls within the
suppression's network and client. A detection whose events cannot be seen only
matches a suppression of the whole identity: something new is never hidden.

Suppressions expire on their own and can be lifted early; each change is written
to the policy changes the summaries count.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from credwatch.errors import CredwatchError
from features.facts import network_key, user_agent_family
from feedback.policy_log import log_change
from feedback.records import Suppression
from models.schemas import Detection
from response.records import Incident

logger = logging.getLogger(__name__)

# Rules whose finding is about where a credential was used; an expected verdict on
# them names the network. A client mismatch names the client instead.
NETWORK_RULES = frozenset(
    {
        "concurrent_networks",
        "session_context_change",
        "impossible_travel",
        "agent_outside_declared",
        "anonymizing_proxy",
    }
)
CLIENT_RULES = frozenset({"client_mismatch"})


class UnknownSuppression(CredwatchError):
    """No suppression has that id."""


@dataclass(frozen=True)
class Footprint:
    """Where and with what client one cited event ran."""

    network: str | None
    client: str | None

    @classmethod
    def of_summary(cls, summary: dict[str, Any]) -> Footprint:
        """From a kept evidence summary (response.evidence)."""
        asn = summary.get("asn")
        return cls(
            network=network_key(summary.get("ip"), int(asn) if asn else None),
            client=user_agent_family(summary.get("userAgent")),
        )

    @classmethod
    def of_event(cls, event: Any) -> Footprint:
        """From a `LogEvent`."""
        return cls(
            network=network_key(event.ip, event.asn),
            client=user_agent_family(event.user_agent),
        )


def pattern_network(text: str) -> str:
    """A network as detections name it: `AS123`, or the /16 (/48 for IPv6) block
    of an address or block given, since that is what features compare."""
    cleaned = text.strip()
    number = cleaned.upper().removeprefix("AS")
    if number.isascii() and number.isdigit() and 0 <= int(number) <= 2**32 - 1:
        return f"AS{int(number)}"
    try:
        block = ipaddress.ip_network(cleaned, strict=False)
    except ValueError:
        raise ValueError(
            f"network {text!r} is neither an AS number (AS13335) nor an address "
            "or block (203.0.113.0/24)"
        ) from None
    return network_key(str(block.network_address), None) or cleaned


def add_suppression(
    session: Session,
    *,
    identity_id: str,
    hours: float,
    actor: str,
    reason: str,
    network: str | None = None,
    client: str | None = None,
    incident_id: int | None = None,
    now: datetime | None = None,
) -> Suppression:
    """Suppress a pattern for `hours` from now."""
    if hours <= 0:
        raise ValueError("a suppression needs a positive number of hours")
    if not identity_id.strip():
        raise ValueError("a suppression needs an identity id")
    now = ensure_utc(now or datetime.now(UTC))
    row = Suppression(
        identity_id=identity_id.strip(),
        network=pattern_network(network) if network else None,
        client=client or None,
        reason=reason,
        incident_id=incident_id,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    log_change(
        session,
        kind="suppression_added",
        detail=f"suppression {row.id}: {describe(row)} for {hours:g} h ({reason})",
        actor=actor,
        now=now,
    )
    logger.info("suppression %s added by %s: %s", row.id, actor, describe(row))
    return row


def suppress_incident_pattern(
    session: Session,
    *,
    incident: Incident,
    hours: float,
    actor: str,
    now: datetime | None = None,
) -> Suppression | None:
    """Suppress what an incident called expected was about, when it can be told.

    The network is named when the incident's rules are about place, the client
    when they are about the client; both come from the latest event the incident
    cites (the one that made it unusual). Without the cited events kept (incidents
    from `score` rather than `watch`), nothing is suppressed: hiding a whole
    identity is a decision for a person (`credwatch suppressions add`).
    """
    from response.evidence import evidence_for

    rules = set(incident.rules)
    cited = evidence_for(session, list(incident.event_ids))
    if not cited:
        logger.info(
            "incident %s: no cited events kept, so no suppression of its pattern",
            incident.id,
        )
        return None
    latest = Footprint.of_summary(cited[-1])
    network = latest.network if rules & NETWORK_RULES else None
    client = latest.client if rules & CLIENT_RULES else None
    return add_suppression(
        session,
        identity_id=incident.identity_id,
        network=network,
        client=client,
        hours=hours,
        actor=actor,
        reason=f"incident {incident.id} found expected",
        incident_id=incident.id,
        now=now,
    )


def lift_suppression(
    session: Session, suppression_id: int, *, actor: str, now: datetime | None = None
) -> Suppression:
    """End a suppression now; lifting twice keeps the first lift."""
    row = session.get(Suppression, int(suppression_id))
    if row is None:
        raise UnknownSuppression(f"no suppression {suppression_id}")
    if row.lifted_at is None:
        now = ensure_utc(now or datetime.now(UTC))
        row.lifted_at = now
        row.lifted_by = actor
        session.flush()
        log_change(
            session,
            kind="suppression_lifted",
            detail=f"suppression {row.id}: {describe(row)}",
            actor=actor,
            now=now,
        )
    return row


def list_suppressions(
    session: Session, *, active_only: bool = False, now: datetime | None = None
) -> list[Suppression]:
    """Suppressions, newest first; with `active_only` those in force at `now`."""
    statement = select(Suppression).order_by(Suppression.id.desc())
    rows = list(session.scalars(statement))
    if active_only:
        now = ensure_utc(now or datetime.now(UTC))
        rows = [row for row in rows if is_active(row, now)]
    return rows


def is_active(row: Suppression, now: datetime) -> bool:
    return row.lifted_at is None and ensure_utc(row.expires_at) > ensure_utc(now)


def matching(
    suppressions: Iterable[Suppression],
    *,
    identity_id: str,
    footprints: list[Footprint],
) -> Suppression | None:
    """The first suppression that covers a detection with these cited events."""
    for row in suppressions:
        if row.identity_id != identity_id:
            continue
        if row.network is None and row.client is None:
            return row
        if not footprints:
            continue
        if row.network is not None and any(
            f.network != row.network for f in footprints
        ):
            continue
        if row.client is not None and any(f.client != row.client for f in footprints):
            continue
        return row
    return None


def screen(
    session: Session,
    detection: Detection,
    *,
    events: Iterable[Any] | None = None,
    now: datetime | None = None,
) -> Suppression | None:
    """The active suppression covering `detection`, or None.

    The cited events come from `events` (LogEvents the caller still holds) or else
    from the evidence kept in the database.
    """
    now = ensure_utc(now or datetime.now(UTC))
    candidates = [
        row
        for row in session.scalars(
            select(Suppression).where(
                Suppression.identity_id == detection.identity_id,
                Suppression.lifted_at.is_(None),
            )
        )
        if is_active(row, now)
    ]
    if not candidates:
        return None
    cited = set(detection.event_ids)
    if events is not None:
        footprints = [Footprint.of_event(e) for e in events if e.uuid in cited]
    else:
        from response.evidence import evidence_for

        footprints = [
            Footprint.of_summary(s) for s in evidence_for(session, list(cited))
        ]
    return matching(
        candidates, identity_id=detection.identity_id, footprints=footprints
    )


def describe(row: Suppression) -> str:
    parts = [row.identity_id]
    if row.network:
        parts.append(f"network {row.network}")
    if row.client:
        parts.append(f"client {row.client}")
    return ", ".join(parts)


def suppression_as_dict(
    row: Suppression, *, now: datetime | None = None
) -> dict[str, Any]:
    from response.queries import zulu

    now = ensure_utc(now or datetime.now(UTC))
    return {
        "id": row.id,
        "identity_id": row.identity_id,
        "network": row.network,
        "client": row.client,
        "reason": row.reason,
        "incident_id": row.incident_id,
        "created_by": row.created_by,
        "created_at": zulu(row.created_at),
        "expires_at": zulu(row.expires_at),
        "lifted_at": zulu(row.lifted_at),
        "lifted_by": row.lifted_by,
        "active": is_active(row, now),
    }
