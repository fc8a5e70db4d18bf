"""The database layer: engine setup, schema, timestamps, and the constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from credwatch.db import create_schema, make_engine, make_session_factory
from response.records import Action, Incident, VerdictRecord

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def _incident(identity_id: str, *, status: str = "open") -> Incident:
    return Incident(
        identity_id=identity_id,
        identity_kind="human",
        tier="medium",
        risk=50.0,
        status=status,
        opened_at=T0,
        updated_at=T0,
        first_detected_at=T0,
        last_detected_at=T0,
        rules=[],
        reasons=[],
        event_ids=[],
        detection_keys=[],
        detection_count=1,
    )


def test_sqlite_engine_creates_its_folder_and_sets_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "nested" / "home" / "credwatch.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        assert path.parent.is_dir()
        assert journal == "wal"
        assert foreign_keys == 1
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_for_every_session():
    engine = make_engine("sqlite://")
    create_schema(engine)
    factory = make_session_factory(engine)
    with factory() as first:
        first.add(_incident("00uMEM"))
        first.commit()
    with factory() as second:
        assert second.scalars(select(Incident.identity_id)).all() == ["00uMEM"]
    engine.dispose()


def test_create_schema_is_idempotent_and_creates_the_tables(engine):
    create_schema(engine)
    with engine.connect() as connection:
        for table in (Incident, Action, VerdictRecord):
            assert connection.scalar(select(func.count()).select_from(table)) == 0


def test_timestamps_are_stored_as_utc_and_read_back_aware(session_factory):
    paris = timezone(timedelta(hours=1))
    with session_factory() as session:
        incident = _incident("00uTIME")
        incident.opened_at = datetime(2026, 3, 1, 11, 30, tzinfo=paris)
        session.add(incident)
        session.commit()
        incident_id = incident.id
    with session_factory() as session:
        stored = session.get(Incident, incident_id)
        assert stored.opened_at == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
        assert stored.opened_at.tzinfo is not None
        assert stored.opened_at.utcoffset() == timedelta(0)


def test_partial_unique_index_allows_one_open_incident_per_identity(session_factory):
    with session_factory() as session:
        session.add(_incident("00uONE"))
        session.commit()

    with session_factory() as session:
        session.add(_incident("00uONE"))
        with pytest.raises(IntegrityError):
            session.commit()

    # Resolved incidents are history: any number of them may sit beside an open one.
    with session_factory() as session:
        session.add_all(
            [
                _incident("00uONE", status="resolved"),
                _incident("00uONE", status="resolved"),
            ]
        )
        session.add(_incident("00uTWO"))
        session.commit()
        statuses = session.scalars(
            select(Incident.status).where(Incident.identity_id == "00uONE")
        ).all()
    assert sorted(statuses) == ["open", "resolved", "resolved"]


def test_check_constraints_reject_unknown_status(session_factory):
    with session_factory() as session:
        session.add(_incident("00uBAD", status="closed"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_actions_need_an_existing_incident(session_factory):
    with session_factory() as session:
        session.add(
            Action(
                incident_id=999_999,
                identity_id="00uNONE",
                kind="suspend",
                mode="dry-run",
                status="recorded",
                actor="credwatch",
                reason="test",
                request={},
                created_at=T0,
                updated_at=T0,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_one_action_of_each_kind_per_incident(session_factory):
    with session_factory() as session:
        incident = _incident("00uKIND")
        session.add(incident)
        session.flush()
        for _ in range(2):
            session.add(
                Action(
                    incident_id=incident.id,
                    identity_id="00uKIND",
                    kind="suspend",
                    mode="dry-run",
                    status="recorded",
                    actor="credwatch",
                    reason="test",
                    request={},
                    created_at=T0,
                    updated_at=T0,
                )
            )
        with pytest.raises(IntegrityError):
            session.commit()


def test_sessions_survive_a_raw_statement(session):
    # The SQLite BEGIN handling must leave ordinary statements working.
    assert session.execute(text("SELECT 1")).scalar() == 1
