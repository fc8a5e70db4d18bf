"""Identity state and hourly windows: the one code path for batch and streaming.

`FeatureStream.push(event)` takes events one at a time, in time order, and for each
returns an `Observation`: the event's facts, what the identity's history says about
them (novelty, the session's earlier context, the previous location, what ran in the
last minutes), and the feature vector of the identity's current hourly window up to
and including this event. Training, `score` and the API all go through it, so the
vectors they see for the same events are the same.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from events.lean import ReadEvent
from features.baseline import FAMILIAR_EVENTS, BoundedCounter, IdentityBaseline
from features.facts import (
    MFA_EVENTS,
    PUSH_EVENTS,
    EventFacts,
    extract_facts,
    travel_kmh,
)
from features.identity import AI_AGENT, Identity, IdentityResolver

RECENT_SPAN = timedelta(minutes=10)
RARE_HOUR_SHARE = 0.002
# An agent's run of events outside its schedule is sustained work, not a stray
# retry or clock skew, after this many events or this long.
SUSTAINED_OFF_SCHEDULE_EVENTS = 5
SUSTAINED_OFF_SCHEDULE = timedelta(minutes=20)
SESSIONS_REMEMBERED = 64
# A credential is new for a week after its creation; its first uses from
# somewhere else than where it was made are worth a look.
NEW_TOKEN_SPAN = timedelta(days=7)
TOKENS_REMEMBERED = 10_000


@dataclass(slots=True)
class SessionTrace:
    """Where a session was first seen, to notice it moving.

    `devices` is replaced, never changed in place, so a snapshot of the trace
    (`IdentityState._trace_session`) can share it instead of copying it.
    """

    network: str | None
    country: str | None
    devices: dict[str, str]
    ua_family: str | None
    expected_network: bool
    moved: bool = False

    def other_device(self, device: str | None) -> str | None:
        """The session's earlier device of the same kind, when `device` differs from it.

        Okta writes the device token hash on some events of a session and the
        classic fingerprint on others; only two values of one kind can disagree.
        """
        if device is None:
            return None
        kind = device.split(":", 1)[0]
        before = self.devices.get(kind)
        return before if before is not None and before != device else None

    def remember(self, device: str | None) -> None:
        if device is None:
            return
        kind = device.split(":", 1)[0]
        if kind not in self.devices:
            self.devices = {**self.devices, kind: device}


@dataclass(slots=True)
class TokenBirth:
    """Where and when a credential was created, to judge its first uses."""

    token_id: str
    created: datetime
    creator: str
    network: str | None
    uuid: str
    networks_used: set[str] = field(default_factory=set)


@dataclass(slots=True)
class OffScheduleRun:
    """Consecutive events of an agent outside its declared schedule."""

    first: datetime
    events: int = 0
    sustained: bool = False
    became_sustained: bool = False

    def add(self, moment: datetime) -> None:
        self.events += 1
        long_enough = self.events >= 2 and moment - self.first >= SUSTAINED_OFF_SCHEDULE
        now_sustained = self.events >= SUSTAINED_OFF_SCHEDULE_EVENTS or long_enough
        self.became_sustained = now_sustained and not self.sustained
        self.sustained = now_sustained


@dataclass(slots=True)
class Located:
    time: datetime
    coordinates: tuple[float, float]
    place: str
    uuid: str
    trusted: bool


@dataclass(slots=True)
class Observation:
    """An event seen against its identity's history, for rules and the model."""

    facts: EventFacts
    baseline_mature: bool
    new_network: bool
    new_country: bool
    new_device: bool
    new_ua_family: bool
    new_endpoint: bool
    session_before: SessionTrace | None
    previous_location: Located | None
    travel_km: float
    travel_kmh: float
    recent: list[EventFacts]
    window_events: int
    off_schedule_events: int
    off_schedule_sustained: bool
    token_birth: TokenBirth | None
    usual_hourly_events: float
    busiest_hour: int
    usual_concurrency: int
    # The event's network is one the identity has used FAMILIAR_EVENTS times.
    familiar_network: bool
    vector: np.ndarray = field(repr=False)
    window: Window = field(repr=False)


