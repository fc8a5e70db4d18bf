"""Alembic's environment: run the migrations on credwatch's own engine.

`credwatch.migrate` hands over an open connection (in `config.attributes`) so
the engine's set-up (SQLite pragmas, `BEGIN IMMEDIATE`, a schema translate map)
applies to the migrations too. Run from the `alembic` command instead, the URL
comes from `sqlalchemy.url` or CREDWATCH_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context

from credwatch.db import Base, import_table_modules, make_engine, translated_schema

import_table_modules()
target_metadata = Base.metadata
config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from credwatch.settings import get_settings

    return get_settings().resolved_database_url


def _run_offline() -> None:
    # `--sql`: the statements for a DBA to review and run.
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters a table by copying it; batch mode does that for us.
        render_as_batch=True,
        compare_type=True,
        # Where the engine maps the default schema elsewhere (tests on
        # PostgreSQL), the version table follows the tables.
        version_table_schema=translated_schema(connection),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
