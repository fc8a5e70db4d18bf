"""The out-of-date deployment map: what it leaves out, and that traffic uses it."""

from __future__ import annotations

import ipaddress

import orjson
import pytest
import yaml

from features.deployment import load_deployment_map
from simulator import simulate

WORLD = {"people": 30, "agents": 16, "days": 4, "seed": 23}


@pytest.fixture(scope="module")
def stale_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("stale")
    simulate(out=out, stale_map=True, **WORLD)
    return out


def test_stale_map_leaves_out_second_regions_and_the_vpn(stale_world, tmp_path):
    left_out = orjson.loads((stale_world / "map_left_out.json").read_bytes())
    stale = yaml.safe_load((stale_world / "deployment.yaml").read_text())
    simulate(out=tmp_path, **WORLD)
    full = yaml.safe_load((tmp_path / "deployment.yaml").read_text())
    assert not (tmp_path / "map_left_out.json").exists()

    assert left_out["agents"], "this seed has agents already using a second region"
    by_name = {agent["name"]: agent for agent in stale["agents"]}
    full_by_name = {agent["name"]: agent for agent in full["agents"]}
    for missing in left_out["agents"]:
        declared = set(by_name[missing["name"]]["networks"])
        assert declared.isdisjoint(missing["networks"])
        complete = set(full_by_name[missing["name"]]["networks"])
        assert set(missing["networks"]) <= complete
    assert "corp-vpn" in {n["name"] for n in full["known_networks"]}
    assert "corp-vpn" not in {n["name"] for n in stale["known_networks"]}
    # Still a valid map.
    load_deployment_map(stale_world / "deployment.yaml")


def test_history_already_uses_what_the_stale_map_leaves_out(stale_world):
    left_out = orjson.loads((stale_world / "map_left_out.json").read_bytes())
    blocks = {
        agent["identity_id"]: [ipaddress.ip_network(c) for c in agent["networks"]]
        for agent in left_out["agents"]
    }
    seen = set()
    for line in (stale_world / "history.jsonl").read_bytes().splitlines():
        event = orjson.loads(line)
        actor = event["actor"]["id"]
        if actor not in blocks:
            continue
        ip = ipaddress.ip_address(event["client"]["ipAddress"])
        if any(ip in block for block in blocks[actor]):
            seen.add(actor)
    assert seen == set(blocks)