class Window:
    """An identity's activity within one UTC hour, accumulated event by event."""

    __slots__ = (
        "identity", "start", "first_time", "last_time", "events", "failures",
        "threats", "outside_network", "rare_hour", "off_schedule", "new_ip",
        "max_behaviors", "max_risk", "max_speed", "max_concurrent", "session_changes",
        "ips", "networks", "countries", "user_agents", "devices", "sessions",
        "new_networks", "new_countries", "new_devices", "new_ua_families",
        "new_endpoints", "event_ids",
    )

    def __init__(self, identity: Identity, start: datetime) -> None:
        self.identity = identity
        self.start = start
        self.first_time: datetime | None = None
        self.last_time: datetime | None = None
        self.events = 0
        self.failures = 0
        self.threats = 0
        self.outside_network = 0
        self.rare_hour = 0
        self.off_schedule = 0
        self.new_ip = 0
        self.max_behaviors = 0
        self.max_risk = 0
        self.max_speed = 0.0
        self.max_concurrent = 0
        self.session_changes = 0
        self.ips: set[str] = set()
        self.networks: set[str] = set()
        self.countries: set[str] = set()
        self.user_agents: set[str] = set()
        self.devices: set[str] = set()
        self.sessions: set[str] = set()
        self.new_networks: set[str] = set()
        self.new_countries: set[str] = set()
        self.new_devices: set[str] = set()
        self.new_ua_families: set[str] = set()
        self.new_endpoints: set[str] = set()
        self.event_ids: list[str] = []

    def vector(self, usual_hourly_events: float) -> np.ndarray:
        n = max(self.events, 1)
        rate_ratio = self.events / usual_hourly_events if usual_hourly_events else 0.0
        return np.array(
            [
                self.events,
                len(self.ips),
                len(self.networks),
                len(self.countries),
                len(self.user_agents),
                len(self.devices),
                len(self.sessions),
                self.max_speed,
                self.outside_network / n,
                self.failures / n,
                self.threats,
                self.max_behaviors,
                self.max_risk,
                self.new_ip / n,
                len(self.new_networks),
                len(self.new_countries),
                len(self.new_devices),
                len(self.new_ua_families),
                len(self.new_endpoints),
                self.rare_hour / n,
                rate_ratio,
                self.max_concurrent,
                self.session_changes,
            ],
            dtype=np.float64,
        )


