"""Listing incidents, verdicts, and releasing identities."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from response.errors import InvalidVerdict, UnknownIncident
from response.policy import DEFAULT_POLICY
from response.queries import (
    get_incident,
    incident_as_dict,
    list_incidents,
    release_identity,
    set_verdict,
)
from response.records import Action, VerdictRecord
from response.service import respond

NOW = datetime(2026, 3, 1, 10, 5, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _respond(session, detection, deployment_map=None, *, mode="dry-run"):
    return respond(
        detection=detection,
        session=session,
        policy=DEFAULT_POLICY,
        deployment_map=deployment_map,
        mode=mode,
        now=NOW,
    )


def test_incidents_list_and_serialise_as_the_contract_says(
    session_factory, make_detection
):
    with session_factory() as session:
        first = _respond(session, make_detection("00uALICE"))
        second = _respond(session, make_detection("00uBOB", tier="high", risk=80))
        set_verdict(
            session, first.incident_id, "false-positive", actor="ana", now=LATER
        )
        session.commit()

    with session_factory() as session:
        everything = list_incidents(session)
        still_open = list_incidents(session, open_only=True)
        assert [incident.id for incident in everything] == [
            first.incident_id,
            second.incident_id,
        ]
        assert [incident.id for incident in still_open] == [second.incident_id]

        data = incident_as_dict(still_open[0])
    json.dumps(data)  # plain JSON, no datetimes or ORM objects left
    assert data["id"] == second.incident_id
    assert data["identity_id"] == "00uBOB"
    assert data["tier"] == "high"
    assert data["status"] == "open"
    assert data["opened_at"] == "2026-03-01T10:05:00Z"
    assert data["rules"] == ["concurrent_networks"]
    assert data["verdict"] is None
    assert data["ticket_url"] is None
    assert data["risk"] == 80
    assert data["reasons"] == ["token used from two networks within 4 minutes"]
    assert {action["kind"] for action in data["actions"]} == {
        "revoke_tokens",
        "clear_sessions",
        "suspend",
        "open_ticket",
    }
    assert all(action["created_at"].endswith("Z") for action in data["actions"])


def test_verdict_resolves_the_incident_and_is_kept_in_history(session, make_detection):
    outcome = _respond(session, make_detection())
    incident = set_verdict(
        session, outcome.incident_id, "true-positive", actor="ana", now=LATER
    )
    assert incident.status == "resolved"
    assert incident.verdict == "true-positive"
    assert incident.resolved_at == LATER
    assert incident.verdict_by == "ana"

    # A changed mind replaces the verdict but keeps the time it was resolved.
    changed = set_verdict(session, str(outcome.incident_id), "expected", actor="lead")
    assert changed.verdict == "expected"
    assert changed.resolved_at == LATER
    history = session.scalars(
        select(VerdictRecord.verdict).order_by(VerdictRecord.id)
    ).all()
    assert history == ["true-positive", "expected"]
    assert incident_as_dict(changed)["verdict"] == "expected"


def test_verdict_errors_are_clear(session, make_detection):
    outcome = _respond(session, make_detection())
    with pytest.raises(InvalidVerdict, match="true-positive, false-positive, expected"):
        set_verdict(session, outcome.incident_id, "maybe", actor="ana")
    with pytest.raises(UnknownIncident, match="no incident 4242"):
        set_verdict(session, 4242, "expected", actor="ana")
    with pytest.raises(UnknownIncident, match="whole numbers"):
        get_incident(session, "INC-1")


def test_release_in_dry_run_records_the_reversals_once(session, make_detection):
    outcome = _respond(session, make_detection(tier="critical", risk=95))
    _respond(session, make_detection(tier="medium", minutes=3, events=("u2",)))

    written = release_identity(session, "00uALICE", actor="ana", now=LATER)
    by_kind = {action.kind: action for action in written}
    # require_mfa is not in the critical table, so only the suspension is undone.
    assert set(by_kind) == {"unsuspend"}
    unsuspend = by_kind["unsuspend"]
    assert unsuspend.mode == "dry-run"
    assert unsuspend.status == "recorded"
    assert unsuspend.actor == "ana"
    assert unsuspend.incident_id == outcome.incident_id
    assert "ana" in unsuspend.reason
    assert unsuspend.request["calls"] == [
        {"method": "POST", "path": "/api/v1/users/00uALICE/lifecycle/unsuspend"}
    ]
    suspend = next(a for a in outcome.actions if a.kind == "suspend")
    assert unsuspend.reverses_action_id == suspend.id

    assert release_identity(session, "00uALICE", actor="ana", now=LATER) == []


def test_release_undoes_the_quarantine_too(session, make_detection):
    _respond(session, make_detection(tier="medium"))
    _respond(session, make_detection(tier="high", risk=80, minutes=2))
    written = release_identity(session, "00uALICE", actor="ana")
    assert sorted(action.kind for action in written) == [
        "remove_quarantine",
        "unsuspend",
    ]
    quarantine = next(a for a in written if a.kind == "remove_quarantine")
    assert quarantine.request["calls"][0]["method"] == "DELETE"


def test_release_of_planned_actions_keeps_them_from_running(session, make_detection):
    _respond(session, make_detection(tier="high", risk=80), mode="enforce")
    written = release_identity(session, "00uALICE", actor="ana", mode="enforce")
    assert [(action.kind, action.status) for action in written] == [
        ("suspend", "skipped")
    ]
    assert "released by ana" in written[0].outcome


def test_release_never_undoes_in_okta_what_was_only_a_dry_run(session, make_detection):
    _respond(session, make_detection(tier="high", risk=80))
    written = release_identity(session, "00uALICE", actor="ana", mode="enforce")
    assert [(a.kind, a.mode, a.status) for a in written] == [
        ("unsuspend", "dry-run", "recorded")
    ]
    assert "only recorded in dry-run" in written[0].outcome


def test_release_of_an_action_done_in_okta(session, make_detection):
    outcome = _respond(session, make_detection(tier="high", risk=80), mode="enforce")
    suspend = session.get(
        Action, next(a.id for a in outcome.actions if a.kind == "suspend")
    )
    suspend.status = "done"  # as an executor would mark it
    session.flush()

    rehearsal = release_identity(session, "00uALICE", actor="ana", mode="dry-run")
    assert [(a.kind, a.mode, a.status) for a in rehearsal] == [
        ("unsuspend", "dry-run", "recorded")
    ]
    # The dry-run release changed nothing in Okta, so a real one must still undo it.
    real = release_identity(session, "00uALICE", actor="ana", mode="enforce")
    assert [(a.kind, a.mode, a.status) for a in real] == [
        ("unsuspend", "enforce", "planned")
    ]
    assert real[0].id == rehearsal[0].id
    assert release_identity(session, "00uALICE", actor="ana", mode="enforce") == []


def test_release_of_an_oauth_app_reactivates_it(
    session, make_detection, deployment_map
):
    _respond(
        session,
        make_detection("0oaCLIENT1", kind="ai_agent", tier="high", risk=85),
        deployment_map,
    )
    written = release_identity(session, "0oaCLIENT1", actor="ana")
    assert [action.kind for action in written] == ["activate_app"]
    assert written[0].request["calls"] == [
        {"method": "POST", "path": "/api/v1/apps/0oaCLIENT1/lifecycle/activate"}
    ]


def test_release_of_an_unknown_identity_does_nothing(session):
    assert release_identity(session, "00uNOBODY", actor="ana") == []
