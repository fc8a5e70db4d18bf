"""Identities and incidents as people and zaps read them."""

from __future__ import annotations

from conftest import as_json, stolen_event

from features.deployment import DeploymentMap
from models.schemas import Detection
from response.flows import give_verdict, respond_to_detections


def open_incidents(settings, count: int, *, tier: str = "high") -> None:
    """Incidents for `count` other identities, straight through the response stage."""
    detections = [
        Detection(
            identity_id=f"00uPERSON{n}",
            identity_kind="human",
            window_start="2026-03-02T09:00:00Z",
            window_end="2026-03-02T09:30:00Z",
            detected_at="2026-03-02T09:30:00Z",
            risk=80.0,
            tier=tier,
            reasons=[f"reason {n}"],
            event_ids=[f"evt-{n}"],
        )
        for n in range(count)
    ]
    respond_to_detections(detections, settings=settings, deployment=DeploymentMap())


def test_an_identity_with_its_map_entry_recent_risk_and_open_incident(served):
    served.client.post(
        "/v1/score", json=as_json(stolen_event(2)), headers=served.headers()
    )

    response = served.client.get(
        "/v1/identities/00uSYNC", headers=served.headers("read")
    )
    identity = response.json()

    assert response.status_code == 200
    assert identity["identity_kind"] == "ai_agent"
    assert identity["deployment_map"]["name"] == "sync-bot"
    assert identity["deployment_map"]["owner"] == "platform-team"
    assert identity["tier"] in {"high", "critical"}
    assert identity["recent"][0]["model_version"] == "1"
    assert identity["open_incident"]["event_ids"]
    assert identity["incident_ids"] == [identity["open_incident"]["id"]]


def test_an_agent_known_only_from_the_map(served):
    identity = served.client.get(
        "/v1/identities/00uSYNC", headers=served.headers("read")
    ).json()

    assert identity["identity_name"] == "sync-bot"
    assert identity["recent"] == [] and identity["open_incident"] is None


def test_an_unknown_identity_is_a_404(served):
    response = served.client.get(
        "/v1/identities/00uNOBODY", headers=served.headers("read")
    )

    assert response.status_code == 404


def test_incidents_filter_and_paginate_newest_first(served):
    open_incidents(served.settings, 5)
    give_verdict(
        settings=served.settings, incident_id=2, verdict="false-positive", actor="t"
    )
    read = served.headers("read")

    first = served.client.get("/v1/incidents?limit=2", headers=read).json()
    second = served.client.get(
        f"/v1/incidents?limit=2&before={first['next_before']}", headers=read
    ).json()
    last = served.client.get(
        f"/v1/incidents?limit=2&before={second['next_before']}", headers=read
    ).json()
    resolved = served.client.get("/v1/incidents?status=resolved", headers=read).json()
    one = served.client.get("/v1/incidents?identity_id=00uPERSON3", headers=read).json()
    critical = served.client.get("/v1/incidents?tier=critical", headers=read).json()

    assert [item["id"] for item in first["items"]] == [5, 4]
    assert [item["id"] for item in second["items"]] == [3, 2]
    assert [item["id"] for item in last["items"]] == [1] and last["next_before"] is None
    assert [item["id"] for item in resolved["items"]] == [2]
    assert [item["identity_id"] for item in one["items"]] == ["00uPERSON3"]
    assert critical["items"] == []


def test_bad_filters_are_a_422_naming_the_parameter(served):
    response = served.client.get(
        "/v1/incidents?limit=0", headers=served.headers("read")
    )

    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


def test_one_incident_with_evidence_and_actions(served):
    open_incidents(served.settings, 1)

    found = served.client.get("/v1/incidents/1", headers=served.headers("read"))
    missing = served.client.get("/v1/incidents/99", headers=served.headers("read"))

    assert found.status_code == 200
    assert found.json()["event_ids"] == ["evt-0"]
    assert {action["kind"] for action in found.json()["actions"]} >= {"open_ticket"}
    assert missing.status_code == 404