class IdentityState:
    """Everything remembered about one identity between events."""

    __slots__ = (
        "identity", "baseline", "window", "recent", "sessions", "last_located",
        "off_schedule_run",
    )

    def __init__(self, identity: Identity, baseline: IdentityBaseline) -> None:
        self.identity = identity
        self.baseline = baseline
        self.window: Window | None = None
        self.recent: deque[EventFacts] = deque()
        self.sessions: OrderedDict[str, SessionTrace] = OrderedDict()
        self.last_located: Located | None = None
        self.off_schedule_run: OffScheduleRun | None = None

    def observe(
        self, facts: EventFacts, *, token_birth: TokenBirth | None = None
    ) -> tuple[Observation, Window | None]:
        """Add one event; return its observation and the window it closed, if any."""
        closed = self._roll_window(facts.time)
        window = self.window
        assert window is not None
        baseline = self.baseline

        # Judge novelty against history before this event becomes part of it,
        # and after what went unused until now has faded.
        baseline.catch_up(facts.time)
        mature = baseline.mature
        endpoint = _endpoint(facts.request_uri)
        if mature:
            new_network = _unseen(facts.network, baseline.networks)
            new_country = _unseen(facts.country, baseline.countries)
            new_device = _unseen(facts.device, baseline.devices)
            new_ua = _unseen(facts.ua_family, baseline.ua_families)
            new_endpoint = _unseen(endpoint, baseline.endpoints)
            new_ip = _unseen(facts.ip, baseline.ips)
            rare_hour = baseline.hour_share(facts.time) < RARE_HOUR_SHARE
        else:
            # An identity without enough history is not judged on novelty.
            new_network = new_country = new_device = new_ua = False
            new_endpoint = new_ip = rare_hour = False

        familiar_network = mature and (
            baseline.networks.counts.get(facts.network, 0) >= FAMILIAR_EVENTS
        )
        off_schedule = _off_schedule(facts)
        session_before = self._trace_session(facts)
        off_run = self._off_schedule_run(facts, off_schedule)
        previous, km, speed = self._travel(facts)
        recent = self._recent(facts)

        self._accumulate(
            window, facts, new_network, new_country, new_device, new_ua,
            (endpoint if new_endpoint else None), new_ip, rare_hour, off_schedule,
            speed, recent,
        )
        baseline.learn(
            moment=facts.time, network=facts.network, ip=facts.ip,
            country=facts.country, device=facts.device, ua_family=facts.ua_family,
            endpoint=endpoint,
        )

        usual = baseline.mean_hourly_events if mature else 0.0
        observation = Observation(
            facts=facts,
            baseline_mature=mature,
            new_network=new_network,
            new_country=new_country,
            new_device=new_device,
            new_ua_family=new_ua,
            new_endpoint=new_endpoint,
            session_before=session_before,
            previous_location=previous,
            travel_km=km,
            travel_kmh=speed,
            recent=recent,
            window_events=window.events,
            off_schedule_events=off_run.events if off_run else 0,
            off_schedule_sustained=bool(off_run and off_run.became_sustained),
            token_birth=token_birth,
            usual_hourly_events=usual,
            busiest_hour=baseline.busiest_hour if mature else 0,
            usual_concurrency=baseline.usual_concurrency if mature else 0,
            familiar_network=familiar_network,
            vector=window.vector(usual),
            window=window,
        )
        return observation, closed

    def close(self) -> Window | None:
        """Close the open window (end of input); its hour counts towards the baseline."""
        closed = self.window
        if closed is not None:
            self.baseline.close_hour(closed.events, closed.max_concurrent)
            self.window = None
        return closed

    def _roll_window(self, moment: datetime) -> Window | None:
        start = moment.replace(minute=0, second=0, microsecond=0)
        current = self.window
        if current is not None and start <= current.start:
            # Late events join the open window rather than reopening a closed one.
            return None
        closed = self.close() if current is not None else None
        self.window = Window(self.identity, start)
        return closed

    def _trace_session(self, facts: EventFacts) -> SessionTrace | None:
        if not facts.session:
            return None
        before = self.sessions.get(facts.session)
        if before is None:
            trace = SessionTrace(
                facts.network, facts.country, {}, facts.session_client,
                facts.expected_network,
            )
            trace.remember(facts.device)
            self.sessions[facts.session] = trace
            if len(self.sessions) > SESSIONS_REMEMBERED:
                self.sessions.popitem(last=False)
            return None
        self.sessions.move_to_end(facts.session)
        snapshot = SessionTrace(
            before.network, before.country, before.devices, before.ua_family,
            before.expected_network, before.moved,
        )
        before.remember(facts.device)
        return snapshot

    def _travel(self, facts: EventFacts) -> tuple[Located | None, float, float]:
        if facts.coordinates is None:
            return None, 0.0, 0.0
        previous = self.last_located
        trusted = facts.expected_network or facts.is_proxy
        self.last_located = Located(
            facts.time, facts.coordinates, _place_name(facts.city, facts.country),
            facts.uuid, trusted,
        )
        # A VPN, proxy or declared region puts the exit, not the person, on the map.
        if previous is None or previous.trusted or trusted:
            return previous, 0.0, 0.0
        hours = (facts.time - previous.time).total_seconds() / 3600
        km, speed = travel_kmh(previous.coordinates, facts.coordinates, hours)
        return previous, km, speed

    def _off_schedule_run(self, facts: EventFacts, off_schedule: bool) -> OffScheduleRun | None:
        if not off_schedule:
            self.off_schedule_run = None
            return None
        run = self.off_schedule_run
        if run is None:
            run = self.off_schedule_run = OffScheduleRun(first=facts.time)
        run.add(facts.time)
        return run

    def _recent(self, facts: EventFacts) -> list[EventFacts]:
        recent = self.recent
        while recent and facts.time - recent[0].time > RECENT_SPAN:
            recent.popleft()
        snapshot = list(recent)
        recent.append(facts)
        return snapshot

    def _accumulate(
        self,
        window: Window,
        facts: EventFacts,
        new_network: bool,
        new_country: bool,
        new_device: bool,
        new_ua: bool,
        new_endpoint: str | None,
        new_ip: bool,
        rare_hour: bool,
        off_schedule: bool,
        speed: float,
        recent: list[EventFacts],
    ) -> None:
        # Runs for every event: plain comparisons instead of max() and inline
        # None checks instead of a helper call per set keep it cheap.
        if window.first_time is None:
            window.first_time = facts.time
        window.last_time = facts.time
        window.events += 1
        window.event_ids.append(facts.uuid)
        window.failures += facts.failed
        window.threats += facts.threat_suspected
        window.new_ip += new_ip
        window.off_schedule += off_schedule
        window.rare_hour += rare_hour or off_schedule
        if not facts.expected_network:
            # Okta's novelty signals on an organisation-owned network are expected.
            behaviors = len(facts.positive_behaviors)
            if behaviors > window.max_behaviors:
                window.max_behaviors = behaviors
            if facts.risk_level > window.max_risk:
                window.max_risk = facts.risk_level
        if speed > window.max_speed:
            window.max_speed = speed

        identity = facts.identity
        if identity.kind == AI_AGENT and identity.agent and identity.agent.declares_network():
            window.outside_network += not facts.expected_network

        ip, network, country = facts.ip, facts.network, facts.country
        device, session = facts.device, facts.session
        if ip is not None:
            window.ips.add(ip)
        if network is not None:
            window.networks.add(network)
        if country is not None:
            window.countries.add(country)
        if facts.user_agent is not None:
            window.user_agents.add(facts.user_agent)
        if device is not None:
            window.devices.add(device)
        if session is not None:
            window.sessions.add(session)
        # new_* are only true for a value that is not None.
        if new_network:
            window.new_networks.add(network)
        if new_country:
            window.new_countries.add(country)
        if new_device:
            window.new_devices.add(device)
        if new_ua:
            window.new_ua_families.add(facts.ua_family)
        if new_endpoint:
            window.new_endpoints.add(new_endpoint)

        concurrent = _distinct_networks(recent, network)
        if concurrent > window.max_concurrent:
            window.max_concurrent = concurrent

        trace = self.sessions.get(session or "")
        if trace is not None and not trace.moved and _session_moved(trace, facts):
            trace.moved = True
            window.session_changes += 1


