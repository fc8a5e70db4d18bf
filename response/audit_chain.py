"""The tamper-evident audit chain: every change to the audit trail, hashed in order.

The audit trail proper is the `actions`, `action_attempts` and `verdicts` tables.
Their rows change as work proceeds (an action goes from planned to done), so the
rows alone cannot show whether someone edited them afterwards. This module keeps a
second, append-only record: each time a session commits a change to one of those
rows, a snapshot of the row (canonical JSON) is appended to `audit_chain`, and each
record carries the SHA-256 of its content and of the record before it. Editing,
removing or reordering any record breaks every hash after it; editing an audited
row directly in the database makes it differ from its last snapshot. `verify`
(`credwatch audit verify`) checks both and names the first fault.

Records are collected when the session flushes and written just before it
commits, in the same transaction, so a change and its record commit together.
Writing them last means the lock that orders the chain across processes (an
advisory lock on PostgreSQL; SQLite's write lock is already held) is taken after
every row lock the transaction needs, and held only until its commit, so it cannot
deadlock with another process's transaction.

The chain proves the order and integrity of what was recorded; it does not stop
someone with write access from rewriting the whole chain consistently. Keep the
head hash that `credwatch audit verify` prints somewhere else (a ticket, a log
store) to pin it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Text,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from credwatch.db import Base, UTCDateTime, ensure_utc
from response.outbox import ActionAttempt
from response.records import Action, VerdictRecord

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# The audited tables, by the name each record gives its subject.
AUDITED: dict[str, type[Base]] = {
    "actions": Action,
    "action_attempts": ActionAttempt,
    "verdicts": VerdictRecord,
}
_AUDITED_CLASSES = tuple(AUDITED.values())
# Any fixed number; the key of the advisory lock that orders appends on PostgreSQL.
_LOCK_KEY = 0x61756474  # "audt"
_PENDING = "credwatch_audit_pending"


class AuditRecord(Base):
    """One change to an audited row, chained to the record before it."""

    __tablename__ = "audit_chain"

    # Assigned as the previous record's plus one, so a removed record leaves a gap.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


@dataclass(frozen=True, slots=True)
class _Pending:
    subject: str
    subject_id: int
    operation: str
    content: str
    # The savepoint the change was flushed in (None: the main transaction).
    savepoint: SessionTransaction | None


# Canonical content and hashes.


def canonical(row: Base) -> str:
    """The row's columns as canonical JSON: sorted keys, UTC times, no spaces."""
    values = {
        column.key: _plain(getattr(row, column.key))
        for column in row.__mapper__.column_attrs
    }
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(
    *,
    prev_hash: str,
    seq: int,
    recorded_at: datetime,
    subject: str,
    subject_id: int,
    operation: str,
    content: str,
) -> str:
    """SHA-256 over the record's content and the hash of the record before it."""
    material = "\n".join(
        (
            prev_hash,
            str(seq),
            _moment(recorded_at),
            subject,
            str(subject_id),
            operation,
            content,
        )
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _moment(value)
    return value


def _moment(value: datetime) -> str:
    return ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Collecting changes as sessions flush them.


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context: Any) -> None:
    changes: list[tuple[Base, str]] = []
    for row in session.new:
        if isinstance(row, _AUDITED_CLASSES):
            changes.append((row, "insert"))
    for row in session.dirty:
        if isinstance(row, _AUDITED_CLASSES) and session.is_modified(
            row, include_collections=False
        ):
            changes.append((row, "update"))
    for row in session.deleted:
        if isinstance(row, _AUDITED_CLASSES):
            changes.append((row, "delete"))
    if not changes:
        return
    savepoint = session.get_nested_transaction()
    pending = session.info.setdefault(_PENDING, [])
    for row, operation in changes:
        pending.append(
            _Pending(
                subject=row.__tablename__,
                subject_id=int(row.id),
                operation=operation,
                content=canonical(row),
                savepoint=savepoint,
            )
        )


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if not pending:
        return
    if not previous.nested:
        pending.clear()
        return
    # A rolled-back savepoint takes its changes, and those of savepoints inside
    # it, with it.
    pending[:] = [item for item in pending if not _inside(item.savepoint, previous)]


def _inside(savepoint: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    current = savepoint
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "before_commit")
def _append_on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # A savepoint is being released; the main transaction writes the records.
        return
    if not session.info.get(_PENDING):
        # Flushing here would be wasted work for the many sessions that never
        # touch the audit trail; only flush when something audited is in play.
        if not any(
            isinstance(row, _AUDITED_CLASSES)
            for row in (*session.new, *session.dirty, *session.deleted)
        ):
            return
    # The commit flushes after this hook; flush first so every change is collected.
    session.flush()
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if pending:
        append(session.connection(), pending)


def append(connection: Connection, pending: list[_Pending]) -> None:
    """Append records for `pending` changes after the chain's head."""
    if connection.dialect.name == "postgresql":
        # Orders appends across processes; released when the transaction ends.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
        )
    head = connection.execute(
        select(AuditRecord.seq, AuditRecord.hash)
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    ).first()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    if head is None:
        # The migration that made the table wrote the first record; an empty chain
        # means it was emptied since. Start again, and say so loudly.
        logger.warning("the audit chain was empty; starting a new one")
        rows.append(genesis_record(connection, now))
        seq, prev_hash = 1, rows[0]["hash"]
    else:
        seq, prev_hash = int(head.seq), str(head.hash)
    for item in pending:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "recorded_at": now,
            "subject": item.subject,
            "subject_id": item.subject_id,
            "operation": item.operation,
            "content": item.content,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = record_hash(**row)
        rows.append(row)
    connection.execute(insert(AuditRecord), rows)


