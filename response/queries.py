"""Reading incidents, giving verdicts, and releasing identities.

These back the `incidents`, `verdict` and `release` commands and the API. Like
`respond`, they flush but leave the commit to the caller.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from credwatch.db import ensure_utc
from response import action_requests
from response.errors import InvalidVerdict, UnknownIncident
from response.policy import REVERSALS
from response.records import VERDICTS, Action, Incident, VerdictRecord
from response.service import DRY_RUN_OUTCOME, NO_EXECUTOR_OUTCOME
from response.targets import Target

logger = logging.getLogger(__name__)


def list_incidents(session: Session, *, open_only: bool = False) -> list[Incident]:
    """Incidents oldest first, with their actions loaded."""
    statement = (
        select(Incident).options(selectinload(Incident.actions)).order_by(Incident.id)
    )
    if open_only:
        statement = statement.where(Incident.status == "open")
    return list(session.scalars(statement))


def get_incident(session: Session, incident_id: int | str) -> Incident:
    """The incident with `incident_id`; `UnknownIncident` when there is none."""
    number = _incident_number(incident_id)
    incident = session.get(Incident, number)
    if incident is None:
        raise UnknownIncident(f"no incident {incident_id}")
    return incident


def incident_as_dict(incident: Incident) -> dict[str, Any]:
    """The incident as JSON-ready data (contracts section 3, `incidents --json`)."""
    return {
        "id": incident.id,
        "identity_id": incident.identity_id,
        "identity_kind": incident.identity_kind,
        "identity_name": incident.identity_name,
        "tier": incident.tier,
        "risk": incident.risk,
        "status": incident.status,
        "opened_at": zulu(incident.opened_at),
        "updated_at": zulu(incident.updated_at),
        "resolved_at": zulu(incident.resolved_at),
        "first_detected_at": zulu(incident.first_detected_at),
        "last_detected_at": zulu(incident.last_detected_at),
        "rules": list(incident.rules),
        "reasons": list(incident.reasons),
        "event_ids": list(incident.event_ids),
        "detection_count": incident.detection_count,
        "verdict": incident.verdict,
        "verdict_at": zulu(incident.verdict_at),
        "verdict_by": incident.verdict_by,
        "ticket_url": incident.ticket_url,
        "model_version": incident.model_version,
        "actions": [action_as_dict(action) for action in incident.actions],
    }


def action_as_dict(action: Action) -> dict[str, Any]:
    """One audit row as plain JSON-ready data."""
    return {
        "id": action.id,
        "incident_id": action.incident_id,
        "identity_id": action.identity_id,
        "kind": action.kind,
        "tier": action.tier,
        "mode": action.mode,
        "status": action.status,
        "actor": action.actor,
        "reason": action.reason,
        "request": action.request,
        "outcome": action.outcome,
        "reverses_action_id": action.reverses_action_id,
        "created_at": zulu(action.created_at),
        "updated_at": zulu(action.updated_at),
    }


def zulu(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, to the second, as the detections output writes it."""
    if moment is None:
        return None
    return ensure_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_verdict(
    session: Session,
    incident_id: int | str,
    verdict: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> Incident:
    """Record an analyst's verdict and resolve the incident.

    A later verdict replaces the earlier one (both stay in the verdict history);
    the incident keeps the time it was first resolved.
    """
    if verdict not in VERDICTS:
        raise InvalidVerdict(
            f"unknown verdict {verdict!r}: expected one of {', '.join(VERDICTS)}"
        )
    incident = get_incident(session, incident_id)
    now = ensure_utc(now or datetime.now(UTC))
    incident.verdict = verdict
    incident.verdict_at = now
    incident.verdict_by = actor
    if incident.status != "resolved":
        incident.status = "resolved"
        incident.resolved_at = now
    incident.updated_at = now
    session.add(
        VerdictRecord(
            incident_id=incident.id, verdict=verdict, actor=actor, created_at=now
        )
    )
    session.flush()
    logger.info("incident %s resolved as %s by %s", incident.id, verdict, actor)
    return incident


def release_identity(
    session: Session,
    identity_id: str,
    *,
    actor: str,
    mode: str = "dry-run",
    now: datetime | None = None,
) -> list[Action]:
    """Undo the reversible actions taken on an identity; return the rows written.

    - An action carried out in enforce mode (`done`) gets its reversal
      (`unsuspend`, `activate_app`, `remove_quarantine`), itself `recorded` in
      dry-run or `planned` in enforce mode, queued in the outbox for the executor.
    - An action only recorded in dry-run gets a dry-run reversal, whatever `mode`
      is: credwatch never undoes in Okta what it did not do there (an account may
      be suspended by someone else).
    - An action still `planned`, or `held` by the circuit breaker, is marked
      `skipped`, so it never runs.
    Clearing sessions, revoking tokens, tickets and notifications have no reversal.
    Releasing twice writes nothing new. Open incidents stay open until a verdict.
    """
    now = ensure_utc(now or datetime.now(UTC))
    actions = list(
        session.scalars(
            select(Action).where(Action.identity_id == identity_id).order_by(Action.id)
        )
    )
    reversals = {
        action.reverses_action_id: action
        for action in actions
        if action.reverses_action_id is not None
    }
    written: list[Action] = []
    for original in actions:
        if original.kind not in REVERSALS:
            continue
        if original.status in ("planned", "held"):
            original.status = "skipped"
            original.outcome = f"released by {actor} before it ran"
            original.updated_at = now
            written.append(original)
        elif original.status in ("done", "recorded"):
            fresh = _reversal(original, actor=actor, mode=mode, now=now)
            earlier = reversals.get(original.id)
            if earlier is None:
                session.add(fresh)
                written.append(fresh)
            elif earlier.mode == "dry-run" and fresh.mode == "enforce":
                # A dry-run release of a real action undid nothing; this one must.
                _upgrade(earlier, fresh)
                written.append(earlier)
    session.flush()
    _queue_reversals(session, written, now=now)
    if written:
        logger.info(
            "release of %s by %s: %s",
            identity_id,
            actor,
            ", ".join(f"{row.kind} ({row.status})" for row in written),
        )
    else:
        logger.info("release of %s by %s: nothing to undo", identity_id, actor)
    return written


def _reversal(original: Action, *, actor: str, mode: str, now: datetime) -> Action:
    undo = REVERSALS[original.kind]
    target = Target.from_request(original.request, fallback_id=original.identity_id)
    if undo == "remove_quarantine":
        group = str(
            original.request.get("group_id") or action_requests.UNCONFIGURED_GROUP
        )
        request = action_requests.remove_quarantine(target, group_id=group)
    else:
        request = getattr(action_requests, undo)(target)
    enforce = (
        mode == "enforce" and original.mode == "enforce" and original.status == "done"
    )
    if enforce:
        outcome = NO_EXECUTOR_OUTCOME
    elif original.mode == "dry-run":
        outcome = (
            f"dry-run: {original.kind} was only recorded in dry-run, "
            "so there is nothing to undo in Okta"
        )
    else:
        outcome = DRY_RUN_OUTCOME
    return Action(
        incident_id=original.incident_id,
        identity_id=original.identity_id,
        kind=undo,
        tier=original.tier,
        mode="enforce" if enforce else "dry-run",
        status="planned" if enforce else "recorded",
        actor=actor,
        reason=f"release of {original.identity_id} requested by {actor}: "
        f"undoes {original.kind} (action {original.id})",
        request=request,
        outcome=outcome,
        reverses_action_id=original.id,
        created_at=now,
        updated_at=now,
    )


def _queue_reversals(session: Session, written: list[Action], *, now: datetime) -> None:
    """Queue the enforce-mode reversals in the outbox, with the audit rows."""
    from response import outbox

    for row in written:
        if row.status == "planned" and row.reverses_action_id is not None:
            existing = outbox.entry_for_action(session, row.id)
            if existing is None:
                outbox.enqueue_action(session, row, now=now)
            else:
                existing.state = "pending"
                existing.next_attempt_at = now
    session.flush()


def _upgrade(earlier: Action, fresh: Action) -> None:
    for name in (
        "mode",
        "status",
        "actor",
        "reason",
        "request",
        "outcome",
        "updated_at",
    ):
        setattr(earlier, name, getattr(fresh, name))


def _incident_number(incident_id: int | str) -> int:
    if isinstance(incident_id, int) and not isinstance(incident_id, bool):
        return incident_id
    text = str(incident_id).strip().lstrip("#")
    if not text.isdigit():
        raise UnknownIncident(
            f"no incident {incident_id!r}: incident ids are whole numbers"
        )
    return int(text)
