"""The output files: determinism, validity, order, labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from simhelpers import SMALL, SimRun, read_jsonl, when

from events.schemas import LogEvent
from simulator.plan import COMPROMISES, LOOKALIKES
from simulator.run import simulate

FILES = (
    "history.jsonl",
    "test.jsonl",
    "labels.jsonl",
    "lookalikes.jsonl",
    "deployment.yaml",
)
PUBLISHED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LABEL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_same_arguments_give_the_same_bytes(small_run: SimRun, tmp_path: Path) -> None:
    simulate(out=tmp_path, **SMALL)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (small_run.out / name).read_bytes(), (
            name
        )


def test_another_seed_gives_other_traffic(small_run: SimRun, tmp_path: Path) -> None:
    simulate(out=tmp_path, **{**SMALL, "seed": SMALL["seed"] + 1})
    assert (tmp_path / "history.jsonl").read_bytes() != (
        small_run.out / "history.jsonl"
    ).read_bytes()
    assert (tmp_path / "deployment.yaml").read_bytes() != (
        small_run.out / "deployment.yaml"
    ).read_bytes()


def test_every_event_is_a_valid_log_event(small_run: SimRun) -> None:
    for event in small_run.events:
        parsed = LogEvent.model_validate(event)
        assert parsed.published is not None
        assert PUBLISHED.match(event["published"])
        assert event["version"] == "0"
        assert event["severity"] in {"INFO", "WARN"}


def test_events_carry_okta_enrichment(small_run: SimRun) -> None:
    for event in small_run.events:
        if event["transaction"]["type"] == "JOB":
            continue  # background jobs have no client
        parsed = LogEvent.model_validate(event)
        assert parsed.ip and parsed.asn and parsed.country and parsed.coordinates
        assert parsed.user_agent
        assert event["request"]["ipChain"][0]["ip"] == parsed.ip
        assert event["client"]["device"] in {"Computer", "Mobile", "Unknown"}
        assert (
            event["debugContext"]["debugData"]["requestId"]
            == event["transaction"]["id"]
        )


def test_events_are_sorted_and_unique(small_run: SimRun) -> None:
    keys = [(when(e["published"]), e["uuid"]) for e in small_run.events]
    assert keys == sorted(keys)
    assert len({e["uuid"] for e in small_run.events}) == len(keys)


def test_history_precedes_the_test_period(small_run: SimRun) -> None:
    summary = small_run.summary
    assert all(when(e["published"]) < summary.test_start for e in small_run.history)
    assert all(
        summary.test_start <= when(e["published"]) < summary.end for e in small_run.test
    )
    assert summary.history_events == len(small_run.history)
    assert summary.test_events == len(small_run.test)
    # 7 days: the last 2 are the test period.
    assert (summary.end - summary.test_start).days == 2


def test_small_world_has_every_scenario_once(small_run: SimRun) -> None:
    assert sorted(x["scenario"] for x in small_run.labels) == sorted(COMPROMISES)
    assert sorted(x["scenario"] for x in small_run.lookalikes) == sorted(LOOKALIKES)
    assert small_run.summary.scenarios == small_run.summary.requested


def test_labels_are_well_formed_and_in_the_test_period(small_run: SimRun) -> None:
    labelled = small_run.labels + small_run.lookalikes
    for label in labelled:
        assert list(label) == ["identity_id", "start", "end", "scenario"]
        assert LABEL_TIME.match(label["start"]) and LABEL_TIME.match(label["end"])
        assert (
            small_run.summary.test_start <= when(label["start"]) <= when(label["end"])
        )
        assert small_run.window(label), label
    # One story per identity: no identity is both compromised and a look-alike.
    ids = [x["identity_id"] for x in labelled]
    assert len(ids) == len(set(ids))


def test_no_scenarios_means_no_labels(tmp_path: Path) -> None:
    from simulator.plan import ScenarioCounts

    summary = simulate(
        people=8,
        agents=3,
        days=3,
        seed=5,
        out=tmp_path,
        scenarios=ScenarioCounts.none(),
    )
    assert summary.labels == summary.lookalikes == 0
    assert read_jsonl(tmp_path / "labels.jsonl") == []
    assert summary.test_events > 0


def test_unknown_scenario_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate(
            people=4, agents=2, days=2, seed=1, out=tmp_path, scenarios={"nope": 1}
        )
