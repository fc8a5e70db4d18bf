"""`simulate`: build a world, generate its traffic and write the output files."""

from __future__ import annotations

import gc
import logging
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from simulator.agents import AgentTraffic
from simulator.clock import DAY, from_ms, to_ms
from simulator.deploymap import deployment_map, left_out
from simulator.events import Enrichment
from simulator.people import PersonTraffic
from simulator.plan import ScenarioCounts
from simulator.scenarios import arrange_scenarios
from simulator.world import build_world
from simulator.writer import EventSink, write_deployment_map, write_labels

logger = logging.getLogger(__name__)

# A Wednesday: with the default split, 7- and 10-day worlds end on working days
# and 14-day worlds test across a weekend, so test periods are not all weekend.
DEFAULT_START = datetime(2026, 3, 4, tzinfo=UTC)
DEFAULT_TEST_DAYS = 2
DEFAULT_TEST_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """What a simulation wrote, and how long it took."""

    out: Path
    seed: int
    start: datetime
    test_start: datetime
    end: datetime
    people: int
    agents: int
    agents_by_kind: dict[str, int]
    history_events: int
    test_events: int
    labels: int
    lookalikes: int
    scenarios: dict[str, int]  # injected, by scenario (compromises and look-alikes)
    requested: dict[str, int]  # asked for; more than injected when targets ran out
    elapsed_seconds: float

    @property
    def events(self) -> int:
        return self.history_events + self.test_events

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds else 0.0


def days_in_test_period(*, days: int, history_fraction: float | None) -> int:
    """Days in the test period: the larger of 2 days and a quarter, at least 1.

    With `history_fraction`, the first that share of days (rounded) is history and
    the rest is test; the test period always keeps at least one day.
    """
    if history_fraction is not None:
        if not 0.0 <= history_fraction < 1.0:
            raise ValueError(
                f"history_fraction must be in [0, 1), got {history_fraction}"
            )
        return max(1, days - round(days * history_fraction))
    wanted = max(DEFAULT_TEST_DAYS, math.ceil(days * DEFAULT_TEST_SHARE))
    return max(1, min(wanted, days - 1))


def simulate(
    *,
    people: int,
    agents: int,
    days: int,
    seed: int,
    out: Path,
    start: datetime | None = None,
    history_fraction: float | None = None,
    scenarios: ScenarioCounts | Mapping[str, int] | None = None,
    stale_map: bool = False,
) -> SimulationSummary:
    """Simulate an organisation's Okta System Log and write it into `out`.

    Writes `history.jsonl` (benign traffic before the test period), `test.jsonl`
    (the test period: compromises and look-alikes among normal traffic),
    `labels.jsonl`, `lookalikes.jsonl` and `deployment.yaml`. The same arguments
    give the same bytes. `start` is floored to midnight UTC (default
    `DEFAULT_START`); `scenarios` sets how many of each scenario to inject.
    With `stale_map` the map is out of date (simulator.deploymap) and
    `map_left_out.json` says what it leaves out.
    """
    if people < 0 or agents < 0:
        raise ValueError("people and agents must be >= 0")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    began = time.perf_counter()
    moment = (start or DEFAULT_START).astimezone(UTC)
    start_at = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    test_day = days - days_in_test_period(days=days, history_fraction=history_fraction)
    if isinstance(scenarios, Mapping):
        scenarios = ScenarioCounts.from_mapping(scenarios)
    requested = (scenarios or ScenarioCounts()).resolve(people=people, agents=agents)

    world = build_world(
        seed=seed,
        people=people,
        agents=agents,
        start=start_at,
        days=days,
        test_day=test_day,
    )
    enrichment = Enrichment()
    person_traffic = [
        PersonTraffic(person=p, world=world, seed=seed, enrichment=enrichment)
        for p in world.people
    ]
    agent_traffic = [
        AgentTraffic(agent=a, world=world, seed=seed, enrichment=enrichment)
        for a in world.agents
    ]
    labels = arrange_scenarios(
        world=world,
        people=person_traffic,
        agents=agent_traffic,
        counts=requested,
        seed=seed,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = to_ms(start_at)
    sink = EventSink(
        out=out, start=first, split=first + test_day * DAY, end=first + days * DAY
    )
    # Events hold no reference cycles, and the generational collector's passes
    # over millions of short-lived dicts cost a fifth of the run: pause it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for day in range(days):
            for person in person_traffic:
                sink.add(person.run_day(day))
            for agent in agent_traffic:
                sink.add(agent.run_day(day))
            # Later days only add events from this day's start on.
            sink.flush(before=first + day * DAY)
            logger.debug("simulated day %d of %d", day + 1, days)
    finally:
        sink.close()
        if collecting:
            gc.enable()

    label_count = write_labels(out / "labels.jsonl", labels.compromises)
    lookalike_count = write_labels(out / "lookalikes.jsonl", labels.lookalikes)
    write_deployment_map(
        out / "deployment.yaml", deployment_map(world, stale=stale_map), seed=seed
    )
    if stale_map:
        (out / "map_left_out.json").write_bytes(
            orjson.dumps(left_out(world), option=orjson.OPT_INDENT_2)
        )

    summary = SimulationSummary(
        out=out,
        seed=seed,
        start=start_at,
        test_start=from_ms(first + test_day * DAY),
        end=from_ms(first + days * DAY),
        people=people,
        agents=agents,
        agents_by_kind=dict(sorted(Counter(a.kind for a in world.agents).items())),
        history_events=sink.history_count,
        test_events=sink.test_count,
        labels=label_count,
        lookalikes=lookalike_count,
        scenarios=dict(sorted(labels.injected.items())),
        requested=requested,
        elapsed_seconds=time.perf_counter() - began,
    )
    logger.info(
        "simulated %d events (%d history, %d test) for %d people and %d agents "
        "in %.1f s",
        summary.events,
        summary.history_events,
        summary.test_events,
        people,
        agents,
        summary.elapsed_seconds,
    )
    return summary
