"""The local database: engine, sessions and schema.

SQLite under the data folder is the default; any SQLAlchemy URL (PostgreSQL in a
shared deployment) works the same way. Tables live in the stage packages that own
them; `TABLE_MODULES` names those modules so `create_schema` sees every table.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

logger = logging.getLogger(__name__)

# Modules that declare tables on `Base`; each stage adds its own here.
TABLE_MODULES: tuple[str, ...] = (
    "response.records",
    "credwatch.keys",
    "serving.records",
    "response.outbox",
    "response.evidence",
    "events.poller",
    "feedback.records",
    "response.audit_chain",
    "credwatch.score_log",
)

# Stable constraint names, so a later migration tool can address them by name on
# every backend instead of relying on each database's generated names.
_NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How long a SQLite connection waits for another writer before giving up; the
# watcher and the API server may write at the same time.
_SQLITE_BUSY_TIMEOUT_MS = 10_000


class Base(DeclarativeBase):
    """Declarative base of every credwatch table."""

    metadata = MetaData(naming_convention=_NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset and PostgreSQL returns the session's zone; normalising
    here means the rest of the code compares and formats times one way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            # SQLite would store the offset-less text anyway; drop it explicitly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        return ensure_utc(value)


def ensure_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def make_engine(url: str | URL, **engine_options: Any) -> Engine:
    """An engine for `url`, prepared for credwatch's use of it.

    SQLite: the parent folder is created, and every connection gets WAL journaling,
    foreign keys, a busy timeout, and transactions begun by SQLAlchemy (so that
    SAVEPOINTs work) with the write lock taken up front (so concurrent writers wait
    rather than fail). Other databases are used as given,
    with `pool_pre_ping` so connections dropped by the server are replaced.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine_options.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **engine_options)

    connect_args = dict(engine_options.pop("connect_args", {}))
    # Sessions may be used from the API server's worker threads.
    connect_args.setdefault("check_same_thread", False)
    in_memory = _is_sqlite_memory(parsed)
    if in_memory:
        # One shared connection, or each pooled connection would see its own
        # empty database.
        engine_options.setdefault("poolclass", StaticPool)
    else:
        _create_parent_folder(parsed)
    engine = create_engine(parsed, connect_args=connect_args, **engine_options)
    _configure_sqlite(engine, in_memory=in_memory)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`.

    Objects stay readable after commit (`expire_on_commit=False`) because commands
    and the API serialise what they just wrote after committing it.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def import_table_modules() -> None:
    """Import every module that declares tables, so `Base.metadata` knows them all."""
    for module in TABLE_MODULES:
        importlib.import_module(module)


def create_schema(engine: Engine) -> None:
    """Bring the schema up to date by running the Alembic migrations.

    A new database gets every table; an older one gets the migrations it lacks; a
    database made before credwatch had migrations is adopted (credwatch/migrations).
    """
    from credwatch.migrate import upgrade

    import_table_modules()
    upgrade(engine)
    logger.debug("database schema ready at %s", engine.url.render_as_string())


def translated_schema(bind: Engine | Connection) -> str | None:
    """The schema the engine puts unqualified tables in, when it maps them elsewhere.

    Tests on PostgreSQL give each test its own schema through a schema translate
    map; migrations and their version table must follow it.
    """
    mapping = bind.get_execution_options().get("schema_translate_map") or {}
    return mapping.get(None)


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _create_parent_folder(url: URL) -> None:
    database = url.database or ""
    if database.startswith("file:"):
        # A URI filename; SQLite resolves it, and its folder is the caller's concern.
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: its legacy mode
        # does not BEGIN before SELECT or SAVEPOINT, which breaks nested
        # transactions. SQLAlchemy emits BEGIN itself in `_on_begin`.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The timeout first: switching a new database to WAL takes a lock, and
            # processes starting together would otherwise fail at once on it.
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                _switch_to_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front. A deferred transaction that read
        # first and writes later fails at once with "database is locked" when
        # another process wrote in between (SQLite cannot wait there without
        # risking deadlock); taking the lock first makes it wait its turn instead.
        # The price is that transactions run one at a time, which is SQLite's
        # nature for writers anyway; PostgreSQL is the choice for more.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


# Switching a database to WAL does not always wait on the busy timeout: when
# several processes open a new database together, SQLite may answer "database is
# locked" at once while another connection holds the lock for its own switch. The
# switch is retried for as long as any other statement would have waited.
@retry(
    retry=retry_if_exception(_is_locked),
    stop=stop_after_delay(_SQLITE_BUSY_TIMEOUT_MS / 1000),
    wait=wait_random_exponential(multiplier=0.01, max=0.5),
    reraise=True,
)
def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    cursor.execute("PRAGMA journal_mode=WAL")
