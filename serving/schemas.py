"""The service's other answers, as they appear in the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorAnswer(BaseModel):
    """Why a request was refused."""

    detail: str = Field(description="What is wrong, naming the header, field or limit")


class HealthAnswer(BaseModel):
    """The process is alive."""

    status: str = Field(description="Always ok")


class ReadyAnswer(BaseModel):
    """Whether the service can score: a model is loaded and the database answers."""

    status: str = Field(description="ready, or not-ready with the reasons in problems")
    model_version: str | None = Field(description="Model version being served, if any")
    database: bool = Field(description="True when the database answered a query")
    problems: list[str] = Field(
        default_factory=list, description="What keeps the service from being ready"
    )


class VerificationAnswer(BaseModel):
    """Okta's one-time Event Hook verification, answered."""

    verification: str = Field(
        description="The value of the x-okta-verification-challenge header, echoed"
    )


class RiskPointAnswer(BaseModel):
    """An identity's window risk right after one of its events."""

    event_time: str = Field(
        description="When the event happened (published), UTC ISO 8601"
    )
    scored_at: str = Field(description="When this process scored it, UTC ISO 8601")
    risk: float = Field(
        ge=0, le=100, description="Risk of the identity's hourly window, 0-100"
    )
    tier: str = Field(description="none, low, medium, high or critical")
    model_version: str = Field(description="Model version that scored the event")


class MapEntryAnswer(BaseModel):
    """What the deployment map declares about an AI agent."""

    name: str = Field(description="The agent's name in the map")
    owner: str | None = Field(default=None, description="Who answers for the agent")
    jira_assignee: str | None = Field(default=None, description="Who gets its tickets")
    networks: list[str] = Field(
        default_factory=list, description="CIDR blocks it runs from"
    )
    asns: list[int] = Field(
        default_factory=list, description="Autonomous systems it runs from"
    )
    countries: list[str] = Field(
        default_factory=list, description="ISO country codes it runs from"
    )
    schedule: dict[str, str] | None = Field(
        default=None, description="Days and UTC hours it works, if declared"
    )
    max_concurrent_sessions: int | None = Field(
        default=None, description="Sessions it may hold at once"
    )
    api_endpoints: list[str] = Field(
        default_factory=list, description="API path patterns it may call"
    )


class ActionAnswer(BaseModel):
    """One row of an incident's audit trail."""

    id: int = Field(description="Action id")
    kind: str = Field(description="suspend, revoke_tokens, open_ticket, ...")
    tier: str | None = Field(description="Incident tier the action was planned for")
    mode: str = Field(description="dry-run or enforce")
    status: str = Field(description="planned, recorded, done, failed or skipped")
    actor: str = Field(description="Who took it: credwatch, or the person releasing")
    reason: str = Field(description="Why, in plain words")
    outcome: str | None = Field(description="What happened when it ran, if it did")
    reverses_action_id: int | None = Field(
        description="The action this one undoes, for a release"
    )
    created_at: str | None = Field(description="UTC ISO 8601")
    updated_at: str | None = Field(description="UTC ISO 8601")


class IncidentAnswer(BaseModel):
    """An incident with its evidence and audit trail."""

    id: int = Field(description="Incident id")
    identity_id: str = Field(description="Okta actor id")
    identity_kind: str = Field(description="human, ai_agent or service")
    identity_name: str | None = Field(description="Agent or person name")
    tier: str = Field(description="Highest tier reached: medium, high or critical")
    risk: float = Field(description="Highest risk reached, 0-100")
    status: str = Field(description="open or resolved")
    opened_at: str | None = Field(description="UTC ISO 8601")
    updated_at: str | None = Field(description="UTC ISO 8601")
    resolved_at: str | None = Field(description="UTC ISO 8601, once resolved")
    first_detected_at: str | None = Field(
        description="When the first evidence happened"
    )
    last_detected_at: str | None = Field(
        description="When the latest evidence happened"
    )
    rules: list[str] = Field(description="Ids of the rules that fired")
    reasons: list[str] = Field(description="Plain-words reasons naming the evidence")
    event_ids: list[str] = Field(
        description="uuids of the Okta events that are the evidence"
    )
    detection_count: int = Field(description="Detections merged into the incident")
    verdict: str | None = Field(
        description="true-positive, false-positive or expected, once given"
    )
    verdict_at: str | None = Field(description="UTC ISO 8601")
    verdict_by: str | None = Field(description="Who gave the verdict")
    ticket_url: str | None = Field(description="Link to its ticket, if one was opened")
    model_version: str | None = Field(
        description="Model version of the latest detection"
    )
    actions: list[ActionAnswer] = Field(description="The audit trail, oldest first")


class IncidentPage(BaseModel):
    """A page of incidents, newest first."""

    items: list[IncidentAnswer] = Field(description="The incidents on this page")
    next_before: int | None = Field(
        description="Pass as before= for the next page; null on the last page"
    )
    model_version: str | None = Field(description="Model version being served")


class IdentityAnswer(BaseModel):
    """An identity as the service knows it."""

    identity_id: str = Field(description="Okta actor id")
    identity_kind: str = Field(description="human, ai_agent or service")
    identity_name: str | None = Field(description="Agent or person name")
    deployment_map: MapEntryAnswer | None = Field(
        description="The map's entry for an AI agent, if any"
    )
    shared_access_expected: bool = Field(
        description="The map says several people share this account"
    )
    protected: bool = Field(description="The map protects it from automatic suspension")
    risk: float = Field(
        ge=0, le=100, description="Risk of its latest scored window (0 when none)"
    )
    tier: str = Field(description="Tier of its latest scored window")
    recent: list[RiskPointAnswer] = Field(
        description="Its latest scores in this server process, newest first"
    )
    open_incident: IncidentAnswer | None = Field(
        description="Its open incident, if any"
    )
    incident_ids: list[int] = Field(description="All its incidents, newest first")
    model_version: str | None = Field(description="Model version being served")
