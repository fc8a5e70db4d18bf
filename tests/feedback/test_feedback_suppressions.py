"""Verdicts given by hand, suppressions from expected verdicts, and how they screen
detections before an incident is opened."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import build_event
from feedbackhelpers import T0

from feedback import flows
from feedback.suppressions import screen
from models.schemas import Detection
from response.errors import InvalidVerdict, UnknownIncident
from response.evidence import keep_evidence
from response.flows import respond_to_detections


def cited_events(identity: str, ip: str, asn: int):
    return [
        build_event(
            actor_id=identity,
            actor_type="SystemPrincipal",
            ip=ip,
            asn=asn,
            user_agent="python-requests/2.31",
            at=T0 + timedelta(minutes=i),
        )
        for i in range(2)
    ]


def keep(db, identity: str, events) -> None:
    with db() as session:
        keep_evidence(session, identity_id=identity, events=events)
        session.commit()


def detection(identity: str, events, *, at=T0) -> Detection:
    return Detection(
        identity_id=identity,
        identity_kind="ai_agent",
        window_start=at,
        window_end=at + timedelta(minutes=30),
        detected_at=at + timedelta(minutes=5),
        risk=82.0,
        tier="high",
        rules=["agent_outside_declared"],
        reasons=["outside its declared networks"],
        event_ids=[e.uuid for e in events],
    )


def test_expected_verdict_suppresses_the_network_it_was_about(settings, db):
    events = cited_events("0oaAGENT1", "34.78.242.10", 396982)
    keep(db, "0oaAGENT1", events)
    incident = respond_to_detections(
        [detection("0oaAGENT1", events)], settings=settings, deployment=None, now=T0
    )["0oaAGENT1"]

    result = flows.give_verdict(
        settings=settings,
        incident_id=incident,
        verdict="expected",
        actor="analyst",
        source="cli",
    )

    assert result["verdict"] == "expected" and result["status"] == "resolved"
    [row] = flows.list_suppressions(settings=settings, active_only=True)
    assert row["id"] == result["suppression_id"]
    assert (row["identity_id"], row["network"], row["client"]) == (
        "0oaAGENT1",
        "AS396982",
        None,
    )

    # The same agent on the same network an hour later: no incident.
    later = cited_events("0oaAGENT1", "34.78.242.11", 396982)
    keep(db, "0oaAGENT1", later)
    opened = respond_to_detections(
        [detection("0oaAGENT1", later, at=T0 + timedelta(hours=1))],
        settings=settings,
        deployment=None,
        now=T0 + timedelta(hours=1),
    )
    assert opened == {}
    # On a network the verdict never saw: a new incident.
    elsewhere = cited_events("0oaAGENT1", "185.220.101.4", 60729)
    keep(db, "0oaAGENT1", elsewhere)
    opened = respond_to_detections(
        [detection("0oaAGENT1", elsewhere, at=T0 + timedelta(hours=2))],
        settings=settings,
        deployment=None,
        now=T0 + timedelta(hours=2),
    )
    assert set(opened) == {"0oaAGENT1"} and opened["0oaAGENT1"] != incident


def test_suppressions_expire_and_can_be_lifted(settings, db):
    row = flows.add_suppression(
        settings=settings,
        identity_id="00uALICE",
        hours=2,
        actor="analyst",
        reason="on leave, assistant signs in",
    )
    events = cited_events("00uALICE", "203.0.113.5", 7922)
    hit = detection("00uALICE", events)
    with db() as session:
        assert screen(session, hit, events=events, now=T0).id == row["id"]
        # A suppression counts from when it was made: two hours later it is over.
        later = T0 + timedelta(days=400)
        assert screen(session, hit, events=events, now=later) is None
    lifted = flows.lift_suppression(
        settings=settings, suppression_id=row["id"], actor="lead"
    )
    assert lifted["lifted_by"] == "lead" and not lifted["active"]
    with db() as session:
        assert screen(session, hit, events=events) is None


def test_expected_verdict_without_kept_evidence_suppresses_nothing(
    settings, open_incident
):
    incident = open_incident("0oaAGENT2")
    result = flows.give_verdict(
        settings=settings, incident_id=incident, verdict="expected", actor="analyst"
    )
    assert result["suppression_id"] is None
    assert flows.list_suppressions(settings=settings) == []


def test_suppression_switched_off_and_bad_verdicts(settings, open_incident):
    quiet = settings.model_copy(update={"suppress_expected_hours": 0})
    incident = open_incident("0oaAGENT3")
    assert (
        flows.give_verdict(
            settings=quiet, incident_id=incident, verdict="expected", actor="a"
        )["suppression_id"]
        is None
    )
    with pytest.raises(InvalidVerdict):
        flows.give_verdict(
            settings=settings, incident_id=incident, verdict="benign", actor="a"
        )
    with pytest.raises(UnknownIncident):
        flows.give_verdict(
            settings=settings, incident_id=9999, verdict="expected", actor="a"
        )


def test_a_suppressed_network_is_named_as_detections_name_it(settings, db):
    # Okta gave no AS: the network is the address's /16, as features name it.
    row = flows.add_suppression(
        settings=settings,
        identity_id="00uALICE",
        hours=2,
        actor="analyst",
        network="203.0.113.0/24",
    )
    events = cited_events("00uALICE", "203.0.113.5", None)
    with db() as session:
        found = screen(session, detection("00uALICE", events), events=events)
        assert found.id == row["id"]
    assert row["network"] == "203.0.0.0/16"


@pytest.mark.parametrize(
    ("identity", "network", "message"),
    [
        ("00uALICE", "10.0.0.0/33", "neither an AS number"),
        ("00uALICE", "notanet", "neither an AS number"),
        ("  ", None, "needs an identity id"),
    ],
)
def test_a_suppression_that_could_never_match_is_refused(
    settings, identity, network, message
):
    with pytest.raises(ValueError, match=message):
        flows.add_suppression(
            settings=settings, identity_id=identity, hours=2, actor="a", network=network
        )
