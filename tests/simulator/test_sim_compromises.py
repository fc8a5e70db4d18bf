"""Each injected compromise shows, in its labelled period, what its label claims."""

from __future__ import annotations

import re
from datetime import timedelta

from simhelpers import SimRun, labels_of, when

from events.schemas import LogEvent
from simulator.places import distance_km

BROWSERS_AND_TOOLS = re.compile(r"Mozilla/|curl/|PostmanRuntime/|insomnia/")


def _parsed(events: list[dict]) -> list[LogEvent]:
    return [LogEvent.model_validate(e) for e in events]


def test_token_shared_across_networks(small_run: SimRun) -> None:
    for label in labels_of(small_run, "token_shared_across_networks"):
        agent = small_run.agent(label["identity_id"])
        assert agent is not None
        events = _parsed(small_run.window(label))
        assert len({e.asn for e in events}) >= 2
        own = [e for e in events if agent.in_networks(e.ip, e.asn)]
        other = [e for e in events if not agent.in_networks(e.ip, e.asn)]
        assert own and other
        # Used from both places within minutes of each other.
        gap = min(abs(a.published - b.published) for a in own for b in other)
        assert gap <= timedelta(minutes=10)


def test_session_hijack(small_run: SimRun) -> None:
    for label in labels_of(small_run, "session_hijack"):
        events = _parsed(small_run.window(label))
        sessions = {e.session_id for e in events}
        assert len(sessions) >= 1
        hijacked = False
        for session_id in sessions:
            used = [
                e
                for e in _parsed(small_run.events_of(label["identity_id"]))
                if e.session_id == session_id
            ]
            ips = {e.ip for e in used}
            clients = {(e.user_agent, e.debug_data.get("dtHash")) for e in used}
            started = [
                e for e in used if e.eventType == "user.session.start" and not e.failed
            ]
            if len(ips) >= 2 and len(clients) >= 2 and started:
                # The session was started in one place and carried to another,
                # where nobody signed in.
                carried = {e.ip for e in events if e.session_id == session_id}
                hijacked = bool(carried - {e.ip for e in started})
        assert hijacked


def _successful_starts(run: SimRun, identity: str) -> list[LogEvent]:
    return [
        e
        for e in _parsed(run.events_of(identity))
        if e.eventType == "user.session.start" and not e.failed
    ]


def test_impossible_travel(small_run: SimRun) -> None:
    for label in labels_of(small_run, "impossible_travel"):
        starts = _successful_starts(small_run, label["identity_id"])
        start, end = when(label["start"]), when(label["end"])
        inside = [e for e in starts if start <= e.published <= end]
        assert inside
        far = inside[0]
        before = [e for e in starts if e.published < far.published]
        assert before
        previous = before[-1]
        km = distance_km(*previous.coordinates, *far.coordinates)
        hours = (far.published - previous.published).total_seconds() / 3600
        assert km / hours > 900, (km, hours)
        assert far.behaviors["Velocity"] == "POSITIVE"


def test_agent_outside_declared_network(small_run: SimRun) -> None:
    for label in labels_of(small_run, "agent_outside_declared_network"):
        agent = small_run.agent(label["identity_id"])
        events = _parsed(small_run.window(label))
        assert len(events) >= 3
        # Only from elsewhere: the rightful deployment is idle meanwhile.
        assert not any(agent.in_networks(e.ip, e.asn) for e in events)


def test_agent_off_schedule(small_run: SimRun) -> None:
    for label in labels_of(small_run, "agent_off_schedule"):
        agent = small_run.agent(label["identity_id"])
        assert agent.schedule is not None
        events = _parsed(small_run.window(label))
        assert len(events) >= 3
        assert not any(agent.schedule.allows(e.published) for e in events)
        assert all(agent.in_networks(e.ip, e.asn) for e in events)


def test_human_using_agent_token(small_run: SimRun) -> None:
    for label in labels_of(small_run, "human_using_agent_token"):
        identity = label["identity_id"]
        usual = {
            e.user_agent
            for e in _parsed(small_run.events_of(identity, small_run.history))
        }
        foreign = {
            e.user_agent
            for e in _parsed(small_run.window(label))
            if e.user_agent not in usual
        }
        assert foreign and all(BROWSERS_AND_TOOLS.search(ua) for ua in foreign)


def test_api_enumeration(small_run: SimRun) -> None:
    for label in labels_of(small_run, "api_enumeration"):
        agent = small_run.agent(label["identity_id"])
        history = _parsed(small_run.events_of(label["identity_id"], small_run.history))
        hourly: dict[tuple, int] = {}
        for e in history:
            key = e.published.replace(minute=0, second=0, microsecond=0)
            hourly[key] = hourly.get(key, 0) + 1
        burst = _parsed(small_run.window(label))
        assert len(burst) >= 2 * max(hourly.values(), default=1)
        assert any(not agent.allows_endpoint(e.request_uri) for e in burst)
        used_before = {e.eventType for e in history}
        assert {e.eventType for e in burst} - used_before


def test_mfa_push_fatigue(small_run: SimRun) -> None:
    for label in labels_of(small_run, "mfa_push_fatigue"):
        events = _parsed(small_run.window(label))
        pushes = [
            e for e in events if e.eventType == "system.push.send_factor_verify_push"
        ]
        answers = [
            e for e in events if e.eventType == "user.authentication.auth_via_mfa"
        ]
        assert len(pushes) >= 5
        assert sum(e.failed for e in answers) >= 3
        assert not answers[-1].failed  # the person gave in
        assert any(e.eventType == "user.session.start" and not e.failed for e in events)


def test_okta_threat_signal(small_run: SimRun) -> None:
    for label in labels_of(small_run, "okta_threat_signal"):
        events = _parsed(small_run.window(label))
        assert any(e.threat_suspected or e.risk_level == "HIGH" for e in events)
        start, end = when(label["start"]), when(label["end"])
        flagged = [
            e
            for e in _parsed(
                [
                    x
                    for x in small_run.test
                    if x["eventType"] == "security.threat.detected"
                ]
            )
            if start <= e.published <= end
        ]
        assert flagged and flagged[0].ip in {e.ip for e in events}


def test_compromised_periods_stand_out_from_history(small_run: SimRun) -> None:
    """Every compromise of a person comes from a network the person never used."""
    people = {
        "session_hijack",
        "impossible_travel",
        "mfa_push_fatigue",
        "okta_threat_signal",
    }
    for label in small_run.labels:
        if label["scenario"] not in people:
            continue
        seen = {
            e.ip
            for e in _parsed(
                small_run.events_of(label["identity_id"], small_run.history)
            )
        }
        window = _parsed(small_run.window(label))
        assert any(e.ip not in seen for e in window)
