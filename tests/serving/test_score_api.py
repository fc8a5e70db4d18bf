"""The scoring API against a model trained and registered in a temporary home."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from builders import build_event
from fastapi.testclient import TestClient

from credwatch import pipeline
from credwatch.settings import Settings
from serving.app import create_app

MAP_YAML = """
agents:
  - name: sync-bot
    match: {api_token_ids: ["00TSYNC"]}
    networks: ["34.82.0.0/16"]
    asns: [15169]
"""


def agent_event(minutes, **overrides):
    values = dict(
        at=timedelta(minutes=minutes), actor_id="00uSYNC", token_id="00TSYNC",
        ip="34.82.1.10", asn=15169, user_agent="python-requests/2.31.0", session=None,
        device=None, event_type="user.lifecycle.update", request_uri="/api/v1/users",
    )
    values.update(overrides)
    return build_event(**values)


def as_json(event) -> dict:
    return orjson.loads(event.model_dump_json(exclude_none=True))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    map_path = home / "deployment.yaml"
    map_path.write_text(MAP_YAML)
    history = home / "history.jsonl"
    events = [agent_event(-m * 13) for m in range(1, 800)]
    history.write_bytes(b"".join(orjson.dumps(as_json(e)) + b"\n" for e in events))

    settings = Settings(home=home, map=map_path)
    pipeline.train([history], settings=settings, deployment=pipeline.load_map(None, settings))
    with TestClient(create_app(settings)) as client:
        yield client


def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_normal_event_scores_none(client):
    answer = client.post("/v1/score", json=as_json(agent_event(1))).json()

    assert answer["identity_id"] == "00uSYNC"
    assert answer["identity_kind"] == "ai_agent"
    assert answer["tier"] in {"none", "low"}
    assert answer["model_version"] == "1"
    assert answer["dry_run"] is True and answer["action_taken"] is False


def test_a_stolen_token_is_high_with_flat_reasons_and_an_incident(client):
    stolen = agent_event(3, ip="45.9.1.2", asn=9009, country="Netherlands", user_agent="curl/8.4.0")
    answer = client.post("/v1/score", json=[as_json(agent_event(2)), as_json(stolen)]).json()

    assert answer["tier"] in {"high", "critical"}
    assert answer["risk"] >= 75
    assert answer["reason_1"] == answer["reasons"][0]
    assert "45.9.1.2" in " ".join(answer["reasons"])
    assert isinstance(answer["incident_id"], int)
    assert "suspend" in answer["action"]
    assert answer["events_scored"] == 2


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 422, "no events"),
        (b'{"actor": {"id": "x"}}', 422, "eventType"),
        (b'[{"eventType": "a", "actor": "nobody", "uuid": "u"}]', 422, "event 0"),
    ],
)
def test_bad_bodies_get_a_clear_4xx(client, body, status, message):
    response = client.post("/v1/score", content=body, headers={"content-type": "application/json"})

    assert response.status_code == status
    assert message in response.json()["detail"]


def test_an_oversize_body_is_refused(client):
    response = client.post("/v1/score", content=b" " * 1_000_001)

    assert response.status_code == 413
