"""Respond to one detection: open or update the identity's incident, record actions.

Decisions:

- A `low` detection opens no incident and records no action: design.md's "record
  only" is met by the detection itself, written to the detections output. Only
  `medium` and above open incidents, so every incident is something an analyst
  should look at.
- Each identity has at most one open incident. Later detections merge into it
  (rules, reasons and events are unioned, the tier only ever rises); once the
  incident is resolved, the next detection opens a new one.
- Actions are recorded per incident, at most one of each kind (a database
  constraint). When the tier rises, the new tier's extra actions are added; a
  ticket whose priority must rise gets an `escalate_ticket` action.
- Replaying the same detection changes nothing: its fingerprint is remembered.
- dry-run records each action as `recorded` with the request it would send, and
  sends nothing anywhere (Okta, Jira or the webhook). In enforce mode each action
  is recorded as `planned` and queued in the durable outbox in the same
  transaction; `response.executor` carries it out and records how it went.
- In enforce mode, later evidence (new reasons, a higher tier) merged into an
  open incident queues a comment for its ticket.

`respond` flushes but never commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from features.deployment import DeploymentMap
from models.schemas import Detection, tier_rank
from response import action_requests
from response.policy import (
    ESCALATE_TICKET,
    PlannedAction,
    ResponsePolicy,
    plan_actions,
    ticket_priority_rank,
)
from response.records import (
    ACTION_MODES,
    AUTOMATED_ACTOR,
    MAX_DETECTION_KEYS,
    MAX_EVENT_IDS,
    MAX_REASONS,
    Action,
    Incident,
)
from response.targets import Target

logger = logging.getLogger(__name__)

Mode = Literal["dry-run", "enforce"]

# The lowest tier that opens an incident (see the module docstring).
MIN_INCIDENT_TIER = "medium"

DRY_RUN_OUTCOME = "dry-run: recorded only, nothing was sent"
QUEUED_OUTCOME = "queued: waiting in the outbox for the executor"
# The name earlier versions used for the outcome of an enforce-mode action.
NO_EXECUTOR_OUTCOME = QUEUED_OUTCOME


@dataclass(frozen=True)
class ResponseOutcome:
    """What `respond` did with one detection.

    `actions` holds only the audit rows this call added; `duplicate` is true when
    the detection had already been merged, in which case nothing changed.
    """

    incident_id: int | None
    created: bool
    actions: list[Action] = field(default_factory=list)
    tier: str | None = None
    duplicate: bool = False
    # Reasons this detection added to an incident that was already open.
    new_reasons: list[str] = field(default_factory=list)
    # The suppression (feedback.suppressions) that kept it from an incident.
    suppressed_by: int | None = None


def respond(
    *,
    detection: Detection,
    session: Session,
    policy: ResponsePolicy,
    deployment_map: DeploymentMap | None,
    mode: Mode,
    now: datetime,
) -> ResponseOutcome:
    """Open or update the identity's incident and record the policy's actions."""
    if mode not in ACTION_MODES:
        raise ValueError(f"response mode must be one of {ACTION_MODES}, not {mode!r}")
    now = ensure_utc(now)
    if tier_rank(detection.tier) < tier_rank(MIN_INCIDENT_TIER):
        logger.debug(
            "%s detection of %s opens no incident",
            detection.tier,
            detection.identity_id,
        )
        return ResponseOutcome(incident_id=None, created=False, tier=detection.tier)
    from feedback.suppressions import screen

    suppression = screen(session, detection, now=now)
    if suppression is not None:
        logger.info(
            "detection of %s suppressed by suppression %s",
            detection.identity_id,
            suppression.id,
        )
        return ResponseOutcome(
            incident_id=None, created=False, tier=detection.tier,
            suppressed_by=suppression.id,
        )

    key = detection_key(detection)
    incident, created = _open_incident(session, detection=detection, key=key, now=now)
    before = (incident.tier, list(incident.reasons))
    if not created and not _merge(incident, detection=detection, key=key, now=now):
        logger.debug(
            "detection of %s already merged into incident %s",
            detection.identity_id,
            incident.id,
        )
        return ResponseOutcome(
            incident_id=incident.id, created=False, tier=incident.tier, duplicate=True
        )
    session.flush()

    # Plan for the incident as a whole: its tier may be above this detection's.
    as_incident = detection.model_copy(
        update={
            "tier": incident.tier,
            "risk": incident.risk,
            "rules": list(incident.rules),
        }
    )
    planned = plan_actions(
        detection=as_incident, deployment_map=deployment_map, policy=policy
    )
    added = _record_actions(
        session, incident=incident, planned=planned, mode=mode, now=now
    )
    new_reasons = [] if created else _new_evidence(incident, before)
    if mode == "enforce":
        _queue_work(session, incident=incident, added=added, new_reasons=new_reasons, now=now)
    return ResponseOutcome(
        incident_id=incident.id,
        created=created,
        actions=added,
        tier=incident.tier,
        new_reasons=new_reasons,
    )


def _new_evidence(incident: Incident, before: tuple[str, list[str]]) -> list[str]:
    """Reasons added by the merge; a tier rise counts as new evidence too."""
    tier, reasons = before
    fresh = [reason for reason in incident.reasons if reason not in reasons]
    if not fresh and tier_rank(incident.tier) > tier_rank(tier):
        fresh = [f"tier rose from {tier} to {incident.tier}"]
    return fresh


def _queue_work(
    session: Session,
    *,
    incident: Incident,
    added: list[Action],
    new_reasons: list[str],
    now: datetime,
) -> None:
    """Queue the new actions, and a ticket comment for new evidence, in the outbox.

    In the caller's transaction: the decision and its work commit together.
    """
    from response import outbox
    from response.tickets import evidence_comment

    for action in added:
        outbox.enqueue_action(session, action, now=now)
    if new_reasons:
        outbox.enqueue_comment(
            session,
            incident_id=incident.id,
            text=evidence_comment(
                incident={
                    "tier": incident.tier,
                    "risk": incident.risk,
                    "detection_count": incident.detection_count,
                    "rules": list(incident.rules),
                },
                new_reasons=new_reasons,
            ),
            now=now,
        )
    session.flush()
    if added:
        logger.info(
            "queued %d action(s) for incident %s in the outbox", len(added), incident.id
        )


def detection_key(detection: Detection) -> str:
    """A fingerprint of the detection's content, the same for a replayed one."""
    canonical = json.dumps(
        detection.to_json_dict(), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def find_open_incident(session: Session, identity_id: str) -> Incident | None:
    """The identity's open incident, locked for update where the database can."""
    statement = (
        select(Incident)
        .where(Incident.identity_id == identity_id, Incident.status == "open")
        .with_for_update()
    )
    return session.scalars(statement).one_or_none()


def _open_incident(
    session: Session, *, detection: Detection, key: str, now: datetime
) -> tuple[Incident, bool]:
    incident = find_open_incident(session, detection.identity_id)
    if incident is not None:
        return incident, False
    candidate = _new_incident(detection, key=key, now=now)
    try:
        with session.begin_nested():
            session.add(candidate)
    except IntegrityError:
        # Another process opened the identity's incident since we looked; the
        # partial unique index refused ours, so merge into theirs.
        incident = find_open_incident(session, detection.identity_id)
        if incident is None:
            raise
        logger.info(
            "incident %s for %s was opened concurrently; merging into it",
            incident.id,
            detection.identity_id,
        )
        return incident, False
    logger.info(
        "opened incident %s for %s %s at tier %s",
        candidate.id,
        detection.identity_kind,
        detection.identity_id,
        detection.tier,
    )
    return candidate, True


def _new_incident(detection: Detection, *, key: str, now: datetime) -> Incident:
    return Incident(
        identity_id=detection.identity_id,
        identity_kind=detection.identity_kind,
        identity_name=detection.identity_name,
        tier=detection.tier,
        risk=detection.risk,
        status="open",
        opened_at=now,
        updated_at=now,
        first_detected_at=ensure_utc(detection.detected_at),
        last_detected_at=ensure_utc(detection.detected_at),
        rules=_union([], detection.rules),
        reasons=_union([], detection.reasons, limit=MAX_REASONS),
        event_ids=_union([], detection.event_ids, limit=MAX_EVENT_IDS),
        detection_keys=[key],
        detection_count=1,
        model_version=detection.model_version,
    )


def _merge(
    incident: Incident, *, detection: Detection, key: str, now: datetime
) -> bool:
    """Merge a detection into an open incident; False when it was merged before."""
    if key in incident.detection_keys:
        return False
    # Lists are reassigned, not mutated, so the ORM sees the JSON columns change.
    incident.detection_keys = [*incident.detection_keys, key][-MAX_DETECTION_KEYS:]
    if tier_rank(detection.tier) > tier_rank(incident.tier):
        logger.info(
            "incident %s escalates from %s to %s",
            incident.id,
            incident.tier,
            detection.tier,
        )
        incident.tier = detection.tier
    incident.risk = max(incident.risk, detection.risk)
    incident.rules = _union(incident.rules, detection.rules)
    incident.reasons = _union(incident.reasons, detection.reasons, limit=MAX_REASONS)
    incident.event_ids = _union(
        incident.event_ids, detection.event_ids, limit=MAX_EVENT_IDS
    )
    incident.detection_count += 1
    detected_at = ensure_utc(detection.detected_at)
    incident.first_detected_at = min(incident.first_detected_at, detected_at)
    incident.last_detected_at = max(incident.last_detected_at, detected_at)
    incident.identity_name = incident.identity_name or detection.identity_name
    incident.model_version = detection.model_version or incident.model_version
    incident.updated_at = now
    return True


def _union(kept: list[str], new: list[str], *, limit: int | None = None) -> list[str]:
    """`kept` then the unseen items of `new`, in order, at most `limit` of them."""
    merged = list(dict.fromkeys([*kept, *new]))
    return merged if limit is None else merged[:limit]


def _record_actions(
    session: Session,
    *,
    incident: Incident,
    planned: list[PlannedAction],
    mode: Mode,
    now: datetime,
) -> list[Action]:
    existing = {action.kind: action for action in incident.actions}
    rows: list[Action] = []
    for plan in planned:
        if plan.kind not in existing:
            rows.append(_action_row(incident, plan, mode=mode, now=now))
            continue
        escalation = _ticket_escalation(incident, existing, plan)
        if escalation is not None:
            rows.append(_action_row(incident, escalation, mode=mode, now=now))

    added = [row for row in rows if _insert_once(session, row)]
    # The collection was loaded before the inserts; reload it on next use.
    session.expire(incident, ["actions"])
    return added


def _ticket_escalation(
    incident: Incident, existing: dict[str, Action], plan: PlannedAction
) -> PlannedAction | None:
    """An `escalate_ticket` plan when the open ticket's priority must rise."""
    if plan.kind != "open_ticket" or ESCALATE_TICKET in existing:
        return None
    previous = existing["open_ticket"].request.get("priority")
    if ticket_priority_rank(plan.ticket_priority) <= ticket_priority_rank(previous):
        return None
    target = Target.from_request(plan.request, fallback_id=incident.identity_id)
    return PlannedAction(
        kind=ESCALATE_TICKET,
        reason=f"incident rose to {incident.tier}: ticket priority {previous} -> "
        f"{plan.ticket_priority}. {plan.reason}",
        request=action_requests.escalate_ticket(
            target, priority=str(plan.ticket_priority), previous=str(previous)
        ),
        ticket_priority=plan.ticket_priority,
    )


def _action_row(
    incident: Incident, plan: PlannedAction, *, mode: Mode, now: datetime
) -> Action:
    return Action(
        incident_id=incident.id,
        identity_id=incident.identity_id,
        kind=plan.kind,
        tier=incident.tier,
        mode=mode,
        status="recorded" if mode == "dry-run" else "planned",
        actor=AUTOMATED_ACTOR,
        reason=plan.reason,
        request=plan.request,
        outcome=DRY_RUN_OUTCOME if mode == "dry-run" else QUEUED_OUTCOME,
        created_at=now,
        updated_at=now,
    )


def _insert_once(session: Session, row: Action) -> bool:
    """Insert an audit row unless another process recorded that kind first."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        logger.info(
            "action %s for incident %s was recorded concurrently",
            row.kind,
            row.incident_id,
        )
        return False
    logger.info(
        "%s action %s for incident %s (%s): %s",
        row.mode,
        row.kind,
        row.incident_id,
        row.status,
        row.reason,
    )
    return True
