"""A replayed scoring request gets the stored answer and triggers nothing new."""

from __future__ import annotations

from conftest import agent_event, as_json, stolen_event
from fastapi.testclient import TestClient
from sqlalchemy import select

from credwatch.keys import create_key
from response.flows import session_factory
from response.records import Action
from serving.app import create_app


def actions(settings) -> list[tuple[int, str]]:
    with session_factory(settings)() as session:
        return [(row.incident_id, row.kind) for row in session.scalars(select(Action))]


def test_the_same_events_get_the_stored_answer(served):
    body = [as_json(agent_event(2)), as_json(stolen_event(3))]

    first = served.client.post("/v1/score", json=body, headers=served.headers())
    recorded = actions(served.settings)
    replay = served.client.post("/v1/score", json=body[::-1], headers=served.headers())

    assert first.json()["tier"] in {"high", "critical"}
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert actions(served.settings) == recorded


def test_the_same_idempotency_key_gets_the_stored_answer(served):
    headers = served.headers(**{"Idempotency-Key": "zap-run-1"})

    first = served.client.post(
        "/v1/score", json=as_json(stolen_event(3)), headers=headers
    )
    replay = served.client.post(
        "/v1/score", json=as_json(stolen_event(9)), headers=headers
    )

    assert first.status_code == 200
    # A key reused with other events is refused rather than answered wrongly.
    assert replay.status_code == 422
    assert "Idempotency-Key" in replay.json()["detail"]


def test_a_replay_of_the_same_key_and_body(served):
    body = as_json(stolen_event(3))
    headers = served.headers(**{"Idempotency-Key": "zap-run-2"})

    first = served.client.post("/v1/score", json=body, headers=headers)
    replay = served.client.post("/v1/score", json=body, headers=headers)

    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_stored_answers_outlive_a_restart(make_settings):
    settings = make_settings()
    key, _ = create_key(settings, "zap")
    headers = {"X-API-Key": key}
    body = as_json(stolen_event(3))
    # Leaving the client stops the app, whose writer commits what it holds.
    with TestClient(create_app(settings)) as client:
        first = client.post("/v1/score", json=body, headers=headers).json()

    with TestClient(create_app(settings)) as restarted:
        replay = restarted.post("/v1/score", json=body, headers=headers)

    assert replay.json() == first
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_answers_are_per_key(served):
    body = as_json(stolen_event(3))

    first = served.client.post("/v1/score", json=body, headers=served.headers("score"))
    other = served.client.post("/v1/score", json=body, headers=served.headers("admin"))

    # Another caller's replay is not served someone else's stored answer; the
    # events were already scored, so nothing new is scored either.
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["events_scored"] == 0 and other.json()["duplicates"] == 1
    assert other.json()["identity_id"] == first.json()["identity_id"]
    assert other.json()["tier"] == first.json()["tier"]


def test_a_replay_reaching_another_process_gets_the_first_answer(make_settings):
    settings = make_settings()
    key, _ = create_key(settings, "zap")
    headers = {"X-API-Key": key}
    body = as_json(stolen_event(3))
    with (
        TestClient(create_app(settings)) as first,
        TestClient(create_app(settings)) as other,
    ):
        answer = first.post("/v1/score", json=body, headers=headers).json()
        first.app.state.store.flush()
        # What the other process's writer thread does every second.
        other.app.state.store._load_known(fresh=False)

        replay = other.post("/v1/score", json=body, headers=headers)

    assert replay.json() == answer
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_new_requests_do_not_ask_the_database(served, monkeypatch):
    store = served.app.state.store
    asked = []
    monkeypatch.setattr(store, "_read", lambda key, now: asked.append(key))

    served.client.post(
        "/v1/score", json=as_json(agent_event(4)), headers=served.headers()
    )

    assert asked == []
