"""What scoring produces: one detection per identity and window (contracts section 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Tier = Literal["none", "low", "medium", "high", "critical"]
IdentityKind = Literal["human", "ai_agent", "service"]

TIERS: tuple[Tier, ...] = ("none", "low", "medium", "high", "critical")


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)  # type: ignore[arg-type]


class Detection(BaseModel):
    """An identity's window that scored above `none`, with the evidence for it."""

    identity_id: str
    identity_kind: IdentityKind
    identity_name: str | None = None
    window_start: datetime
    window_end: datetime
    detected_at: datetime
    risk: float = Field(ge=0, le=100)
    tier: Tier
    rules: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    model_version: str | None = None

    def to_json_dict(self) -> dict[str, object]:
        data = self.model_dump(mode="json")
        for key in ("window_start", "window_end", "detected_at"):
            data[key] = _zulu(getattr(self, key))
        return data


def _zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
