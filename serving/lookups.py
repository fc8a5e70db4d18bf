"""Read-only database queries behind the identity and incident endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from credwatch.settings import Settings
from response.flows import session_factory
from response.queries import incident_as_dict
from response.records import Incident

MAX_PAGE = 200


def incident_by_id(settings: Settings, incident_id: int) -> dict[str, Any] | None:
    with session_factory(settings)() as session:
        incident = session.scalars(
            select(Incident)
            .options(selectinload(Incident.actions))
            .where(Incident.id == incident_id)
        ).one_or_none()
        return incident_as_dict(incident) if incident else None


def incident_page(
    settings: Settings,
    *,
    status: str | None = None,
    tier: str | None = None,
    identity_id: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """Incidents newest first, filtered; the page and the cursor of the next one."""
    statement = select(Incident).options(selectinload(Incident.actions))
    if status:
        statement = statement.where(Incident.status == status)
    if tier:
        statement = statement.where(Incident.tier == tier)
    if identity_id:
        statement = statement.where(Incident.identity_id == identity_id)
    if before is not None:
        statement = statement.where(Incident.id < before)
    # A keyset cursor stays right while new incidents arrive, unlike an offset.
    statement = statement.order_by(Incident.id.desc()).limit(min(limit, MAX_PAGE) + 1)
    with session_factory(settings)() as session:
        rows = list(session.scalars(statement))
        page = rows[:limit]
        following = page[-1].id if len(rows) > limit and page else None
        return [incident_as_dict(item) for item in page], following


def incidents_of(
    settings: Settings, identity_id: str
) -> tuple[list[int], dict[str, Any] | None]:
    """Ids of an identity's incidents (newest first) and its open one, if any."""
    with session_factory(settings)() as session:
        rows = list(
            session.scalars(
                select(Incident)
                .options(selectinload(Incident.actions))
                .where(Incident.identity_id == identity_id)
                .order_by(Incident.id.desc())
            )
        )
        open_one = next((item for item in rows if item.status == "open"), None)
        return [item.id for item in rows], (
            incident_as_dict(open_one) if open_one else None
        )


def database_answers(settings: Settings) -> bool:
    try:
        with session_factory(settings)() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
