"""Benign look-alikes: legitimate activity built to resemble a compromise.

Each is benign by construction and checkable against the deployment map or the
history: a VPN sign-in comes from a declared known network, travel is slower than
an aircraft, a second region is declared, an upgraded client is the same product,
shared access is declared, and a new user simply has no history yet.
"""

from __future__ import annotations

from typing import Any

from simulator.agents import AgentTraffic
from simulator.clock import HOUR, MINUTE
from simulator.events import Event, system_job_event
from simulator.injection import Injector
from simulator.networks import residential_network
from simulator.people import Activity, PersonTraffic, Workday
from simulator.places import TRAVEL_CITIES, distance_km

# Run after everything else of the day, to label what the day produced.
_END_OF_DAY = 20 * HOUR


def _ip_of(event: Event) -> str | None:
    return event[2]["client"]["ipAddress"]


def _raw_agent(event: Event) -> str | None:
    return event[2]["client"]["userAgent"]["rawUserAgent"]


def _label_day_where(
    inj: Injector, scenario: str, keep: Any
) -> Any:  # a PersonTraffic hook labelling the day's events that `keep` accepts
    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        def run() -> None:
            events = [e for e in t.client.events if keep(e)]
            inj.labels.add(identity_id=t.person.id, scenario=scenario, events=events)

        return [(workday.end + _END_OF_DAY, run)]

    return hook


def vpn_signin(inj: Injector, traffic: PersonTraffic) -> bool:
    """Someone who never used the VPN works through it for a day."""
    world, person = inj.world, traffic.person
    day = inj.person_day(traffic)
    ip = inj.rng.choice(world.vpn_ips[person.vpn.name])
    plan = traffic.plan(day)
    plan.endpoint = (ip, person.vpn)
    plan.hooks.append(_label_day_where(inj, "vpn_signin", lambda e: _ip_of(e) == ip))
    return True


def plausible_travel(inj: Injector, traffic: PersonTraffic) -> bool:
    """A trip: a day in transit without sign-ins, then work from a hotel far away."""
    rng, person = inj.rng, traffic.person
    day = inj.person_day(traffic)
    home = person.home
    destinations = [
        place
        for place in TRAVEL_CITIES
        if distance_km(home.lat, home.lon, place.lat, place.lon) > 300
    ]
    hotel = residential_network(rng=rng, place=rng.choice(destinations))
    ip = hotel.address(rng)
    # In the air both ways: no sign-in the day before or the day after, so that
    # neither leg is faster than a flight.
    if day > 0:
        traffic.plan(day - 1).off = True
    traffic.plan(day + 1).off = True
    plan = traffic.plan(day)
    plan.endpoint = (ip, hotel)
    plan.hooks.append(
        _label_day_where(inj, "plausible_travel", lambda e: _ip_of(e) == ip)
    )
    return True


def shared_access_person(inj: Injector, traffic: PersonTraffic) -> bool:
    """An executive works from home while their assistant uses the account at work."""
    day = inj.person_day(traffic)
    plan = traffic.plan(day)
    plan.delegate = True
    plan.stay_home = True
    # The whole day: the executive's own sessions and the assistant's overlap.
    plan.hooks.append(_label_day_where(inj, "shared_access_person", lambda e: True))
    return True


def new_user(inj: Injector, traffic: PersonTraffic) -> bool:
    """A new hire: imported from HR in the morning, signing in for the first time."""
    person = traffic.person
    day = inj.person_day(traffic)
    person.first_day = day
    traffic.forget_history()
    plan = traffic.plan(day)

    def hook(t: PersonTraffic, workday: Workday) -> list[Activity]:
        created = workday.start - int(inj.rng.uniform(1.0, 3.0) * HOUR)
        target = [
            {
                "id": person.id,
                "type": "User",
                "alternateId": person.login,
                "displayName": person.name,
                "detailEntry": None,
            }
        ]

        def provision() -> None:
            for offset, event_type in enumerate(
                ("user.lifecycle.create", "user.lifecycle.activate")
            ):
                t.client.events.append(
                    system_job_event(
                        t.factory,
                        ts=created + offset * MINUTE,
                        event_type=event_type,
                        target=target,
                    )
                )

        return [(created, provision)]

    plan.hooks.append(hook)
    plan.hooks.append(
        _label_day_where(inj, "new_user", lambda e: e[2]["actor"]["id"] == person.id)
    )
    return True


# -- agents --------------------------------------------------------------------


def _ensure_own_traffic(
    t: AgentTraffic, events: list[Event], start: int, end: int, minimum: int
) -> list[Event]:
    """The agent's events in [start, end), topped up to `minimum` if it was quiet."""
    inside = [e for e in events if start <= e[0] < end]
    while len(inside) < minimum:
        # Interactive runs take up to ~20 minutes: start them early enough to end
        # inside the window.
        ts = t.rng.randint(start, max(start, end - 30 * MINUTE))
        extra = t.request(ts, *t.origin(ts, 0), t.user_agent(ts))
        events += extra
        inside += extra
    return inside


def agent_second_declared_region(inj: Injector, traffic: AgentTraffic) -> bool:
    """Failover: the agent runs from its declared standby region for a while."""
    rng = inj.rng
    window = inj.flexible_window(traffic, minutes=(rng.randint(120, 480), 90, 60))
    if window is None:
        return False
    day, start, end = window
    traffic.plan.regions.append((start, end, 1))

    standby = traffic.agent.deployments[1].declared

    def hook(t: AgentTraffic, _day: int, events: list[Event]) -> None:
        inside = _ensure_own_traffic(t, events, start, end, 2)
        # Runs begun before the switch still finish in the first region.
        moved = [e for e in inside if any(n.contains(_ip_of(e) or "") for n in standby)]
        inj.labels.add(
            identity_id=t.agent.id,
            scenario="agent_second_declared_region",
            events=moved,
        )

    traffic.plan.hooks.setdefault(day, []).append(hook)
    return True


def agent_user_agent_upgrade(inj: Injector, traffic: AgentTraffic) -> bool:
    """The agent's client library is upgraded; it reports a new version from then on."""
    window = inj.flexible_window(traffic, minutes=(60, 30))
    if window is None:
        return False
    day, start, end = window
    traffic.plan.upgrade_at = start
    seen: list[int] = []  # times only: the events themselves are written daily
    upgraded = traffic.agent.ua_upgrade.raw
    last_day = inj.world.days - 1

    def hook(t: AgentTraffic, today: int, events: list[Event]) -> None:
        if today == day:
            _ensure_own_traffic(t, events, start, end, 1)
        # Runs begun before the upgrade still finish with the old client.
        seen.extend(e[0] for e in events if _raw_agent(e) == upgraded)
        if today == last_day:
            inj.labels.add_times(
                identity_id=t.agent.id, scenario="agent_user_agent_upgrade", times=seen
            )

    for today in range(day, inj.world.days):
        traffic.plan.hooks.setdefault(today, []).append(hook)
    return True
