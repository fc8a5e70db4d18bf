"""Injected compromises: stolen or shared credentials used among normal traffic.

Each function arranges one scenario against one identity: it registers hooks that
run when that identity's day is generated, writes the attacker's events through
the identity's own event factory (so they look like any other event of that
credential), and labels the period from the first to the last injected event.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from simulator.agents import AgentTraffic
from simulator.catalog import (
    APPS,
    ATTACKER_BROWSERS,
    ATTACKER_TOOLS,
    CHROME_VERSION,
    HUMAN_TOOLS,
    UserAgent,
    chrome,
)
from simulator.clock import HOUR, MINUTE, SECOND
from simulator.events import PUSH_REJECTED, PUSH_TIMEOUT, Event, request_context
from simulator.injection import Injector
from simulator.networks import PROXY_SERVICES
from simulator.people import Activity, PersonTraffic, Workday
from simulator.world import Device

# Apps an intruder in a session goes for.
_LOOT = frozenset({"salesforce", "boxnet", "amazon_aws_sso", "google", "githubent"})
_LOOT_APPS = tuple(app for app in APPS if app.key in _LOOT | {"snowflake"})


# ThreatInsight's verdicts as debugData.threatDetections carries them.
_THREAT_DETECTIONS = '{"Password Spray":"HIGH","Login Failures":"MEDIUM"}'


def _spread(inj: Injector, start: int, end: int, count: int) -> list[int]:
    return sorted(inj.rng.randint(start, end) for _ in range(count))


# -- agent credentials ---------------------------------------------------------


def token_shared_across_networks(inj: Injector, traffic: AgentTraffic) -> bool:
    """The agent's token also used, at the same time, from someone else's network."""
    rng, agent = inj.rng, traffic.agent
    window = inj.flexible_window(traffic, minutes=(rng.randint(20, 75), 20))
    if window is None:
        return False
    day, start, end = window
    ip, network = inj.any_origin(avoid=agent)
    tool = None if rng.random() < 0.6 else rng.choice(ATTACKER_TOOLS)
    count = max(4, round(max(agent.rate, 6.0) * (end - start) / HOUR))

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        attack: list[Event] = []
        for ts in _spread(inj, start, end, count):
            attack += t.request(ts, ip, network, tool or t.user_agent(ts))
        first, last = attack[0][0], attack[-1][0]
        # The rightful replicas keep working alongside: make sure some of their
        # requests land within minutes of the intruder's first and last ones.
        for anchor in (first, last):
            if not any(abs(e[0] - anchor) <= 5 * MINUTE for e in events):
                offset = rng.randint(30, 240) * SECOND
                ts = (
                    min(last, anchor + offset)
                    if anchor == first
                    else max(first, anchor - offset)
                )
                events += t.request(ts, *t.origin(ts, 0), t.user_agent(ts))
        events += attack
        inj.labels.add(
            identity_id=agent.id, scenario="token_shared_across_networks", events=attack
        )

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


def agent_outside_declared_network(inj: Injector, traffic: AgentTraffic) -> bool:
    """For a few hours the credential is used only from an undeclared network."""
    rng, agent = inj.rng, traffic.agent
    window = inj.flexible_window(traffic, minutes=(rng.randint(60, 240), 60, 30))
    if window is None:
        return False
    day, start, end = window
    traffic.plan.suppressed.append((start, end))
    ip, network = inj.hosted_origin(avoid=agent)
    hours = (end - start) / HOUR
    count = max(3, round(agent.rate * hours))
    latest = end - (25 * MINUTE if agent.kind == "interactive" else 0)

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        moved: list[Event] = []
        for ts in _spread(inj, start, max(start, latest), count):
            moved += t.request(ts, ip, network, t.user_agent(ts))
        events += moved
        inj.labels.add(
            identity_id=agent.id,
            scenario="agent_outside_declared_network",
            events=moved,
        )

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


def agent_off_schedule(inj: Injector, traffic: AgentTraffic) -> bool:
    """Someone with access to the agent's hosts runs it outside its schedule."""
    rng, agent = inj.rng, traffic.agent
    window = inj.flexible_window(
        traffic, minutes=(rng.randint(30, 120), 30), inside=False
    )
    if window is None:
        return False
    day, start, end = window
    count = max(3, round(max(agent.rate, 4.0) * (end - start) / HOUR))
    latest = end - (25 * MINUTE if agent.kind == "interactive" else 0)

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        runs: list[Event] = []
        for ts in _spread(inj, start, max(start, latest), count):
            replica = rng.randrange(max(agent.replicas, 1))
            runs += t.request(ts, *t.origin(ts, replica), t.user_agent(ts), replica)
        events += runs
        inj.labels.add(identity_id=agent.id, scenario="agent_off_schedule", events=runs)

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


