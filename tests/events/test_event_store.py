"""The append-only event store: day partitions, dedupe within a write, round trip."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from credwatch.settings import Settings
from events.readers import parse_event, read_events
from events.schemas import LogEvent
from events.store import UNDATED, EventStore


def make_event(uuid: str, published: str | None, **extra: Any) -> LogEvent:
    record: dict[str, Any] = {
        "uuid": uuid,
        "eventType": "user.session.start",
        "actor": {"id": "00u1", "type": "User"},
        "client": {"ipAddress": "34.82.1.2", "zone": "null"},
        "securityContext": {"asNumber": "AS15169"},
        **extra,
    }
    if published is not None:
        record["published"] = published
    return parse_event(record)


def part_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl.gz"))


def test_events_are_partitioned_by_utc_day(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    events = [
        make_event("a", "2026-03-01T23:30:00Z"),
        # 00:30 at +02:00 is still 1 March in UTC.
        make_event("b", "2026-03-02T00:30:00+02:00"),
        make_event("c", "2026-03-02T08:00:00Z"),
        make_event("d", None),
    ]

    assert store.append(events) == 4

    days = {
        p.parent.name: len(gzip.decompress(p.read_bytes()).splitlines())
        for p in part_files(tmp_path)
    }
    assert days == {"2026-03-01": 2, "2026-03-02": 1, UNDATED: 1}


def test_duplicates_are_dropped_within_one_write(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    first = make_event("dup", "2026-03-01T10:00:00Z")
    again = make_event("dup", "2026-03-01T10:00:00Z")

    assert store.append([first, again, make_event("other", "2026-03-01T11:00Z")]) == 2
    assert [e.uuid for e in store.read()] == ["dup", "other"]


def test_appends_never_touch_existing_files(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append([make_event("a", "2026-03-01T10:00:00Z")])
    before = {p: p.read_bytes() for p in part_files(tmp_path)}

    store.append([make_event("b", "2026-03-01T11:00:00Z")])

    after = part_files(tmp_path)
    assert len(after) == 2
    assert all(path.read_bytes() == data for path, data in before.items())
    assert not list(tmp_path.rglob("*.tmp"))


def test_read_gives_back_equal_events(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    original = [
        make_event("a", "2022-06-22 18:18:29.015", newField={"kept": [1, 2]}),
        make_event("b", "redacted"),
    ]

    store.append(original)
    restored = list(store.read())

    assert [e.model_dump() for e in restored] == [e.model_dump() for e in original]
    assert restored[0].model_extra == {"newField": {"kept": [1, 2]}}
    assert restored[0].asn == 15169


def test_read_filters_by_time_and_leaves_out_undated(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(
        [
            make_event("early", "2026-03-01T09:59:59Z"),
            make_event("start", "2026-03-01T10:00:00Z"),
            make_event("next-day", "2026-03-02T09:00:00Z"),
            make_event("end", "2026-03-03T10:00:00Z"),
            make_event("undated", None),
        ]
    )

    window = store.read(
        since=datetime(2026, 3, 1, 10, tzinfo=UTC), until=datetime(2026, 3, 3, 10)
    )
    assert [e.uuid for e in window] == ["start", "next-day"]
    last_day = store.read(since=datetime(2026, 3, 3, tzinfo=UTC))
    assert [e.uuid for e in last_day] == ["end"]
    assert [e.uuid for e in store.read()][-1] == "undated"


def test_empty_or_missing_store_reads_nothing(tmp_path: Path) -> None:
    assert list(EventStore(tmp_path / "nothing-here").read()) == []


def test_store_files_can_be_read_as_input(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append([make_event("a", "2026-03-01T10:00:00Z"), make_event("b", None)])

    events = read_events([tmp_path], quarantine=None)
    assert sorted(e.uuid for e in events) == ["a", "b"]


def test_store_lives_under_the_settings_events_dir(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = EventStore.from_settings(settings)

    store.append([make_event("a", "2026-03-01T10:00:00Z")])

    stored = part_files(settings.events_dir)
    assert len(stored) == 1
    line = orjson.loads(gzip.decompress(stored[0].read_bytes()))
    assert line["uuid"] == "a"
    assert line["eventType"] == "user.session.start"
