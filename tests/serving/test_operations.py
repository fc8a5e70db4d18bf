"""Readiness, metrics, request ids and the one-line-per-request log."""

from __future__ import annotations

import json
import logging

from conftest import HOOK_SECRET, as_json, stolen_event

from serving.logs import JsonFormatter


def test_ready_when_a_model_is_loaded_and_the_database_answers(module_served):
    response = module_served.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "model_version": "1",
        "database": True,
        "problems": [],
    }


def test_health_readiness_and_metrics_need_no_credentials(module_served):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert module_served.client.get(path).status_code == 200


def test_metrics_count_requests_scores_actions_and_the_model(served):
    served.client.post(
        "/v1/score", json=as_json(stolen_event(3)), headers=served.headers()
    )
    served.client.get("/v1/incidents", headers=served.headers("read"))

    text = served.client.get("/metrics").text

    assert (
        'credwatch_http_requests_total{method="POST",route="/v1/score",status="200"} 1.0'
        in text
    )
    assert (
        'credwatch_http_request_duration_seconds_bucket{le="0.5",route="/v1/score"}'
        in text
    )
    assert 'credwatch_scores_total{source="api",tier="' in text
    assert 'credwatch_actions_total{kind="suspend",status="recorded"} 1.0' in text
    assert 'credwatch_model_info{version="1"} 1.0' in text
    assert "credwatch_hook_queue_depth 0.0" in text


def test_every_answer_carries_its_request_id_and_the_model_version(module_served):
    mine = module_served.client.get("/healthz", headers={"X-Request-ID": "proxy-42"})
    odd = module_served.client.get(
        "/healthz", headers={"X-Request-ID": "bad id\twith tab"}
    )

    assert mine.headers["X-Request-ID"] == "proxy-42"
    assert len(odd.headers["X-Request-ID"]) == 32
    assert mine.headers["X-Model-Version"] == "1"


def test_one_log_line_per_request_without_secrets_or_bodies(served, caplog):
    event = as_json(stolen_event(3))
    with caplog.at_level(logging.INFO, logger="credwatch.access"):
        served.client.post("/v1/score", json=event, headers=served.headers())
        served.client.post(
            "/v1/okta/events",
            json={"data": {"events": [event]}},
            headers={"Authorization": HOOK_SECRET},
        )
        served.client.get("/v1/incidents", headers={"X-API-Key": "cwk_wrong"})

    records = [item for item in caplog.records if item.name == "credwatch.access"]
    lines = [json.loads(JsonFormatter().format(item)) for item in records]

    assert [(line["route"], line["status"]) for line in lines] == [
        ("/v1/score", 200),
        ("/v1/okta/events", 204),
        ("/v1/incidents", 401),
    ]
    assert lines[0]["caller"].startswith("test-score")
    assert lines[1]["caller"] == "okta-event-hook"
    assert all(line["duration_ms"] >= 0 and line["request_id"] for line in lines)
    text = caplog.text + " ".join(map(json.dumps, lines))
    for secret in (
        served.keys["score"],
        HOOK_SECRET,
        "cwk_wrong",
        "45.9.1.2",
        event["uuid"],
    ):
        assert secret not in text
