"""Stored answers of `POST /v1/score`, so a replayed request triggers nothing new.

Zapier replays a failed step up to five times over several hours, and a person may
replay a run by hand; each replay must get the first answer back. Answers are kept
for `CREDWATCH_IDEMPOTENCY_TTL_HOURS` under the caller's `Idempotency-Key`, or a
fingerprint of the request's events when it sends none.

Writing an answer costs a database commit (an fsync), which would double the cost
of a request; so answers go to memory at once, where this process finds them, and a
writer thread commits them in small batches a few milliseconds later. A crash in
between loses only the stored answer: a replay is then scored again, and the
response stage still opens no second incident and records no action twice (one open
incident per identity, one action of each kind per incident).

Nearly every request is new, and asking the database for its key would cost a
request more than scoring one event; so each process keeps the set of keys the
database holds (`KnownKeys`, loaded at start and topped up every second by the
writer thread) and asks the database only for keys in it. A replay that reaches
another process within that second of the first answer is scored again, with the
same protection as above.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from credwatch.settings import Settings
from serving.records import StoredAnswer

logger = logging.getLogger(__name__)

MEMORY_ANSWERS = 20_000
FLUSH_SECONDS = 0.05
PURGE_SECONDS = 600.0
REFRESH_SECONDS = 1.0
# On databases other than SQLite, keys are topped up by creation time, and a key
# another process created may commit this much later (FLUSH_SECONDS in memory,
# then a wait for the database).
REFRESH_OVERLAP = timedelta(seconds=10)
# Past this many keys the set is dropped and every lookup asks the database.
MAX_KNOWN_KEYS = 2_000_000


@dataclass(frozen=True, slots=True)
class Stored:
    request_hash: str
    answer: bytes
    expires_at: datetime


class KnownKeys:
    """Hashes of the keys the database holds: a miss here needs no lookup there."""

    def __init__(self) -> None:
        self._hashes: set[int] = set()
        self._complete = False
        self._lock = threading.Lock()

    def may_hold(self, key: str) -> bool:
        # Hash collisions only cost a lookup; a set that is not complete says yes.
        return not self._complete or hash(key) in self._hashes

    def add(self, key: str) -> None:
        with self._lock:
            self._hashes.add(hash(key))

    def update(self, keys: list[str], *, fresh: bool = False) -> None:
        with self._lock:
            if fresh:
                self._hashes = set()
            self._hashes.update(hash(key) for key in keys)
            self._complete = len(self._hashes) <= MAX_KNOWN_KEYS
            if not self._complete:
                self._hashes.clear()


class AnswerStore:
    """Answers by key: recent ones in memory, all of them in the database."""

    def __init__(self, settings: Settings) -> None:
        from response.flows import session_factory

        self.engine = session_factory(settings).kw["bind"]
        self.ttl = timedelta(hours=settings.idempotency_ttl_hours)
        # Plain tuples, which the garbage collector stops tracking, unlike objects.
        self._memory: OrderedDict[str, tuple[str, bytes, datetime]] = OrderedDict()
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._sqlite_file = _sqlite_file(self.engine)
        self._readers = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._writer: sqlite3.Connection | None = None
        self.known = KnownKeys()
        self._last_refresh = 0.0
        self._known_rowid = 0
        self._known_since: datetime | None = None

    @property
    def reads_locally(self) -> bool:
        """Whether a lookup stays on this machine (memory, then a SQLite file)."""
        return self._sqlite_file is not None

    def get(self, key: str) -> Stored | None:
        now = datetime.now(UTC)
        with self._lock:
            kept = self._memory.get(key)
        if kept is not None:
            return Stored(*kept) if kept[2] > now else None
        if not self.known.may_hold(key):
            return None
        stored = self._read(key, now)
        if stored is not None:
            self._remember(key, stored)
        return stored

    def _read(self, key: str, now: datetime) -> Stored | None:
        if self._sqlite_file is not None:
            return self._read_sqlite(key, now)
        statement = select(
            StoredAnswer.request_hash, StoredAnswer.answer, StoredAnswer.expires_at
        ).where(StoredAnswer.key == key, StoredAnswer.expires_at > now)
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return Stored(row.request_hash, bytes(row.answer), row.expires_at)

    def _read_connection(self) -> sqlite3.Connection:
        """This thread's read-only connection to the SQLite file."""
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                f"{self._sqlite_file.as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute("PRAGMA busy_timeout=10000")
            self._readers.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _read_sqlite(self, key: str, now: datetime) -> Stored | None:
        # A session would open a transaction, and credwatch's SQLite transactions
        # take the write lock up front (credwatch/db.py); a read-only connection
        # of its own reads the last commit without waiting, at a fifth of the cost.
        connection = self._read_connection()
        row = connection.execute(
            "SELECT request_hash, answer, expires_at FROM stored_answers "
            "WHERE key = ? AND expires_at > ?",
            (key, now.strftime(_SQLITE_TIME)),
        ).fetchone()
        if row is None:
            return None
        expires = datetime.strptime(row[2], _SQLITE_TIME).replace(tzinfo=UTC)
        return Stored(row[0], bytes(row[1]), expires)

    def put(self, key: str, request_hash: str, answer: bytes) -> None:
        now = datetime.now(UTC)
        # A copy of exactly its size: orjson's output keeps the 4-8 KiB buffer it
        # was written into, and 20,000 kept answers would hold over 100 MB.
        answer = bytes(memoryview(answer))
        stored = Stored(request_hash, answer, now + self.ttl)
        self._remember(key, stored)
        self.known.add(key)
        with self._lock:
            self._pending.append(
                {
                    "key": key,
                    "request_hash": request_hash,
                    "answer": answer,
                    "created_at": now,
                    "expires_at": stored.expires_at,
                }
            )
        self._wake.set()

    # --- the writer thread ----------------------------------------------------------

    def start(self) -> None:
        self._load_known(fresh=True)
        self._thread = threading.Thread(
            target=self._run, name="credwatch-answer-writer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def flush(self) -> int:
        """Commit the answers waiting in memory; the number written."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            self._insert(rows)
        except (SQLAlchemyError, sqlite3.Error):
            # Keep them for the next try rather than lose them.
            with self._lock:
                self._pending[:0] = rows
            raise
        return len(rows)

    def _insert(self, rows: list[dict[str, object]]) -> None:
        if self._sqlite_file is not None:
            self._insert_sqlite(rows)
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(StoredAnswer), rows)
        except IntegrityError:
            # Another process stored one of these keys first; its answer stands.
            for row in rows:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(insert(StoredAnswer), [row])
                except IntegrityError:
                    pass

    def _insert_sqlite(self, rows: list[dict[str, object]]) -> None:
        # The writer shares the interpreter with requests: SQLAlchemy's per-row
        # parameter handling held the GIL for milliseconds a batch, long enough to
        # show in the answers' latency. sqlite3's executemany binds in C.
        if self._writer is None:
            self._writer = sqlite3.connect(
                self._sqlite_file, isolation_level=None, check_same_thread=False
            )
            self._writer.execute("PRAGMA busy_timeout=10000")
        values = [
            (
                row["key"],
                row["request_hash"],
                row["answer"],
                row["created_at"].strftime(_SQLITE_TIME),
                row["expires_at"].strftime(_SQLITE_TIME),
            )
            for row in rows
        ]
        writer = self._writer
        writer.execute("BEGIN IMMEDIATE")
        try:
            # A key another process stored first keeps its answer.
            writer.executemany(
                "INSERT OR IGNORE INTO stored_answers "
                "(key, request_hash, answer, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                values,
            )
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        writer.execute("COMMIT")

    def purge(self) -> int:
        """Delete expired answers; the number deleted."""
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(StoredAnswer).where(StoredAnswer.expires_at <= now)
            )
        with self._lock:
            for key in [k for k, v in self._memory.items() if v[2] <= now]:
                del self._memory[key]
        return result.rowcount or 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            # Let a burst of answers gather into one commit.
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
                if time.monotonic() - self._last_refresh > REFRESH_SECONDS:
                    self._load_known(fresh=False)
                if time.monotonic() - self._last_purge > PURGE_SECONDS:
                    self._last_purge = time.monotonic()
                    purged = self.purge()
                    if purged:
                        logger.info("deleted %d expired stored answers", purged)
                        self._load_known(fresh=True)
            except (SQLAlchemyError, sqlite3.Error):
                logger.exception("could not write stored answers; retrying")
                self._stop.wait(1.0)

    def _load_known(self, *, fresh: bool) -> None:
        """Top up the known keys with those stored since the last look."""
        now = datetime.now(UTC)
        if self._sqlite_file is not None:
            # Rowids grow in commit order (SQLite writes one at a time), so the
            # highest one seen marks exactly where the next look starts.
            after = 0 if fresh else self._known_rowid
            rows = (
                self._read_connection()
                .execute(
                    "SELECT rowid, key FROM stored_answers WHERE rowid > ? AND expires_at > ?",
                    (after, now.strftime(_SQLITE_TIME)),
                )
                .fetchall()
            )
            if rows or fresh:
                self._known_rowid = max((row[0] for row in rows), default=0)
            keys = [row[1] for row in rows]
        else:
            statement = select(StoredAnswer.key).where(StoredAnswer.expires_at > now)
            if not fresh and self._known_since is not None:
                statement = statement.where(
                    StoredAnswer.created_at >= self._known_since - REFRESH_OVERLAP
                )
            with self.engine.connect() as connection:
                keys = list(connection.execute(statement).scalars())
            self._known_since = now
        self.known.update(keys, fresh=fresh)
        self._last_refresh = time.monotonic()

    def _remember(self, key: str, stored: Stored) -> None:
        with self._lock:
            self._memory[key] = (stored.request_hash, stored.answer, stored.expires_at)
            self._memory.move_to_end(key)
            if len(self._memory) > MEMORY_ANSWERS:
                self._memory.popitem(last=False)


# How SQLAlchemy writes a timestamp into SQLite (always with microseconds).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file, when the engine is SQLite on a plain file."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or "mode=memory" in database:
        return None
    return Path(database).resolve()
