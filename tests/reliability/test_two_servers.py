"""Two `credwatch serve` processes on one PostgreSQL share incidents, actions and
identities, and neither duplicates what the other did."""

from __future__ import annotations

import copy
import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import free_port, postgres_schema
from rel_procs import Server, wait_until
from sqlalchemy import func, select, text

from credwatch.keys import create_key
from credwatch.score_log import ScoredEvent
from response.audit_chain import verify
from response.flows import dispose_databases
from response.records import Action, Incident
from serving.records import HookDelivery

_numbers = itertools.count(1)


def stolen(template: dict, n: int) -> dict:
    """The agent's token used from somewhere it never runs, with a desktop tool."""
    event = copy.deepcopy(template)
    event["uuid"] = f"stolen-{n}"
    event["client"]["ipAddress"] = "45.9.1.2"
    event["client"]["geographicalContext"]["country"] = "Netherlands"
    event["client"]["userAgent"]["rawUserAgent"] = "curl/8.4.0"
    event["securityContext"] = {"asNumber": 9009}
    return event


def delivery(events: list[dict], event_id: str) -> dict:
    return {
        "eventType": "com.okta.event_hook",
        "eventId": event_id,
        "data": {"events": events},
    }


@pytest.fixture
def servers(world, tmp_path):
    with postgres_schema() as (engine, url):
        mlflow = f"sqlite:///{world.home / 'mlflow.db'}"
        admin = world.settings(
            home=tmp_path / "admin", database_url=url, mlflow_uri=mlflow
        )
        key, _ = create_key(admin, "two-servers", scope="admin", rate_per_minute=10**6)
        dispose_databases()
        started = []
        try:
            for index in range(2):
                env = world.env(
                    CREDWATCH_HOME=str(tmp_path / f"home{index}"),
                    CREDWATCH_DATABASE_URL=url,
                    CREDWATCH_MLFLOW_URI=mlflow,
                    CREDWATCH_API_KEY_CACHE_SECONDS="0",
                )
                server = Server(
                    port=free_port(), env=env, log=tmp_path / f"serve{index}.log"
                )
                started.append(server.start())
            for server in started:
                server.wait_ready()
            yield started, key, engine, admin
        finally:
            for server in started:
                server.stop()
            for server in started:
                assert "Traceback" not in server.output(), server.output()[-4000:]


def test_two_servers_share_incidents_actions_and_identities(servers, world):
    (first, second), key, engine, admin = servers
    headers = {"X-API-Key": key}
    live = world.live(seed=5)
    agent = next(event for event in live if event["actor"]["id"] == "00uAGENT000")
    sent: set[str] = set()

    # The same stolen token reported to both servers at once: one incident, each
    # action once.
    attacks = [stolen(agent, n) for n in range(6)]
    sent.update(event["uuid"] for event in attacks)
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda pair: httpx.post(
                    f"{pair[0].url}/v1/score", json=pair[1], headers=headers, timeout=30
                ),
                [((first, second)[n % 2], event) for n, event in enumerate(attacks)],
            )
        )
    assert all(answer.status_code == 200 for answer in answers), [
        a.text for a in answers
    ]
    assert {answer.json()["tier"] for answer in answers} <= {"high", "critical"}
    incident_ids = {answer.json()["incident_id"] for answer in answers}
    assert len(incident_ids) == 1 and None not in incident_ids

    # An identity scored by one server is known to the other, with its history.
    person = [
        event
        for event in itertools.islice(world.live(seed=9), 400)
        if event["actor"]["id"] == "00uPERSON001"
    ][:5]
    sent.update(event["uuid"] for event in person)
    for event in person:
        last = httpx.post(
            f"{first.url}/v1/score", json=event, headers=headers, timeout=30
        )
        assert last.status_code == 200
    seen_by_second = {}

    def second_knows() -> bool:
        answer = httpx.get(
            f"{second.url}/v1/identities/00uPERSON001", headers=headers, timeout=30
        )
        seen_by_second.update(answer.json())
        return answer.status_code == 200 and len(answer.json()["recent"]) == len(person)

    wait_until(
        second_knows,
        10,
        f"the second server does not see the first's scores: {seen_by_second}",
    )
    assert seen_by_second["risk"] == last.json()["risk"]
    assert seen_by_second["identity_kind"] == "human"
    asked = httpx.post(
        f"{second.url}/v1/score",
        json={"identity_id": "00uPERSON001"},
        headers=headers,
        timeout=30,
    )
    assert asked.status_code == 200 and asked.json()["risk"] == last.json()["risk"]

    # Event Hook deliveries spread over both, and one sent again to the other.
    hook_headers = {"Authorization": world.env()["CREDWATCH_OKTA_HOOK_SECRET"]}
    people = (
        event
        for event in world.live(seed=21)
        if event["actor"]["id"].startswith("00uPERSON")
    )
    bodies = []
    for n in range(10):
        events = [next(people) for _ in range(3)]
        sent.update(event["uuid"] for event in events)
        bodies.append(delivery(events, f"delivery-{n}"))
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(
                lambda pair: (
                    httpx.post(
                        f"{pair[0].url}/v1/okta/events",
                        json=pair[1],
                        headers=hook_headers,
                        timeout=30,
                    ).status_code
                ),
                [((first, second)[n % 2], body) for n, body in enumerate(bodies)],
            )
        )
    assert statuses == [204] * 10

    def deliveries_done(expected: int) -> bool:
        with engine.connect() as connection:
            return (
                connection.scalar(
                    select(func.count())
                    .select_from(HookDelivery)
                    .where(HookDelivery.status == "done")
                )
                == expected
            )

    wait_until(lambda: deliveries_done(10), 30, "hook deliveries were not all scored")
    again = httpx.post(
        f"{second.url}/v1/okta/events", json=bodies[0], headers=hook_headers, timeout=30
    )
    assert again.status_code == 204
    wait_until(lambda: deliveries_done(11), 30, "the repeated delivery was not handled")

    with engine.connect() as connection:
        # Nothing twice: one open incident per identity, one action per kind.
        assert (
            connection.execute(
                select(Incident.identity_id)
                .where(Incident.status == "open")
                .group_by(Incident.identity_id)
                .having(func.count() > 1)
            ).all()
            == []
        )
        assert (
            connection.execute(
                select(Action.incident_id, Action.kind)
                .group_by(Action.incident_id, Action.kind)
                .having(func.count() > 1)
            ).all()
            == []
        )
        kinds = set(
            connection.scalars(
                select(Action.kind).where(Action.incident_id.in_(incident_ids))
            )
        )
        assert {"suspend", "open_ticket"} <= kinds
        # Every event sent was scored and logged exactly once, by one server or the other.
        logged = list(connection.scalars(select(ScoredEvent.event_uuid)))
        assert sorted(logged) == sorted(sent)
        scored_by_hook = connection.execute(
            select(func.sum(HookDelivery.events), func.count()).where(
                HookDelivery.delivery_id == "delivery-0"
            )
        ).one()
        # The repeat was skipped: delivery-0's events were scored once.
        assert tuple(scored_by_hook) == (3, 2)
        assert connection.scalar(text("SELECT count(*) FROM audit_chain")) > 1

    from sqlalchemy.orm import Session

    with Session(engine) as session:
        result = verify(session)
    assert result.ok, result.as_dict()
