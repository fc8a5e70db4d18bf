"""The deployment map (contracts section 2) that describes the simulated world.

Everything an agent does in benign traffic is declared here: its networks (and,
for serverless agents whose addresses roam a whole region, its AS), countries,
schedule, concurrency and endpoints. The organisation's offices and VPN are known
networks; executives whose assistants share their account are declared too.

A stale map (`stale=True`) is the map of an organisation that has moved on without
updating it: agents already running from their second region declare only the
first, and the corporate VPN is missing from the known networks. `left_out` lists
what a stale map leaves out, the truth an evaluation of feedback needs.
"""

from __future__ import annotations

from typing import Any

from simulator.networks import CORP_ASN, OFFICES, VPN_CIDR
from simulator.world import World

VPN_NETWORK_NAME = "corp-vpn"


def deployment_map(world: World, *, stale: bool = False) -> dict[str, Any]:
    """The map as a plain document, ready for YAML; out of date when `stale`."""
    agents = []
    for agent in world.agents:
        deployments = _declared_deployments(agent, stale=stale)
        match: dict[str, list[str]] = {}
        if agent.kind == "oauth_app":
            match["client_ids"] = [agent.actor_id]
        else:
            match["actor_ids"] = [agent.actor_id]
            if agent.token_id:
                match["api_token_ids"] = [agent.token_id]
        entry: dict[str, Any] = {
            "name": agent.name,
            "match": match,
            "owner": agent.owner,
            "jira_assignee": agent.jira_assignee,
            "networks": [n.cidr for d in deployments for n in d.declared],
        }
        if agent.declare_asns:
            entry["asns"] = sorted({d.region.operator.asn for d in deployments})
        entry["countries"] = sorted({d.region.place.country_code for d in deployments})
        if agent.schedule is not None:
            days, hours = agent.schedule
            entry["schedule"] = {"days": days, "hours_utc": hours}
        entry["max_concurrent_sessions"] = max(agent.replicas, 1)
        entry["api_endpoints"] = list(agent.endpoints)
        agents.append(entry)

    known = [
        {"name": f"office-{metro}", "cidrs": [cidr]}
        for metro, (_, cidr) in OFFICES.items()
    ]
    if not stale:
        known.append(_vpn())
    return {
        "agents": agents,
        "known_networks": known,
        "shared_access_expected": {"actor_ids": list(world.shared_access_ids)},
        "protected_identities": list(world.protected_ids),
    }


def left_out(world: World) -> dict[str, Any]:
    """What the stale map leaves out: second regions in use, and the VPN."""
    agents = []
    for agent in world.agents:
        missing = agent.deployments[len(_declared_deployments(agent, stale=True)) :]
        if missing:
            agents.append(
                {
                    "identity_id": agent.actor_id,
                    "name": agent.name,
                    "networks": [n.cidr for d in missing for n in d.declared],
                    "asns": sorted({d.region.operator.asn for d in missing}),
                    "countries": sorted({d.region.place.country_code for d in missing}),
                }
            )
    return {"agents": agents, "known_networks": [_vpn()]}


def _declared_deployments(agent: Any, *, stale: bool) -> list[Any]:
    # Only a region the agent already works from can be missing from the map; an
    # idle standby region is declared either way.
    if stale and agent.second_active and len(agent.deployments) > 1:
        return agent.deployments[:1]
    return list(agent.deployments)


def _vpn() -> dict[str, Any]:
    return {"name": VPN_NETWORK_NAME, "cidrs": [VPN_CIDR], "asns": [CORP_ASN]}
