"""Hostile input to the event parser: property-based tests and a mutation fuzz run.

Whatever arrives, `parse_event` returns a LogEvent or raises InvalidEvent, and
`read_event_objects` yields events and quarantines the rest; neither crashes. An
event it accepts can be summarised and stored (serialised) like any other.
"""

from __future__ import annotations

import gzip
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hostile_tally import count
from hostile_values import (
    BASE_EVENT,
    EVENT_PATHS,
    NASTY_VALUES,
    deep,
    json_values,
    with_value,
    without,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.errors import InvalidEvent
from events.readers import (
    ReadReport,
    parse_event,
    parse_lean_event,
    read_event_objects,
    read_lean_events,
)
from events.schemas import LogEvent
from events.shares import Share
from response.evidence import summarise
from tests.reading_checks import assert_same_reading

# Hypothesis warns when a generated value (a 100 kB string) is slow to print.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FUZZ = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def accepted_event_is_usable(event: LogEvent) -> None:
    """What every later stage does with an event must work on this one too."""
    for name in (
        "ip",
        "actor_id",
        "user_agent",
        "session_id",
        "asn",
        "country",
        "city",
    ):
        getattr(event, name, None)
    summarise(event)
    # The event store writes exactly this.
    orjson.dumps(event.model_dump(mode="json", exclude_unset=True))


def parse_once(target: str, value: Any) -> LogEvent | None:
    # The batch path reads the same value lean; it may accept more (fields it
    # never reads go unchecked) but never less, and reads what it accepts alike.
    try:
        lean = parse_lean_event(value)
    except InvalidEvent:
        lean = None
    try:
        event = parse_event(value)
    except InvalidEvent:
        count(target, "refused")
        return None
    assert lean is not None, "the lean reader refused an event full validation accepts"
    assert_same_reading(lean, event)
    accepted_event_is_usable(event)
    count(target, "accepted")
    return event


@FUZZ
@given(json_values)
def test_any_json_value_is_an_event_or_refused(value):
    parse_once("parse_event: any JSON value", value)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(EVENT_PATHS),
            st.one_of(json_values, st.sampled_from(NASTY_VALUES)),
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.sampled_from(EVENT_PATHS), max_size=3),
)
def test_an_event_with_hostile_fields_is_an_event_or_refused(replacements, removals):
    event = BASE_EVENT
    for path, value in replacements:
        event = with_value(event, path, value)
    for path in removals:
        event = without(event, path)
    parse_once("parse_event: event with hostile fields", event)


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999Z",
        "1999-12-31T23:59:59Z",
        (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ],
)
def test_times_far_in_the_past_or_future_are_refused(stamp):
    with pytest.raises(InvalidEvent, match="published"):
        parse_event({**BASE_EVENT, "published": stamp})
    count("parse_event: far past or future time", "refused")


def test_deep_nesting_and_foreign_keys_are_refused():
    with pytest.raises(InvalidEvent, match="nested more than"):
        parse_event({**BASE_EVENT, "debugContext": {"debugData": {"x": deep(100)}}})
    with pytest.raises(InvalidEvent, match="keys are not all strings"):
        parse_event({**BASE_EVENT, 7: "seven"})
    count("parse_event: deep nesting, foreign keys", "refused")
    count("parse_event: deep nesting, foreign keys", "refused")


def read_payload(target: str, data: bytes) -> ReadReport:
    report = ReadReport()
    events = list(read_event_objects(data, "fuzz", report=report))
    assert report.events == len(events)
    for event in events:
        assert isinstance(event, LogEvent)
        accepted_event_is_usable(event)
    lean_reads_alike(data, events, report)
    count(target, "events read" if events else "nothing read")
    return report