def genesis_record(connection: Connection, now: datetime) -> dict[str, Any]:
    """The chain's first record: how far each audited table reached before it.

    Rows up to these ids predate the chain and have no records of their own. The
    migration that creates the chain writes this record, so a chain is never empty.
    """
    reach = {
        name: int(
            connection.execute(
                select(func.coalesce(func.max(model.id), 0))
            ).scalar_one()
        )
        for name, model in AUDITED.items()
    }
    content = json.dumps({"before_chain": reach}, sort_keys=True, separators=(",", ":"))
    row = {
        "seq": 1,
        "recorded_at": now,
        "subject": "genesis",
        "subject_id": 0,
        "operation": "start",
        "content": content,
        "prev_hash": GENESIS_HASH,
    }
    row["hash"] = record_hash(**row)
    return row


# Verifying.


@dataclass
class Verification:
    """What `verify` found: the records checked, and the first fault if any."""

    records: int = 0
    head_hash: str | None = None
    rows_checked: int = 0
    fault: str | None = None
    fault_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None and not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_hash": self.head_hash,
            "rows_checked": self.rows_checked,
            "first_broken_record": self.fault_seq,
            "fault": self.fault,
            "problems": self.problems,
        }


def verify(session: Session, *, max_problems: int = 20) -> Verification:
    """Check the chain's links and hashes, then each audited row against its record."""
    result = Verification()
    latest: dict[tuple[str, int], AuditRecord] = {}
    reach: dict[str, int] = {}
    expected_seq, prev_hash = 1, GENESIS_HASH
    for record in _records(session):
        if record.seq != expected_seq:
            result.fault_seq = expected_seq
            result.fault = (
                f"record {expected_seq} is missing (the next one found is {record.seq})"
            )
            return result
        if record.prev_hash != prev_hash:
            result.fault_seq = record.seq
            result.fault = (
                f"record {record.seq} does not follow record {record.seq - 1}: "
                "its previous-hash differs"
            )
            return result
        computed = record_hash(
            prev_hash=record.prev_hash,
            seq=record.seq,
            recorded_at=record.recorded_at,
            subject=record.subject,
            subject_id=record.subject_id,
            operation=record.operation,
            content=record.content,
        )
        if computed != record.hash:
            result.fault_seq = record.seq
            result.fault = (
                f"record {record.seq} ({record.subject} {record.subject_id}, "
                f"{record.operation}) was altered: its hash does not match its content"
            )
            return result
        if record.subject == "genesis":
            reach = dict(json.loads(record.content).get("before_chain", {}))
        else:
            latest[(record.subject, record.subject_id)] = record
        result.records += 1
        result.head_hash = record.hash
        prev_hash = record.hash
        expected_seq += 1

    if result.records == 0:
        if _any_audited_row(session):
            result.fault_seq = 1
            result.fault = "the audit chain is empty, yet audited rows exist: emptied"
        return result
    _check_rows(session, result, latest, reach, max_problems)
    return result


def _any_audited_row(session: Session) -> bool:
    return any(
        session.scalar(select(model.id).limit(1)) is not None
        for model in AUDITED.values()
    )


def _records(session: Session, batch: int = 1000) -> Iterator[AuditRecord]:
    """Every record in order, a batch at a time (plain queries: no open cursor)."""
    after = 0
    while True:
        records = list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.seq > after)
                .order_by(AuditRecord.seq)
                .limit(batch)
            )
        )
        for record in records:
            session.expunge(record)
            yield record
        if len(records) < batch:
            return
        after = records[-1].seq


def _rows(session: Session, model: type[Base], batch: int = 1000) -> Iterator[Any]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(model).where(model.id > after).order_by(model.id).limit(batch)
            )
        )
        yield from rows
        for row in rows:
            session.expunge(row)
        if len(rows) < batch:
            return
        after = rows[-1].id


def _check_rows(
    session: Session,
    result: Verification,
    latest: dict[tuple[str, int], AuditRecord],
    reach: dict[str, int],
    max_problems: int,
) -> None:
    def problem(message: str) -> None:
        if len(result.problems) < max_problems:
            result.problems.append(message)

    live: set[tuple[str, int]] = set()
    for name, model in AUDITED.items():
        for row in _rows(session, model):
            result.rows_checked += 1
            key = (name, int(row.id))
            live.add(key)
            record = latest.get(key)
            if record is None:
                if row.id > reach.get(name, 0):
                    problem(f"{name} {row.id} has no audit record (written around it)")
            elif record.operation == "delete":
                problem(
                    f"{name} {row.id} was deleted (record {record.seq}) but is back"
                )
            elif record.content != canonical(row):
                problem(
                    f"{name} {row.id} differs from its last audit record "
                    f"{record.seq}: changed outside credwatch"
                )
    for (name, row_id), record in latest.items():
        if (name, row_id) not in live and record.operation != "delete":
            problem(f"{name} {row_id} is gone, but no record says it was deleted")
