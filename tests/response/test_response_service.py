"""`respond`: incidents per identity, escalation, idempotency, dry-run and enforce."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from response.policy import DEFAULT_POLICY
from response.queries import set_verdict
from response.records import MAX_EVENT_IDS, Action, Incident
from response.service import respond

NOW = datetime(2026, 3, 1, 10, 5, 0, tzinfo=UTC)


def _respond(session, detection, deployment_map=None, *, mode="dry-run"):
    return respond(
        detection=detection,
        session=session,
        policy=DEFAULT_POLICY,
        deployment_map=deployment_map,
        mode=mode,
        now=NOW,
    )


def _count(session, model, **where) -> int:
    statement = select(func.count()).select_from(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    return session.scalar(statement)


def _kinds(session, incident_id) -> list[str]:
    return list(
        session.scalars(
            select(Action.kind)
            .where(Action.incident_id == incident_id)
            .order_by(Action.id)
        )
    )


def test_low_detection_opens_no_incident_and_records_nothing(session, make_detection):
    outcome = _respond(session, make_detection(tier="low", risk=20))
    assert outcome.incident_id is None
    assert not outcome.created
    assert outcome.actions == []
    assert _count(session, Incident) == 0
    assert _count(session, Action) == 0


def test_medium_detection_opens_an_incident_with_dry_run_actions(
    session_factory, make_detection
):
    with session_factory() as session:
        outcome = _respond(session, make_detection())
        session.commit()
    assert outcome.created
    assert [action.kind for action in outcome.actions] == [
        "clear_sessions",
        "require_mfa",
        "open_ticket",
    ]

    with session_factory() as session:
        incident = session.get(Incident, outcome.incident_id)
        assert incident.status == "open"
        assert incident.tier == "medium"
        assert incident.rules == ["concurrent_networks"]
        assert incident.event_ids == ["uuid-1"]
        assert incident.detection_count == 1
        assert incident.opened_at == NOW
        for action in incident.actions:
            assert action.mode == "dry-run"
            assert action.status == "recorded"
            assert action.actor == "credwatch"
            assert action.outcome.startswith("dry-run")
            assert action.reason
        clear = next(a for a in incident.actions if a.kind == "clear_sessions")
        assert clear.request["calls"] == [
            {
                "method": "DELETE",
                "path": "/api/v1/users/00uALICE/sessions",
                "params": {"oauthTokens": "true"},
            }
        ]


def test_later_detections_merge_into_the_one_open_incident(session, make_detection):
    first = _respond(session, make_detection())
    second = _respond(
        session,
        make_detection(
            rules=("session_hijack",),
            reasons=("session moved to a new device",),
            events=("uuid-2", "uuid-1"),
            minutes=10,
            risk=60,
        ),
    )
    assert second.incident_id == first.incident_id
    assert not second.created
    assert second.actions == []  # same tier: nothing new to do
    assert _count(session, Incident, status="open") == 1

    incident = session.get(Incident, first.incident_id)
    assert incident.detection_count == 2
    assert incident.rules == ["concurrent_networks", "session_hijack"]
    assert incident.event_ids == ["uuid-1", "uuid-2"]
    assert len(incident.reasons) == 2
    assert incident.risk == 60
    assert incident.last_detected_at > incident.first_detected_at


def test_replaying_a_detection_changes_nothing(session, make_detection):
    detection = make_detection(tier="high", risk=80)
    first = _respond(session, detection)
    session.commit()
    again = _respond(session, detection)
    session.commit()

    assert again.incident_id == first.incident_id
    assert not again.created
    assert again.duplicate
    assert again.actions == []
    assert _count(session, Incident) == 1
    assert session.get(Incident, first.incident_id).detection_count == 1
    assert _count(session, Action) == len(first.actions)


def test_escalation_adds_the_new_tiers_actions_only(session, make_detection):
    medium = _respond(session, make_detection())
    incident_id = medium.incident_id

    high = _respond(session, make_detection(tier="high", risk=80, minutes=5))
    assert high.incident_id == incident_id
    assert [action.kind for action in high.actions] == [
        "revoke_tokens",
        "suspend",
        "escalate_ticket",
    ]
    escalation = high.actions[-1]
    assert escalation.request["priority"] == "urgent"
    assert escalation.request["previous_priority"] == "normal"

    critical = _respond(session, make_detection(tier="critical", risk=95, minutes=6))
    assert [action.kind for action in critical.actions] == ["notify_owner"]

    # A weaker detection later never lowers the tier.
    _respond(session, make_detection(tier="medium", risk=50, minutes=7, events=("u9",)))
    incident = session.get(Incident, incident_id)
    assert incident.tier == "critical"
    assert incident.risk == 95
    assert incident.detection_count == 4
    assert sorted(_kinds(session, incident_id)) == sorted(
        [
            "clear_sessions",
            "require_mfa",
            "open_ticket",
            "revoke_tokens",
            "suspend",
            "escalate_ticket",
            "notify_owner",
        ]
    )


def test_a_resolved_incident_is_history_and_the_next_detection_opens_a_new_one(
    session, make_detection
):
    first = _respond(session, make_detection())
    set_verdict(
        session, first.incident_id, "true-positive", actor="analyst@example.com"
    )

    second = _respond(session, make_detection(minutes=60, events=("uuid-9",)))
    assert second.created
    assert second.incident_id != first.incident_id
    assert session.get(Incident, first.incident_id).status == "resolved"
    assert session.get(Incident, second.incident_id).status == "open"
    assert second.actions  # the new incident gets its own actions


def test_identities_get_separate_incidents(session, make_detection):
    alice = _respond(session, make_detection("00uALICE"))
    bob = _respond(session, make_detection("00uBOB"))
    assert alice.incident_id != bob.incident_id
    assert _count(session, Incident, status="open") == 2


def test_protected_identity_is_never_suspended(session, make_detection, deployment_map):
    outcome = _respond(
        session,
        make_detection("00uBREAKGLASS", tier="critical", risk=99),
        deployment_map,
    )
    kinds = [action.kind for action in outcome.actions]
    assert "suspend" not in kinds
    assert "require_mfa" not in kinds
    assert "revoke_tokens" not in kinds
    ticket = next(action for action in outcome.actions if action.kind == "open_ticket")
    assert ticket.request["priority"] == "urgent"
    assert "protected identity" in ticket.reason


def test_oauth_app_agent_is_deactivated_not_suspended(
    session, make_detection, deployment_map
):
    outcome = _respond(
        session,
        make_detection("0oaCLIENT1", kind="ai_agent", tier="high", risk=85),
        deployment_map,
    )
    kinds = [action.kind for action in outcome.actions]
    assert "deactivate_app" in kinds
    assert "suspend" not in kinds


def test_enforce_mode_queues_every_action_in_the_outbox(session, make_detection):
    from response.outbox import OutboxEntry

    outcome = _respond(session, make_detection(tier="high", risk=80), mode="enforce")
    assert outcome.actions
    for action in outcome.actions:
        assert action.mode == "enforce"
        assert action.status == "planned"
        assert "queued" in action.outcome
    queued = {entry.action_id for entry in session.query(OutboxEntry)}
    assert queued == {action.id for action in outcome.actions}


def test_unknown_mode_is_refused(session, make_detection):
    with pytest.raises(ValueError, match="response mode"):
        _respond(session, make_detection(), mode="yolo")


def test_event_ids_stay_bounded(session, make_detection):
    outcome = _respond(
        session, make_detection(events=tuple(f"e{i}" for i in range(MAX_EVENT_IDS)))
    )
    _respond(session, make_detection(events=("late-1", "late-2"), minutes=1))
    incident = session.get(Incident, outcome.incident_id)
    assert len(incident.event_ids) == MAX_EVENT_IDS
    assert incident.event_ids[0] == "e0"  # the evidence that opened it is kept
    assert incident.detection_count == 2


def test_concurrent_first_detections_share_one_incident(
    session_factory, make_detection
):
    # PostgreSQL: the second insert waits on the partial unique index, fails once
    # the first commits, and merges. SQLite: the second transaction waits for the
    # write lock, then finds the incident already open.
    errors: list[BaseException] = []

    first = session_factory()
    outcome = _respond(first, make_detection())  # inserted, not yet committed

    def second_writer() -> None:
        try:
            with session_factory() as second:
                _respond(second, make_detection(minutes=1, events=("uuid-2",)))
                second.commit()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the second writer should wait for the first"
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert not errors, errors

    with session_factory() as session:
        incidents = session.scalars(select(Incident)).all()
        assert [incident.id for incident in incidents] == [outcome.incident_id]
        assert incidents[0].detection_count == 2
        assert _count(session, Action) == len(outcome.actions)
