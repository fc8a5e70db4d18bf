"""Per-identity behaviour baselines with bounded memory.

A baseline remembers what an identity has done before: the networks, addresses,
countries, devices, client families and API endpoints it used, when in the week it
acts and how busy its hours are. It is learned online as events stream past, so
training and scoring share it: training leaves each identity's baseline behind in
the model, and scoring continues from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# An identity needs this much history before novelty means anything: a new
# identity is not an anomaly by itself.
MATURE_EVENTS = 20
MATURE_HOURS = 12


class BoundedCounter:
    """Counts of values seen, holding at most `capacity` of them.

    When full, the least-used value is forgotten, so a flood of one-off values (an
    attacker rotating addresses) cannot grow memory without bound. Of several
    least-used values, the one counted first goes.
    """

    # `seen_once` holds the values whose count is 1, in the order they were first
    # counted. Counts start at 1 and only grow, so while it is not empty its first
    # value is the one to forget: a full counter of addresses evicts on nearly
    # every new address, and scanning all counts each time was the costly part.
    __slots__ = ("capacity", "counts", "seen_once")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.seen_once: dict[str, None] = {}

    def __contains__(self, value: object) -> bool:
        return value in self.counts

    def __len__(self) -> int:
        return len(self.counts)

    def add(self, value: str | None) -> None:
        if value is None:
            return
        counts = self.counts
        count = counts.get(value)
        if count is not None:
            if count == 1:
                del self.seen_once[value]
            counts[value] = count + 1
            return
        if len(counts) >= self.capacity:
            least = self._least_used()
            del counts[least]
            self.seen_once.pop(least, None)
        counts[value] = 1
        self.seen_once[value] = None

    def _least_used(self) -> str:
        if self.seen_once:
            return next(iter(self.seen_once))
        return min(self.counts, key=self.counts.__getitem__)

    # Pickles (stored models) keep only capacity and counts, as before `seen_once`
    # existed, so models stored earlier load and `seen_once` is rebuilt from counts.
    def __getstate__(self) -> tuple[None, dict[str, object]]:
        return None, {"capacity": self.capacity, "counts": self.counts}

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        _, slots = state
        self.capacity = slots["capacity"]  # type: ignore[assignment]
        self.counts = slots["counts"]  # type: ignore[assignment]
        self.seen_once = {
            value: None for value, count in self.counts.items() if count == 1
        }


@dataclass(slots=True)
class IdentityBaseline:
    events: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    active_hours: int = 0
    busiest_hour: int = 0
    networks: BoundedCounter = field(default_factory=lambda: BoundedCounter(64))
    ips: BoundedCounter = field(default_factory=lambda: BoundedCounter(256))
    countries: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    devices: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    ua_families: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    endpoints: BoundedCounter = field(default_factory=lambda: BoundedCounter(256))
    hours_of_week: list[int] = field(default_factory=lambda: [0] * 168)

    @property
    def mature(self) -> bool:
        return self.events >= MATURE_EVENTS and self.active_hours >= MATURE_HOURS

    @property
    def mean_hourly_events(self) -> float:
        return self.events / self.active_hours if self.active_hours else 0.0

    def hour_share(self, moment: datetime) -> float:
        """Share of this identity's events that fell in the same hour of the week."""
        if not self.events:
            return 0.0
        return self.hours_of_week[moment.weekday() * 24 + moment.hour] / self.events

    def learn(
        self,
        *,
        moment: datetime,
        network: str | None,
        ip: str | None,
        country: str | None,
        device: str | None,
        ua_family: str | None,
        endpoint: str | None,
    ) -> None:
        self.events += 1
        if self.first_seen is None:
            self.first_seen = moment
        self.last_seen = moment
        self.networks.add(network)
        self.ips.add(ip)
        self.countries.add(country)
        self.devices.add(device)
        self.ua_families.add(ua_family)
        self.endpoints.add(endpoint)
        self.hours_of_week[moment.weekday() * 24 + moment.hour] += 1

    def close_hour(self, events_in_hour: int) -> None:
        self.active_hours += 1
        self.busiest_hour = max(self.busiest_hour, events_in_hour)
