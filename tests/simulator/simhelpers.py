"""Helpers of the simulator tests: run a simulation and read its output back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from events.schemas import parse_okta_time
from features.deployment import Agent, DeploymentMap, load_deployment_map
from simulator.run import SimulationSummary, simulate

SMALL = {"people": 40, "agents": 12, "days": 7, "seed": 11}


@dataclass
class SimRun:
    """A simulation's output, parsed."""

    out: Path
    summary: SimulationSummary
    history: list[dict[str, Any]]
    test: list[dict[str, Any]]
    labels: list[dict[str, str]]
    lookalikes: list[dict[str, str]]
    deployment: DeploymentMap

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.history + self.test

    def agent(self, identity_id: str) -> Agent | None:
        for agent in self.deployment.agents:
            match = agent.match
            if identity_id in (*match.actor_ids, *match.client_ids):
                return agent
        return None

    def events_of(self, identity_id: str, events: list[dict[str, Any]] | None = None):
        return [
            e
            for e in (self.events if events is None else events)
            if actor_id(e) == identity_id
        ]

    def window(self, label: dict[str, str]) -> list[dict[str, Any]]:
        """The labelled identity's events inside the label's period."""
        start, end = when(label["start"]), when(label["end"])
        return [
            e
            for e in self.events_of(label["identity_id"])
            if start <= when(e["published"]) <= end
        ]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]


def actor_id(event: dict[str, Any]) -> str | None:
    return (event.get("actor") or {}).get("id")


def when(text: str) -> datetime:
    moment = parse_okta_time(text)
    assert moment is not None
    return moment


def run_simulation(out: Path, **kwargs: Any) -> SimRun:
    summary = simulate(out=out, **kwargs)
    return SimRun(
        out=out,
        summary=summary,
        history=read_jsonl(out / "history.jsonl"),
        test=read_jsonl(out / "test.jsonl"),
        labels=read_jsonl(out / "labels.jsonl"),
        lookalikes=read_jsonl(out / "lookalikes.jsonl"),
        deployment=load_deployment_map(out / "deployment.yaml"),
    )


def labels_of(run: SimRun, scenario: str) -> list[dict[str, str]]:
    found = [x for x in run.labels + run.lookalikes if x["scenario"] == scenario]
    assert found, f"the small world has no {scenario}"
    return found
