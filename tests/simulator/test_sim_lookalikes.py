"""Each look-alike is benign by construction, checkable from the map or history."""

from __future__ import annotations

from simhelpers import SimRun, labels_of, when

from events.schemas import LogEvent
from simulator.places import distance_km


def _parsed(events: list[dict]) -> list[LogEvent]:
    return [LogEvent.model_validate(e) for e in events]


def test_vpn_signin_comes_from_the_known_vpn(small_run: SimRun) -> None:
    deployment = small_run.deployment
    for label in labels_of(small_run, "vpn_signin"):
        events = _parsed(small_run.window(label))
        assert any(e.eventType == "user.session.start" for e in events)
        assert all(
            deployment.known_network_of(e.ip, e.asn) == "corp-vpn" for e in events
        )
        history = _parsed(small_run.events_of(label["identity_id"], small_run.history))
        # New for this person: a real look-alike, not a habit.
        assert not any(
            deployment.known_network_of(e.ip, e.asn) == "corp-vpn" for e in history
        )


def test_plausible_travel_is_slower_than_a_plane(small_run: SimRun) -> None:
    for label in labels_of(small_run, "plausible_travel"):
        identity = label["identity_id"]
        starts = [
            e
            for e in _parsed(small_run.events_of(identity))
            if e.eventType == "user.session.start" and not e.failed
        ]
        start = when(label["start"])
        arrival = next(e for e in starts if e.published >= start)
        before = [e for e in starts if e.published < arrival.published]
        if before:
            previous = before[-1]
            km = distance_km(*previous.coordinates, *arrival.coordinates)
            hours = (arrival.published - previous.published).total_seconds() / 3600
            assert km < 100 or km / hours < 805, (km, hours)
        cities = {
            e.city for e in _parsed(small_run.events_of(identity, small_run.history))
        }
        assert arrival.city not in cities
        assert arrival.behaviors["Velocity"] == "NEGATIVE"


def test_second_region_is_declared(small_run: SimRun) -> None:
    for label in labels_of(small_run, "agent_second_declared_region"):
        agent = small_run.agent(label["identity_id"])
        events = _parsed(small_run.window(label))
        assert events and all(agent.in_networks(e.ip, e.asn) for e in events)
        history = _parsed(small_run.events_of(label["identity_id"], small_run.history))
        assert not {e.ip for e in events} & {e.ip for e in history}
        assert not {e.city for e in events} & {e.city for e in history}


def test_user_agent_upgrade_is_the_same_client(small_run: SimRun) -> None:
    for label in labels_of(small_run, "agent_user_agent_upgrade"):
        agent = small_run.agent(label["identity_id"])
        history = _parsed(small_run.events_of(label["identity_id"], small_run.history))
        old = {e.user_agent for e in history}
        assert len(old) == 1
        events = _parsed(small_run.window(label))
        # A run begun before the upgrade may finish with the old client.
        new = {e.user_agent for e in events} - old
        assert len(new) == 1 and events[0].user_agent in new
        (before,), (after,) = old, new
        assert before.split("/")[0] == after.split("/")[0]
        assert all(agent.in_networks(e.ip, e.asn) for e in events)


def test_shared_access_is_declared_and_concurrent(small_run: SimRun) -> None:
    expected = set(small_run.deployment.shared_access_expected.actor_ids)
    for label in labels_of(small_run, "shared_access_person"):
        assert label["identity_id"] in expected
        spans: dict[str, tuple] = {}
        for e in _parsed(small_run.window(label)):
            first, last, ips = spans.get(
                e.session_id, (e.published, e.published, set())
            )
            spans[e.session_id] = (
                min(first, e.published),
                max(last, e.published),
                ips | {e.ip},
            )
        # Two sessions from different networks open at the same time.
        assert any(
            a[0] < b[1] and b[0] < a[1] and not a[2] & b[2]
            for i, a in enumerate(spans.values())
            for b in list(spans.values())[i + 1 :]
        )


def test_new_user_has_no_history(small_run: SimRun) -> None:
    for label in labels_of(small_run, "new_user"):
        identity = label["identity_id"]
        assert not small_run.events_of(identity, small_run.history)
        events = _parsed(small_run.events_of(identity))
        assert events[0].published >= when(label["start"])
        first_sign_in = next(e for e in events if e.eventType == "user.session.start")
        assert first_sign_in.behaviors["New Device"] == "POSITIVE"
        created = [
            e
            for e in small_run.events
            if e["eventType"] == "user.lifecycle.create"
            and any(t["id"] == identity for t in e["target"] or [])
        ]
        assert created and when(created[0]["published"]) < events[0].published
