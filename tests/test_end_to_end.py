"""The whole loop through the installed `credwatch` command, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.schemas import Detection

SHARED = Path(os.environ.get("CREDWATCH_SHARED_DIR", Path(__file__).parents[1] / ".." / "shared"))
CLI = [sys.executable, "-c", "from credwatch.cli import main; main()"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CREDWATCH_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"credwatch {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    world = home / "world"
    run(home, "simulate", "--people", "30", "--agents", "10", "--days", "6", "--seed", "3", "--out", str(world))
    run(home, "train", str(world / "history.jsonl"), "--map", str(world / "deployment.yaml"))
    return home, world


def test_simulate_train_score_respond(trained):
    home, world = trained
    out = home / "detections.jsonl"

    scored = run(home, "score", str(world / "test.jsonl"), "--map", str(world / "deployment.yaml"),
                 "--out", str(out), "--json")
    summary = json.loads(scored.stdout)
    detections = [Detection.model_validate_json(line) for line in out.read_text().splitlines()]
    incidents = json.loads(run(home, "incidents", "--json").stdout)

    assert summary["detections"] == len(detections) > 0
    assert summary["model_version"] == "1"
    labelled = {json.loads(line)["identity_id"] for line in (world / "labels.jsonl").read_text().splitlines()}
    alerted = {d.identity_id for d in detections if d.tier in {"high", "critical"}}
    assert len(labelled & alerted) >= len(labelled) - 1
    assert incidents and {"id", "identity_id", "tier", "status", "opened_at", "rules", "verdict", "ticket_url"} <= set(incidents[0])
    assert all(row["status"] == "open" and row["verdict"] is None for row in incidents)


def test_a_verdict_resolves_the_incident(trained):
    home, _ = trained
    incident = json.loads(run(home, "incidents", "--json").stdout)[0]

    run(home, "verdict", str(incident["id"]), "true-positive")
    after = {row["id"]: row for row in json.loads(run(home, "incidents", "--json").stdout)}

    assert after[incident["id"]]["status"] == "resolved"
    assert after[incident["id"]]["verdict"] == "true-positive"


def test_scoring_the_shared_samples_quarantines_only_non_events(trained):
    home, _ = trained
    if not SHARED.is_dir():
        pytest.fail(f"the shared data folder is missing: looked for {SHARED.resolve()}")
    out = home / "shared-detections.jsonl"

    scored = run(home, "score", str(SHARED / "data" / "okta"), "--out", str(out), "--json")
    summary = json.loads(scored.stdout)
    quarantined = [json.loads(line) for line in (home / "shared-detections.quarantine.jsonl").read_text().splitlines()]

    assert summary["quarantined"] == len(quarantined) == 50
    sources = {Path(row["source"]).name for row in quarantined}
    assert sources == {"scheduled_rule_rows.jsonl", "rule_tests.mocks.jsonl", "rule_tests.jsonl"}
    assert sorted(row["line"] for row in quarantined if row["source"].endswith("rule_tests.jsonl")) == [71, 83]
    assert summary["events"] == 119
    for line in out.read_text().splitlines():
        Detection.model_validate_json(line)


def test_bad_input_exits_non_zero_with_one_line(trained, tmp_path):
    home, world = trained
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text("agents:\n  - {name: a, match: {actor_ids: [x]}, networks: [nope]}\n")

    result = run(home, "score", str(world / "test.jsonl"), "--map", str(bad_map), "--out",
                 str(tmp_path / "d.jsonl"), check=False)

    assert result.returncode != 0
    assert "agents.0.networks" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_score_without_a_model_says_to_train(tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text('{"uuid": "1", "eventType": "user.session.start", "actor": {"id": "00u1", "type": "User"}}\n')

    result = run(tmp_path / "empty-home", "score", str(events), "--out", str(tmp_path / "d.jsonl"), check=False)

    assert result.returncode != 0
    assert "credwatch train" in result.stderr


def test_a_bad_setting_is_named_in_one_line(tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")

    env = {
        **os.environ,
        "CREDWATCH_HOME": str(tmp_path / "home"),
        "COLUMNS": "200",
        "CREDWATCH_TRAIN_WORKERS": "many",
    }
    train = [*CLI, "train", str(events)]
    result = subprocess.run(train, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert "CREDWATCH_TRAIN_WORKERS='many'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_training_on_nothing_but_rejects_points_at_the_quarantine(tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text("not json\nnor this\n")

    result = run(tmp_path / "home", "train", str(events), check=False)

    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert result.returncode != 0
    assert "(0 events read, 2 records quarantined in" in said
    assert str(tmp_path / "home" / "quarantine") in said.replace(" ", "")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CREDWATCH_RULE_WEIGHTS", "notjson", "CREDWATCH_RULE_WEIGHTS: not valid JSON"),
        ("CREDWATCH_DISABLED_RULES", "imposible_travel", "unknown rule ids imposible"),
        ("CREDWATCH_JIRA_URL", "http://admin:Hunter2x@jira.example", "must use https"),
        (
            "CREDWATCH_DATABASE_URL",
            "postgresql+psycopg://admin:Hunter2x@127.0.0.1:1/credwatch",
            "the database (CREDWATCH_DATABASE_URL) cannot be used",
        ),
    ],
)
def test_a_bad_setting_is_one_line_without_its_password(
    tmp_path, variable, value, said
):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update({"CREDWATCH_HOME": str(tmp_path / "home"), variable: value})

    result = subprocess.run(
        [*CLI, "incidents"], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 1
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Hunter2x" not in result.stderr + result.stdout


def test_score_refuses_to_write_over_its_input(trained, tmp_path):
    home, world = trained
    events = tmp_path / "events.jsonl"
    events.write_bytes((world / "test.jsonl").read_bytes())
    before = events.read_bytes()

    result = run(home, "score", str(tmp_path), "--out", str(events), check=False)

    assert result.returncode == 2
    assert "is one of the inputs" in result.stderr
    assert events.read_bytes() == before


def test_files_skipped_by_name_in_a_folder_are_reported(trained, tmp_path):
    home, _ = trained
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "okta.csv").write_text("uuid,eventType\n1,user.session.start\n")

    result = run(home, "score", str(folder), "--out", str(tmp_path / "d.jsonl"))

    assert "1 files in the folders were skipped by name" in " ".join(result.stderr.split())


def test_the_demo_runs_again_in_its_own_home_but_not_over_a_real_champion(
    trained, tmp_path
):
    home = tmp_path / "demo-home"

    first = run(home, "demo")
    again = run(home, "demo")
    refused = run(trained[0], "demo", check=False)

    assert "alerts on benign identities" in first.stdout
    assert "(champion)" in again.stdout
    assert refused.returncode == 1
    assert "which the demo did not make" in " ".join(refused.stderr.split())


def test_scoring_without_the_map_the_model_was_trained_with_is_pointed_out(
    trained, tmp_path
):
    home, world = trained
    out = str(tmp_path / "d.jsonl")

    scoring = ["score", str(world / "test.jsonl"), "--out", out, "--no-respond"]

    without = run(home, *scoring)
    with_map = run(home, *scoring, "--map", str(world / "deployment.yaml"))

    said = " ".join(without.stderr.split())
    assert "trained with a deployment map of 10 agents" in said
    assert "deployment map of" not in with_map.stderr
