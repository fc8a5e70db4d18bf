"""The response stage as the service calls it, keeping what each detection did.

`response.flows.respond_to_detections` returns only incident ids; the service also
needs the actions each call added (for `action_taken` and the actions metric) and
the incident's ticket link, so it drives `response.service.respond` itself, in one
transaction per batch like the flow does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from credwatch.settings import Settings
from features.deployment import DeploymentMap
from models.schemas import Detection, tier_rank
from response.flows import policy_for, session_factory
from response.records import Incident
from response.service import MIN_INCIDENT_TIER, respond

logger = logging.getLogger(__name__)


@dataclass
class IdentityResponse:
    """The response to one identity's detections in a batch."""

    incident_id: int | None = None
    ticket_url: str | None = None
    # (kind, status) of every audit row the batch added.
    actions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def action_taken(self) -> bool:
        return any(status == "done" for _kind, status in self.actions)


def needs_response(detections: Iterable[Detection]) -> bool:
    """Whether any detection is high enough to open or update an incident."""
    floor = tier_rank(MIN_INCIDENT_TIER)
    return any(tier_rank(item.tier) >= floor for item in detections)


def respond_to(
    detections: Iterable[Detection],
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
) -> dict[str, IdentityResponse]:
    """Open or update incidents and record actions; the result per identity id."""
    floor = tier_rank(MIN_INCIDENT_TIER)
    # Detections below the incident floor change nothing, so they cost no transaction.
    worthy = [item for item in detections if tier_rank(item.tier) >= floor]
    if not worthy:
        return {}
    worthy.sort(key=lambda item: (item.detected_at, -tier_rank(item.tier)))
    policy = policy_for(settings)
    results: dict[str, IdentityResponse] = {}
    with session_factory(settings)() as session:
        for detection in worthy:
            outcome = respond(
                detection=detection,
                session=session,
                policy=policy,
                deployment_map=deployment,
                mode=settings.response_mode,
                now=datetime.now(UTC),
            )
            result = results.setdefault(detection.identity_id, IdentityResponse())
            if outcome.incident_id is not None:
                result.incident_id = outcome.incident_id
            result.actions.extend((row.kind, row.status) for row in outcome.actions)
        for result in results.values():
            if result.incident_id is not None:
                incident = session.get(Incident, result.incident_id)
                result.ticket_url = incident.ticket_url if incident else None
        session.commit()
    return results
