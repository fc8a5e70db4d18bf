"""What every scenario needs: its generator, test days, time windows, origins.

Scenarios only touch the test period. An agent scenario picks a window inside (or,
for off-schedule use, outside) the agent's declared schedule; a person scenario
picks a test day, weekdays first, and makes sure the person works that day.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from simulator.agents import AgentTraffic
from simulator.clock import DAY, HOUR, MINUTE, to_ms
from simulator.networks import (
    CLOUD_REGIONS,
    FOREIGN_HOSTING,
    PROXY_SERVICES,
    Network,
    residential_network,
)
from simulator.people import PersonTraffic
from simulator.places import ABUSE_CITIES, Place, distance_km
from simulator.plan import LabelBook
from simulator.world import Agent, World


class Injector:
    """Shared state of scenario injection for one simulation."""

    def __init__(self, *, world: World, rng: random.Random, labels: LabelBook) -> None:
        self.world = world
        self.rng = rng
        self.labels = labels
        self.start_ms = to_ms(world.start)

    def clamp(self, ts: int) -> int:
        """`ts`, or earlier, so that an attack that starts then ends in the period."""
        return min(ts, self.start_ms + self.world.days * DAY - 90 * MINUTE)

    @property
    def test_days(self) -> list[int]:
        return list(range(self.world.test_day, self.world.days))

    def weekday(self, day: int) -> int:
        return (self.world.start.weekday() + day) % 7

    def person_day(self, traffic: PersonTraffic) -> int:
        """A test day for a person scenario (a weekday if the period has one)."""
        days = [d for d in self.test_days if d >= traffic.person.first_day]
        weekdays = [d for d in days if self.weekday(d) < 5]
        day = self.rng.choice(weekdays or days)
        traffic.plan(day).work = True
        return day

    # -- agent time windows

    def _segments(
        self, traffic: AgentTraffic, day: int, *, inside: bool
    ) -> list[tuple[int, int]]:
        """Runs of whole hours of `day` inside (or outside) the schedule, as ms."""
        base = self.start_ms + day * DAY
        on_day = self.weekday(day) in traffic.days
        segments: list[tuple[int, int]] = []
        run_start: int | None = None
        for hour in range(25):
            covered = hour < 24 and on_day and hour in traffic.hours
            wanted = hour < 24 and covered == inside
            if wanted and run_start is None:
                run_start = hour
            elif not wanted and run_start is not None:
                segments.append((base + run_start * HOUR, base + hour * HOUR))
                run_start = None
        return segments

    def agent_window(
        self, traffic: AgentTraffic, *, minutes: int, inside: bool = True
    ) -> tuple[int, int, int] | None:
        """(day, start, end) of a window of `minutes` on a test day, or None."""
        length = minutes * MINUTE
        options = []
        for day in self.test_days:
            for lo, hi in self._segments(traffic, day, inside=inside):
                if hi - lo >= length:
                    options.append((day, lo, hi - length))
        if not options:
            return None
        day, lo, hi = self.rng.choice(options)
        start = self.rng.randint(lo, hi)
        return day, start, start + length

    def flexible_window(
        self, traffic: AgentTraffic, *, minutes: Sequence[int], inside: bool = True
    ) -> tuple[int, int, int] | None:
        """The longest of `minutes` (tried in order) that fits somewhere."""
        for length in minutes:
            window = self.agent_window(traffic, minutes=length, inside=inside)
            if window is not None:
                return window
        return None

    # -- where stolen credentials are used from

    def abuse_origin(self, *, far_from: Place | None = None) -> tuple[str, Network]:
        """A residential proxy or attacker's home, far from `far_from` if given."""
        rng = self.rng
        cities = list(ABUSE_CITIES)
        if far_from is not None:
            cities = [
                c
                for c in cities
                if distance_km(c.lat, c.lon, far_from.lat, far_from.lon) > 3000
            ] or cities
        network = residential_network(rng=rng, place=rng.choice(cities))
        return network.address(rng), network

    def hosted_origin(self, *, avoid: Agent | None = None) -> tuple[str, Network]:
        """A rented server, VPN service, Tor exit or another cloud than the agent's."""
        rng = self.rng
        choices: list[Network] = [*FOREIGN_HOSTING, *PROXY_SERVICES]
        if avoid is not None:
            providers = {d.region.provider for d in avoid.deployments}
            choices += [
                network
                for region in CLOUD_REGIONS
                if region.provider not in providers
                for network in region.networks()
            ]
            asns = {d.region.operator.asn for d in avoid.deployments}
            choices = [n for n in choices if n.operator.asn not in asns]
        network = rng.choice(choices)
        return network.address(rng), network

    def any_origin(self, *, avoid: Agent | None = None) -> tuple[str, Network]:
        if self.rng.random() < 0.35:
            return self.abuse_origin()
        return self.hosted_origin(avoid=avoid)
