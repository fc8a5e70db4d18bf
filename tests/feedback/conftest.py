"""Fixtures of the feedback tests: settings on a temporary home, incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from feedbackhelpers import T0
from sqlalchemy.orm import Session

from credwatch.settings import Settings
from models.schemas import Detection
from response.flows import dispose_databases, respond_to_detections, session_factory


@pytest.fixture
def settings(tmp_path) -> Iterator[Settings]:
    yield Settings(home=tmp_path / "home", _env_file=None)
    dispose_databases()


@pytest.fixture
def open_incident(settings: Settings) -> Callable[..., int]:
    """Open an incident through the response stage; returns its id."""

    def make(
        identity_id: str,
        *,
        kind: str = "ai_agent",
        rules: tuple[str, ...] = ("agent_outside_declared",),
        at: datetime = T0,
        event_ids: tuple[str, ...] = ("evt-1",),
        tier: str = "high",
    ) -> int:
        detection = Detection(
            identity_id=identity_id,
            identity_kind=kind,
            window_start=at,
            window_end=at + timedelta(minutes=20),
            detected_at=at + timedelta(minutes=5),
            risk=80.0,
            tier=tier,
            rules=list(rules),
            reasons=[f"{rule} fired" for rule in rules],
            event_ids=list(event_ids),
        )
        incidents = respond_to_detections(
            [detection],
            settings=settings,
            deployment=None,
            now=at + timedelta(minutes=6),
        )
        return incidents[identity_id]

    return make


@pytest.fixture
def db(settings: Settings) -> Callable[[], Session]:
    """Opens a short session on the settings' database: `with db() as session:`.

    SQLite transactions take the write lock up front, so tests must not hold one
    open while the code under test writes.
    """
    return session_factory(settings)
