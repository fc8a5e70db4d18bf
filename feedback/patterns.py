"""New patterns: what recent incidents and traffic show that the past did not.

- Incident patterns: an incident's pattern is its identity kind and the rules that
  fired on it. Recent incidents whose pattern no earlier incident had are grouped
  by pattern, largest group first: the new kinds of trouble of the week.
- New footprints: per agent, the networks and client families of recent events
  that its learned history (the champion's baselines) does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from credwatch.db import ensure_utc
from events.schemas import LogEvent
from features.baseline import IdentityBaseline
from features.identity import AI_AGENT, IdentityResolver
from features.state import FeatureStream

MAX_LISTED = 10


@dataclass
class PatternGroup:
    kind: str
    rules: tuple[str, ...]
    incidents: list[int] = field(default_factory=list)
    identities: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.kind}: {' + '.join(self.rules) or 'model only'}"


def new_incident_patterns(
    incidents: Sequence[object], *, since: datetime
) -> list[PatternGroup]:
    """Groups of incidents opened since `since` with a pattern not seen before it."""
    since = ensure_utc(since)
    seen = set()
    recent: dict[tuple[str, tuple[str, ...]], PatternGroup] = {}
    for incident in sorted(incidents, key=lambda i: i.opened_at):  # type: ignore[attr-defined]
        key = (incident.identity_kind, tuple(sorted(incident.rules)))  # type: ignore[attr-defined]
        if ensure_utc(incident.opened_at) < since:  # type: ignore[attr-defined]
            seen.add(key)
            continue
        if key in seen:
            continue
        group = recent.setdefault(key, PatternGroup(kind=key[0], rules=key[1]))
        group.incidents.append(incident.id)  # type: ignore[attr-defined]
        group.identities.add(incident.identity_id)  # type: ignore[attr-defined]
    return sorted(recent.values(), key=lambda g: (-len(g.incidents), g.label))


@dataclass
class Footprint:
    identity_id: str
    name: str
    networks: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)


def new_agent_footprints(
    events: Iterable[LogEvent],
    *,
    resolver: IdentityResolver,
    baselines: dict[str, IdentityBaseline],
) -> list[Footprint]:
    """Agents' networks and clients in `events` that their baselines do not hold."""
    stream = FeatureStream(resolver)
    found: dict[str, Footprint] = {}
    for event in events:
        facts = stream.facts_of(event)
        if facts is None or facts.identity.kind != AI_AGENT:
            continue
        baseline = baselines.get(facts.identity.id)
        network_known = baseline is not None and facts.network in baseline.networks
        client_known = baseline is not None and facts.ua_family in baseline.ua_families
        if network_known and client_known:
            continue
        item = found.setdefault(
            facts.identity.id,
            Footprint(facts.identity.id, facts.identity.name or facts.identity.id),
        )
        if facts.network and not network_known:
            item.networks.add(facts.network)
        if facts.ua_family and not client_known:
            item.clients.add(facts.ua_family)
    return sorted(
        (f for f in found.values() if f.networks or f.clients),
        key=lambda f: (-(len(f.networks) + len(f.clients)), f.name),
    )