def human_using_agent_token(inj: Injector, traffic: AgentTraffic) -> bool:
    """An employee tries the agent's credential from a laptop, curl or Postman."""
    rng, agent, world = inj.rng, traffic.agent, inj.world
    minutes = rng.randint(10, 60)
    window = inj.flexible_window(traffic, minutes=(minutes,)) or inj.flexible_window(
        traffic, minutes=(minutes,), inside=False
    )
    if window is None or not world.people:
        return False
    day, start, end = window
    person = rng.choice(world.people)
    if person.metro is not None and rng.random() < 0.5:
        ip, network = world.office_ips[person.metro][0], world.offices[person.metro]
    else:
        ip, network = person.home_ip, person.home_net
    if agent.kind == "interactive":
        tool: UserAgent = chrome("mac", CHROME_VERSION)
        count = rng.randint(1, 2)
        end = max(start, end - 25 * MINUTE)
    else:
        tool = rng.choice(HUMAN_TOOLS)
        count = rng.randint(3, 12)

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        tried: list[Event] = []
        for ts in _spread(inj, start, end, count):
            tried += t.request(ts, ip, network, tool)
        events += tried
        inj.labels.add(
            identity_id=agent.id, scenario="human_using_agent_token", events=tried
        )

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


_ENUMERATED = (
    "/api/v1/users",
    "/api/v1/groups",
    "/api/v1/apps",
    "/api/v1/logs",
    "/api/v1/authorizationServers",
    "/api/v1/idps",
)


def api_enumeration(inj: Injector, traffic: AgentTraffic) -> bool:
    """A burst of reads over endpoints the agent never uses: rate limits and secrets."""
    rng, agent, world = inj.rng, traffic.agent, inj.world
    window = inj.flexible_window(traffic, minutes=(rng.randint(15, 45), 15)) or (
        inj.flexible_window(traffic, minutes=(15,), inside=False)
    )
    if window is None:
        return False
    day, start, end = window
    # Enumeration runs at machine speed: an order of magnitude above the usual rate.
    count = max(40, round(12 * agent.rate * max((end - start) / HOUR, 0.5)))
    patterns = [
        p
        for p in _ENUMERATED
        if not any(fnmatch.fnmatchcase(p, glob) for glob in agent.endpoints)
    ] or list(_ENUMERATED)
    bucket = traffic.factory.ids.uuid(start)
    labels = {a.key: a.label for a in APPS}

    def call(t: AgentTraffic, ts: int) -> Event:
        ip, network = t.origin(ts, 0)
        ua = t.user_agent(ts)
        if rng.random() < 0.55:
            key = rng.choice(sorted(labels))
            app_id = world.app_ids[key]
            target: list[dict[str, Any]] = [
                {
                    "id": app_id,
                    "type": "AppInstance",
                    "alternateId": labels[key],
                    "displayName": labels[key],
                    "detailEntry": None,
                }
            ]
            return t.api_call(
                ts,
                ip,
                network,
                ua,
                event_type="app.oauth2.client.read_client_secret",
                uri=f"/api/v1/apps/{app_id}/credentials/secrets",
                target=target,
            )
        pattern = rng.choice(patterns)
        violation = rng.random() < 0.3
        return t.api_call(
            ts,
            ip,
            network,
            ua,
            event_type="system.org.rate_limit."
            + ("violation" if violation else "warning"),
            uri=f"{pattern}?limit=200&after={t.factory.ids.okta_id('00u')}",
            target=[
                {
                    "id": pattern,
                    "type": "URL Pattern",
                    "alternateId": None,
                    "displayName": None,
                    "detailEntry": None,
                },
                {
                    "id": bucket,
                    "type": "Bucket Uuid",
                    "alternateId": None,
                    "displayName": None,
                    "detailEntry": None,
                },
            ],
            extra={
                "rateLimitBucketUuid": bucket,
                "rateLimitScopeType": "ORG",
                "rateLimitSecondsToReset": str(rng.randint(1, 59)),
                "threshold": "600",
                "timeSpan": "1",
                "timeUnit": "MINUTES",
                "warningPercent": "60",
            },
            severity="WARN",
        )

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        burst = [call(t, ts) for ts in _spread(inj, start, end, count)]
        events += burst
        inj.labels.add(identity_id=agent.id, scenario="api_enumeration", events=burst)

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


# -- people --------------------------------------------------------------------


def _attacker_device(inj: Injector, traffic: PersonTraffic, *, tools: bool) -> Device:
    ids = traffic.factory.ids
    agents = (*ATTACKER_BROWSERS, *ATTACKER_TOOLS) if tools else ATTACKER_BROWSERS
    return Device("attacker", inj.rng.choice(agents), ids.hex(64), ids.hex(32))


def _label_from(
    inj: Injector, traffic: PersonTraffic, first: int, scenario: str
) -> None:
    events = traffic.client.events[first:]
    inj.labels.add(identity_id=traffic.person.id, scenario=scenario, events=events)


