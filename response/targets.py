"""What an action acts on: an Okta user, or an OAuth 2.0 service app.

The same policy word means different calls for the two (suspending a user versus
deactivating an app), so every action first resolves its target.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from features.deployment import Agent, DeploymentMap

TargetType = Literal["user", "oauth_app"]

# Okta prefixes the ids of applications with "0oa"; used only for identities the
# deployment map does not describe.
_OKTA_APP_ID_PREFIX = "0oa"


class Target(BaseModel):
    """The Okta object an action is aimed at, with what the map says about it."""

    model_config = ConfigDict(frozen=True)

    type: TargetType
    id: str
    name: str | None = None
    owner: str | None = None
    jira_assignee: str | None = None
    api_token_ids: tuple[str, ...] = ()

    def as_request(self) -> dict[str, object]:
        """The target as it is stored in an action's request."""
        return {"type": self.type, "id": self.id, "name": self.name}

    @classmethod
    def from_request(cls, request: dict[str, object], *, fallback_id: str) -> Target:
        """The target stored in an action's request (see `as_request`)."""
        stored = request.get("target")
        if not isinstance(stored, dict):
            return cls(type="user", id=fallback_id)
        return cls(
            type="oauth_app" if stored.get("type") == "oauth_app" else "user",
            id=str(stored.get("id") or fallback_id),
            name=stored.get("name") if isinstance(stored.get("name"), str) else None,
        )


def find_agent(identity_id: str, deployment_map: DeploymentMap | None) -> Agent | None:
    """The agent of the deployment map that `identity_id` belongs to, if any."""
    if deployment_map is None:
        return None
    for agent in deployment_map.agents:
        match = agent.match
        if identity_id in (*match.actor_ids, *match.client_ids, *match.api_token_ids):
            return agent
    return None


def resolve_target(
    *,
    identity_id: str,
    identity_name: str | None,
    deployment_map: DeploymentMap | None,
) -> Target:
    """Resolve an identity to the user or app that actions would be sent to."""
    agent = find_agent(identity_id, deployment_map)
    if agent is not None:
        is_app = identity_id in agent.match.client_ids
        return Target(
            type="oauth_app" if is_app else "user",
            id=identity_id,
            name=identity_name or agent.name,
            owner=agent.owner,
            jira_assignee=agent.jira_assignee,
            # An API token belongs to its owner user, so only a user target has them.
            api_token_ids=() if is_app else tuple(agent.match.api_token_ids),
        )
    is_app = identity_id.startswith(_OKTA_APP_ID_PREFIX)
    return Target(
        type="oauth_app" if is_app else "user", id=identity_id, name=identity_name
    )


def is_protected(identity_id: str, deployment_map: DeploymentMap | None) -> bool:
    """True when the deployment map forbids automatic suspension or reset."""
    return (
        deployment_map is not None
        and identity_id in deployment_map.protected_identities
    )
