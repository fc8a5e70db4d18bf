"""The audit chain: every change to actions, attempts and verdicts, hashed in order.

Tampering of every kind is found and named: an edited, removed or reordered record,
an action edited, added or deleted behind credwatch's back, an emptied chain.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from credwatch.db import create_schema, make_engine, make_session_factory
from integrations.jira_tickets import LocalDesk
from integrations.webhook import LocalNotifier
from models.schemas import Detection
from response.audit_chain import AuditRecord, verify
from response.executor import Executor, ExecutorLimits
from response.policy import ResponsePolicy
from response.queries import set_verdict
from response.records import Action
from response.service import respond

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def detection(identity: str, *, tier: str = "high", minutes: int = 0) -> Detection:
    at = T0 + timedelta(minutes=minutes)
    return Detection(
        identity_id=identity,
        identity_kind="human",
        identity_name=None,
        window_start=at - timedelta(minutes=5),
        window_end=at,
        detected_at=at,
        risk=80.0,
        tier=tier,
        rules=["concurrent_networks"],
        reasons=[f"{identity}: token used from two networks"],
        event_ids=[f"evt-{identity}-{minutes}"],
        model_version="1",
    )


def respond_to(sessions, identity: str, **kwargs) -> int:
    with sessions() as session:
        outcome = respond(
            detection=detection(identity, **kwargs),
            session=session,
            policy=ResponsePolicy(),
            deployment_map=None,
            mode="enforce",
            now=T0,
        )
        session.commit()
        return outcome.incident_id


@pytest.fixture
def sessions(database):
    create_schema(database.engine)
    return make_session_factory(database.engine)


@pytest.fixture
def trail(sessions):
    """A small audit trail: two incidents, their actions carried out, a verdict."""
    first = respond_to(sessions, "00uALICE")
    respond_to(sessions, "00uBOB", tier="critical")
    executor = Executor(
        sessions=sessions,
        okta=None,
        desk=LocalDesk(),
        notifier=LocalNotifier(),
        limits=ExecutorLimits(retry_base_s=0, defer_s=0, wait_for_ticket_s=0),
    )
    executor.drain()
    with sessions() as session:
        set_verdict(session, first, "true-positive", actor="analyst")
        session.commit()
    return sessions


def check(sessions):
    with sessions() as session:
        return verify(session)


def test_an_untouched_trail_verifies(trail):
    result = check(trail)
    assert result.ok, result.as_dict()
    with trail() as session:
        actions = session.scalar(select(Action.id).order_by(Action.id.desc()).limit(1))
        subjects = set(session.scalars(select(AuditRecord.subject)))
    # Inserts and the executor's updates of actions, its attempts and the verdict.
    assert {"genesis", "actions", "verdicts"} <= subjects
    assert actions and result.records > actions
    assert result.rows_checked >= actions


def test_a_rolled_back_change_leaves_no_record(trail):
    before = check(trail).records
    with trail() as session:
        action = session.scalars(select(Action)).first()
        action.outcome = "never committed"
        session.flush()
        session.rollback()
    # A replayed detection: the savepoints refusing duplicate actions roll back.
    respond_to(trail, "00uBOB", tier="critical")
    after = check(trail)
    assert after.ok, after.as_dict()
    assert after.records == before


def _tamper(sessions, statement, **params) -> None:
    with sessions() as session:
        session.execute(text(statement), params)
        session.commit()


def test_an_edited_record_is_named(trail):
    _tamper(
        trail,
        "UPDATE audit_chain SET content = replace(content, 'enforce', 'dry-run') WHERE seq = 3",
    )
    result = check(trail)
    assert not result.ok and result.fault_seq == 3
    assert "record 3" in result.fault and "altered" in result.fault


def test_a_record_rehashed_after_editing_breaks_the_next_link(trail):
    with trail() as session:
        session.execute(
            update(AuditRecord).where(AuditRecord.seq == 4).values(hash="f" * 64)
        )
        session.commit()
    result = check(trail)
    assert result.fault_seq == 4


def test_a_removed_record_is_named(trail):
    _tamper(trail, "DELETE FROM audit_chain WHERE seq = 5")
    result = check(trail)
    assert result.fault_seq == 5 and "missing" in result.fault


def test_an_emptied_chain_is_found(trail):
    _tamper(trail, "DELETE FROM audit_chain")
    result = check(trail)
    assert not result.ok and "empty" in result.fault


def test_an_action_edited_in_the_database_is_named(trail):
    with trail() as session:
        target = session.scalars(select(Action.id).order_by(Action.id)).first()
    _tamper(
        trail, "UPDATE actions SET actor = 'someone-else' WHERE id = :id", id=target
    )
    result = check(trail)
    assert result.fault is None
    assert result.problems == [
        f"actions {target} differs from its last audit record "
        f"{_last_record(trail, 'actions', target)}: changed outside credwatch"
    ]


def test_actions_added_or_deleted_behind_its_back_are_found(trail):
    with trail() as session:
        target = session.scalars(select(Action.id).order_by(Action.id)).first()
    _tamper(trail, "DELETE FROM actions WHERE id = :id", id=target)
    _tamper(
        trail,
        "INSERT INTO actions (incident_id, identity_id, kind, mode, status, actor, reason, "
        "request, created_at, updated_at) SELECT incident_id, identity_id, 'forged', mode, "
        "status, actor, reason, request, created_at, updated_at FROM actions LIMIT 1",
    )
    problems = check(trail).problems
    assert any("has no audit record" in problem for problem in problems)
    assert any(f"actions {target} is gone" in problem for problem in problems)


def test_writers_in_parallel_keep_one_chain(database, sessions):
    # Separate engines stand for separate processes.
    engines = [make_engine(database.url) for _ in range(3)]
    errors: list[BaseException] = []

    def work(index: int, engine) -> None:
        try:
            factory = make_session_factory(engine)
            for number in range(4):
                respond_to(factory, f"00uP{index}x{number}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(i, e)) for i, e in enumerate(engines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert errors == []
    result = check(sessions)
    assert result.ok, result.as_dict()
    with sessions() as session:
        assert result.rows_checked == session.query(Action).count() > 0


def test_the_command_names_the_first_broken_record(
    trail, database, monkeypatch, tmp_path
):
    from credwatch import cli
    from credwatch.settings import get_settings
    from response.flows import dispose_databases

    monkeypatch.setenv("CREDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREDWATCH_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        intact = runner.invoke(cli.app, ["audit", "verify"])
        assert intact.exit_code == 0, intact.output
        assert "audit chain intact" in intact.output
        _tamper(
            trail, "UPDATE audit_chain SET subject_id = subject_id + 1000 WHERE seq = 6"
        )
        broken = runner.invoke(cli.app, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "broken at record 6" in broken.output
    finally:
        dispose_databases()
        get_settings.cache_clear()


def _last_record(sessions, subject: str, subject_id: int) -> int:
    with sessions() as session:
        return session.scalar(
            select(AuditRecord.seq)
            .where(AuditRecord.subject == subject, AuditRecord.subject_id == subject_id)
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        )


def test_a_session_that_touches_no_audited_row_writes_nothing(sessions):
    with sessions() as session:
        before = session.query(AuditRecord).count()
    with Session(sessions.kw["bind"]) as session:
        session.execute(text("SELECT 1"))
        session.commit()
    with sessions() as session:
        assert session.query(AuditRecord).count() == before == 1
