"""Simulated Okta System Log traffic of people and AI agents, with labelled attacks.

`simulate` builds an organisation (people with homes, offices, devices and habits;
AI agents with cloud deployments, schedules and credentials), generates its System
Log day by day, injects compromises and benign look-alikes into the test period,
and writes the events, the labels and the deployment map.
"""

from simulator.plan import COMPROMISES, LOOKALIKES, ScenarioCounts
from simulator.run import (
    DEFAULT_START,
    SimulationSummary,
    days_in_test_period,
    simulate,
)

__all__ = [
    "COMPROMISES",
    "DEFAULT_START",
    "LOOKALIKES",
    "ScenarioCounts",
    "SimulationSummary",
    "simulate",
    "days_in_test_period",
]
