"""The simulated world and its deployment map."""

from __future__ import annotations

import ipaddress
from datetime import date

import pytest
from simhelpers import SimRun, actor_id, when

from events.schemas import LogEvent
from simulator.networks import all_catalogue_cidrs
from simulator.places import HOME_CITIES
from simulator.plan import ScenarioCounts
from simulator.run import days_in_test_period


def test_network_catalogue_blocks_are_disjoint_and_public() -> None:
    blocks = [ipaddress.ip_network(c) for c in all_catalogue_cidrs()]
    for i, block in enumerate(blocks):
        assert not block.is_private and not block.is_reserved, block
        assert not any(block.overlaps(other) for other in blocks[i + 1 :]), block


def test_daylight_saving_follows_local_rules() -> None:
    san_francisco = HOME_CITIES["sf"][0]
    assert san_francisco.offset_on(date(2026, 3, 7)) == -8
    assert san_francisco.offset_on(date(2026, 3, 8)) == -7
    london = HOME_CITIES["london"][0]
    assert london.offset_on(date(2026, 3, 28)) == 0
    assert london.offset_on(date(2026, 3, 29)) == 1


@pytest.mark.parametrize(
    ("days", "fraction", "expected"),
    [
        (7, None, 2),
        (14, None, 4),
        (28, None, 7),
        (2, None, 1),
        (1, None, 1),
        (10, 0.5, 5),
    ],
)
def test_test_period_length(days: int, fraction: float | None, expected: int) -> None:
    assert days_in_test_period(days=days, history_fraction=fraction) == expected


def test_default_counts_scale_with_the_world() -> None:
    small = ScenarioCounts().resolve(people=40, agents=12)
    assert all(count >= 1 for count in small.values())
    large = ScenarioCounts().resolve(people=600, agents=100)
    assert large["session_hijack"] == 10 and large["token_shared_across_networks"] == 5
    assert ScenarioCounts(vpn_signin=3).resolve(people=40, agents=12)["vpn_signin"] == 3


def test_map_declares_every_agent(small_run: SimRun) -> None:
    deployment = small_run.deployment
    assert len(deployment.agents) == small_run.summary.agents
    kinds = {a.name: a for a in deployment.agents}
    assert len(kinds) == small_run.summary.agents
    assert {n.name for n in deployment.known_networks} >= {"corp-vpn", "office-sf"}
    assert deployment.protected_identities
    assert deployment.shared_access_expected.actor_ids


def _compromised(run: SimRun, identity: str, moment) -> bool:  # noqa: ANN001
    return any(
        label["identity_id"] == identity
        and when(label["start"]) <= moment <= when(label["end"])
        for label in run.labels
    )


def test_agents_normal_traffic_stays_inside_what_the_map_declares(
    small_run: SimRun,
) -> None:
    for agent in small_run.deployment.agents:
        ids = {*agent.match.actor_ids, *agent.match.client_ids}
        tokens = set(agent.match.api_token_ids)
        own = [
            LogEvent.model_validate(e)
            for e in small_run.events
            if actor_id(e) in ids
            or e["transaction"]["detail"].get("requestApiTokenId") in tokens
        ]
        assert own, agent.name
        normal = [
            e for e in own if not _compromised(small_run, e.actor_id, e.published)
        ]
        for event in normal:
            assert agent.in_networks(event.ip, event.asn), (agent.name, event.ip)
            assert event.country in {_name(c) for c in agent.countries}
            if agent.schedule is not None:
                assert agent.schedule.allows(event.published), (
                    agent.name,
                    event.published,
                )
            assert agent.allows_endpoint(event.request_uri), (
                agent.name,
                event.request_uri,
            )
        # Agents behind fixed egress use one address per replica and region.
        assert agent.max_concurrent_sessions is not None
        if all(net.prefixlen >= 24 for net in agent.parsed_networks):
            limit = agent.max_concurrent_sessions * len(agent.networks)
            assert len({e.ip for e in normal}) <= limit, agent.name


def _name(code: str) -> str:
    from simulator.places import COUNTRY_NAMES

    return COUNTRY_NAMES[code]


def test_office_and_vpn_traffic_is_from_known_networks(small_run: SimRun) -> None:
    deployment = small_run.deployment
    for event in small_run.events:
        zone = event["client"]["zone"]
        if zone in ("Corporate Offices", "Corporate VPN"):
            parsed = LogEvent.model_validate(event)
            assert deployment.known_network_of(parsed.ip, parsed.asn) is not None


def test_people_sign_in_with_behaviours_and_risk(small_run: SimRun) -> None:
    starts = [
        LogEvent.model_validate(e)
        for e in small_run.history
        if e["eventType"] == "user.session.start"
        and e["outcome"]["result"] == "SUCCESS"
        and not e["actor"]["alternateId"].startswith("svc-")
    ]
    assert starts
    for event in starts:
        assert set(event.behaviors) >= {"New Device", "New IP", "Velocity", "New City"}
        assert event.risk_level in {"LOW", "MEDIUM", "HIGH"}
    # In benign history nearly every sign-in looks familiar.
    low = sum(1 for e in starts if e.risk_level == "LOW")
    assert low / len(starts) > 0.9
