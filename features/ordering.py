"""Putting a batch in the order a live feed would have delivered it.

A batch is reduced to event facts first (a few hundred bytes each, against several
kilobytes for a parsed event), so that a million events sort in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from events.lean import ReadEvent
from events.schemas import LogEvent
from features.facts import EventFacts
from features.state import FeatureStream


@dataclass
class OrderedBatch:
    facts: list[EventFacts]
    events: int
    duplicates: int
    undated: int
    unattributed: int


def order_batch(
    events: Iterable[ReadEvent],
    *,
    stream: FeatureStream,
    received_at: datetime | None = None,
) -> OrderedBatch:
    """Reduce events to facts, drop repeated deliveries, and sort by time, then uuid.

    A delivery repeats an event when uuid, time, type, actor and address all match.
    The same uuid with other content is kept: it is not a repeat, and dropping it
    would let a forged copy hide the real event (or the other way round).

    Events whose source redacted `published` cannot be placed in time; they are
    kept and treated as received now (`received_at`), after every dated event.
    """
    received_at = received_at or datetime.now(UTC)
    seen: set[tuple[object, ...]] = set()
    kept: list[EventFacts] = []
    count = duplicates = undated = unattributed = 0
    for event in events:
        count += 1
        facts = stream.facts_of(event, when=received_at)
        if facts is None:
            unattributed += 1
            continue
        key = (facts.uuid, facts.time, facts.event_type, facts.identity.id, facts.ip)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        undated += event.published is None
        kept.append(facts)

    kept.sort(key=lambda facts: (facts.time, facts.uuid))
    return OrderedBatch(kept, count, duplicates, undated, unattributed)


@dataclass
class OrderedEvents:
    events: list[LogEvent]
    duplicates: int
    undated: int
    received_at: datetime


def order_events(
    events: Iterable[LogEvent], *, received_at: datetime | None = None
) -> OrderedEvents:
    """A small batch (one delivery, one request) deduplicated and sorted as events,
    by the same rules as `order_batch`, for callers that score event by event."""
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
    return OrderedEvents(unique, duplicates, undated, received_at)
