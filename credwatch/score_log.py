"""The score log: each event's score, once, in the database every process shares.

Several `serve` processes (and `watch`) score events against one database. Each
keeps its identities' windows in memory, but what it concluded (the identity's
risk and tier after each event, and the detection if there was one) goes here,
so any process can answer for an identity another one scored, and a restart
finds what was scored before it.

An event is logged at most once: its fingerprint (uuid, time, type, actor and
address, the same test the service uses for a repeat) is the primary key, and
inserts skip a fingerprint already present. Writes from the API go through a
writer thread in small batches, so a request never waits for a commit; the
Event Hook worker and `watch` flush before they mark their work done.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Float, Index, String, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from credwatch.db import Base, UTCDateTime, ensure_utc
from events.schemas import LogEvent

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05
# Rows waiting for the writer beyond this are dropped (and counted) rather than
# let memory grow while the database is unreachable.
MAX_PENDING = 50_000
SOURCES = ("serve", "watch")


class ScoredEvent(Base):
    """One event's score: whose it was, when, how risky, and the detection if any."""

    __tablename__ = "scored_events"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_uuid: Mapped[str] = mapped_column(String(255))
    identity_id: Mapped[str] = mapped_column(String(255))
    identity_kind: Mapped[str] = mapped_column(String(32))
    identity_name: Mapped[str | None] = mapped_column(String(255))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    risk: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    detection: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_scored_events_identity_id_event_time", "identity_id", "event_time"),
    )


@dataclass(frozen=True, slots=True)
class LoggedScore:
    """A row of the log, as readers use it."""

    event_uuid: str
    identity_id: str
    identity_kind: str
    identity_name: str | None
    event_time: datetime
    scored_at: datetime
    risk: float
    tier: str
    model_version: str | None
    detection: dict[str, Any] | None


def fingerprint(event: LogEvent) -> str:
    """The same for a repeat of the event; different for a forged copy of its uuid."""
    parts = (
        event.uuid,
        event.published.isoformat() if event.published else "",
        event.eventType or "",
        event.actor_id or "",
        event.ip or "",
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def row_for(
    event: LogEvent, scored: Any, *, version: str | None, source: str, now: datetime
) -> dict[str, Any]:
    """The log row of `event`, scored as `scored` (a models.detector.EventScore)."""
    identity = scored.identity
    detection = scored.detection
    return {
        "fingerprint": fingerprint(event),
        "event_uuid": event.uuid[:255],
        "identity_id": identity.id[:255],
        "identity_kind": identity.kind[:32],
        "identity_name": identity.name[:255] if identity.name else None,
        "event_time": ensure_utc(event.published or now),
        "scored_at": ensure_utc(now),
        "risk": round(float(scored.risk), 2),
        "tier": scored.tier,
        "model_version": version,
        "source": source,
        "detection": detection.to_json_dict() if detection is not None else None,
    }


def insert_rows(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert rows whose fingerprint is not logged yet; how many were new."""
    if not rows:
        return 0
    name = connection.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if name == "sqlite" else postgresql.insert
        statement = dialect_insert(ScoredEvent).on_conflict_do_nothing(
            index_elements=["fingerprint"]
        )
        return int(connection.execute(statement, rows).rowcount or 0)
    fresh = 0
    for row in rows:
        try:
            with connection.begin_nested():
                connection.execute(insert(ScoredEvent), [row])
            fresh += 1
        except IntegrityError:
            continue
    return fresh


def recent(
    connection: Connection, identity_id: str, *, limit: int = 50
) -> list[LoggedScore]:
    """The identity's latest scores, newest event first."""
    rows = connection.execute(
        select(
            ScoredEvent.event_uuid,
            ScoredEvent.identity_id,
            ScoredEvent.identity_kind,
            ScoredEvent.identity_name,
            ScoredEvent.event_time,
            ScoredEvent.scored_at,
            ScoredEvent.risk,
            ScoredEvent.tier,
            ScoredEvent.model_version,
            ScoredEvent.detection,
        )
        .where(ScoredEvent.identity_id == identity_id)
        .order_by(ScoredEvent.event_time.desc(), ScoredEvent.scored_at.desc())
        .limit(limit)
    ).all()
    return [LoggedScore(*row) for row in rows]


class ScoreLog:
    """Queues rows and writes them in batches from a daemon thread."""

    def __init__(self, engine: Engine, *, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        self.engine = engine
        self.source = source
        self.dropped = 0
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        # Held while a batch is written, so `flush` returns only once rows queued
        # before it are in the database, whichever thread wrote them.
        self._writing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self, event: LogEvent, scored: Any, *, version: str | None, now: datetime
    ) -> None:
        """Queue one event's score; written within `FLUSH_SECONDS`."""
        row = row_for(event, scored, version=version, source=self.source, now=now)
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self.dropped += 1
                return
            self._pending.append(row)
        self._wake.set()

    def flush(self) -> int:
        """Write every queued row now; how many were new."""
        with self._writing:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                with self.engine.begin() as connection:
                    return insert_rows(connection, rows)
            except SQLAlchemyError:
                with self._lock:
                    # Back in front, to be tried again.
                    self._pending[:0] = rows
                raise

    def recent(self, identity_id: str, *, limit: int = 50) -> list[LoggedScore]:
        with self.engine.connect() as connection:
            return recent(connection, identity_id, limit=limit)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="credwatch-score-log", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush()
        except SQLAlchemyError:
            logger.exception("could not write the last scores")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            # Let a burst of scores gather into one commit.
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except SQLAlchemyError:
                logger.exception("could not write scores; retrying")
                self._stop.wait(1.0)