def session_hijack(inj: Injector, traffic: PersonTraffic) -> bool:
    """The person's session cookie replayed from another network and device."""
    rng = inj.rng
    day = inj.person_day(traffic)
    ip, network = inj.any_origin()
    keep_device_token = rng.random() < 0.5

    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        hours = (workday.end - workday.start) / HOUR
        at = workday.start + int(
            rng.uniform(1.0, max(1.2, min(4.0, hours - 0.5))) * HOUR
        )
        at = inj.clamp(at)

        def run() -> None:
            session = t.active_session(at)
            if session is None:
                return
            device = _attacker_device(inj, t, tools=True)
            if keep_device_token:
                # A stolen cookie jar carries the victim's device token too.
                device = Device(
                    "attacker",
                    device.agent,
                    session.device.dt_hash,
                    session.device.fingerprint,
                )
            first, ts = len(t.client.events), at
            apps = list(t.person.apps) + list(_LOOT_APPS)
            for _ in range(rng.randint(3, 10)):
                ts += rng.randint(1, 8) * MINUTE
                t.client.sso(
                    ts,
                    session,
                    rng.choice(apps),
                    day=workday.day,
                    ip=ip,
                    network=network,
                    device=device,
                )
            _label_from(inj, t, first, "session_hijack")

        return [(at, run)]

    traffic.plan(day).hooks.append(hook)
    return True


def impossible_travel(inj: Injector, traffic: PersonTraffic) -> bool:
    """A sign-in from thousands of kilometres away hours after the person's own."""
    rng = inj.rng
    day = inj.person_day(traffic)

    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        at = inj.clamp(workday.start + int(rng.uniform(0.5, 3.0) * HOUR))
        ip, network = inj.abuse_origin(far_from=workday.network.place)

        def run() -> None:
            first = len(t.client.events)
            device = _attacker_device(inj, t, tools=False)
            session = t.client.sign_in(
                ts=at, ip=ip, network=network, device=device, day=workday.day
            )
            ts = session.start
            for app in rng.sample(_LOOT_APPS, rng.randint(2, 5)):
                ts += rng.randint(1, 10) * MINUTE
                t.client.sso(ts, session, app, day=workday.day)
            _label_from(inj, t, first, "impossible_travel")

        return [(at, run)]

    traffic.plan(day).hooks.append(hook)
    return True


def mfa_push_fatigue(inj: Injector, traffic: PersonTraffic) -> bool:
    """Push after push with a stolen password until the person gives in."""
    rng = inj.rng
    day = inj.person_day(traffic)
    ip, network = inj.any_origin()

    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        if rng.random() < 0.5:
            at = workday.end + int(rng.uniform(1.0, 4.0) * HOUR)
        else:
            at = workday.start + int(rng.uniform(1.0, 5.0) * HOUR)
        at = inj.clamp(at)
        verdicts = [
            PUSH_REJECTED if rng.random() < 0.6 else PUSH_TIMEOUT
            for _ in range(rng.randint(6, 14))
        ]

        def run() -> None:
            first = len(t.client.events)
            device = _attacker_device(inj, t, tools=False)
            session = t.client.sign_in(
                ts=at,
                ip=ip,
                network=network,
                device=device,
                day=workday.day,
                unanswered=verdicts,
            )
            ts = session.start
            for app in rng.sample(_LOOT_APPS, rng.randint(2, 5)):
                ts += rng.randint(1, 10) * MINUTE
                t.client.sso(ts, session, app, day=workday.day)
            _label_from(inj, t, first, "mfa_push_fatigue")

        return [(at, run)]

    traffic.plan(day).hooks.append(hook)
    return True


def okta_threat_signal(inj: Injector, traffic: PersonTraffic) -> bool:
    """ThreatInsight flags the source; the sign-ins that follow carry its verdict."""
    rng = inj.rng
    day = inj.person_day(traffic)
    network = rng.choice(PROXY_SERVICES)
    ip = network.address(rng)

    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        at = inj.clamp(workday.start + int(rng.uniform(0.5, 6.0) * HOUR))

        def run() -> None:
            first = len(t.client.events)
            device = _attacker_device(inj, t, tools=True)
            ip_actor = {
                "id": ip,
                "type": "IP address",
                "alternateId": "unknown",
                "displayName": ip,
                "detailEntry": None,
            }
            t.client.events.append(
                t.factory.make(
                    ts=at,
                    event_type="security.threat.detected",
                    actor=ip_actor,
                    ip=ip,
                    network=network,
                    agent=device.agent,
                    auth=request_context("unknown"),
                    debug={
                        "requestUri": "/idp/idx/identify",
                        "threatDetections": _THREAT_DETECTIONS,
                        "threatSuspected": "true",
                    },
                    outcome={
                        "result": "DENY",
                        "reason": "Password Spray, Login Failures",
                    },
                )
            )
            ts = at
            for _ in range(rng.randint(1, 3)):
                ts += rng.randint(20, 90) * SECOND
                t.client.failed_sign_in(
                    ts=ts,
                    ip=ip,
                    network=network,
                    device=device,
                    day=workday.day,
                    threat=True,
                )
            if rng.random() < 0.5:
                ts += rng.randint(20, 90) * SECOND
                session = t.client.sign_in(
                    ts=ts,
                    ip=ip,
                    network=network,
                    device=device,
                    day=workday.day,
                    threat=True,
                )
                t.client.sso(
                    session.start + MINUTE,
                    session,
                    rng.choice(_LOOT_APPS),
                    day=workday.day,
                )
            _label_from(inj, t, first, "okta_threat_signal")

        return [(at, run)]

    traffic.plan(day).hooks.append(hook)
    return True
