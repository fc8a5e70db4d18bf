"""SIGKILL at random points while events flow: nothing lost, nothing done twice.

`watch` polls the loopback Okta as events keep arriving and is killed several
times; `serve` is killed while Okta Event Hook deliveries keep coming (and are
sent again when refused, as Okta does). After the last restart every event has
exactly one score in the score log, each action reached Okta at most once and
none was left undone, the System Log cursor stands after the last event, and the
audit chain is intact.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from conftest import free_port
from hostile_tally import count
from rel_procs import Process, Server, wait_until
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from standins.okta import OktaStandIn

from credwatch.db import make_engine
from credwatch.score_log import ScoredEvent
from events.poller import WatchCursor
from response.audit_chain import verify
from response.outbox import OutboxEntry
from response.records import Action, Incident
from serving.records import HookDelivery

SINCE = "2026-03-01T00:00:00Z"
KILLS = 4


def stolen(template: dict, n: int) -> dict:
    event = copy.deepcopy(template)
    event["uuid"] = f"stolen-{template['actor']['id']}-{n}"
    event["client"]["ipAddress"] = "45.9.1.2"
    event["client"]["geographicalContext"]["country"] = "Netherlands"
    event["client"]["userAgent"]["rawUserAgent"] = "curl/8.4.0"
    event["securityContext"] = {"asNumber": 9009}
    return event


def traffic(world, *, count: int, seed: int) -> list[dict]:
    """Ordinary events with two agents' stolen tokens used in the middle."""
    events = list(itertools.islice(world.live(seed=seed), count))
    for agent, at in (("00uAGENT000", count // 3), ("00uAGENT001", 2 * count // 3)):
        template = next(event for event in events if event["actor"]["id"] == agent)
        attack = stolen(template, 0)
        attack["published"] = events[at]["published"]
        events.insert(at + 1, attack)
    return events


def database(home):
    return make_engine(f"sqlite:///{home / 'credwatch.db'}")


def logged_uuids(engine) -> list[str]:
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(ScoredEvent.event_uuid)))
    except OperationalError:
        # Before the first start has made the schema.
        return []


def working(engine) -> bool:
    try:
        with engine.connect() as connection:
            return bool(
                connection.scalar(
                    select(func.count())
                    .select_from(HookDelivery)
                    .where(HookDelivery.status == "working")
                )
            )
    except OperationalError:
        return False


def outbox_settled(engine) -> bool:
    with engine.connect() as connection:
        return not connection.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.state == "pending")
        )


def kill_and_restart(process: Process, rng: random.Random, *, at_work) -> list[float]:
    """Run `process`, killing it KILLS times at random moments once it is at work.

    `at_work()` waits until the process does something (scores, answers), so the
    kill lands in the middle of its work rather than while it starts up.
    """
    moments = []
    for _ in range(KILLS):
        process.start()
        # True: kill right away (it was caught in the middle of something).
        moment = 0.0 if at_work() else rng.uniform(0.0, 1.0)
        time.sleep(moment)
        process.kill()
        moments.append(round(moment, 2))
    process.start()
    return moments


@pytest.fixture
def okta():
    standin = OktaStandIn().start()
    yield standin
    standin.stop()


def test_watch_killed_at_random_misses_and_repeats_nothing(world, tmp_path, okta):
    rng = random.Random(8)
    for actor in world.population:
        okta.add_user(actor.id)
    statuses: list[tuple[str, str, int]] = []
    route = okta._route

    def recording(request):
        response = route(request)
        statuses.append((request.method, request.path, response.status))
        return response

    okta._route = recording
    events = traffic(world, count=240, seed=17)

    # Events keep arriving while watch runs and dies.
    def feed() -> None:
        for start in range(0, len(events), 10):
            okta.add_log_events(events[start : start + 10])
            time.sleep(0.5)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    home = tmp_path / "watch-home"
    env = world.env(
        CREDWATCH_HOME=str(home),
        CREDWATCH_MLFLOW_URI=f"sqlite:///{world.home / 'mlflow.db'}",
        CREDWATCH_OKTA_ORG_URL=okta.url,
        CREDWATCH_OKTA_TOKEN=okta.token,
        CREDWATCH_RESPONSE_MODE="enforce",
        CREDWATCH_WATCH_POLL_INTERVAL_S="0.2",
        CREDWATCH_WATCH_PAGE_LIMIT="25",
        CREDWATCH_OUTBOX_LEASE_S="2",
        CREDWATCH_OUTBOX_RETRY_BASE_S="0.2",
    )
    watch = Process(["watch", "--since", SINCE], env=env, log=tmp_path / "watch.log")
    engine = database(home)

    def scoring() -> bool:
        before = len(logged_uuids(engine))

        def at_work() -> bool:
            scored = len(logged_uuids(engine))
            # Once the feed is over and scored, a restarted watch has nothing to
            # do; it is killed idle then, which must lose nothing either.
            caught_up = not feeder.is_alive() and scored >= len(events)
            return scored > before or caught_up or not watch.running

        wait_until(at_work, 15, "watch did not start scoring", pause=0.02)
        return False

    try:
        for moment in kill_and_restart(watch, rng, at_work=scoring):
            count("crash: watch SIGKILLed", f"{moment:.2f} s after scoring began")
        feeder.join(timeout=30)
        wait_until(
            lambda: len(logged_uuids(engine)) >= len(events) and outbox_settled(engine),
            60,
            f"watch did not finish: {len(logged_uuids(engine))} of {len(events)} scored",
        )
    finally:
        watch.stop()

    # Every event scored, once.
    logged = logged_uuids(engine)
    assert sorted(logged) == sorted(event["uuid"] for event in events)
    with Session(engine) as session:
        # The stolen tokens: one incident each, every action carried out.
        incidents = session.scalars(
            select(Incident).where(
                Incident.identity_id.in_(["00uAGENT000", "00uAGENT001"])
            )
        ).all()
        assert sorted(incident.identity_id for incident in incidents) == [
            "00uAGENT000",
            "00uAGENT001",
        ]
        actions = session.scalars(
            select(Action).where(Action.incident_id.in_([i.id for i in incidents]))
        ).all()
        assert actions and all(
            action.status in ("done", "skipped") for action in actions
        ), [(a.kind, a.status, a.outcome) for a in actions]
        # The cursor stands after the last event: nothing was skipped.
        cursor = session.get(WatchCursor, "okta-system-log")
        after = parse_qs(urlparse(cursor.page_url).query)["after"][0]
        assert after.endswith(f"_{len(events)}")
        assert verify(session).ok
    # Each change reached Okta at most once.
    done = [
        (method, path)
        for method, path, status in statuses
        if "/lifecycle/" in path and 200 <= status < 300
    ]
    assert done and len(done) == len(set(done)), done
    assert {
        okta.users[agent]["status"] for agent in ("00uAGENT000", "00uAGENT001")
    } == {"SUSPENDED"}
    assert "Traceback" not in watch.output().replace("KeyboardInterrupt", "")


