"""Fixtures shared by the tests of every stage."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import build_event

from events.schemas import LogEvent


@pytest.fixture
def make_event() -> Callable[..., LogEvent]:
    return build_event
