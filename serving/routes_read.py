"""Identities and incidents, for people and zaps with a key of scope `read`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from features.deployment import Agent, DeploymentMap
from serving.auth import require_key
from serving.lookups import incident_by_id, incident_page, incidents_of
from serving.openapi import KEY_ERRORS, error
from serving.schemas import IdentityAnswer, IncidentAnswer, IncidentPage
from serving.service import ScoringService

router = APIRouter(tags=["read"], dependencies=[Depends(require_key("read"))])

IdentityId = Annotated[
    str, Path(min_length=1, max_length=255, description="Okta actor id")
]


@router.get(
    "/v1/identities/{identity_id}",
    response_model=IdentityAnswer,
    summary="An identity: kind, map entry, recent risk and open incident",
    responses={
        404: error("Nothing is known of this identity"),
        422: error("The identity id is empty or too long"),
        **KEY_ERRORS,
    },
)
async def identity(request: Request, identity_id: IdentityId) -> dict[str, Any]:
    service: ScoringService = request.app.state.service
    settings = request.app.state.settings
    ids, open_incident = await run_in_threadpool(incidents_of, settings, identity_id)
    # The shared score log is read from the database: off the event loop.
    record = await run_in_threadpool(service.record_of, identity_id)
    agent = _agent_of(service.deployment, identity_id, record)
    kind = name = None
    if record is not None:
        kind, name = record.identity.kind, record.identity.name
    elif agent is not None:
        kind, name = "ai_agent", agent.name
    elif ids:
        known = open_incident or await run_in_threadpool(
            incident_by_id, settings, ids[0]
        )
        if known is not None:
            kind, name = known["identity_kind"], known["identity_name"]
    if kind is None:
        raise HTTPException(
            404, f"no identity {identity_id!r}: no events, map entry or incidents"
        )

    points = list(record.points)[::-1] if record else []
    deployment = service.deployment or DeploymentMap()
    return {
        "identity_id": identity_id,
        "identity_kind": kind,
        "identity_name": name,
        "deployment_map": _map_entry(agent) if agent else None,
        "shared_access_expected": identity_id
        in deployment.shared_access_expected.actor_ids,
        "protected": identity_id in deployment.protected_identities,
        "risk": record.latest.risk if record and record.latest else 0.0,
        "tier": record.latest.tier if record and record.latest else "none",
        "recent": [
            {
                "event_time": _iso(point.event_time),
                "scored_at": _iso(point.scored_at),
                "risk": point.risk,
                "tier": point.tier,
                "model_version": point.model_version,
            }
            for point in points
        ],
        "open_incident": open_incident,
        "incident_ids": ids,
        "model_version": service.model_version,
    }


@router.get(
    "/v1/incidents",
    response_model=IncidentPage,
    summary="Incidents, newest first, filtered and paginated",
    responses={422: error("A query parameter is out of range"), **KEY_ERRORS},
)
async def incidents(
    request: Request,
    status: Annotated[
        Literal["open", "resolved"] | None,
        Query(description="Only incidents in this status"),
    ] = None,
    tier: Annotated[
        Literal["medium", "high", "critical"] | None,
        Query(description="Only incidents at this tier"),
    ] = None,
    identity_id: Annotated[
        str | None,
        Query(
            min_length=1, max_length=255, description="Only this identity's incidents"
        ),
    ] = None,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**62,
            description="Cursor: incidents with a smaller id (next_before of the previous page)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Incidents per page")] = 50,
) -> dict[str, Any]:
    items, following = await run_in_threadpool(
        lambda: incident_page(
            request.app.state.settings,
            status=status,
            tier=tier,
            identity_id=identity_id,
            before=before,
            limit=limit,
        )
    )
    return {
        "items": items,
        "next_before": following,
        "model_version": request.app.state.service.model_version,
    }


@router.get(
    "/v1/incidents/{incident_id}",
    response_model=IncidentAnswer,
    summary="One incident with its evidence and audit trail",
    responses={
        404: error("No incident has this id"),
        422: error("The incident id is not a positive whole number"),
        **KEY_ERRORS,
    },
)
async def incident(
    request: Request,
    incident_id: Annotated[int, Path(ge=1, le=2**62, description="Incident id")],
) -> dict[str, Any]:
    found = await run_in_threadpool(
        incident_by_id, request.app.state.settings, incident_id
    )
    if found is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return found


def _agent_of(
    deployment: DeploymentMap | None, identity_id: str, record
) -> Agent | None:
    if record is not None and record.identity.agent is not None:
        return record.identity.agent
    if deployment is None:
        return None
    for agent in deployment.agents:
        if (
            identity_id in agent.match.actor_ids
            or identity_id in agent.match.client_ids
        ):
            return agent
    return None


def _map_entry(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "owner": agent.owner,
        "jira_assignee": agent.jira_assignee,
        "networks": list(agent.networks),
        "asns": list(agent.asns),
        "countries": list(agent.countries),
        "schedule": (
            {"days": agent.schedule.days, "hours_utc": agent.schedule.hours_utc}
            if agent.schedule
            else None
        ),
        "max_concurrent_sessions": agent.max_concurrent_sessions,
        "api_endpoints": list(agent.api_endpoints),
    }


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")