def test_serve_killed_at_random_loses_no_delivery(world, tmp_path):
    rng = random.Random(13)
    port = free_port()
    home = tmp_path / "serve-home"
    env = world.env(
        CREDWATCH_HOME=str(home),
        CREDWATCH_MLFLOW_URI=f"sqlite:///{world.home / 'mlflow.db'}",
        CREDWATCH_HOOK_CLAIM_TIMEOUT_S="2",
    )
    server = Server(port=port, env=env, log=tmp_path / "serve.log")
    secret = {"Authorization": env["CREDWATCH_OKTA_HOOK_SECRET"]}
    events = traffic(world, count=200, seed=23)
    bodies = [
        {
            "eventType": "com.okta.event_hook",
            "eventId": f"delivery-{n}",
            "data": {"events": events[start : start + 5]},
        }
        for n, start in enumerate(range(0, len(events), 5))
    ]
    acknowledged: list[str] = []
    stop = threading.Event()

    def okta_sends() -> None:
        # Okta retries a delivery that got no answer; so does this sender.
        with httpx.Client(timeout=5) as client:
            for body in bodies:
                while not stop.is_set():
                    try:
                        answer = client.post(
                            f"{server.url}/v1/okta/events", json=body, headers=secret
                        )
                    except httpx.HTTPError:
                        time.sleep(0.1)
                        continue
                    if answer.status_code == 204:
                        acknowledged.append(body["eventId"])
                        break
                    time.sleep(0.1)
                time.sleep(rng.uniform(0.05, 0.3))

    sender = threading.Thread(target=okta_sends, daemon=True)
    engine = database(home)
    try:
        sender.start()

        def scoring_a_delivery() -> bool:
            server.wait_ready()
            if rng.random() < 0.5:
                return False
            # Half the kills land while a delivery is being scored.
            try:
                wait_until(
                    lambda: working(engine),
                    5,
                    "no delivery was being scored",
                    pause=0.005,
                )
            except AssertionError:
                return False
            return True

        for moment in kill_and_restart(server, rng, at_work=scoring_a_delivery):
            what = (
                "while scoring a delivery"
                if moment == 0
                else f"{moment:.2f} s after it was ready"
            )
            count("crash: serve SIGKILLed", what)
        sender.join(timeout=90)
        assert len(acknowledged) == len(bodies)

        def all_done() -> bool:
            with engine.connect() as connection:
                left = connection.scalar(
                    select(func.count())
                    .select_from(HookDelivery)
                    .where(HookDelivery.status.in_(("pending", "working")))
                )
            return left == 0

        wait_until(all_done, 60, "deliveries were left unscored")
    finally:
        stop.set()
        server.stop()

    with Session(engine) as session:
        deliveries = session.scalars(select(HookDelivery)).all()
        assert [d.id for d in deliveries if d.status != "done"] == []
        taken_over = sum(1 for d in deliveries if d.attempts > 1)
        count(
            "crash: serve SIGKILLed",
            f"{taken_over} deliveries taken over from a killed process",
        )
        count(
            "crash: serve SIGKILLed",
            f"{len(deliveries) - len(bodies)} deliveries sent again by Okta",
        )
        # A delivery acknowledged twice (sent again after a kill) was scored once.
        scored = {}
        for item in deliveries:
            scored[item.delivery_id] = scored.get(item.delivery_id, 0) + item.events
        assert all(
            scored.get(body["eventId"], 0) <= len(body["data"]["events"])
            for body in bodies
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.status == "open")
                .group_by(Incident.identity_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            == 1
        )
        assert (
            session.execute(
                select(Action.incident_id, Action.kind)
                .group_by(Action.incident_id, Action.kind)
                .having(func.count() > 1)
            ).all()
            == []
        )
        assert verify(session).ok
    assert sorted(logged_uuids(engine)) == sorted(event["uuid"] for event in events)
    assert "Traceback" not in server.output()
