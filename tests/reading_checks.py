"""Checks shared by the reader tests: where the real samples are, and whether two
readings of one event agree."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from events.lean import LeanEvent
from events.schemas import LogEvent

READ_FIELDS = [field.name for field in dataclasses.fields(LeanEvent)]


def shared_okta_dir() -> Path:
    override = os.environ.get("CREDWATCH_SHARED_DIR")
    shared = Path(override) if override else Path(__file__).parents[1] / ".." / "shared"
    okta = (shared / "data" / "okta").resolve()
    if not okta.is_dir():
        pytest.fail(
            f"the shared data folder is missing: looked for {okta} "
            "(set CREDWATCH_SHARED_DIR to the folder that holds data/okta)"
        )
    return okta


def assert_same_reading(lean: LeanEvent | LogEvent, full: LogEvent) -> None:
    """Every field the lean reading carries reads as full validation reads it."""
    differing = {
        name: (getattr(lean, name), getattr(full, name))
        for name in READ_FIELDS
        if getattr(lean, name) != getattr(full, name)
    }
    assert not differing, f"{full.uuid}: {differing}"
