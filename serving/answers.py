"""The flat answer of `POST /v1/score`, which a Zapier step can map without code.

Every key is always present with the same type, so a zap's filters and paths never
meet a missing field: the first five reasons are repeated as `reason_1` ..
`reason_5`, empty strings when there are fewer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_NUMBERED_REASONS = 5

ZAPIER_EXAMPLE = {
    "request_id": "9f1c2a7e5b3d4c8a9e0f1a2b3c4d5e6f",
    "identity_id": "00uSYNCBOT",
    "identity_kind": "ai_agent",
    "identity_name": "sync-bot",
    "risk": 93.0,
    "tier": "high",
    "action": "revoke_tokens, clear_sessions, suspend, open_ticket",
    "action_taken": False,
    "dry_run": True,
    "reasons": [
        "API token of sync-bot used from 45.9.1.2 (AS9009, Netherlands), "
        "outside its declared networks"
    ],
    "reason_1": "API token of sync-bot used from 45.9.1.2 (AS9009, Netherlands), "
    "outside its declared networks",
    "reason_2": "",
    "reason_3": "",
    "reason_4": "",
    "reason_5": "",
    "rules": ["agent_outside_declared"],
    "incident_id": 42,
    "incident_url": "https://credwatch.example.com/v1/incidents/42",
    "model_version": "3",
    "events_received": 1,
    "events_scored": 1,
    "duplicates": 0,
}


class ScoreAnswer(BaseModel):
    """Risk of the identity the request's events belong to (the riskiest, for several)."""

    model_config = ConfigDict(json_schema_extra={"examples": [ZAPIER_EXAMPLE]})

    request_id: str = Field(
        description="Id of this request; also in the logs and the X-Request-ID header"
    )
    identity_id: str | None = Field(
        description="Okta actor id the events name; null when no event names an actor"
    )
    identity_kind: str | None = Field(
        description="human, ai_agent or service; null with identity_id"
    )
    identity_name: str | None = Field(
        default=None,
        description="Agent name from the deployment map, or the person's display name",
    )
    risk: float = Field(
        ge=0,
        le=100,
        description="Risk of the identity's current hourly window, 0 (nothing unusual) to 100",
    )
    tier: str = Field(description="none, low, medium, high or critical")
    action: str = Field(
        description="The response policy's actions at this tier, comma-separated, or none"
    )
    action_taken: bool = Field(
        description="True when credwatch carried an action out on Okta (never in dry-run)"
    )
    dry_run: bool = Field(
        description="True when actions are only recorded (CREDWATCH_RESPONSE_MODE=dry-run)"
    )
    reasons: list[str] = Field(
        description="Plain-words reasons naming the evidence, strongest first"
    )
    reason_1: str = Field(default="", description="First reason, or an empty string")
    reason_2: str = Field(default="", description="Second reason, or an empty string")
    reason_3: str = Field(default="", description="Third reason, or an empty string")
    reason_4: str = Field(default="", description="Fourth reason, or an empty string")
    reason_5: str = Field(default="", description="Fifth reason, or an empty string")
    rules: list[str] = Field(
        default_factory=list, description="Ids of the detection rules that fired"
    )
    incident_id: int | None = Field(
        default=None,
        description="The identity's incident this request opened or updated, if any",
    )
    incident_url: str | None = Field(
        default=None,
        description="The incident's ticket, else its page on this service (needs CREDWATCH_PUBLIC_URL)",
    )
    model_version: str | None = Field(
        description="Registered model version that scored the events"
    )
    events_received: int = Field(default=0, ge=0, description="Events in the request")
    events_scored: int = Field(
        ge=0, description="Events scored now (not seen before and naming an actor)"
    )
    duplicates: int = Field(
        default=0,
        ge=0,
        description="Events skipped because their uuid was scored before",
    )


_FIELDS = tuple(ScoreAnswer.model_fields)
_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in ScoreAnswer.model_fields.items()
    if not field.is_required()
}


def flat_answer(**values: Any) -> dict[str, Any]:
    """The answer as a dict in the documented field order, reason_1..5 filled in.

    Built from values this service computed itself, so it skips the model's
    validation, which would cost every request more than the model's scoring.
    """
    missing = [name for name in _FIELDS if name not in values and name not in _DEFAULTS]
    if missing:
        raise TypeError(f"answer without {', '.join(missing)}")
    answer = {
        name: values[name] if name in values else _DEFAULTS[name] for name in _FIELDS
    }
    flatten_reasons(answer, list(values.get("reasons") or []))
    return answer


def flatten_reasons(answer: dict[str, object], reasons: list[str]) -> None:
    """Set reason_1 .. reason_5 so that a zap can map each without code."""
    for index in range(1, MAX_NUMBERED_REASONS + 1):
        answer[f"reason_{index}"] = reasons[index - 1] if index <= len(reasons) else ""
