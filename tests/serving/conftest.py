"""A model trained once for every serving test, and apps built on it.

Training and registering cost seconds, so one session-wide MLflow store holds the
champion; each app gets its own data folder and database, so tests never see each
other's incidents, keys or stored answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from builders import build_event
from fastapi.testclient import TestClient

from credwatch import pipeline
from credwatch.keys import create_key
from credwatch.settings import Settings
from serving.app import create_app

HOOK_SECRET = "okta-hook-secret-for-tests"

_starts = itertools.count(1)

MAP_YAML = """
agents:
  - name: sync-bot
    owner: platform-team
    match: {api_token_ids: ["00TSYNC"], actor_ids: ["00uSYNC"]}
    networks: ["34.82.0.0/16"]
    asns: [15169]
"""


def agent_event(minutes: float, **overrides):
    values = dict(
        at=timedelta(minutes=minutes),
        actor_id="00uSYNC",
        token_id="00TSYNC",
        ip="34.82.1.10",
        asn=15169,
        user_agent="python-requests/2.31.0",
        session=None,
        device=None,
        event_type="user.lifecycle.update",
        request_uri="/api/v1/users",
    )
    values.update(overrides)
    return build_event(**values)


def stolen_event(minutes: float, **overrides):
    values = dict(
        ip="45.9.1.2", asn=9009, country="Netherlands", user_agent="curl/8.4.0"
    )
    values.update(overrides)
    return agent_event(minutes, **values)


def as_json(event) -> dict:
    return orjson.loads(event.model_dump_json(exclude_none=True))


@dataclass(frozen=True)
class TrainedStore:
    home: Path
    map_path: Path
    mlflow_uri: str


def train_into(home: Path) -> TrainedStore:
    map_path = home / "deployment.yaml"
    map_path.write_text(MAP_YAML)
    history = home / "history.jsonl"
    events = [agent_event(-m * 13) for m in range(1, 800)]
    history.write_bytes(b"".join(orjson.dumps(as_json(e)) + b"\n" for e in events))
    settings = Settings(home=home, map=map_path)
    pipeline.train(
        [history], settings=settings, deployment=pipeline.load_map(None, settings)
    )
    return TrainedStore(home, map_path, settings.resolved_mlflow_uri)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedStore:
    return train_into(tmp_path_factory.mktemp("trained"))


@pytest.fixture(scope="session")
def make_settings(trained, tmp_path_factory) -> Callable[..., Settings]:
    def make(**overrides) -> Settings:
        values = dict(
            home=tmp_path_factory.mktemp("serving-home"),
            map=trained.map_path,
            mlflow_uri=trained.mlflow_uri,
            okta_hook_secret=HOOK_SECRET,
            api_key_cache_seconds=0,
            model_check_seconds=0,
        )
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class Served:
    """A running app, its settings and keys of every scope."""

    client: TestClient
    settings: Settings
    keys: dict[str, str]

    def headers(self, scope: str = "score", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}", **extra}

    @property
    def app(self):
        return self.client.app

    def drain(self, timeout: float = 20.0) -> None:
        assert self.app.state.worker.wait_idle(timeout), (
            "hook deliveries not scored in time"
        )


def _start(settings: Settings) -> Served:
    run = next(_starts)
    keys = {
        scope: create_key(settings, f"test-{scope}-{run}", scope=scope)[0]
        for scope in ("score", "read", "admin")
    }
    client = TestClient(create_app(settings))
    client.__enter__()
    return Served(client, settings, keys)


@pytest.fixture
def serve(make_settings) -> Iterator[Callable[..., Served]]:
    """Start an app with settings overridden; stopped after the test."""
    started: list[Served] = []

    def start(**overrides) -> Served:
        started.append(_start(make_settings(**overrides)))
        return started[-1]

    yield start
    for item in started:
        item.client.__exit__(None, None, None)


@pytest.fixture
def served(serve) -> Served:
    return serve()


@pytest.fixture(scope="module")
def module_served(make_settings) -> Iterator[Served]:
    """One app for a whole module, for tests that only read or are independent."""
    item = _start(make_settings())
    yield item
    item.client.__exit__(None, None, None)
