"""One small simulated world shared by the simulator tests (built once per run)."""

from __future__ import annotations

import pytest
from simhelpers import SMALL, SimRun, run_simulation


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimRun:
    return run_simulation(tmp_path_factory.mktemp("sim-small"), **SMALL)