class FeatureStream:
    """Turns time-ordered events into observations, one identity state per actor."""

    def __init__(
        self,
        resolver: IdentityResolver,
        baselines: dict[str, IdentityBaseline] | None = None,
    ) -> None:
        self.resolver = resolver
        self.baselines = baselines if baselines is not None else {}
        self.states: dict[str, IdentityState] = {}
        self.token_births: OrderedDict[str, TokenBirth] = OrderedDict()

    def facts_of(self, event: ReadEvent, *, when: datetime | None = None) -> EventFacts | None:
        """The event reduced to its facts; None when it names no actor to attribute it to.

        `when` stands in for `published` where the source redacted it.
        """
        identity = self.resolver.resolve(event)
        moment = event.published or when
        if identity is None or moment is None:
            return None
        return extract_facts(event, identity, self.resolver, moment)

    def observe(self, facts: EventFacts) -> tuple[Observation, Window | None]:
        """Add one event's facts to its identity's state, in time order."""
        identity = facts.identity
        state = self.states.get(identity.id)
        if state is None:
            baseline = self.baselines.setdefault(identity.id, IdentityBaseline())
            state = self.states[identity.id] = IdentityState(identity, baseline)
        birth = self._token_birth(facts)
        return state.observe(facts, token_birth=birth)

    def _token_birth(self, facts: EventFacts) -> TokenBirth | None:
        """Remember new credentials; for a credential's use, its recent birth."""
        if facts.created_token and not facts.failed:
            self.token_births[facts.created_token] = TokenBirth(
                facts.created_token, facts.time, facts.identity.id, facts.network,
                facts.uuid,
            )
            if len(self.token_births) > TOKENS_REMEMBERED:
                self.token_births.popitem(last=False)
            return None
        birth = self.token_births.get(facts.api_token_id or "")
        if birth is None or facts.time - birth.created > NEW_TOKEN_SPAN:
            return None
        # Only a new token's first use from each network is news.
        if facts.network is None or facts.network in birth.networks_used:
            return None
        birth.networks_used.add(facts.network)
        return birth

    def push(
        self, event: ReadEvent, *, when: datetime | None = None
    ) -> tuple[Observation, Window | None] | None:
        """Observe one event as it arrives; None when it names no actor."""
        facts = self.facts_of(event, when=when)
        return None if facts is None else self.observe(facts)

    def close_all(self) -> list[Window]:
        """Close every open window, at the end of a batch."""
        closed = [state.close() for state in self.states.values()]
        return [window for window in closed if window is not None]


def _unseen(value: str | None, history: BoundedCounter) -> bool:
    """A value the baseline has not counted (None is never new)."""
    return value is not None and value not in history.counts


def _distinct_networks(recent: list[EventFacts], network: str | None) -> int:
    """How many networks the recent events and this one came from."""
    if not recent:
        return 0 if network is None else 1
    networks = {item.network for item in recent if item.network}
    if network is not None:
        networks.add(network)
    return len(networks)


@lru_cache(maxsize=4096)
def _place_name(city: str | None, country: str | None) -> str:
    """'City, Country' for the travel rule's reasons; cached, as identities stay put."""
    return ", ".join(part for part in (city, country) if part) or "unknown place"


def _endpoint(uri: str | None) -> str | None:
    return uri.split("?", 1)[0] if uri else None


def _off_schedule(facts: EventFacts) -> bool:
    agent = facts.identity.agent
    return bool(agent and agent.schedule and not agent.schedule.allows(facts.time))


def _session_moved(trace: SessionTrace, facts: EventFacts) -> bool:
    if trace.other_device(facts.device):
        return True
    client = facts.session_client
    if trace.ua_family and client and trace.ua_family != client:
        return True
    return bool(
        trace.network and facts.network and trace.network != facts.network
        and not facts.expected_network
    )

