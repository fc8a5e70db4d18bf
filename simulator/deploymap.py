"""The deployment map (contracts section 2) that describes the simulated world.

Everything an agent does in benign traffic is declared here: its networks (and,
for serverless agents whose addresses roam a whole region, its AS), countries,
schedule, concurrency and endpoints. The organisation's offices and VPN are known
networks; executives whose assistants share their account are declared too.
"""

from __future__ import annotations

from typing import Any

from simulator.networks import CORP_ASN, OFFICES, VPN_CIDR
from simulator.world import World


def deployment_map(world: World) -> dict[str, Any]:
    """The map as a plain document, ready for YAML."""
    agents = []
    for agent in world.agents:
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
            "networks": [n.cidr for d in agent.deployments for n in d.declared],
        }
        if agent.declare_asns:
            entry["asns"] = sorted({d.region.operator.asn for d in agent.deployments})
        entry["countries"] = sorted(
            {d.region.place.country_code for d in agent.deployments}
        )
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
    known.append({"name": "corp-vpn", "cidrs": [VPN_CIDR], "asns": [CORP_ASN]})
    return {
        "agents": agents,
        "known_networks": known,
        "shared_access_expected": {"actor_ids": list(world.shared_access_ids)},
        "protected_identities": list(world.protected_ids),
    }
