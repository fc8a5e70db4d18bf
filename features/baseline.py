"""Per-identity behaviour baselines with bounded memory.

A baseline remembers what an identity has done before: the networks, addresses,
countries, devices, client families and API endpoints it used, when in the week it
acts and how busy its hours are. It is learned online as events stream past, so
training and scoring share it: training leaves each identity's baseline behind in
the model, and scoring continues from there.

Old habits fade. A value unused for its lookback is forgotten, so its return counts
as new: 30 days for addresses, devices and client families, 90 for networks and
countries, 180 for API endpoints (the lookbacks UEBA products give the same
entities). The week profile, the usual rate, the busiest hour and the usual
concurrency lose half their weight every 30 days, so recent months count most. Time
here is the identity's own event time, so replaying old exports fades them as
living through them would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# An identity needs this much history before novelty means anything: a new
# identity is not an anomaly by itself.
MATURE_EVENTS = 20
MATURE_HOURS = 12

# Days an unused value stays remembered, per memory of the baseline.
LOOKBACK_DAYS = {
    "ips": 30,
    "devices": 30,
    "ua_families": 30,
    "networks": 90,
    "countries": 90,
    "endpoints": 180,
}
HABIT_HALF_LIFE_DAYS = 30
# Events of a network or client an identity's history must hold before it counts
# as familiar ground, so an attacker's network does not turn familiar within the
# hour it appears.
FAMILIAR_EVENTS = 100
# Hours a level of concurrency must be seen in before it is usual.
HABIT_HOURS = 6


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
    __slots__ = ("capacity", "counts", "seen_once", "last_day")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.seen_once: dict[str, None] = {}
        # The day (proleptic ordinal) each value was last counted.
        self.last_day: dict[str, int] = {}

    def __contains__(self, value: object) -> bool:
        return value in self.counts

    def __len__(self) -> int:
        return len(self.counts)

    def add(self, value: str | None, day: int) -> None:
        if value is None:
            return
        self.last_day[value] = day
        counts = self.counts
        count = counts.get(value)
        if count is not None:
            if count == 1:
                del self.seen_once[value]
            counts[value] = count + 1
            return
        if len(counts) >= self.capacity:
            self._forget(self._least_used())
        counts[value] = 1
        self.seen_once[value] = None

    def forget_before(self, day: int) -> None:
        """Forget the values last counted before `day`."""
        stale = [value for value, last in self.last_day.items() if last < day]
        for value in stale:
            self._forget(value)

    def _forget(self, value: str) -> None:
        del self.counts[value]
        self.seen_once.pop(value, None)
        self.last_day.pop(value, None)

    def _least_used(self) -> str:
        if self.seen_once:
            return next(iter(self.seen_once))
        return min(self.counts, key=self.counts.__getitem__)

    # Pickles (stored models) keep capacity, counts and last days but not
    # `seen_once`, which is rebuilt from counts. Models stored before last days were
    # kept load without them; their baseline dates the values (IdentityBaseline).
    def __getstate__(self) -> tuple[None, dict[str, object]]:
        return None, {
            "capacity": self.capacity,
            "counts": self.counts,
            "last_day": self.last_day,
        }

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        _, slots = state
        self.capacity = slots["capacity"]  # type: ignore[assignment]
        self.counts = slots["counts"]  # type: ignore[assignment]
        self.last_day = slots.get("last_day", {})  # type: ignore[assignment]
        self.seen_once = {
            value: None for value, count in self.counts.items() if count == 1
        }


@dataclass(slots=True)
class IdentityBaseline:
    # Lifetime totals: maturity never fades, a known identity stays known.
    events: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    active_hours: int = 0
    # The values used, each forgotten after its lookback.
    networks: BoundedCounter = field(default_factory=lambda: BoundedCounter(64))
    ips: BoundedCounter = field(default_factory=lambda: BoundedCounter(256))
    countries: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    devices: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    ua_families: BoundedCounter = field(default_factory=lambda: BoundedCounter(32))
    endpoints: BoundedCounter = field(default_factory=lambda: BoundedCounter(256))
    # The habits, halved together: the week profile and its total, the events and
    # active hours behind the usual rate, the busiest hour, and active hours by the
    # most networks in use within ten minutes (0 to 4 or more).
    hours_of_week: list[int] = field(default_factory=lambda: [0] * 168)
    week_events: int = 0
    rate_events: float = 0.0
    rate_hours: float = 0.0
    busiest_hour: int = 0
    hours_by_concurrency: list[int] = field(default_factory=lambda: [0] * 5)
    # The latest day (proleptic ordinal) of the identity's time seen so far, and the
    # day the habits were last halved.
    today: int = 0
    halved_on: int = 0

    @property
    def mature(self) -> bool:
        return self.events >= MATURE_EVENTS and self.active_hours >= MATURE_HOURS

    @property
    def mean_hourly_events(self) -> float:
        return self.rate_events / self.rate_hours if self.rate_hours else 0.0

    @property
    def usual_concurrency(self) -> int:
        """The most networks in use at once in several hours, not in one: an attack's
        first hours do not make its concurrency a habit."""
        at_least = 0
        for networks in range(len(self.hours_by_concurrency) - 1, 0, -1):
            at_least += self.hours_by_concurrency[networks]
            if at_least >= HABIT_HOURS:
                return networks
        return 0

    def hour_share(self, moment: datetime) -> float:
        """Share of this identity's events that fell in the same hour of the week."""
        if not self.week_events:
            return 0.0
        hour_of_week = moment.weekday() * 24 + moment.hour
        return self.hours_of_week[hour_of_week] / self.week_events

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
        self.catch_up(moment)
        # A late event does not date its values before the newest day seen: they
        # were in use then, or near enough for a lookback counted in weeks.
        day = self.today

        self.events += 1
        if self.first_seen is None:
            self.first_seen = moment
        self.last_seen = moment
        self.networks.add(network, day)
        self.ips.add(ip, day)
        self.countries.add(country, day)
        self.devices.add(device, day)
        self.ua_families.add(ua_family, day)
        self.endpoints.add(endpoint, day)
        self.hours_of_week[moment.weekday() * 24 + moment.hour] += 1
        self.week_events += 1
        self.rate_events += 1

    def close_hour(self, events_in_hour: int, concurrency: int = 0) -> None:
        self.active_hours += 1
        self.rate_hours += 1
        self.busiest_hour = max(self.busiest_hour, events_in_hour)
        self.hours_by_concurrency[min(concurrency, 4)] += 1

    def catch_up(self, moment: datetime) -> None:
        """Fade what went unused up to `moment`. Call it before judging an event
        against the baseline, so a value back after a long silence reads as new."""
        day = moment.toordinal()
        if day > self.today:
            self._new_day(day)

    def _new_day(self, day: int) -> None:
        """Fade what has gone unused; runs at most once a day of the identity's time."""
        first_day = not self.today
        self.today = day
        for memory, lookback in LOOKBACK_DAYS.items():
            counter: BoundedCounter = getattr(self, memory)
            counter.forget_before(day - lookback)

        if first_day:
            self.halved_on = day
            return
        while day - self.halved_on >= HABIT_HALF_LIFE_DAYS:
            self._halve_habits()
            self.halved_on += HABIT_HALF_LIFE_DAYS

    def _halve_habits(self) -> None:
        self.hours_of_week = [count >> 1 for count in self.hours_of_week]
        self.week_events = sum(self.hours_of_week)
        self.rate_events /= 2
        self.rate_hours /= 2
        self.busiest_hour >>= 1
        self.hours_by_concurrency = [hours >> 1 for hours in self.hours_by_concurrency]

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        _, slots = state
        for name, value in slots.items():
            setattr(self, name, value)
        if len(slots) < len(IdentityBaseline.__slots__):
            self._add_fields_new_since(slots)

    def _add_fields_new_since(self, stored: dict[str, Any]) -> None:
        # A baseline stored by an earlier version lacks the fields added since.
        fresh = IdentityBaseline()
        for name in IdentityBaseline.__slots__:
            if name not in stored:
                setattr(self, name, getattr(fresh, name))
        if "today" not in stored:
            self._date_a_baseline_stored_without_days()

    def _date_a_baseline_stored_without_days(self) -> None:
        # Stored before habits faded: every value counts as used on the last day
        # seen, and the habits start fading from there.
        self.today = self.last_seen.toordinal() if self.last_seen else 0
        self.halved_on = self.today
        self.week_events = sum(self.hours_of_week)
        self.rate_events = float(self.events)
        self.rate_hours = float(self.active_hours)
        for memory in LOOKBACK_DAYS:
            counter: BoundedCounter = getattr(self, memory)
            for value in counter.counts:
                counter.last_day.setdefault(value, self.today)
