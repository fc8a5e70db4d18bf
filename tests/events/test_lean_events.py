"""The lean reading of events (batch path) agrees with full validation.

Every field a `LeanEvent` carries must read exactly as the same-named attribute of
the fully validated `LogEvent`; events whose read fields need repair go the full
way; and what is quarantined is the same either way.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from credwatch.errors import InvalidEvent
from events.lean import LeanEvent
from events.readers import (
    ReadReport,
    parse_event,
    parse_lean_event,
    read_events,
    read_lean_events,
)
from events.schemas import LogEvent
from simulator import simulate
from tests.builders import build_event
from tests.reading_checks import assert_same_reading, shared_okta_dir


def document(**overrides: Any) -> dict[str, Any]:
    event = build_event(token_id="00TTOKEN1", request_uri="/api/v1/users")
    return {**event.model_dump(mode="json", exclude_none=True), **overrides}


def test_shared_samples_read_alike_and_quarantine_alike() -> None:
    okta_dir = shared_okta_dir()
    full_report, lean_report = ReadReport(), ReadReport()

    full = list(read_events([okta_dir], quarantine=None, report=full_report))
    lean = list(read_lean_events([okta_dir], quarantine=None, report=lean_report))

    assert len(lean) == len(full) == 119
    for lean_event, full_event in zip(lean, full, strict=True):
        assert_same_reading(lean_event, full_event)
    assert [(e.source, e.line, e.reason) for e in lean_report.entries] == [
        (e.source, e.line, e.reason) for e in full_report.entries
    ]
    # Most real samples need no repair of what detection reads.
    assert sum(isinstance(e, LeanEvent) for e in lean) > 100


def test_simulated_events_read_alike(tmp_path) -> None:
    simulate(people=6, agents=3, days=2, seed=11, out=tmp_path)
    paths = [tmp_path / "history.jsonl", tmp_path / "test.jsonl"]

    full = list(read_events(paths, quarantine=None))
    lean = list(read_lean_events(paths, quarantine=None))

    assert len(lean) == len(full) > 500
    assert all(isinstance(e, LeanEvent) for e in lean)
    for lean_event, full_event in zip(lean, full, strict=True):
        assert_same_reading(lean_event, full_event)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(
            {"securityContext": {"asNumber": "AS15169"}}, id="AS number as text"
        ),
        pytest.param({"securityContext": {"isProxy": "true"}}, id="proxy flag as text"),
        pytest.param({"client": {"ipAddress": 12345}}, id="address as a number"),
        pytest.param(
            {
                "client": {
                    "geographicalContext": {
                        "geolocation": {"lat": "39.7", "lon": "-105"}
                    }
                }
            },
            id="coordinates as text",
        ),
        pytest.param({"debugContext": {"debugData": ""}}, id="empty debugData"),
        pytest.param({"actor": {"id": 42, "type": "User"}}, id="actor id as a number"),
    ],
)
def test_read_fields_that_need_repair_go_through_full_validation(overrides) -> None:
    value = document(**overrides)

    lean = parse_lean_event(value)

    assert isinstance(lean, LogEvent)
    assert_same_reading(lean, parse_event(value))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"client": {"ipAddress": ["1.2.3.4"]}}, id="address as a list"),
        pytest.param({"target": "nobody"}, id="target as text"),
        pytest.param({"published": "yesterday"}, id="unreadable time"),
    ],
)
def test_read_fields_beyond_repair_are_refused_with_the_full_reason(overrides) -> None:
    value = document(**overrides)

    with pytest.raises(InvalidEvent) as full:
        parse_event(value)
    with pytest.raises(InvalidEvent) as lean:
        parse_lean_event(value)

    assert str(lean.value) == str(full.value)


def test_fields_detection_never_reads_are_not_checked() -> None:
    # The documented difference: full validation refuses this event, the batch
    # path scores it, because nothing it reads is wrong.
    value = document(displayMessage={"not": "text"})

    with pytest.raises(InvalidEvent):
        parse_event(value)
    lean = parse_lean_event(value)

    assert isinstance(lean, LeanEvent)
    assert lean.ip == "203.0.113.10"


def test_lower_cased_exports_are_read_lean_too() -> None:
    # A SIEM export with every key lower-cased (values too, here, which is harmless).
    value = orjson.loads(orjson.dumps(document()).lower())

    lean = parse_lean_event(value)

    assert isinstance(lean, LeanEvent)
    assert lean.ip == "203.0.113.10"
    assert lean.api_token_id == "00ttoken1"
    assert lean.request_uri == "/api/v1/users"


def test_coordinates_that_are_not_finite_read_as_absent() -> None:
    # JSON text cannot hold NaN, but objects built in code can.
    value = document()
    value["client"]["geographicalContext"]["geolocation"]["lat"] = float("nan")

    lean = parse_lean_event(value)

    assert lean.coordinates is None
    assert_same_reading(lean, parse_event(value))


@pytest.mark.parametrize(("lat", "lon"), [(192.97, 10.0), (-91, 0), (45, 500), (45, -180.5)])
def test_coordinates_off_the_earth_read_as_absent(lat, lon) -> None:
    value = document()
    value["client"]["geographicalContext"]["geolocation"] = {"lat": lat, "lon": lon}

    lean = parse_lean_event(value)

    assert lean.coordinates is None
    assert_same_reading(lean, parse_event(value))


def test_an_as_number_outside_the_as_space_is_left_to_full_validation() -> None:
    value = document(securityContext={"asNumber": 2**64})

    assert isinstance(parse_lean_event(value), LogEvent)


@pytest.mark.parametrize(
    "written",
    [True, 15169.5, -1, 2**32, "AS" + "9" * 23, "AS" + "9" * 5000, "AS١٥١٦٩", [15169]],
)
def test_an_as_number_that_is_none_reads_as_unknown_and_keeps_the_event(
    written,
) -> None:
    event = parse_lean_event(document(securityContext={"asNumber": written}))

    assert event.asn is None


@pytest.mark.parametrize("written", [15169, 15169.0, "AS15169", " as15169 "])
def test_an_as_number_is_read_in_the_forms_sources_write(written) -> None:
    event = parse_lean_event(document(securityContext={"asNumber": written}))

    assert event.asn == 15169


def test_a_line_that_is_not_utf8_is_quarantined_even_in_an_unread_field(
    tmp_path,
) -> None:
    good = orjson.dumps(document())
    damaged = orjson.dumps(document(uuid="evt-damaged")).replace(
        b'"INFO"', b'"\xff\xfe"'
    )
    path = tmp_path / "events.jsonl"
    path.write_bytes(good + b"\n" + damaged + b"\n")
    report = ReadReport()

    events = list(read_lean_events([path], quarantine=None, report=report))

    assert len(events) == 1
    assert report.quarantined == 1
    assert "not UTF-8" in report.entries[0].reason
