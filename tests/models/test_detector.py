from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from builders import START, build_event

from features.deployment import parse_deployment_map
from features.identity import IdentityResolver
from features.vectors import FEATURE_NAMES
from models.ensemble import EnsembleWeights, combine, tier_for
from models.rules import Hit
from training.fit import fit_detector

MAP = parse_deployment_map(
    {
        "agents": [
            {
                "name": "sync-bot",
                "match": {"api_token_ids": ["00TSYNC"]},
                "networks": ["34.82.0.0/16"],
                "asns": [15169],
            }
        ]
    }
)


def agent_event(minutes, **overrides):
    values = dict(
        at=timedelta(minutes=minutes), actor_id="00uSYNC", token_id="00TSYNC",
        ip="34.82.1.10", asn=15169, user_agent="python-requests/2.31.0", session=None,
        device=None, event_type="user.lifecycle.update", request_uri="/api/v1/users",
    )
    values.update(overrides)
    return build_event(**values)


def history():
    rng = np.random.default_rng(0)
    events = []
    for day in range(-6, 0):
        for hour in range(24):
            for _ in range(int(rng.integers(3, 6))):
                minutes = day * 1440 + hour * 60 + int(rng.integers(0, 60))
                events.append(agent_event(minutes, ip=f"34.82.1.{rng.integers(1, 4)}"))
        for person in range(4):
            for hour in range(9, 17):
                minutes = day * 1440 + hour * 60 + int(rng.integers(0, 60))
                events.append(build_event(at=timedelta(minutes=minutes), actor_id=f"00uP{person}",
                                          session=f"102P{person}{day}"))
    return events


@pytest.fixture(scope="module")
def detector():
    detector, frame, report = fit_detector(history(), resolver=IdentityResolver(MAP))
    assert report.windows == len(frame) > 100
    return detector


def attack():
    """The agent's token in use from a foreign network while it runs as usual."""
    normal = [agent_event(10 + i) for i in range(10)]
    stolen = agent_event(14, ip="45.9.1.2", asn=9009, country="Netherlands", city="Amsterdam",
                         lat=52.37, lon=4.9, user_agent="curl/8.4.0")
    return normal, stolen


def test_a_shared_token_is_detected_with_its_evidence(detector):
    normal, stolen = attack()
    detections = detector.scorer(IdentityResolver(MAP)).score_batch([*normal, stolen])

    found = [d for d in detections if d.identity_id == "00uSYNC"]
    assert len(found) == 1
    detection = found[0]
    assert detection.tier in {"high", "critical"}
    assert {"concurrent_networks", "agent_outside_declared", "client_mismatch"} <= set(detection.rules)
    assert detection.detected_at == START + timedelta(minutes=14)
    assert stolen.uuid in detection.event_ids
    assert any("45.9.1.2" in reason for reason in detection.reasons)
    assert detection.identity_name == "sync-bot" and detection.identity_kind == "ai_agent"


def test_normal_traffic_raises_nothing_above_low(detector):
    agent = [agent_event(minutes) for minutes in (5, 22, 41, 58)]
    person = [build_event(at=timedelta(minutes=20), actor_id="00uP1", session="102P1x")]
    detections = detector.scorer(IdentityResolver(MAP)).score_batch([*agent, *person])

    assert all(d.tier in {"none", "low"} for d in detections)


def test_streaming_and_batch_agree(detector):
    normal, stolen = attack()
    events = [*normal, stolen]

    batch = detector.scorer(IdentityResolver(MAP)).score_batch(events)
    stream = detector.scorer(IdentityResolver(MAP))
    for event in sorted(events, key=lambda e: (e.published, e.uuid)):
        stream.score_event(event)

    assert [d.model_dump() for d in stream.detections()] == [d.model_dump() for d in batch]


def test_scoring_twice_gives_the_same_answer(detector):
    normal, stolen = attack()
    first = detector.scorer(IdentityResolver(MAP)).score_batch([*normal, stolen])
    second = detector.scorer(IdentityResolver(MAP)).score_batch([*normal, stolen])

    assert first == second


def test_replayed_events_are_scored_once(detector):
    normal, stolen = attack()
    scorer = detector.scorer(IdentityResolver(MAP))
    scorer.score_batch([*normal, stolen, stolen, normal[0]])

    assert scorer.report.duplicates == 2


def test_model_scores_are_calibrated_and_higher_for_outliers(detector):
    frame = pd.DataFrame([np.zeros(len(FEATURE_NAMES)), np.full(len(FEATURE_NAMES), 50.0)],
                         columns=FEATURE_NAMES)
    frame["identity_kind"] = "ai_agent"

    scores = detector.predict_frame(frame)["anomaly_score"].to_numpy()

    assert ((scores >= 0) & (scores <= 100)).all()
    assert scores[1] > scores[0]
    assert scores[1] >= 75


def test_ensemble_combines_rules_and_model():
    high = Hit("concurrent_networks", "high", "r", ("e",))
    medium = Hit("agent_off_schedule", "medium", "r", ("e",))
    weights = EnsembleWeights()

    assert combine(model_risk=0, hits={}, weights=weights) == 0
    assert tier_for(combine(model_risk=0, hits={"a": high}, weights=weights)) == "high"
    two = combine(model_risk=0, hits={"a": high, "b": medium}, weights=weights)
    assert tier_for(two) == "critical"
    muted = EnsembleWeights(rules={"concurrent_networks": 0.0})
    assert combine(model_risk=0, hits={"concurrent_networks": high}, weights=muted) == 0


def test_a_long_running_scorer_forgets_finished_windows(detector):
    scorer = detector.scorer(IdentityResolver(MAP))
    for minutes in (5, 65, 125):
        scorer.score_event(agent_event(minutes))

    assert len(scorer.verdicts) == 3
    assert scorer.forget_finished_windows() == 2
    assert len(scorer.verdicts) == 1
