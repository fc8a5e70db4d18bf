"""Fixtures for the response stage: a real database, detections, a deployment map.

Every database test runs on a SQLite file under `tmp_path`, and again on PostgreSQL
when CREDWATCH_TEST_DATABASE_URL names one (each test gets its own schema there).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from credwatch.db import create_schema, make_engine, make_session_factory
from features.deployment import DeploymentMap, parse_deployment_map
from models.schemas import Detection

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
POSTGRES_URL_VARIABLE = "CREDWATCH_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'credwatch.db'}")
        create_schema(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
        return

    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    server = make_engine(url)
    schema = f"credwatch_test_{uuid.uuid4().hex[:12]}"
    with server.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = server.execution_options(schema_translate_map={None: schema})
    try:
        create_schema(scoped)
        yield scoped
    finally:
        with server.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        server.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as db_session:
        yield db_session


@pytest.fixture
def deployment_map() -> DeploymentMap:
    return parse_deployment_map(
        {
            "agents": [
                {
                    "name": "invoice-summarizer",
                    "match": {
                        "actor_ids": ["00uAGENT1"],
                        "api_token_ids": ["00TTOKEN1"],
                    },
                    "owner": "finance-ml",
                    "jira_assignee": "5b10ac8d82e05b22cc7d4ef5",
                },
                {
                    "name": "report-bot",
                    "match": {"client_ids": ["0oaCLIENT1"]},
                    "owner": "analytics",
                },
            ],
            "protected_identities": ["00uBREAKGLASS"],
        }
    )


MakeDetection = Callable[..., Detection]


@pytest.fixture
def make_detection() -> MakeDetection:
    def build(
        identity_id: str = "00uALICE",
        *,
        kind: str = "human",
        tier: str = "medium",
        risk: float = 55.0,
        rules: tuple[str, ...] = ("concurrent_networks",),
        reasons: tuple[str, ...] = ("token used from two networks within 4 minutes",),
        events: tuple[str, ...] = ("uuid-1",),
        minutes: int = 0,
        name: str | None = None,
    ) -> Detection:
        detected_at = T0 + timedelta(minutes=minutes)
        return Detection(
            identity_id=identity_id,
            identity_kind=kind,
            identity_name=name,
            window_start=detected_at - timedelta(minutes=5),
            window_end=detected_at,
            detected_at=detected_at,
            risk=risk,
            tier=tier,
            rules=list(rules),
            reasons=list(reasons),
            event_ids=list(events),
            model_version="3",
        )

    return build
