"""Putting a batch of events in the order a live feed would have delivered them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from events.schemas import LogEvent


@dataclass
class OrderedBatch:
    events: list[LogEvent]
    duplicates: int
    undated: int
    received_at: datetime


def order_events(events: Iterable[LogEvent], *, received_at: datetime | None = None) -> OrderedBatch:
    """Drop repeated uuids and sort by `published`, then uuid.

    Events whose source redacted `published` cannot be placed in time; they are
    kept and treated as received now (`received_at`), after every dated event.
    """
    received_at = received_at or datetime.now(UTC)
    seen: set[str] = set()
    unique: list[LogEvent] = []
    duplicates = undated = 0
    for event in events:
        if event.uuid in seen:
            duplicates += 1
            continue
        seen.add(event.uuid)
        unique.append(event)
        undated += event.published is None

    unique.sort(key=lambda event: (event.published or received_at, event.uuid))
    return OrderedBatch(unique, duplicates, undated, received_at)
