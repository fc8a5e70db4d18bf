"""Which scenarios run, against whom, and the labels they leave.

Compromises and look-alikes are drawn from the test period only, each against a
different identity, so a label names one story. `ScenarioCounts` sets how many of
each; left at None, a count scales with the world so that a small world (40
people, 12 agents) still gets every scenario once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from simulator.clock import SECOND, iso_s
from simulator.events import Event

logger = logging.getLogger(__name__)

COMPROMISES: tuple[str, ...] = (
    "token_shared_across_networks",
    "session_hijack",
    "impossible_travel",
    "agent_outside_declared_network",
    "agent_off_schedule",
    "human_using_agent_token",
    "api_enumeration",
    "mfa_push_fatigue",
    "okta_threat_signal",
)
LOOKALIKES: tuple[str, ...] = (
    "vpn_signin",
    "plausible_travel",
    "agent_second_declared_region",
    "agent_user_agent_upgrade",
    "shared_access_person",
    "new_user",
)
_PEOPLE_SCENARIOS = frozenset(
    {
        "session_hijack",
        "impossible_travel",
        "mfa_push_fatigue",
        "okta_threat_signal",
        "vpn_signin",
        "plausible_travel",
        "shared_access_person",
        "new_user",
    }
)


@dataclass(frozen=True, slots=True)
class ScenarioCounts:
    """How many of each scenario to inject; None picks a size-based default."""

    token_shared_across_networks: int | None = None
    session_hijack: int | None = None
    impossible_travel: int | None = None
    agent_outside_declared_network: int | None = None
    agent_off_schedule: int | None = None
    human_using_agent_token: int | None = None
    api_enumeration: int | None = None
    mfa_push_fatigue: int | None = None
    okta_threat_signal: int | None = None
    vpn_signin: int | None = None
    plausible_travel: int | None = None
    agent_second_declared_region: int | None = None
    agent_user_agent_upgrade: int | None = None
    shared_access_person: int | None = None
    new_user: int | None = None

    @classmethod
    def none(cls) -> ScenarioCounts:
        """No scenario at all: purely benign traffic."""
        return cls(**{f.name: 0 for f in fields(cls)})

    @classmethod
    def from_mapping(cls, counts: Mapping[str, int]) -> ScenarioCounts:
        unknown = set(counts) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        return cls(**counts)

    def resolve(self, *, people: int, agents: int) -> dict[str, int]:
        """The count of every scenario, defaults filled in for this world size."""
        resolved: dict[str, int] = {}
        for name in (*COMPROMISES, *LOOKALIKES):
            value = getattr(self, name)
            if value is None and name == "shared_access_person":
                # One executive with an assistant per 60 people (see world roles).
                value = max(1, people // 60) if people >= 10 else 0
            elif value is None:
                if name in _PEOPLE_SCENARIOS:
                    scale = people / (40 if name in LOOKALIKES else 60)
                    value = max(1, round(scale)) if people else 0
                else:
                    scale = agents / (15 if name in LOOKALIKES else 20)
                    value = max(1, round(scale)) if agents else 0
            if value < 0:
                raise ValueError(f"scenario count for {name} must be >= 0, got {value}")
            resolved[name] = value
        return resolved


@dataclass(frozen=True, slots=True)
class Label:
    """One identity's labelled period."""

    identity_id: str
    start: int
    end: int
    scenario: str

    def as_dict(self) -> dict[str, str]:
        # Whole seconds that still cover the first and the last event.
        end = (
            self.end
            if self.end % SECOND == 0
            else self.end - self.end % SECOND + SECOND
        )
        return {
            "identity_id": self.identity_id,
            "start": iso_s(self.start),
            "end": iso_s(end),
            "scenario": self.scenario,
        }


@dataclass(slots=True)
class LabelBook:
    """Labels of compromises and look-alikes as the generators write them."""

    period: tuple[int, int]  # the simulated period; later events are not written
    compromises: list[Label] = field(default_factory=list)
    lookalikes: list[Label] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)

    def add(self, *, identity_id: str, scenario: str, events: Iterable[Event]) -> None:
        """Label the period spanned by `events` (nothing if there are none)."""
        self.add_times(
            identity_id=identity_id, scenario=scenario, times=(e[0] for e in events)
        )

    def add_times(
        self, *, identity_id: str, scenario: str, times: Iterable[int]
    ) -> None:
        """Label the period spanned by event times (ms)."""
        first, end = self.period
        times = [ts for ts in times if first <= ts < end]
        if not times:
            logger.warning("scenario %s left no events for %s", scenario, identity_id)
            return
        label = Label(identity_id, min(times), max(times), scenario)
        book = self.lookalikes if scenario in LOOKALIKES else self.compromises
        book.append(label)
        self.injected[scenario] = self.injected.get(scenario, 0) + 1
