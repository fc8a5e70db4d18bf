"""Every rule against examples that must fire and examples that must not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import build_event

from features.deployment import parse_deployment_map
from features.identity import IdentityResolver
from features.state import FeatureStream
from models.rules import CATALOGUE, evaluate_rules

AGENT_MAP = {
    "agents": [
        {
            "name": "invoice-bot",
            "match": {"actor_ids": ["00uAGENT"], "api_token_ids": ["00TTOKEN"]},
            "networks": ["34.82.0.0/16"],
            "asns": [15169],
            "countries": ["US"],
            "schedule": {"days": "mon-fri", "hours_utc": "06-20"},
            "api_endpoints": ["/api/v1/users*"],
        },
        # Replicas in two clouds, neither declared.
        {"name": "sync-bot", "match": {"api_token_ids": ["00TSYNC"]}},
    ],
    "known_networks": [{"name": "corp-vpn", "cidrs": ["198.51.100.0/24"], "asns": [64500]}],
    "shared_access_expected": {"actor_ids": ["00uSHARED"]},
}
AGENT_UA = "python-requests/2.31.0"


def person_history(actor_id="00uPERSON1", days=2):
    """Two working days at the office network: enough for a mature baseline."""
    events = []
    for day in range(days):
        for hour in range(9, 17):
            for minute in (5, 35):
                events.append(
                    build_event(
                        at=timedelta(days=day - days, hours=hour - 9, minutes=minute),
                        actor_id=actor_id, session=f"102S{day}",
                    )
                )
    return events


def agent_history(days=2):
    events = []
    for day in range(days):
        for hour in range(6, 20):
            for minute in (0, 20, 40):
                events.append(agent_event(at=timedelta(days=day - days, hours=hour - 9, minutes=minute)))
    return events


def two_cloud_agent_history(days=5):
    """An agent whose replicas in two clouds work side by side every hour."""
    events = []
    for day in range(days):
        for hour in range(24):
            for minute, ip, asn in ((0, "35.1.1.1", 15169), (2, "52.1.1.1", 16509)):
                at = timedelta(days=day - days, hours=hour - 9, minutes=minute)
                events.append(sync_event(at=at, ip=ip, asn=asn))
    return events


def sync_event(**overrides):
    return agent_event(**{"actor_id": "00uSYNC", "token_id": "00TSYNC", **overrides})


def agent_event(**overrides):
    values = dict(
        actor_id="00uAGENT", token_id="00TTOKEN", ip="34.82.1.10", asn=15169,
        user_agent=AGENT_UA, session=None, device=None,
        event_type="user.lifecycle.update", request_uri="/api/v1/users?limit=200",
    )
    values.update(overrides)
    return build_event(**values)


def rule_hits(events, deployment=AGENT_MAP, history=()):
    """Every hit of every rule over the events, the first of each rule kept; the
    history is learned first and not judged."""
    stream = FeatureStream(IdentityResolver(parse_deployment_map(deployment)))
    for event in history:
        stream.push(event)
    hits = {}
    for event in events:
        observation, _ = stream.push(event)
        for hit in evaluate_rules(observation):
            hits.setdefault(hit.rule_id, hit)
    return hits


def fatigue(prompts, actor="00uPERSON1"):
    return [
        build_event(at=timedelta(minutes=i), actor_id=actor,
                    event_type="system.push.send_factor_verify_push")
        for i in range(prompts)
    ]


EXAMPLES = {
    # rule id: [(name, events, must fire)]
    "concurrent_networks": [
        ("agent token from a foreign network minutes after its own",
         lambda: agent_history() + [agent_event(), agent_event(at=timedelta(minutes=3), ip="45.9.1.2", asn=9009)],
         True),
        ("agent across two declared regions", lambda: agent_history() + [
            agent_event(), agent_event(at=timedelta(minutes=3), ip="34.82.200.1")], False),
        ("agent on the two clouds it always uses side by side", lambda: (two_cloud_agent_history(), [
            sync_event(ip="35.1.1.1", asn=15169),
            sync_event(at=timedelta(minutes=3), ip="52.1.1.1", asn=16509)]), False),
        ("agent on one of its clouds and a network it used once", lambda: (
            [sync_event(at=timedelta(days=-6), ip="45.9.1.2", asn=9009), *two_cloud_agent_history()], [
            sync_event(ip="35.1.1.1", asn=15169),
            sync_event(at=timedelta(minutes=2), ip="45.9.1.99", asn=9009)]), True),
        ("agent on its two clouds and a third network at once", lambda: (two_cloud_agent_history(), [
            sync_event(ip="35.1.1.1", asn=15169),
            sync_event(at=timedelta(minutes=1), ip="52.1.1.1", asn=16509),
            sync_event(at=timedelta(minutes=3), ip="45.9.1.2", asn=9009)]), True),
        ("person on a new network while on the office one",
         lambda: person_history() + [build_event(), build_event(at=timedelta(minutes=4), ip="45.9.1.2", asn=9009, session="102S9")],
         True),
        ("person joining the corporate VPN", lambda: person_history() + [
            build_event(), build_event(at=timedelta(minutes=4), ip="198.51.100.7", asn=64500)], False),
        ("person declared for shared access", lambda: person_history("00uSHARED") + [
            build_event(actor_id="00uSHARED"),
            build_event(at=timedelta(minutes=4), actor_id="00uSHARED", ip="45.9.1.2", asn=9009)], False),
    ],
    "session_context_change": [
        ("session replayed from another device and network", lambda: person_history() + [
            build_event(session="102LIVE"),
            build_event(at=timedelta(minutes=9), session="102LIVE", ip="45.9.1.2", asn=9009, device="dev-X",
                        user_agent="Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/121.0")], True),
        ("session moves from office to home on the same laptop", lambda: person_history() + [
            build_event(session="102LIVE"),
            build_event(at=timedelta(minutes=50), session="102LIVE", ip="203.0.113.99", asn=7922)], False),
        ("Okta Verify writes into the session", lambda: person_history() + [
            build_event(session="102LIVE"),
            build_event(at=timedelta(minutes=1), session="102LIVE", device=None,
                        user_agent="OktaVerify/9.1.0 iOS/17.2")], False),
    ],
    "impossible_travel": [
        ("Denver then Paris in twenty minutes", lambda: person_history() + [
            build_event(), build_event(at=timedelta(minutes=20), ip="81.2.69.1", asn=3215,
                                       country="France", city="Paris", lat=48.85, lon=2.35)], True),
        ("Denver then Paris a day later", lambda: person_history() + [
            build_event(), build_event(at=timedelta(hours=20), ip="81.2.69.1", asn=3215,
                                       country="France", city="Paris", lat=48.85, lon=2.35)], False),
        ("Paris exit of the corporate VPN", lambda: person_history() + [
            build_event(), build_event(at=timedelta(minutes=20), ip="198.51.100.9", asn=64500,
                                       country="France", city="Paris", lat=48.85, lon=2.35)], False),
        ("a damaged latitude in the same city", lambda: person_history() + [
            build_event(), build_event(at=timedelta(minutes=10), lat=192.97)], False),
    ],
    "agent_outside_declared": [
        ("agent from an undeclared network", lambda: [agent_event(ip="45.9.1.2", asn=9009)], True),
        ("agent from its declared network", lambda: [agent_event()], False),
    ],
    "agent_off_schedule": [
        ("agent on Sunday at 03:00", lambda: [agent_event(at=timedelta(days=6, hours=-6))], True),
        ("agent on Monday at 10:00", lambda: [agent_event(at=timedelta(hours=1))], False),
    ],
    "api_new_endpoint": [
        ("agent calling the admin roles API", lambda: [agent_event(request_uri="/api/v1/iam/roles")], True),
        ("agent calling the users API", lambda: [agent_event(request_uri="/api/v1/users/00u1")], False),
    ],
    "api_rate_spike": [
        ("agent making 200 calls in an hour", lambda: agent_history() + [
            agent_event(at=timedelta(seconds=10 * i)) for i in range(200)], True),
        ("agent at its usual rate", lambda: agent_history() + [agent_event()], False),
    ],
    "client_mismatch": [
        ("agent token used from curl", lambda: [agent_event(user_agent="curl/8.4.0")], True),
        ("agent token used from Postman", lambda: [agent_event(user_agent="PostmanRuntime/7.36.0")], True),
        ("agent with its own client", lambda: [agent_event()], False),
        ("person in a browser", lambda: person_history() + [build_event()], False),
    ],
    "mfa_push_fatigue": [
        ("four pushes in four minutes", lambda: fatigue(4), True),
        ("one push", lambda: fatigue(1), False),
    ],
    "password_spray_on_agent": [
        ("five failures on a service account", lambda: [
            agent_event(at=timedelta(minutes=i), event_type="user.session.start", result="FAILURE",
                        ip=f"45.9.1.{i}", asn=9009) for i in range(5)], True),
        ("one failure", lambda: [agent_event(result="FAILURE")], False),
    ],
    "anonymizing_proxy": [
        ("a person signing in through an anonymising proxy", lambda: [
            build_event(event_type="user.session.start", ip="185.220.101.4", asn=60729,
                        securityContext={"asNumber": 60729, "asOrg": "tor exit", "isProxy": True})], True),
        ("a person on the corporate VPN marked as proxy", lambda: [
            build_event(event_type="user.session.start", ip="198.51.100.7", asn=64500,
                        securityContext={"asNumber": 64500, "isProxy": True})], False),
    ],
    "new_token_elsewhere": [
        ("a token made at the office, used from abroad", lambda: [
            build_event(event_type="system.api_token.create",
                        target=[{"id": "00TNEW", "type": "Token", "displayName": "API token"}]),
            agent_event(at=timedelta(hours=2), token_id="00TNEW", actor_id="00uPERSON1",
                        ip="45.9.1.2", asn=9009)], True),
        ("a token made and used at the office", lambda: [
            build_event(event_type="system.api_token.create",
                        target=[{"id": "00TNEW", "type": "Token", "displayName": "API token"}]),
            agent_event(at=timedelta(hours=2), token_id="00TNEW", actor_id="00uPERSON1",
                        ip="203.0.113.10", asn=7922)], False),
    ],
    "okta_threat_signal": [
        ("Okta detected a replayed refresh token", lambda: [build_event(event_type="app.oauth2.token.detect_reuse")], True),
        ("Okta behaviours in logOnlySecurityData only", lambda: [
            build_event(debug={"logOnlySecurityData": '{"risk":{"level":"LOW"},"behaviors":{"New Device":"POSITIVE"}}'})],
         False),
        ("ThreatInsight suspected threat", lambda: [build_event(debug={"threatSuspected": "true"})], True),
        ("Okta risk HIGH", lambda: [build_event(debug={"risk": "{reasons=Anomalous Device, level=HIGH}"})], True),
        ("Okta risk LOW", lambda: [build_event(debug={"risk": "{level=LOW}"})], False),
    ],
}

CASES = [
    pytest.param(rule_id, build, fires, id=f"{rule_id}: {name}")
    for rule_id, examples in EXAMPLES.items()
    for name, build, fires in examples
]


def test_every_rule_has_examples_both_ways():
    for rule in CATALOGUE:
        outcomes = {fires for _, _, fires in EXAMPLES.get(rule.id, [])}
        assert outcomes == {True, False}, f"{rule.id} needs examples that fire and that don't"


@pytest.mark.parametrize(("rule_id", "build", "fires"), CASES)
def test_rule_examples(rule_id, build, fires):
    # An example is its events, or a history it learns first and the events judged.
    built = build()
    history, events = built if isinstance(built, tuple) else ((), built)
    hits = rule_hits(events, history=history)

    assert (rule_id in hits) is fires
    if fires:
        hit = hits[rule_id]
        assert hit.reason and hit.event_ids
        assert hit.severity in {"low", "medium", "high", "critical"}


def test_sustained_off_schedule_work_is_high():
    night = [agent_event(at=timedelta(days=5, hours=-6, minutes=3 * i)) for i in range(6)]
    stream = FeatureStream(IdentityResolver(parse_deployment_map(AGENT_MAP)))
    severities = []
    for event in night:
        observation, _ = stream.push(event)
        severities += [hit.severity for hit in evaluate_rules(observation) if hit.rule_id == "agent_off_schedule"]

    assert severities == ["medium", "high"]


def test_a_session_moving_abroad_is_high_even_on_the_same_device():
    events = person_history() + [
        build_event(session="102LIVE"),
        build_event(at=timedelta(minutes=30), session="102LIVE", ip="172.105.57.3", asn=63949,
                    country="United Kingdom", city="London", lat=51.5, lon=-0.12),
    ]

    assert rule_hits(events)["session_context_change"].severity == "high"
