"""Retention: events, and what was derived from them, are deleted once old enough.

Okta events name people, their addresses and where they were, so credwatch keeps
them no longer than `CREDWATCH_RETENTION_DAYS` (90 by default, the System Log's
own retention; 0 keeps everything). A purge deletes, older than that:

- the event store's day folders (by the day of `published`), and undated files
  by when they were written;
- quarantined records (raw input that was not an event), by when written;
- evidence summaries kept for tickets, except those of identities with an open
  incident, whose ticket still needs them;
- per-event scores (the features' outcome: risk and tier per event), by when
  they were scored;
- Event Hook deliveries already scored.

Incidents, actions, verdicts and the audit chain are the record of what credwatch
did and are never purged here. The baselines inside a trained model age out as
models are retrained on recent events.

`credwatch watch` and `credwatch serve` purge every `CREDWATCH_RETENTION_CHECK_S`
seconds (and at start); `credwatch purge` does it by hand. Purges are idempotent,
so processes sharing a database may run them at the same time.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from credwatch.settings import Settings

logger = logging.getLogger(__name__)

UNDATED = "undated"


@dataclass
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete)."""

    cutoff: datetime | None
    event_days: int = 0
    event_files: int = 0
    quarantine_files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
            if self.cutoff
            else None,
            "event_days": self.event_days,
            "event_files": self.event_files,
            "quarantine_files": self.quarantine_files,
            "rows": dict(self.rows),
            "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        if self.cutoff is None:
            return "retention is off (CREDWATCH_RETENTION_DAYS=0): nothing purged"
        verb = "would delete" if self.dry_run else "deleted"
        rows = ", ".join(f"{n} {table}" for table, n in sorted(self.rows.items()) if n)
        return (
            f"{verb} what is older than {self.cutoff:%Y-%m-%d %H:%M}Z: "
            f"{self.event_days} event days, {self.event_files} undated event files, "
            f"{self.quarantine_files} quarantine files; rows: {rows or 'none'}"
        )


def cutoff_for(settings: Settings, now: datetime | None = None) -> datetime | None:
    """The moment before which data is purged; None when retention is off."""
    days = settings.retention_days
    if days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    sessions: sessionmaker[Session] | None = None,
) -> PurgeReport:
    """Delete what is older than the retention; what was deleted.

    `sessions` is the database to purge (the settings' database by default).
    """
    cutoff = cutoff_for(settings, now)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    if cutoff is None:
        return report
    _purge_event_store(settings.events_dir, cutoff, report, dry_run)
    report.quarantine_files = _purge_files(settings.quarantine_dir, cutoff, dry_run)
    _purge_rows(sessions or _sessions_of(settings), cutoff, report, dry_run)
    if not dry_run and (
        report.event_days or report.event_files or any(report.rows.values())
    ):
        logger.info("retention: %s", report.summary())
    return report


def _purge_event_store(
    root: Path, cutoff: datetime, report: PurgeReport, dry_run: bool
) -> None:
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if not folder.is_dir():
            continue
        if folder.name == UNDATED:
            report.event_files += _purge_files(folder, cutoff, dry_run)
            continue
        day = _day_of(folder.name)
        # A day goes once all of it is older than the cutoff.
        if day is not None and day + timedelta(days=1) <= cutoff.date():
            report.event_days += 1
            if not dry_run:
                shutil.rmtree(folder, ignore_errors=True)


def _day_of(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _purge_files(folder: Path, cutoff: datetime, dry_run: bool) -> int:
    """Delete the files under `folder` last written before `cutoff`."""
    if not folder.is_dir():
        return 0
    limit = cutoff.timestamp()
    deleted = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                if not dry_run:
                    path.unlink()
                deleted += 1
        except FileNotFoundError:
            # Another process purged it first.
            continue
    return deleted


def _sessions_of(settings: Settings) -> sessionmaker[Session]:
    from response.flows import session_factory

    return session_factory(settings)


def _purge_rows(
    sessions: sessionmaker[Session],
    cutoff: datetime,
    report: PurgeReport,
    dry_run: bool,
) -> None:
    with sessions() as session:
        for name, statement in _row_purges(cutoff):
            if dry_run:
                counted = (
                    select(func.count())
                    .select_from(statement.table)
                    .where(statement.whereclause)
                )
                report.rows[name] = int(session.scalar(counted) or 0)
            else:
                result = session.execute(
                    statement.execution_options(synchronize_session=False)
                )
                report.rows[name] = int(result.rowcount or 0)
        if dry_run:
            session.rollback()
        else:
            session.commit()


def _row_purges(cutoff: datetime) -> list[tuple[str, Any]]:
    from credwatch.score_log import ScoredEvent
    from response.evidence import EvidenceEvent
    from response.records import Incident
    from serving.records import HookDelivery

    still_needed = select(Incident.identity_id).where(Incident.status == "open")
    purges: list[tuple[str, Any]] = [
        (
            "evidence_events",
            delete(EvidenceEvent).where(
                EvidenceEvent.published < cutoff,
                EvidenceEvent.identity_id.not_in(still_needed),
            ),
        ),
        (
            "hook_deliveries",
            delete(HookDelivery).where(
                HookDelivery.status == "done", HookDelivery.processed_at < cutoff
            ),
        ),
    ]
    # Scores go by when they were made, not by the event's time: a replay of old
    # events keeps its scores for the whole retention, like anything written now.
    purges.append(
        ("scored_events", delete(ScoredEvent).where(ScoredEvent.scored_at < cutoff))
    )
    return purges


class RetentionSchedule:
    """Runs a purge at start and then every `retention_check_s` seconds.

    `maybe_run` suits a loop that already wakes often (`credwatch watch`); `start`
    runs a daemon thread instead (`credwatch serve`). A failed purge is logged and
    tried again at the next turn: it must never stop scoring.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: sessionmaker[Session] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._clock = clock
        self._last: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def maybe_run(self) -> PurgeReport | None:
        if self.settings.retention_days <= 0:
            return None
        now = self._clock()
        if (
            self._last is not None
            and now - self._last < self.settings.retention_check_s
        ):
            return None
        self._last = now
        try:
            return purge(self.settings, sessions=self._sessions)
        except Exception:
            logger.exception("retention purge failed; trying again later")
            return None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="credwatch-retention", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.maybe_run()
            self._stop.wait(min(self.settings.retention_check_s, 60.0))
