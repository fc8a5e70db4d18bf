from datetime import timedelta

import numpy as np
from builders import build_event

from features.deployment import parse_deployment_map
from features.identity import AI_AGENT, HUMAN, SERVICE, IdentityResolver
from features.state import FeatureStream
from features.vectors import FEATURE_INDEX, FEATURE_NAMES

MAP = parse_deployment_map(
    {
        "agents": [
            {"name": "sync", "match": {"api_token_ids": ["00TSYNC"]}, "networks": ["34.82.0.0/16"]},
            {"name": "reporter", "match": {"client_ids": ["0oaREPORT"]}},
        ],
        "protected_identities": ["00uBOSS"],
    }
)


def test_identities_resolve_by_token_client_and_actor_type():
    resolver = IdentityResolver(MAP)

    by_token = resolver.resolve(build_event(actor_id="00uSVC", token_id="00TSYNC"))
    by_client = resolver.resolve(build_event(actor_id="0oaREPORT", actor_type="PublicClientApp"))
    person = resolver.resolve(build_event(actor_id="00uBOSS"))
    app = resolver.resolve(build_event(actor_id="0oaOTHER", actor_type="PublicClientApp"))

    assert (by_token.id, by_token.kind, by_token.name) == ("00uSVC", AI_AGENT, "sync")
    assert (by_client.kind, by_client.name) == (AI_AGENT, "reporter")
    assert person.kind == HUMAN and person.protected
    assert app.kind == SERVICE


def test_without_a_map_kinds_come_from_actor_type():
    resolver = IdentityResolver()

    assert resolver.resolve(build_event(token_id="00TSYNC")).kind == HUMAN
    assert resolver.resolve(build_event(actor=None)) is None


def vector_of(events, deployment=MAP):
    stream = FeatureStream(IdentityResolver(deployment))
    observation = None
    for event in events:
        observation, _ = stream.push(event)
    return dict(zip(FEATURE_NAMES, observation.vector, strict=True)), observation


def test_window_counts_distinct_values():
    features, _ = vector_of(
        [
            build_event(at=timedelta(minutes=1)),
            build_event(at=timedelta(minutes=2), ip="203.0.113.11", device="dev-2", session="102S2"),
            build_event(at=timedelta(minutes=3), ip="81.2.69.1", asn=3215, country="France",
                        lat=48.85, lon=2.35,
                        result="FAILURE", debug={"threatSuspected": "true",
                                                 "behaviors": "{New IP=POSITIVE, New Device=POSITIVE}",
                                                 "risk": "{level=MEDIUM}"}),
        ]
    )

    assert features["events"] == 3
    assert features["distinct_ips"] == 3
    assert features["distinct_networks"] == 2
    assert features["distinct_countries"] == 2
    assert features["distinct_devices"] == 2
    assert features["distinct_sessions"] == 2
    assert features["failure_ratio"] == 1 / 3
    assert features["threat_signals"] == 1
    assert features["okta_positive_behaviors"] == 2
    assert features["okta_risk_level"] == 2
    assert features["concurrent_networks"] == 2
    assert features["max_travel_kmh"] > 1000


def test_a_new_hour_starts_a_new_window():
    stream = FeatureStream(IdentityResolver())
    stream.push(build_event(at=timedelta(minutes=10)))
    observation, closed = stream.push(build_event(at=timedelta(minutes=70)))

    assert closed is not None and closed.events == 1
    assert observation.vector[FEATURE_INDEX["events"]] == 1


def test_agent_share_outside_declared_networks():
    features, _ = vector_of(
        [
            build_event(actor_id="00uSVC", token_id="00TSYNC", ip="34.82.1.1", asn=None),
            build_event(actor_id="00uSVC", token_id="00TSYNC", ip="45.9.1.1", asn=None,
                        at=timedelta(minutes=1)),
        ]
    )

    assert features["outside_network_share"] == 0.5


def test_a_new_identity_is_not_novel_by_itself():
    features, observation = vector_of([build_event(ip=f"45.9.1.{i}", at=timedelta(minutes=i)) for i in range(5)])

    assert not observation.baseline_mature
    assert features["new_networks"] == 0 and features["new_ip_share"] == 0


def test_vectors_are_finite():
    _, observation = vector_of([build_event(), build_event(at=timedelta(seconds=1), lat=0.0, lon=0.0)])
    assert np.isfinite(observation.vector).all()


def test_country_names_as_okta_writes_them():
    from features.geo_names import country_code

    assert country_code("United States") == "US"
    assert country_code("Russia") == "RU"
    assert country_code("South Korea") == "KR"
    assert country_code("Nowhere land") is None
