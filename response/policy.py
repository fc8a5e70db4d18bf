"""The graduated response policy: which actions each tier gets, per identity kind.

The default table is design.md's ("Graduated response"); a YAML file may override
any part of it. `plan_actions` turns one detection into the actions the policy asks
for, adapted to the identity's target (a user or an OAuth app) and with the
actions that protected identities must never get replaced by an urgent ticket.
It only plans: nothing here touches the database or Okta.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from features.deployment import DeploymentMap
from models.schemas import Detection
from response import action_requests
from response.errors import PolicyError
from response.targets import Target, is_protected, resolve_target

logger = logging.getLogger(__name__)

ActionKind = Literal[
    "record",
    "clear_sessions",
    "require_mfa",
    "revoke_tokens",
    "suspend",
    "deactivate_app",
    "notify_owner",
    "open_ticket",
]
TicketPriority = Literal["normal", "urgent"]
TICKET_PRIORITIES: tuple[str, ...] = ("normal", "urgent")

# Kinds the service adds itself (never configured in a tier table).
ESCALATE_TICKET = "escalate_ticket"
# What undoes what; actions missing here (clearing sessions, revoking tokens,
# tickets, notifications) cannot be undone by credwatch and need no undoing.
REVERSALS: dict[str, str] = {
    "suspend": "unsuspend",
    "deactivate_app": "activate_app",
    "require_mfa": "remove_quarantine",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierTable(_Strict):
    """Actions per tier for one identity kind; `none` never acts."""

    low: list[ActionKind] = Field(default_factory=lambda: ["record"])
    medium: list[ActionKind] = Field(
        default_factory=lambda: ["clear_sessions", "require_mfa", "open_ticket"]
    )
    high: list[ActionKind] = Field(
        default_factory=lambda: [
            "revoke_tokens",
            "clear_sessions",
            "suspend",
            "open_ticket",
        ]
    )
    critical: list[ActionKind] = Field(
        default_factory=lambda: [
            "revoke_tokens",
            "clear_sessions",
            "suspend",
            "open_ticket",
            "notify_owner",
        ]
    )

    def for_tier(self, tier: str) -> list[str]:
        if tier == "none":
            return []
        return list(getattr(self, tier))


def _agent_table() -> TierTable:
    # An agent cannot answer an MFA challenge: requiring MFA would stop it as surely
    # as a suspension, without the review a suspension gets. Medium therefore ends
    # the agent's sessions (for an OAuth app, revokes its tokens, so a thief holding
    # only a token is out while the real agent re-authenticates with its secret).
    return TierTable(medium=["clear_sessions", "open_ticket"])


class TicketPriorities(_Strict):
    low: TicketPriority = "normal"
    medium: TicketPriority = "normal"
    high: TicketPriority = "urgent"
    critical: TicketPriority = "urgent"


class ResponsePolicy(_Strict):
    """The whole response policy; every field has a default (design.md)."""

    human: TierTable = Field(default_factory=TierTable)
    ai_agent: TierTable = Field(default_factory=_agent_table)
    service: TierTable = Field(default_factory=_agent_table)
    ticket_priority: TicketPriorities = Field(default_factory=TicketPriorities)
    # Never sent automatically for a protected identity (break-glass accounts and
    # the like): each of these could lock out the people handling an emergency.
    protected_withheld: list[ActionKind] = Field(
        default_factory=lambda: [
            "suspend",
            "deactivate_app",
            "require_mfa",
            "revoke_tokens",
            "clear_sessions",
        ]
    )
    # Okta group whose sign-on policy requires MFA; `require_mfa` adds users to it.
    quarantine_group_id: str | None = None

    def table_for(self, identity_kind: str) -> TierTable:
        table = getattr(self, identity_kind, None)
        if not isinstance(table, TierTable):
            raise PolicyError(f"no response policy for identity kind {identity_kind!r}")
        return table


DEFAULT_POLICY = ResponsePolicy()


class PlannedAction(_Strict):
    """One action the policy asks for, with its reason and the request it implies."""

    kind: str
    reason: str
    request: dict[str, Any]
    ticket_priority: TicketPriority | None = None


def load_policy(path: str | Path | None) -> ResponsePolicy:
    """The default policy, overridden by the YAML file at `path` when one is given.

    The file need only name what differs: `ai_agent: {medium: [open_ticket]}`
    replaces that one list and keeps every other default.
    """
    if path is None:
        return DEFAULT_POLICY
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    return parse_policy(document, source=str(path))


def parse_policy(document: Any, *, source: str = "<policy>") -> ResponsePolicy:
    """Validate a policy document (a mapping) laid over the default policy."""
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: the top level must be a mapping")
    merged = _overlay(DEFAULT_POLICY.model_dump(), document)
    try:
        return ResponsePolicy.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise PolicyError(f"{source}: {where}: {error['msg']}") from None


def _overlay(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def plan_actions(
    *,
    detection: Detection,
    deployment_map: DeploymentMap | None,
    policy: ResponsePolicy = DEFAULT_POLICY,
) -> list[PlannedAction]:
    """The actions `policy` asks for at the detection's tier, in the table's order.

    Actions are adapted to the target: an OAuth app has no sessions and no MFA, so
    clearing its sessions means revoking its tokens and suspending it means
    deactivating the app. For a protected identity the actions in
    `policy.protected_withheld` are left out and the ticket becomes urgent, with a
    reason naming what was withheld and why.
    """
    target = resolve_target(
        identity_id=detection.identity_id,
        identity_name=detection.identity_name,
        deployment_map=deployment_map,
    )
    kinds, withheld = _select_kinds(
        tier=detection.tier,
        identity_kind=detection.identity_kind,
        target=target,
        protected=is_protected(detection.identity_id, deployment_map),
        policy=policy,
    )
    priority: str = getattr(policy.ticket_priority, detection.tier, "normal")
    if withheld:
        # The analyst must now do by hand what was withheld, so it cannot wait.
        priority = "urgent"
        logger.info(
            "identity %s is protected: withholding %s",
            detection.identity_id,
            ", ".join(withheld),
        )

    context = _describe(detection, target)
    return [
        _plan_one(
            kind,
            detection=detection,
            target=target,
            policy=policy,
            context=context,
            priority=priority,
            withheld=withheld,
        )
        for kind in kinds
    ]


def describe_action(
    tier: str,
    identity_kind: str,
    *,
    identity_id: str | None = None,
    deployment_map: DeploymentMap | None = None,
    policy: ResponsePolicy = DEFAULT_POLICY,
) -> str:
    """The policy's actions at `tier` as one flat string, for the scoring API.

    `"none"` at tier none; otherwise the action kinds joined by ", ". With the
    identity id (and map) the answer reflects its target and protection.
    """
    if tier == "none":
        return "none"
    if identity_id is None:
        kinds = policy.table_for(identity_kind).for_tier(tier)
    else:
        target = resolve_target(
            identity_id=identity_id, identity_name=None, deployment_map=deployment_map
        )
        kinds, _withheld = _select_kinds(
            tier=tier,
            identity_kind=identity_kind,
            target=target,
            protected=is_protected(identity_id, deployment_map),
            policy=policy,
        )
    return ", ".join(kinds) or "none"


def _select_kinds(
    *,
    tier: str,
    identity_kind: str,
    target: Target,
    protected: bool,
    policy: ResponsePolicy,
) -> tuple[list[str], list[str]]:
    """The action kinds for a target at a tier, and those withheld by protection."""
    kinds = _adapt_to_target(policy.table_for(identity_kind).for_tier(tier), target)
    if not protected:
        return kinds, []
    withheld = [kind for kind in kinds if kind in policy.protected_withheld]
    if not withheld:
        return kinds, []
    kinds = [kind for kind in kinds if kind not in withheld]
    if "open_ticket" not in kinds:
        kinds.append("open_ticket")
    return kinds, withheld


def ticket_priority_rank(priority: str | None) -> int:
    """Order of ticket priorities; an unknown or missing one ranks lowest."""
    return TICKET_PRIORITIES.index(priority) if priority in TICKET_PRIORITIES else -1


def _adapt_to_target(kinds: list[str], target: Target) -> list[str]:
    if target.type == "oauth_app":
        swap = {"clear_sessions": "revoke_tokens", "suspend": "deactivate_app"}
        # An app cannot be asked for MFA; its tokens are handled by revoke_tokens.
        adapted = [swap.get(kind, kind) for kind in kinds if kind != "require_mfa"]
    else:
        adapted = [{"deactivate_app": "suspend"}.get(kind, kind) for kind in kinds]
    return list(dict.fromkeys(adapted))


def _describe(detection: Detection, target: Target) -> str:
    who = f"{detection.identity_kind} {target.name or detection.identity_id}"
    if target.name:
        who += f" ({detection.identity_id})"
    rules = ", ".join(detection.rules) or "model only"
    return f"{detection.tier} tier, risk {detection.risk:.1f}, on {who}; rules: {rules}"


def _plan_one(
    kind: str,
    *,
    detection: Detection,
    target: Target,
    policy: ResponsePolicy,
    context: str,
    priority: str,
    withheld: list[str],
) -> PlannedAction:
    reason = f"{detection.identity_kind} response policy: {context}"
    ticket_priority = None
    if kind == "open_ticket":
        ticket_priority = priority
        if withheld:
            reason = (
                f"{target.id} is a protected identity, so {', '.join(withheld)} "
                f"were withheld and left to an analyst; urgent ticket instead. "
                f"{context}"
            )
        request = action_requests.open_ticket(
            target,
            tier=detection.tier,
            priority=priority,
            summary=f"credwatch: {context}",
            withheld=withheld,
        )
    elif kind == "require_mfa":
        request = action_requests.require_mfa(
            target, quarantine_group_id=policy.quarantine_group_id
        )
    elif kind == "notify_owner":
        request = action_requests.notify_owner(
            target, tier=detection.tier, summary=f"credwatch: {context}"
        )
    else:
        request = getattr(action_requests, kind)(target)
    return PlannedAction(
        kind=kind, reason=reason, request=request, ticket_priority=ticket_priority
    )
