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
    """Drop repeated deliveries and sort by `published`, then uuid.

    A delivery repeats an event when uuid, time, type, actor and address all match.
    The same uuid with other content is kept: it is not a repeat, and dropping it
    would let a forged copy hide the real event (or the other way round).

    Events whose source redacted `published` cannot be placed in time; they are
    kept and treated as received now (`received_at`), after every dated event.
    """
    received_at = received_at or datetime.now(UTC)
    seen: set[tuple[object, ...]] = set()
    unique: list[LogEvent] = []
    duplicates = undated = 0
    for event in events:
        key = (event.uuid, event.published, event.eventType, event.actor_id, event.ip)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        unique.append(event)
        undated += event.published is None

    unique.sort(key=lambda event: (event.published or received_at, event.uuid))
    return OrderedBatch(unique, duplicates, undated, received_at)
