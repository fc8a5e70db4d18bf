"""A newly promoted champion is served without a restart."""

from __future__ import annotations

import time

from conftest import agent_event, as_json, train_into

from credwatch import pipeline
from credwatch.settings import Settings
from training.registry import set_alias


def test_the_watcher_loads_a_new_champion_and_requests_in_flight_keep_theirs(
    serve, tmp_path_factory
):
    store = train_into(tmp_path_factory.mktemp("reload"))
    served = serve(mlflow_uri=store.mlflow_uri, model_check_seconds=0.2)
    service = served.app.state.service
    in_flight = service.current()
    assert served.client.get("/readyz").json()["model_version"] == "1"

    trainer = Settings(home=store.home, map=store.map_path)
    second = pipeline.train(
        [store.home / "history.jsonl"],
        settings=trainer,
        deployment=pipeline.load_map(None, trainer),
    )
    assert (second.version, second.champion) == ("2", False)
    set_alias(trainer, "champion", "2")

    deadline = time.monotonic() + 30
    while service.model_version != "2" and time.monotonic() < deadline:
        time.sleep(0.05)

    answer = served.client.post(
        "/v1/score", json=as_json(agent_event(1)), headers=served.headers()
    )
    assert answer.json()["model_version"] == "2"
    assert answer.headers["X-Model-Version"] == "2"
    # The request that started before the swap finishes on version 1.
    with in_flight.lock:
        finished = in_flight.scorer.score_event(agent_event(2))
    assert in_flight.version == "1" and finished is not None
    assert 'credwatch_model_info{version="2"} 1.0' in served.client.get("/metrics").text
    assert 'credwatch_model_info{version="1"}' not in served.client.get("/metrics").text
