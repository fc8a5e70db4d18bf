"""POST /v1/score against a model trained and registered in a temporary home."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
import pytest
from conftest import agent_event, as_json, stolen_event


def test_health(served):
    assert served.client.get("/healthz").json() == {"status": "ok"}


def test_a_normal_event_scores_none(served):
    response = served.client.post(
        "/v1/score", json=as_json(agent_event(1)), headers=served.headers()
    )
    answer = response.json()

    assert response.status_code == 200
    assert answer["identity_id"] == "00uSYNC"
    assert answer["identity_kind"] == "ai_agent"
    assert answer["tier"] in {"none", "low"}
    assert answer["model_version"] == "1"
    assert response.headers["X-Model-Version"] == "1"
    assert answer["dry_run"] is True and answer["action_taken"] is False
    assert answer["reason_1"] == (answer["reasons"] or [""])[0]
    assert answer["reason_5"] == "" and answer["events_scored"] == 1


def test_a_stolen_token_is_high_with_flat_reasons_and_an_incident(served):
    body = [as_json(agent_event(2)), as_json(stolen_event(3))]
    answer = served.client.post("/v1/score", json=body, headers=served.headers()).json()

    assert answer["tier"] in {"high", "critical"}
    assert answer["risk"] >= 75
    assert answer["reason_1"] == answer["reasons"][0]
    assert all(f"reason_{n}" in answer for n in range(1, 6))
    assert "45.9.1.2" in " ".join(answer["reasons"])
    assert isinstance(answer["incident_id"], int)
    assert "suspend" in answer["action"]
    assert answer["events_scored"] == 2 and answer["events_received"] == 2


def test_the_incident_url_points_at_the_service_when_no_ticket_exists(serve):
    served = serve(public_url="https://credwatch.example.com/")
    answer = served.client.post(
        "/v1/score", json=as_json(stolen_event(3)), headers=served.headers()
    ).json()

    assert answer["incident_url"] == (
        f"https://credwatch.example.com/v1/incidents/{answer['incident_id']}"
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 422, "no events"),
        (b'{"actor": {"id": "x"}}', 422, "eventType"),
        (b'[{"eventType": "a", "actor": "nobody", "uuid": "u"}]', 422, "event 0"),
        (b'{"event": "{oops"}', 400, "field event is not JSON"),
        (b'{"identity_id": ""}', 422, "identity_id"),
    ],
)
def test_bad_bodies_get_a_clear_4xx(served, body, status, message):
    response = served.client.post(
        "/v1/score",
        content=body,
        headers=served.headers(**{"content-type": "application/json"}),
    )

    assert response.status_code == status
    assert message in response.json()["detail"]


def test_an_oversize_body_is_refused(served):
    response = served.client.post(
        "/v1/score", content=b" " * 1_000_001, headers=served.headers()
    )

    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_too_many_events_are_refused(serve):
    served = serve(api_max_events=3)
    body = [as_json(agent_event(n)) for n in range(4)]

    response = served.client.post("/v1/score", json=body, headers=served.headers())

    assert response.status_code == 413
    assert "4 events; the limit is 3" in response.json()["detail"]


def test_multipart_is_refused_with_415(served):
    response = served.client.post(
        "/v1/score", files={"event": ("e.json", b"{}")}, headers=served.headers()
    )

    assert response.status_code == 415


# --- Zapier's shapes --------------------------------------------------------------


def form(fields: dict[str, str]) -> dict[str, object]:
    return {
        "content": urlencode(fields).encode(),
        "headers": {"content-type": "application/x-www-form-urlencoded"},
    }


def test_a_form_field_holding_the_event_as_json_text(served):
    event = as_json(stolen_event(5))
    request = form({"event": orjson.dumps(event).decode()})

    response = served.client.post(
        "/v1/score",
        content=request["content"],
        headers={**request["headers"], **served.headers()},
    )

    assert response.status_code == 200
    assert response.json()["identity_id"] == "00uSYNC"
    assert response.json()["tier"] in {"high", "critical"}


def test_json_labelled_as_a_form_as_curl_sends_it_is_read_as_json(served):
    event = as_json(stolen_event(5))

    response = served.client.post(
        "/v1/score",
        content=orjson.dumps(event),
        headers={"content-type": FORM_TYPE, **served.headers()},
    )

    assert response.status_code == 200
    assert response.json()["identity_id"] == "00uSYNC"


FORM_TYPE = "application/x-www-form-urlencoded"


def test_a_form_of_flattened_event_fields_with_string_values(served):
    fields = {
        "uuid": "zap-form-1",
        "published": "2026-03-02T09:07:00.000Z",
        "eventType": "user.lifecycle.update",
        "actor__id": "00uSYNC",
        "actor__type": "User",
        "client__ipAddress": "34.82.1.10",
        "securityContext__asNumber": "15169",
        "transaction__detail__requestApiTokenId": "00TSYNC",
        "debugContext__debugData__requestUri": "/api/v1/users",
    }
    request = form(fields)

    answer = served.client.post(
        "/v1/score",
        content=request["content"],
        headers={**request["headers"], **served.headers()},
    ).json()

    assert answer["identity_id"] == "00uSYNC"
    assert answer["identity_kind"] == "ai_agent"
    assert answer["events_scored"] == 1


def test_a_json_field_holding_a_list_as_text_and_a_wrapped_array(served):
    events = [as_json(agent_event(6)), as_json(agent_event(7))]

    as_text = served.client.post(
        "/v1/score",
        json={"events": orjson.dumps(events).decode()},
        headers=served.headers(),
    ).json()
    wrapped = served.client.post(
        "/v1/score", json=[{"event": as_json(agent_event(8))}], headers=served.headers()
    ).json()

    assert as_text["events_scored"] == 2
    assert wrapped["events_scored"] == 1


def test_an_identity_id_reports_its_current_risk_without_scoring(served):
    served.client.post(
        "/v1/score", json=as_json(stolen_event(9)), headers=served.headers()
    )
    request = form({"identity_id": "00uSYNC"})

    answer = served.client.post(
        "/v1/score",
        content=request["content"],
        headers={**request["headers"], **served.headers()},
    ).json()

    assert answer["identity_id"] == "00uSYNC"
    assert answer["tier"] in {"high", "critical"}
    assert answer["events_scored"] == 0
    assert isinstance(answer["incident_id"], int)


def test_an_unknown_identity_id_is_a_404(served):
    response = served.client.post(
        "/v1/score", json={"identity_id": "00uNOBODY"}, headers=served.headers()
    )

    assert response.status_code == 404
    assert "00uNOBODY" in response.json()["detail"]


def test_without_a_champion_scoring_is_503_and_readyz_says_why(serve, tmp_path):
    served = serve(mlflow_uri=f"sqlite:///{tmp_path / 'empty-mlflow.db'}")

    scored = served.client.post(
        "/v1/score", json=as_json(agent_event(1)), headers=served.headers()
    )
    ready = served.client.get("/readyz")

    assert scored.status_code == 503 and scored.headers["Retry-After"]
    assert ready.status_code == 503
    assert ready.json()["problems"] == ["no champion model is loaded"]


def test_finished_windows_are_forgotten_and_scoring_goes_on(served, monkeypatch):
    from serving import service as service_module

    monkeypatch.setattr(service_module, "PRUNE_EVERY", 3)
    scorer = served.app.state.service.current().scorer
    # One event an hour for five hours: each starts a new window.
    for hour in range(5):
        response = served.client.post(
            "/v1/score", json=as_json(agent_event(60 * hour + 1)), headers=served.headers()
        )
        assert response.status_code == 200

    assert len(scorer.verdicts) <= 3
    assert ("00uSYNC", max(key[1] for key in scorer.verdicts)) in scorer.verdicts
