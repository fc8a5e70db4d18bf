"""The executor carrying out the outbox against the loopback Okta, Jira and webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from standins.http import LoopbackServer, Response
from standins.jira import JiraStandIn
from standins.okta import Fault, OktaStandIn

from integrations.jira_tickets import JiraTicketDesk, LocalDesk
from integrations.okta import OktaClient, RetryPolicy
from integrations.okta_auth import SswsAuth
from integrations.webhook import LocalNotifier, WebhookNotifier
from response.executor import Executor, ExecutorLimits
from response.held import approve, drop, waiting_actions
from response.outbox import ActionAttempt, OutboxEntry
from response.policy import ResponsePolicy
from response.queries import release_identity
from response.records import Action, Incident
from response.service import respond

FAST = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.02, rate_limit_max_wait=0.5)
POLICY = ResponsePolicy(quarantine_group_id="00gQUARANTINE")


@pytest.fixture
def okta():
    standin = OktaStandIn().start()
    for user in ("00uALICE", "00uBOB", "00uAGENT1", "00uBREAKGLASS"):
        standin.add_user(user)
    standin.groups["00gQUARANTINE"] = set()
    standin.api_tokens.add("00TTOKEN1")
    yield standin
    standin.stop()


@pytest.fixture
def jira():
    standin = JiraStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def webhook():
    received: list[dict] = []

    def handle(request):
        received.append(json.loads(request.body))
        return Response(200, b"ok")

    server = LoopbackServer(handle).start()
    server.received = received
    yield server
    server.stop()


@pytest.fixture
def make_executor(session_factory, okta, jira, webhook):
    clients = []
    executors = []

    def build(*, breaker=20, with_okta=True, with_jira=True, with_webhook=True):
        okta_client = None
        if with_okta:
            okta_client = OktaClient(
                org_url=okta.url, auth=SswsAuth(token=SecretStr(okta.token)), timeout=1.0, retry=FAST
            )
            clients.append(okta_client)
        desk = (
            JiraTicketDesk(
                url=jira.url, user=jira.user, token=SecretStr(jira.token), project="SEC",
                issue_type="Task", timeout=2.0, max_retries=0,
            )
            if with_jira else LocalDesk()
        )
        notifier = WebhookNotifier(url=SecretStr(webhook.url + "/hook")) if with_webhook else LocalNotifier()
        executor = Executor(
            sessions=session_factory, okta=okta_client, desk=desk, notifier=notifier,
            limits=ExecutorLimits(breaker_max_per_hour=breaker, retry_base_s=0, defer_s=0, max_attempts=3),
            default_assignee="5bDEFAULT",
        )
        executors.append(executor)
        return executor

    yield build
    for executor in executors:
        executor.close()


def _respond(session_factory, detection, deployment_map=None, *, mode="enforce"):
    with session_factory() as session:
        outcome = respond(
            detection=detection, session=session, policy=POLICY, deployment_map=deployment_map,
            mode=mode, now=datetime.now(UTC),
        )
        session.commit()
        return outcome


def _actions(session_factory, incident_id):
    with session_factory() as session:
        return {a.kind: (a.status, a.outcome) for a in session.get(Incident, incident_id).actions}


def test_enforce_carries_out_actions_and_opens_one_ticket(session_factory, make_detection, make_executor, okta, jira):
    outcome = _respond(session_factory, make_detection(tier="high", risk=80))
    report = make_executor().drain()
    assert report["done"] == 4

    assert okta.users["00uALICE"]["status"] == "SUSPENDED"
    sessions = okta.calls("DELETE", "/api/v1/users/00uALICE/sessions")
    assert sessions and all(seen.query["oauthTokens"] == ["true"] for seen in sessions)
    assert okta.calls("DELETE", "/api/v1/users/00uALICE/grants")

    statuses = _actions(session_factory, outcome.incident_id)
    assert {kind: status for kind, (status, _) in statuses.items()} == {
        "revoke_tokens": "done", "clear_sessions": "done", "suspend": "done", "open_ticket": "done",
    }
    [issue] = jira.issues.values()
    assert issue.fields["priority"] == {"name": "High"}
    assert issue.fields["assignee"] == {"accountId": "5bDEFAULT"}
    description = issue.fields["description"]
    for heading in ("Identity", "Detections and reasons", "Okta events", "Timeline", "Actions", "Recommended remediation"):
        assert heading in description
    assert "suspend: done" in description
    with session_factory() as session:
        incident = session.get(Incident, outcome.incident_id)
        assert incident.ticket_url == f"{jira.url}/browse/{issue.key}"
        attempts = session.query(ActionAttempt).all()
        assert len(attempts) == 4
        for attempt in attempts:
            assert attempt.started_at <= attempt.finished_at and attempt.ok
            assert attempt.actor == "credwatch" and attempt.reason and attempt.request
        suspend = next(a for a in attempts if a.kind == "suspend")
        assert suspend.responses[0]["okta_request_id"]

    # Draining again does nothing: every action ran exactly once.
    assert make_executor().drain() == {}
    assert len(okta.calls("POST", "/api/v1/users/00uALICE/lifecycle/suspend")) == 1


def test_dry_run_sends_nothing(session_factory, make_detection, make_executor, okta, jira):
    _respond(session_factory, make_detection(tier="critical", risk=95), mode="dry-run")
    assert make_executor().drain() == {}
    assert okta.calls() == [] and jira.issues == {}


def test_without_okta_actions_are_recorded_only(session_factory, make_detection, make_executor, okta):
    outcome = _respond(session_factory, make_detection(tier="high", risk=80))
    make_executor(with_okta=False, with_jira=False).drain()
    statuses = _actions(session_factory, outcome.incident_id)
    assert statuses["suspend"][0] == "recorded" and "no Okta org" in statuses["suspend"][1]
    assert statuses["open_ticket"][0] == "done" and "local database" in statuses["open_ticket"][1]
    assert okta.calls() == []


def test_okta_down_is_retried_from_the_outbox_after_a_restart(session_factory, make_detection, make_executor, okta):
    outcome = _respond(session_factory, make_detection(tier="medium", risk=60))
    okta.inject(Fault(status=503, times=2, path_prefix="/api/v1/users"))
    first = make_executor(with_jira=False).run(1)
    assert first == "retrying"
    status, text = _actions(session_factory, outcome.incident_id)["clear_sessions"]
    assert status == "failed" and "E0000009" in text and "next try" in text

    # A new executor (a restarted process) finds the entry and finishes it.
    make_executor(with_jira=False).drain()
    statuses = _actions(session_factory, outcome.incident_id)
    assert statuses["clear_sessions"][0] == "done"
    assert statuses["require_mfa"][0] == "done"
    assert okta.groups["00gQUARANTINE"] == {"00uALICE"}
    with session_factory() as session:
        tries = [a.ok for a in session.query(ActionAttempt).filter_by(kind="clear_sessions")]
        assert tries == [False, True]


def test_a_refusal_is_not_retried_and_waits_for_a_person(session_factory, make_detection, make_executor):
    outcome = _respond(session_factory, make_detection("00uGHOST", tier="medium", risk=60))
    make_executor(with_jira=False).drain()
    status, text = _actions(session_factory, outcome.incident_id)["clear_sessions"]
    assert status == "failed" and "refused" in text and "E0000007" in text
    with session_factory() as session:
        assert [a.kind for a in waiting_actions(session)] == ["clear_sessions", "require_mfa"]


def test_circuit_breaker_holds_past_the_limit_with_a_critical_ticket(
    session_factory, make_detection, make_executor, okta, jira
):
    first = _respond(session_factory, make_detection("00uALICE", tier="high", risk=80))
    second = _respond(session_factory, make_detection("00uBOB", tier="high", risk=80))
    make_executor(breaker=3).drain()

    alice = _actions(session_factory, first.incident_id)
    bob = _actions(session_factory, second.incident_id)
    assert [alice[k][0] for k in ("revoke_tokens", "clear_sessions", "suspend")] == ["done"] * 3
    assert [bob[k][0] for k in ("revoke_tokens", "clear_sessions", "suspend")] == ["held"] * 3
    assert "circuit breaker" in bob["suspend"][1]
    assert okta.users["00uBOB"]["status"] == "ACTIVE"
    bob_ticket = next(i for i in jira.issues.values() if "00uBOB" in i.fields["summary"] or "00uBOB" in i.fields["description"])
    assert bob_ticket.fields["priority"] == {"name": "Highest"}
    assert "Held by the circuit breaker" in bob_ticket.fields["description"]

    with session_factory() as session:
        held = [a for a in waiting_actions(session) if a.identity_id == "00uBOB"]
        suspend = next(a for a in held if a.kind == "suspend")
        others = [a for a in held if a.kind != "suspend"]
        approve(session, suspend.id, actor="ana")
        for action in others:
            drop(session, action.id, actor="ana")
        session.commit()
    make_executor(breaker=3).drain()
    bob = _actions(session_factory, second.incident_id)
    assert bob["suspend"][0] == "done" and okta.users["00uBOB"]["status"] == "SUSPENDED"
    assert bob["clear_sessions"][0] == "skipped" and "dropped by ana" in bob["clear_sessions"][1]
    with session_factory() as session:
        approved = session.query(ActionAttempt).filter_by(action_id=suspend.id).one()
        assert approved.actor == "ana" and approved.automated is False


def test_critical_incident_notifies_the_owner_with_the_ticket_link(
    session_factory, make_detection, make_executor, deployment_map, webhook, jira
):
    outcome = _respond(
        session_factory, make_detection("00uAGENT1", kind="ai_agent", tier="critical", risk=95), deployment_map
    )
    make_executor().drain()
    [issue] = jira.issues.values()
    assert issue.fields["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}
    assert issue.fields["priority"] == {"name": "Highest"}
    [notice] = webhook.received
    assert f"/browse/{issue.key}" in notice["text"]
    assert _actions(session_factory, outcome.incident_id)["notify_owner"][0] == "done"


def test_later_evidence_becomes_a_comment_not_a_new_ticket(session_factory, make_detection, make_executor, jira):
    _respond(session_factory, make_detection(tier="medium", risk=60))
    make_executor().drain()
    _respond(
        session_factory,
        make_detection(tier="medium", risk=62, rules=("session_hijack",), reasons=("session moved to a new device",), minutes=5),
    )
    make_executor().drain()
    [issue] = jira.issues.values()
    assert len(issue.comments) == 1
    assert "session moved to a new device" in issue.comments[0]["body"]


def test_protected_identity_is_never_suspended(session_factory, make_detection, make_executor, deployment_map, okta, jira):
    _respond(session_factory, make_detection("00uBREAKGLASS", tier="critical", risk=97), deployment_map)
    make_executor().drain()
    assert okta.users["00uBREAKGLASS"]["status"] == "ACTIVE"
    assert okta.calls("POST") == [] and okta.calls("DELETE") == []
    [issue] = jira.issues.values()
    assert issue.fields["priority"] == {"name": "Highest"}


def test_jira_rejecting_a_field_still_opens_the_ticket(session_factory, make_detection, make_executor, jira):
    jira.refused_fields = {"assignee": "User '5bDEFAULT' cannot be assigned issues."}
    outcome = _respond(session_factory, make_detection(tier="medium", risk=60))
    make_executor().drain()
    status, text = _actions(session_factory, outcome.incident_id)["open_ticket"]
    assert status == "done" and "refused assignee" in text
    [issue] = jira.issues.values()
    assert "assignee" not in issue.fields and "cannot be assigned" in issue.comments[0]["body"]


def test_release_reverses_through_okta(session_factory, make_detection, make_executor, okta):
    _respond(session_factory, make_detection(tier="high", risk=80))
    make_executor(with_jira=False).drain()
    assert okta.users["00uALICE"]["status"] == "SUSPENDED"
    with session_factory() as session:
        written = release_identity(session, "00uALICE", actor="ana", mode="enforce")
        session.commit()
        assert [(row.kind, row.status) for row in written] == [("unsuspend", "planned")]
    make_executor(with_jira=False).drain()
    assert okta.users["00uALICE"]["status"] == "ACTIVE"
    with session_factory() as session:
        unsuspend = session.query(Action).filter_by(kind="unsuspend").one()
        assert unsuspend.status == "done" and unsuspend.actor == "ana"


def test_a_suspend_retried_after_it_already_took_effect_is_done(session_factory, make_detection, make_executor, okta):
    outcome = _respond(session_factory, make_detection(tier="high", risk=80))
    okta.users["00uALICE"]["status"] = "SUSPENDED"  # the first try did it, its answer was lost
    make_executor(with_jira=False).drain()
    assert _actions(session_factory, outcome.incident_id)["suspend"][0] == "done"
    with session_factory() as session:
        entries = session.query(OutboxEntry).all()
        assert {entry.state for entry in entries} == {"done"}
