"""The response stage as the commands and the API use it: settings in, committed out.

Each function opens the database named by the settings (once per process and URL),
runs one transaction and commits it, so callers need not know about sessions.
"""

from __future__ import annotations

import getpass
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from credwatch.db import create_schema, make_engine, make_session_factory
from credwatch.settings import Settings
from features.deployment import DeploymentMap
from models.schemas import Detection
from response.policy import ResponsePolicy, load_policy
from response.queries import (
    action_as_dict,
    incident_as_dict,
    list_incidents,
    release_identity,
    set_verdict,
)
from response.service import respond

logger = logging.getLogger(__name__)

_databases: dict[str, tuple[Engine, sessionmaker[Session]]] = {}
_databases_lock = threading.Lock()


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """Sessions on the settings' database, its schema created on first use."""
    url = settings.resolved_database_url
    with _databases_lock:
        if url not in _databases:
            engine = make_engine(url)
            create_schema(engine)
            _databases[url] = (engine, make_session_factory(engine))
        return _databases[url][1]


def dispose_databases() -> None:
    """Close every pooled connection (tests, and a server shutting down)."""
    with _databases_lock:
        for engine, _factory in _databases.values():
            engine.dispose()
        _databases.clear()


def policy_for(settings: Settings) -> ResponsePolicy:
    """The response policy: the default, overridden by the policy file if one is set."""
    path = settings.response_policy
    return _load_policy_cached(Path(path) if path else None)


@lru_cache(maxsize=8)
def _load_policy_cached(path: Path | None) -> ResponsePolicy:
    return load_policy(path)


def respond_to_detections(
    detections: Iterable[Detection],
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Respond to each detection in order; map each identity to its incident id."""
    policy = policy_for(settings)
    incidents: dict[str, int] = {}
    with session_factory(settings)() as session:
        for detection in detections:
            outcome = respond(
                detection=detection,
                session=session,
                policy=policy,
                deployment_map=deployment,
                mode=settings.response_mode,
                now=now or datetime.now(UTC),
            )
            if outcome.incident_id is not None:
                incidents[detection.identity_id] = outcome.incident_id
        session.commit()
    return incidents


def incidents_as_dicts(
    *, settings: Settings, open_only: bool = False
) -> list[dict[str, Any]]:
    """Every incident (or the open ones) as JSON-ready dicts."""
    with session_factory(settings)() as session:
        return [
            incident_as_dict(item)
            for item in list_incidents(session, open_only=open_only)
        ]


def give_verdict(
    *,
    settings: Settings,
    incident_id: int | str,
    verdict: str,
    actor: str | None = None,
) -> dict[str, Any]:
    """Resolve an incident with a verdict; the incident as a dict."""
    with session_factory(settings)() as session:
        incident = set_verdict(
            session, incident_id, verdict, actor=actor or _local_user()
        )
        session.commit()
        return incident_as_dict(incident)


def release(
    *,
    settings: Settings,
    identity_id: str,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    """Reverse the actions taken on an identity; the rows written, as they ended.

    In enforce mode the reversals (unsuspend, reactivate, leave quarantine) are
    carried out through Okta before this returns.
    """
    with session_factory(settings)() as session:
        written = release_identity(
            session,
            identity_id,
            actor=actor or _local_user(),
            mode=settings.response_mode,
        )
        session.commit()
        ids = [action.id for action in written]
    if settings.response_mode == "enforce" and ids:
        # Reversals are real Okta calls in enforce mode: carry them out now.
        run_outbox(settings=settings)
    with session_factory(settings)() as session:
        from response.records import Action

        return [action_as_dict(session.get(Action, number)) for number in ids]


def _local_user() -> str:
    # The audit trail names who acted; from the command line that is the OS user.
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def run_outbox(*, settings: Settings, max_entries: int = 1000) -> dict[str, int]:
    """Carry out every outbox entry that is due now (enforce mode's actions)."""
    from response.executor import executor_for

    executor = executor_for(settings)
    try:
        return dict(executor.drain(max_entries=max_entries))
    finally:
        executor.close()


def waiting_actions_as_dicts(*, settings: Settings) -> list[dict[str, Any]]:
    """Actions waiting for a person (held by the breaker, or failed for good)."""
    from response.held import waiting_actions

    with session_factory(settings)() as session:
        return [action_as_dict(action) for action in waiting_actions(session)]


def approve_action(
    *, settings: Settings, action_id: int | str, actor: str | None = None, run: bool = True
) -> dict[str, Any]:
    """Approve a waiting action and, with `run`, carry it out now; the action after."""
    from response.held import approve

    with session_factory(settings)() as session:
        action = approve(session, int(action_id), actor=actor or _local_user())
        session.commit()
        action_id = action.id
    if run:
        run_outbox(settings=settings)
    with session_factory(settings)() as session:
        from response.records import Action

        return action_as_dict(session.get(Action, action_id))


def drop_action(
    *, settings: Settings, action_id: int | str, actor: str | None = None
) -> dict[str, Any]:
    """Drop a waiting action: it will not run."""
    from response.held import drop

    with session_factory(settings)() as session:
        action = drop(session, int(action_id), actor=actor or _local_user())
        session.commit()
        return action_as_dict(action)
