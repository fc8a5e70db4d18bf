"""Identity resolution: which identity an event belongs to, and of what kind.

An event's actor is resolved against the deployment map first (an API token's owner,
an OAuth client, a service account user), then by Okta's actor type alone: a `User`
is a person, anything else a non-human `service`.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.lean import ReadEvent
from features.deployment import Agent, DeploymentMap

HUMAN = "human"
AI_AGENT = "ai_agent"
SERVICE = "service"

NETWORK_CACHE_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    kind: str
    name: str | None = None
    agent: Agent | None = None
    shared_access: bool = False
    protected: bool = False


class IdentityResolver:
    """Resolves events to identities; without a map, by Okta actor type alone."""

    def __init__(self, deployment: DeploymentMap | None = None) -> None:
        self.deployment = deployment or DeploymentMap()
        self._by_token: dict[str, Agent] = {}
        self._by_actor: dict[str, Agent] = {}
        for agent in self.deployment.agents:
            for token_id in agent.match.api_token_ids:
                self._by_token[token_id] = agent
            for actor_id in [*agent.match.actor_ids, *agent.match.client_ids]:
                self._by_actor[actor_id] = agent
        self._shared = frozenset(self.deployment.shared_access_expected.actor_ids)
        self._protected = frozenset(self.deployment.protected_identities)
        self._cache: dict[tuple[str, str | None, str | None], Identity] = {}
        self._networks: dict[tuple[str | None, int | None], str | None] = {}

    def resolve(self, event: ReadEvent) -> Identity | None:
        """The identity the event's actor names, or None when it names no actor."""
        actor_id = event.actor_id
        if not actor_id:
            return None
        key = (actor_id, event.actor_type, event.api_token_id)
        identity = self._cache.get(key)
        if identity is None:
            identity = self._resolve(*key, event.actor_name)
            self._cache[key] = identity
        return identity

    def _resolve(
        self, actor_id: str, actor_type: str | None, token_id: str | None, name: str | None
    ) -> Identity:
        agent = self._by_token.get(token_id or "") or self._by_actor.get(actor_id)
        protected = actor_id in self._protected
        if agent is not None:
            return Identity(
                id=actor_id, kind=AI_AGENT, name=agent.name, agent=agent,
                protected=protected,
            )

        kind = HUMAN if (actor_type or "").lower() == "user" else SERVICE
        return Identity(
            id=actor_id,
            kind=kind,
            name=name,
            shared_access=actor_id in self._shared,
            protected=protected,
        )

    def network_name(self, ip: str | None, asn: int | None) -> str | None:
        """The organisation's own network (VPN, proxy, CI) the address belongs to."""
        key = (ip, asn)
        if key not in self._networks:
            if len(self._networks) >= NETWORK_CACHE_SIZE:
                self._networks.clear()
            self._networks[key] = self.deployment.known_network_of(ip, asn)
        return self._networks[key]
