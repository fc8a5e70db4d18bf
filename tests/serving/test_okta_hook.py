"""Okta's Event Hook: verification, durable acknowledgement, background scoring."""

from __future__ import annotations

import time

import orjson
from conftest import HOOK_SECRET, agent_event, as_json, stolen_event
from sqlalchemy import func, select

from events.store import EventStore
from response.flows import session_factory
from serving.records import HookDelivery

SECRET = {"Authorization": HOOK_SECRET}


def envelope(events, *, event_id: str = "delivery-1") -> bytes:
    return orjson.dumps(
        {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": "https://example.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
            "eventId": event_id,
            "eventTime": "2026-03-02T09:03:01.093Z",
            "contentType": "application/json",
            "data": {"events": events},
        }
    )


def deliver(served, body: bytes, headers=SECRET):
    return served.client.post(
        "/v1/okta/events",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def deliveries(served) -> list[HookDelivery]:
    with session_factory(served.settings)() as session:
        return list(session.scalars(select(HookDelivery).order_by(HookDelivery.id)))


def incidents(served) -> list[dict]:
    return served.client.get("/v1/incidents", headers=served.headers("read")).json()[
        "items"
    ]


def test_the_verification_challenge_is_echoed(module_served):
    response = module_served.client.get(
        "/v1/okta/events",
        headers={**SECRET, "X-Okta-Verification-Challenge": "abc-123"},
    )

    assert response.status_code == 200
    assert response.json() == {"verification": "abc-123"}


def test_verification_without_a_challenge_is_a_400(module_served):
    response = module_served.client.get("/v1/okta/events", headers=SECRET)

    assert response.status_code == 400
    assert "x-okta-verification-challenge" in response.json()["detail"]


def test_a_delivery_is_stored_acknowledged_then_scored_and_responded_to(served):
    events = [as_json(agent_event(1)), as_json(stolen_event(2))]

    response = deliver(served, envelope(events))

    assert response.status_code == 204 and response.content == b""
    assert len(deliveries(served)) == 1
    served.drain()
    [row] = deliveries(served)
    assert (row.status, row.events, row.quarantined, row.body) == ("done", 2, 0, None)
    [incident] = incidents(served)
    assert incident["identity_id"] == "00uSYNC" and incident["tier"] in {
        "high",
        "critical",
    }
    stored = list(EventStore.from_settings(served.settings).read())
    assert {event.uuid for event in stored} == {event["uuid"] for event in events}


def test_a_header_name_from_the_settings(serve):
    served = serve(okta_hook_header="X-Okta-Secret")

    assert (
        deliver(
            served, envelope([]), headers={"X-Okta-Secret": HOOK_SECRET}
        ).status_code
        == 204
    )
    assert deliver(served, envelope([]), headers=SECRET).status_code == 401


def test_bad_events_are_quarantined_and_never_refuse_the_delivery(served):
    events = [
        as_json(agent_event(1)),
        {"actorId": "x", "sourceIP": "1.2.3.4"},
        "not an event",
    ]

    first = deliver(served, envelope(events, event_id="mixed"))
    not_json = deliver(served, b"{this is not json")
    empty = deliver(served, b"")

    assert first.status_code == not_json.status_code == empty.status_code == 204
    served.drain()
    rows = deliveries(served)
    assert [row.status for row in rows] == ["done", "done", "done"]
    assert (rows[0].events, rows[0].quarantined) == (1, 2)
    assert rows[1].quarantined == 1
    quarantined = served.settings.quarantine_dir / f"okta-hook-{rows[0].id}.jsonl"
    lines = [orjson.loads(line) for line in quarantined.read_bytes().splitlines()]
    assert [line["reason"][:26] for line in lines] == [
        "Event Hook data.events[1]:",
        "Event Hook data.events[2]:",
    ]


def test_repeated_deliveries_and_events_are_scored_once(served):
    events = [as_json(agent_event(1)), as_json(stolen_event(2))]
    deliver(served, envelope(events, event_id="same"))
    served.drain()
    before = incidents(served)

    deliver(served, envelope(events, event_id="same"))  # Okta's retry
    deliver(served, envelope(events[::-1], event_id="other"))  # same events again
    served.drain()

    rows = deliveries(served)
    assert [(row.events, row.duplicates) for row in rows] == [(2, 0), (0, 0), (0, 2)]
    after = incidents(served)
    assert [item["detection_count"] for item in after] == [
        item["detection_count"] for item in before
    ]
    record = served.app.state.service.record_of("00uSYNC")
    assert len(record.points) == 2


def test_events_out_of_order_are_scored_by_published(served):
    events = [as_json(agent_event(minute)) for minute in (9, 3, 6, 1)]

    deliver(served, envelope(events))
    served.drain()

    points = served.app.state.service.record_of("00uSYNC").points
    times = [point.event_time for point in points]
    assert times == sorted(times) and len(times) == 4


def test_a_thousand_events_are_acknowledged_within_a_second(served):
    events = [as_json(agent_event(minute / 20)) for minute in range(1_000)]
    body = envelope(events, event_id="big")

    started = time.perf_counter()
    response = deliver(served, body)
    elapsed = time.perf_counter() - started

    assert response.status_code == 204
    assert elapsed < 1.0, f"acknowledged in {elapsed:.3f} s"
    served.drain(timeout=60)
    [row] = deliveries(served)
    assert row.events == 1_000


def test_the_queue_survives_a_restart_before_scoring(serve, make_settings):
    served = serve(model_check_seconds=0)
    # Stop the worker as a crash would, then deliver: the body must wait in the queue.
    served.app.state.worker.stop()
    assert deliver(served, envelope([as_json(stolen_event(2))])).status_code == 204
    with session_factory(served.settings)() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(HookDelivery)
            .where(HookDelivery.status == "pending")
        )
    assert waiting == 1

    restarted = serve(home=served.settings.home)
    restarted.drain()

    assert deliveries(restarted)[0].status == "done"
    assert incidents(restarted)[0]["identity_id"] == "00uSYNC"
