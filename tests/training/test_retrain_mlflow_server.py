"""Train, retrain from verdicts, promote, roll back and load for serving, against a
real `mlflow server` process on loopback (SQLite backend, proxied artifacts), the
way a team runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from credwatch import pipeline
from credwatch.settings import Settings
from events.readers import read_events
from features.deployment import load_deployment_map
from feedback.flows import give_verdict
from response.flows import dispose_databases, incidents_as_dicts
from simulator import simulate
from training import promotion, registry
from training.evaluation import read_labels
from training.retrain import retrain

START_TIMEOUT_S = 45


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (root / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'backend.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            said = (root / "server.log").read_text()[-2000:]
            pytest.fail(f"mlflow server did not start: {said}")
        time.sleep(0.3)
    yield url
    # The server and the workers it started, and nothing else.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    log.close()
    import mlflow

    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    simulate(people=30, agents=16, days=5, seed=23, out=out, stale_map=True)
    return out


def test_train_retrain_promote_and_serve_through_an_mlflow_server(
    mlflow_server, world, tmp_path
):
    settings = Settings(
        home=tmp_path / "home",
        mlflow_uri=mlflow_server,
        retrain_recent_days=2,
        _env_file=None,
    )
    deployment = load_deployment_map(world / "deployment.yaml")
    try:
        first = pipeline.train(
            [world / "history.jsonl"], settings=settings, deployment=deployment
        )
        assert (first.version, first.champion) == ("1", True)

        scored = pipeline.score(
            [world / "test.jsonl"], settings=settings, deployment=deployment, out=None
        )
        pipeline.respond_all(
            scored.detections, settings=settings, deployment=deployment
        )
        given = judge_incidents(settings, world)
        assert given["expected"] >= 1 and given["true-positive"] >= 1

        result = retrain(
            settings=settings,
            deployment=deployment,
            actor="test",
            paths=[world / "history.jsonl", world / "test.jsonl"],
        )

        assert result.version == "2" and result.champion_version == "1"
        challenger, champion = result.comparison.challenger, result.comparison.champion
        assert challenger.recall >= champion.recall
        assert challenger.false_alerts < champion.false_alerts
        assert result.promoted
        assert registry.champion_version(settings) == "2"

        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
        run = client.get_run(result.run_id)
        assert run.data.tags["decision"] == "promoted"
        assert run.data.metrics["champion_false_alerts"] == champion.false_alerts
        assert run.data.metrics["challenger_recall"] == challenger.recall
        assert {i.dataset.name for i in run.inputs.dataset_inputs} >= {
            "verdict-labelled-windows"
        }
        downloaded = client.download_artifacts(
            result.run_id, "feedback/explanation.json", str(tmp_path)
        )
        explanation = json.loads(Path(downloaded).read_text())
        assert explanation["familiar_severity"] == result.as_dict()["tempered"]
        aliases = client.get_registered_model(settings.model_name).aliases
        assert aliases == {"champion": "2", "challenger": "2"}

        listed = promotion.describe_versions(settings)
        assert [v["version"] for v in listed] == ["2", "1"]
        assert listed[0]["tags"]["decision"] == "promoted"

        # By hand: back to 1, forward again, and back.
        assert promotion.rollback(settings, actor="test") == ("2", "1")
        assert promotion.promote(settings, "2", actor="test", reason="by hand") == "1"
        assert registry.champion_version(settings) == "2"

        # What a scoring server does on start and on each alias check.
        detector, version = registry.load_champion(settings)
        assert version == "2"
        assert detector.familiar_severity == result.as_dict()["tempered"]
        events = list(read_events([world / "test.jsonl"], quarantine=None))[:500]
        detector.scorer(pipeline.IdentityResolver(deployment)).score_batch(events)
    finally:
        dispose_databases()


def judge_incidents(settings: Settings, world: Path) -> dict[str, int]:
    """Every incident's verdict, from the simulation's truth."""
    from events.schemas import parse_okta_time

    labels = read_labels(world / "labels.jsonl")
    stale = {
        agent["identity_id"]
        for agent in json.loads((world / "map_left_out.json").read_text())["agents"]
    }
    given = {"true-positive": 0, "false-positive": 0, "expected": 0}
    for incident in incidents_as_dicts(settings=settings):
        start = parse_okta_time(incident["first_detected_at"])
        end = parse_okta_time(incident["last_detected_at"])
        true = any(
            label.identity_id == incident["identity_id"]
            and start <= label.end
            and end >= label.start
            for label in labels
        )
        verdict = (
            "true-positive"
            if true
            else ("expected" if incident["identity_id"] in stale else "false-positive")
        )
        give_verdict(
            settings=settings,
            incident_id=incident["id"],
            verdict=verdict,
            actor="analyst",
        )
        given[verdict] += 1
    return given