def lean_reads_alike(data: bytes, full: list[LogEvent], full_report: ReadReport) -> None:
    """The batch path's reader, given the same bytes, keeps every record the full
    reader keeps, reads each alike, and may keep more (unread fields go unchecked)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "payload"
        path.write_bytes(data)
        report = ReadReport()
        lean = list(read_lean_events([path], quarantine=None, report=report))
        shares_read_alike(path, lean, report)

    assert report.events == len(lean) >= len(full)
    assert report.events + report.quarantined == full_report.events + full_report.quarantined
    remaining = iter(lean)
    for event in full:
        match = next((e for e in remaining if e.uuid == event.uuid), None)
        assert match is not None, f"the lean reader lost {event.uuid}"
        assert_same_reading(match, event)


def shares_read_alike(path: Path, whole: list[Any], whole_report: ReadReport) -> None:
    """Two shares of the read (parallel training) keep together what one reader
    keeps, each event once, and quarantine the rest once."""
    merged = ReadReport()
    kept: list[Any] = []
    for index in range(2):
        report = ReadReport()
        share = Share(index, 2)
        kept += read_lean_events([path], quarantine=None, report=report, share=share)
        merged.add_share(report)

    def keys(events: list[Any]) -> list[tuple[str, str | None]]:
        return sorted((event.uuid, event.actor_id or "") for event in events)

    assert keys(kept) == keys(whole)
    assert (merged.events, merged.quarantined) == (
        whole_report.events,
        whole_report.quarantined,
    )


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_read_or_quarantined(data):
    read_payload("read_event_objects: random bytes", data)


@FUZZ
@given(
    st.lists(json_values, max_size=6),
    st.sampled_from(["lines", "array", "hook", "gzip"]),
)
def test_any_json_document_is_read_or_quarantined(values, layout):
    items = [BASE_EVENT, *values]
    if layout == "lines":
        data = b"\n".join(
            orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY) if _dumpable(v) else b"{"
            for v in items
        )
    else:
        safe = [v for v in items if _dumpable(v)]
        document: Any = (
            safe
            if layout == "array"
            else {
                "eventType": "com.okta.event_hook",
                "eventId": "e",
                "data": {"events": safe},
            }
        )
        data = orjson.dumps(document)
        if layout == "gzip":
            data = gzip.compress(data)
    report = read_payload(f"read_event_objects: JSON documents ({layout})", data)
    assert report.events >= 1 or report.quarantined >= 1


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


# A mutation fuzzer: valid payloads, damaged at random in the ways files and
# bodies get damaged (and the ways attackers damage them), read back.

TOKENS = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-0",
    b"null",
    b"true",
    b"[" * 300,
    b"{" * 40,
    b"]",
    b"}",
    b'"\\ud800"',
    b'"\\u0000"',
    b"\xff\xfe",
    b"\xc0\x80",
    b'"eventType":"com.okta.event_hook"',
    b'"published":"9999-12-31T23:59:59Z"',
    b'"ipAddress":"fe80::1%25eth0"',
    b'"actor":null',
    b"\r\n",
    b"\x1f\x8b\x08",
    b",",
    b'"uuid":5',
    b"12345678901234567890123456789",
    b'"' + b"a" * 70_000 + b'"',
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        at = rng.randrange(len(buffer) + 1)
        if choice < 0.25 and buffer:
            buffer[min(at, len(buffer) - 1)] = rng.randrange(256)
        elif choice < 0.45:
            del buffer[at : at + rng.randint(1, 40)]
        elif choice < 0.75:
            buffer[at:at] = rng.choice(TOKENS)
        elif choice < 0.9 and buffer:
            start = rng.randrange(len(buffer))
            buffer[at:at] = buffer[start : start + rng.randint(1, 200)]
        else:
            buffer = buffer[: rng.randrange(len(buffer) + 1)]
    return bytes(buffer)


def seeds() -> list[bytes]:
    events = [dict(BASE_EVENT, uuid=f"seed-{n}") for n in range(10)]
    lines = b"\n".join(orjson.dumps(event) for event in events) + b"\n"
    hook = orjson.dumps(
        {
            "eventType": "com.okta.event_hook",
            "eventId": "d1",
            "data": {"events": events[:3]},
        }
    )
    pretty = orjson.dumps(events[:3], option=orjson.OPT_INDENT_2)
    # JSON Lines twice: damage stays within a line there, so more of it is read.
    return [lines, lines, hook, pretty, gzip.compress(lines)]


def test_fuzz_run_of_damaged_payloads():
    rng = random.Random(20260310)
    corpus = seeds()
    runs = 3000
    for _ in range(runs):
        payload = mutate(rng.choice(corpus), rng)
        read_payload("read_event_objects: mutation fuzz run", payload)
        if rng.random() < 0.05:
            # Keep some damaged payloads as seeds, so damage accumulates.
            corpus.append(payload[:20_000])
