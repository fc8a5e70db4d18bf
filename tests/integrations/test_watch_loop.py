"""`credwatch watch`: polling the loopback Okta with a saved cursor, and replaying files."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from builders import START, build_event
from pydantic import SecretStr

from credwatch.db import create_schema, make_engine, make_session_factory
from credwatch.settings import Settings
from credwatch.watch import Watcher
from events.poller import WatchCursor
from features.identity import IdentityResolver
from integrations.jira_tickets import LocalDesk
from integrations.okta import OktaClient, RetryPolicy
from integrations.okta_auth import SswsAuth
from integrations.webhook import LocalNotifier
from response.executor import Executor, ExecutorLimits
from response.outbox import ActionAttempt
from response.policy import ResponsePolicy
from response.records import Action, Incident
from training.fit import fit_detector

FAST = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.02)


def _history():
    events = []
    for day in range(-3, 0):
        for hour in range(9, 17):
            for person in range(3):
                events.append(build_event(
                    at=timedelta(days=day, hours=hour - 9, minutes=person * 7),
                    actor_id=f"00uP{person}", session=f"102P{person}{day}",
                ))
    return events


@pytest.fixture(scope="module")
def detector():
    detector, _frame, _report = fit_detector(_history(), resolver=IdentityResolver(None), n_estimators=20)
    return detector


def _live_events():
    quiet = [build_event(at=timedelta(minutes=m), actor_id="00uP1", session="102P1x") for m in range(3)]
    threat = build_event(
        at=timedelta(minutes=5), actor_id="00uP0", session="102P0x", event_type="security.threat.detected",
        ip="185.220.101.4", debug={"threatSuspected": "true"},
    )
    return [event.model_dump(mode="json", exclude_none=True) for event in quiet], threat.model_dump(mode="json", exclude_none=True)


@pytest.fixture
def world(tmp_path, okta):
    engine = make_engine(f"sqlite:///{tmp_path / 'watch.db'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    settings = Settings(home=tmp_path, response_mode="enforce", watch_poll_interval_s=0, _env_file=None)
    okta.add_user("00uP0")
    okta.add_user("00uP1")
    client = OktaClient(org_url=okta.url, auth=SswsAuth(token=SecretStr(okta.token)), timeout=1.0, retry=FAST)
    yield settings, sessions, client
    client.close()
    engine.dispose()


def _watcher(settings, sessions, client, detector):
    executor = Executor(
        sessions=sessions, okta=client, desk=LocalDesk(), notifier=LocalNotifier(),
        limits=ExecutorLimits(retry_base_s=0, defer_s=0),
    )
    return Watcher(
        settings=settings, detector=detector, deployment=None, policy=ResponsePolicy(),
        sessions=sessions, executor=executor,
    )


def test_poll_acts_and_resumes_without_missing_or_repeating(world, detector, okta):
    settings, sessions, client = world
    quiet, threat = _live_events()
    okta.add_log_events([*quiet, threat])

    first = _watcher(settings, sessions, client, detector)
    report = first.poll(source=client, since=START - timedelta(hours=1), max_polls=2)
    assert report.events == 4 and report.detections >= 1
    assert okta.users["00uP0"]["status"] == "SUSPENDED"
    polls = [seen for seen in okta.calls("GET", "/api/v1/logs")]
    assert "since" in polls[0].query and "after" in polls[1].query
    assert polls[0].query["sortOrder"] == ["ASCENDING"]

    # A restart: the saved cursor, not --since, decides where polling goes on.
    okta.add_log_events([build_event(at=timedelta(minutes=9), actor_id="00uP1", session="102P1x").model_dump(mode="json", exclude_none=True)])
    second = _watcher(settings, sessions, client, detector)
    report = second.poll(source=client, since=START + timedelta(days=30), max_polls=2)
    assert report.events == 1
    with sessions() as session:
        assert session.query(Incident).count() == 1
        suspends = session.query(ActionAttempt).filter_by(kind="suspend").count()
        assert suspends == 1
        cursor = session.get(WatchCursor, "okta-system-log")
        assert "after=" in cursor.page_url
    assert len(okta.calls("POST", "/api/v1/users/00uP0/lifecycle/suspend")) == 1


def test_a_crash_mid_page_resumes_on_the_same_page(world, detector, okta):
    settings, sessions, client = world
    quiet, threat = _live_events()
    okta.add_log_events([*quiet, threat])
    watcher = _watcher(settings, sessions, client, detector)

    crashed = {"n": 0}

    def crash_on_threat(event):
        if event.eventType == "security.threat.detected" and crashed["n"] == 0:
            crashed["n"] += 1
            raise RuntimeError("power cut")

    watcher._on_event = crash_on_threat
    with pytest.raises(RuntimeError):
        watcher.poll(source=client, since=START - timedelta(hours=1), max_polls=1)

    again = _watcher(settings, sessions, client, detector)
    report = again.poll(source=client, since=None, max_polls=2)
    # The quiet events led to no response and were not marked yet, so they are
    # scored again; the threat's response happens exactly once.
    assert report.events == 4
    assert okta.users["00uP0"]["status"] == "SUSPENDED"
    with sessions() as session:
        assert session.query(Action).filter_by(kind="suspend").count() == 1


def test_replay_scores_and_responds_like_polling(world, detector, okta, tmp_path):
    settings, sessions, client = world
    quiet, threat = _live_events()
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in [*quiet, threat]) + "\n")
    report = _watcher(settings, sessions, client, detector).replay([path], speed=0)
    assert report.events == 4 and len(report.incidents) == 1
    assert okta.users["00uP0"]["status"] == "SUSPENDED"
    assert okta.calls("GET", "/api/v1/logs") == []
