"""Migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from credwatch.db import Base, create_schema, import_table_modules, make_engine
from credwatch.migrate import current_revision, downgrade, head_revision, upgrade
from response.records import Incident

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _differences(engine) -> list:
    import_table_modules()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def _incident(identity: str = "00uALICE") -> Incident:
    return Incident(
        identity_id=identity,
        identity_kind="human",
        tier="high",
        risk=80.0,
        status="open",
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


def test_migrations_build_the_schema_the_models_declare(database):
    create_schema(database.engine)
    assert current_revision(database.engine) == head_revision()
    # A model changed without a migration shows up here: add one with
    # `credwatch db revision -m "what changed"` and review what it generated.
    assert _differences(database.engine) == []


def test_upgrading_again_changes_nothing_and_keeps_rows(database):
    from sqlalchemy.orm import Session

    create_schema(database.engine)
    with Session(database.engine) as session:
        session.add(_incident())
        session.commit()
    create_schema(database.engine)
    with Session(database.engine) as session:
        assert session.query(Incident).count() == 1


def test_a_database_made_before_migrations_is_adopted(database):
    engine = database.engine
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO incidents (identity_id, identity_kind, tier, risk, status, "
                "opened_at, updated_at, first_detected_at, last_detected_at, rules, "
                "reasons, event_ids, detection_keys, detection_count) VALUES "
                "('00uOLD', 'human', 'high', 80, 'open', :t, :t, :t, :t, '[]', '[]', "
                "'[]', '[]', 1)"
            ),
            {"t": T0},
        )
    assert current_revision(engine) is None

    create_schema(engine)

    assert current_revision(engine) == head_revision()
    assert _differences(engine) == []
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT identity_id FROM incidents")).scalars()
        assert list(kept) == ["00uOLD"]


def test_every_migration_can_be_undone_and_redone(database):
    engine = database.engine
    create_schema(engine)
    downgrade(engine, "base")
    left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert left == set()
    create_schema(engine)
    assert _differences(engine) == []


def _migrate_together(url: str, processes: int = 4) -> list[BaseException]:
    """Errors from `processes` engines migrating one database at the same moment."""
    # Separate engines stand for separate processes: each has its own connections.
    engines = [make_engine(url) for _ in range(processes)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def migrate(engine) -> None:
        try:
            start.wait()
            create_schema(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    return errors


def test_processes_starting_together_migrate_once(database):
    assert _migrate_together(database.url) == []
    assert current_revision(database.engine) == head_revision()
    assert _differences(database.engine) == []


def test_processes_creating_a_new_sqlite_file_together_all_start(tmp_path):
    # Opening a new file switches it to WAL, and SQLite may refuse that switch at
    # once instead of waiting while another process makes the same switch. The
    # race is lost only now and then, so it is run many times over.
    for attempt in range(20):
        url = f"sqlite:///{tmp_path / str(attempt) / 'credwatch.db'}"
        assert _migrate_together(url) == [], f"attempt {attempt}"
