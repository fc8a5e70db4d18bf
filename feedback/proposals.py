"""Deployment-map changes that "expected" verdicts suggest, for a person to accept.

An expected verdict says the map is behind the world: an agent runs from a network
it does not declare, the organisation has a network (a new VPN) the map does not
know, a person's account is shared on purpose. From the events of expected spans
(collected by training.windows) three kinds of change are proposed:

- `agent_network`: the agent's undeclared address blocks (/24, or /48 for IPv6);
- `known_network`: a network (its AS, else its block) that expected verdicts on at
  least `MIN_PEOPLE_FOR_KNOWN` different people share;
- `shared_access`: a person whose expected incident was about two devices, clients
  or networks in use at once.

Nothing changes the map until a person accepts a proposal; a rejected one is not
proposed again.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from credwatch.db import ensure_utc
from credwatch.errors import CredwatchError
from feedback.policy_log import log_change
from feedback.records import MapProposal

logger = logging.getLogger(__name__)

MIN_PEOPLE_FOR_KNOWN = 2
MAX_BLOCKS_PER_AGENT = 8
SHARED_ACCESS_RULES = frozenset(
    {"concurrent_networks", "session_context_change", "client_mismatch"}
)


class UnknownProposal(CredwatchError):
    """No proposal has that id."""


@dataclass(frozen=True)
class SeenEvent:
    """One event of a labelled span that a rule fired on, outside expected networks."""

    ip: str | None
    asn: int | None
    network: str | None
    country: str | None
    client: str | None
    rules: tuple[str, ...]


@dataclass
class SpanEvidence:
    """A labelled span and the unexpected events within it."""

    incident_id: int
    identity_id: str
    identity_kind: str
    agent_name: str | None
    verdict: str
    rules: list[str]
    events: list[SeenEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Proposal:
    kind: str
    identity_id: str
    name: str | None
    value: str
    detail: dict[str, Any]


def propose(spans: Iterable[SpanEvidence]) -> list[Proposal]:
    """The map changes the expected spans support, most supported first."""
    agent_blocks: dict[tuple[str, str | None, str], set[int]] = defaultdict(set)
    network_people: dict[str, set[str]] = defaultdict(set)
    network_incidents: dict[str, set[int]] = defaultdict(set)
    shared: dict[str, set[int]] = defaultdict(set)

    for span in spans:
        if span.verdict != "expected":
            continue
        if span.identity_kind == "ai_agent":
            for event in span.events:
                block = address_block(event.ip)
                if block:
                    agent_blocks[(span.identity_id, span.agent_name, block)].add(
                        span.incident_id
                    )
            continue
        for event in span.events:
            key = f"AS{event.asn}" if event.asn is not None else address_block(event.ip)
            if key:
                network_people[key].add(span.identity_id)
                network_incidents[key].add(span.incident_id)
        if span.identity_kind == "human" and SHARED_ACCESS_RULES & set(span.rules):
            shared[span.identity_id].add(span.incident_id)

    found: list[Proposal] = []
    per_agent: dict[str, int] = defaultdict(int)
    for (identity_id, name, block), incidents in sorted(
        agent_blocks.items(), key=lambda item: (-len(item[1]), item[0])
    ):
        if per_agent[identity_id] >= MAX_BLOCKS_PER_AGENT:
            continue
        per_agent[identity_id] += 1
        found.append(
            Proposal(
                "agent_network",
                identity_id,
                name,
                block,
                {"incidents": sorted(incidents)},
            )
        )
    known = set()
    for key, people in sorted(network_people.items(), key=lambda item: -len(item[1])):
        if len(people) >= MIN_PEOPLE_FOR_KNOWN:
            known.add(key)
            found.append(
                Proposal(
                    "known_network",
                    "",
                    f"learned-{key.replace('/', '-')}",
                    key,
                    {
                        "incidents": sorted(network_incidents[key]),
                        "people": sorted(people),
                    },
                )
            )
    for identity_id, incidents in sorted(shared.items()):
        found.append(
            Proposal(
                "shared_access",
                identity_id,
                None,
                identity_id,
                {"incidents": sorted(incidents)},
            )
        )
    return found


def address_block(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


# --- stored proposals ----------------------------------------------------------------


def store_proposals(
    session: Session, proposals: Iterable[Proposal], *, now: datetime | None = None
) -> list[MapProposal]:
    """Add new proposals, refresh the evidence of pending ones; skip decided ones."""
    now = ensure_utc(now or datetime.now(UTC))
    stored = []
    for proposal in proposals:
        row = session.scalars(
            select(MapProposal).where(
                MapProposal.kind == proposal.kind,
                MapProposal.identity_id == proposal.identity_id,
                MapProposal.value == proposal.value,
            )
        ).first()
        if row is None:
            row = MapProposal(
                kind=proposal.kind,
                identity_id=proposal.identity_id,
                name=proposal.name,
                value=proposal.value,
                detail=proposal.detail,
                status="proposed",
                created_at=now,
            )
            session.add(row)
        elif row.status == "proposed":
            row.detail = proposal.detail
        stored.append(row)
    session.flush()
    return stored


def list_proposals(session: Session, *, status: str | None = None) -> list[MapProposal]:
    statement = select(MapProposal).order_by(MapProposal.id)
    if status:
        statement = statement.where(MapProposal.status == status)
    return list(session.scalars(statement))


def get_proposal(session: Session, proposal_id: int) -> MapProposal:
    row = session.get(MapProposal, int(proposal_id))
    if row is None:
        raise UnknownProposal(f"no map proposal {proposal_id}")
    return row


def decide(
    session: Session,
    row: MapProposal,
    *,
    accept: bool,
    actor: str,
    now: datetime | None = None,
) -> MapProposal:
    now = ensure_utc(now or datetime.now(UTC))
    row.status = "accepted" if accept else "rejected"
    row.decided_at = now
    row.decided_by = actor
    session.flush()
    if accept:
        log_change(
            session, kind="map_changed", detail=describe(row), actor=actor, now=now
        )
    return row


def describe(row: MapProposal | Proposal) -> str:
    if row.kind == "agent_network":
        return f"declare network {row.value} for agent {row.name or row.identity_id}"
    if row.kind == "known_network":
        return f"add {row.value} to the organisation's known networks"
    return f"expect shared access to {row.identity_id}"


def proposal_as_dict(row: MapProposal) -> dict[str, Any]:
    from response.queries import zulu

    return {
        "id": row.id,
        "kind": row.kind,
        "identity_id": row.identity_id or None,
        "name": row.name,
        "value": row.value,
        "change": describe(row),
        "detail": dict(row.detail or {}),
        "status": row.status,
        "created_at": zulu(row.created_at),
        "decided_at": zulu(row.decided_at),
        "decided_by": row.decided_by,
    }


# --- applying to a map ---------------------------------------------------------------


def apply_to_map(
    document: dict[str, Any], proposals: Iterable[MapProposal | Proposal]
) -> dict[str, Any]:
    """A copy of a map document with the proposals' changes made; validated."""
    import copy

    from features.deployment import parse_deployment_map

    changed = copy.deepcopy(document or {})
    for proposal in proposals:
        if proposal.kind == "agent_network":
            agent = _agent_entry(changed, proposal)
            networks = agent.setdefault("networks", [])
            if proposal.value not in networks:
                networks.append(proposal.value)
        elif proposal.kind == "known_network":
            known = changed.setdefault("known_networks", [])
            if proposal.value.startswith("AS"):
                entry = {"name": proposal.name, "asns": [int(proposal.value[2:])]}
            else:
                entry = {"name": proposal.name, "cidrs": [proposal.value]}
            if not any(item.get("name") == entry["name"] for item in known):
                known.append(entry)
        elif proposal.kind == "shared_access":
            shared = changed.setdefault("shared_access_expected", {})
            ids = shared.setdefault("actor_ids", [])
            if proposal.identity_id not in ids:
                ids.append(proposal.identity_id)
    parse_deployment_map(changed, source="<map with accepted proposals>")
    return changed


def write_accepted(
    row: MapProposal, *, map_path: Path, out: Path | None = None
) -> Path:
    """Write the map with `row`'s change to `out`, or in place after a `.bak` copy."""
    document = yaml.safe_load(map_path.read_text(encoding="utf-8")) or {}
    changed = apply_to_map(document, [row])
    target = out or map_path
    if out is None:
        shutil.copyfile(map_path, map_path.with_name(map_path.name + ".bak"))
    target.write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    logger.info("map change written to %s: %s", target, describe(row))
    return target


def _agent_entry(
    document: dict[str, Any], proposal: MapProposal | Proposal
) -> dict[str, Any]:
    for agent in document.get("agents") or []:
        match = agent.get("match") or {}
        ids = [*match.get("actor_ids", []), *match.get("client_ids", [])]
        if agent.get("name") == proposal.name or proposal.identity_id in ids:
            return agent
    raise ValueError(
        f"the map has no agent {proposal.name or proposal.identity_id}; "
        "the proposal cannot be applied"
    )
