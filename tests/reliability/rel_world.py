"""A trained world for the reliability tests: a registered champion and a map.

Built from the serving benchmark's synthetic traffic (agents on their cloud
networks, people from home), small enough to train in a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import serving_data

HOOK_SECRET = "reliability-hook-secret"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    """A data folder with a champion model, a deployment map and the population."""

    home: Path
    map_path: Path
    population: list[serving_data.Actor]
    extra_env: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: Any):
        from credwatch.settings import Settings

        values: dict[str, Any] = dict(
            home=self.home,
            map=self.map_path,
            okta_hook_secret=HOOK_SECRET,
            api_key_cache_seconds=0,
            model_check_seconds=0,
            _env_file=None,
        )
        values.update(overrides)
        return Settings(**values)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a credwatch subprocess on this world."""
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith("CREDWATCH_")
        }
        return {
            **base,
            "CREDWATCH_HOME": str(self.home),
            "CREDWATCH_MAP": str(self.map_path),
            "CREDWATCH_OKTA_HOOK_SECRET": HOOK_SECRET,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
            **extra,
        }

    def live(self, seed: int = 11) -> Iterator[dict[str, Any]]:
        return serving_data.live(self.population, seed=seed)


def train_world(home: Path, *, mlflow_uri: str | None = None) -> World:
    """Train and register a champion on a few days of ordinary traffic."""
    from credwatch import pipeline
    from credwatch.settings import Settings

    population = serving_data.actors(agents=4, people=8)
    home.mkdir(parents=True, exist_ok=True)
    map_path = home / "deployment.yaml"
    map_path.write_text(serving_data.deployment_map_yaml(population))
    history = home / "history.jsonl"
    history.write_bytes(
        b"".join(
            orjson.dumps(item) + b"\n"
            for item in serving_data.history(population, days=5)
        )
    )
    settings = Settings(home=home, map=map_path, mlflow_uri=mlflow_uri, _env_file=None)
    pipeline.train(
        [history], settings=settings, deployment=pipeline.load_map(None, settings)
    )
    return World(home, map_path, population)


def copy_world(world: World, home: Path) -> World:
    """Another data folder sharing the trained model (its MLflow store)."""
    home.mkdir(parents=True, exist_ok=True)
    mlflow_uri = f"sqlite:///{world.home / 'mlflow.db'}"
    return World(
        home,
        world.map_path,
        world.population,
        extra_env={"CREDWATCH_MLFLOW_URI": mlflow_uri},
    )
