"""The flat answer of `POST /v1/score`, which a Zapier step can map without code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_NUMBERED_REASONS = 5


class ScoreAnswer(BaseModel):
    """Risk of the identity the request's events belong to (the riskiest, for several)."""

    model_config = ConfigDict(extra="allow")

    request_id: str = Field(description="Id of this request, also in the logs")
    identity_id: str | None = Field(description="Okta actor id the events name")
    identity_kind: str | None = Field(description="human, ai_agent or service")
    identity_name: str | None = Field(default=None, description="Agent or person name")
    risk: float = Field(description="0 (nothing unusual) to 100")
    tier: str = Field(description="none, low, medium, high or critical")
    action: str = Field(description="What the response policy does at this tier")
    action_taken: bool = Field(description="Whether credwatch acted on Okta")
    dry_run: bool = Field(description="True when actions are only recorded")
    reasons: list[str] = Field(description="Plain-words reasons naming the evidence")
    rules: list[str] = Field(default_factory=list, description="Ids of the rules that fired")
    incident_id: int | None = Field(default=None, description="Open incident, if any")
    incident_url: str | None = Field(default=None, description="Ticket link, if any")
    model_version: str | None = Field(description="Model version that scored")
    events_scored: int = Field(description="Events in the request that were scored")


def flatten_reasons(answer: dict[str, object], reasons: list[str]) -> None:
    """Add reason_1 .. reason_n so that a zap can map each without code."""
    for index, reason in enumerate(reasons[:MAX_NUMBERED_REASONS], start=1):
        answer[f"reason_{index}"] = reason
