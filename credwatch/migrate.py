"""Bring a database's schema up to date with the Alembic migrations.

`upgrade` runs every migration the database lacks inside one transaction that it
opens itself, so a failed migration leaves the schema as it was. Several processes
may start at once against one database (two `serve` processes, `watch` beside
them): on PostgreSQL a transaction-scoped advisory lock lets one migrate while the
others wait and then find nothing left to do; on SQLite the same is achieved by the
write lock every credwatch transaction takes up front (credwatch/db.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: the key of the advisory lock that serialises migrations.
_LOCK_KEY = 0x63726564  # "cred"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for credwatch's migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from credwatch.db import translated_schema

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table_schema": translated_schema(connection)}
        )
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`, in one transaction."""
    with engine.connect() as connection:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                )
            command.upgrade(alembic_config(connection), revision)
    logger.debug("database schema at %s", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` (development and tests only)."""
    with engine.connect() as connection:
        with connection.begin():
            command.downgrade(alembic_config(connection), revision)


def make_revision(engine: Engine, message: str) -> str:
    """Write a new migration for what the models declare and the database lacks.

    The database must be at the head revision; the generated file is a draft to
    read and correct (Alembic cannot see renames, for one).
    """
    with engine.connect() as connection:
        with connection.begin():
            script = command.revision(
                alembic_config(connection), message=message, autogenerate=True
            )
    assert script is not None and not isinstance(script, list)
    return str(script.path)
