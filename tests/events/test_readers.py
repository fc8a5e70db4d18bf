"""Reading Okta events from every supported layout, and quarantining the rest."""

from __future__ import annotations

import codecs
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from credwatch.errors import InvalidEvent, UnreadableInput
from events.normalise import normalise_keys, stable_uuid
from events.quarantine import QuarantineWriter
from events.readers import (
    ReadReport,
    list_input_files,
    parse_event,
    read_event_objects,
    read_events,
)
from events.schemas import LogEvent


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "uuid": "6f2a1c9e-0b7d-11ef-9c1e-3b4f5a6d7e8f",
        "published": "2026-03-01T10:02:11.123Z",
        "eventType": "user.session.start",
        "version": "0",
        "severity": "INFO",
        "displayMessage": "User login to Okta",
        "actor": {
            "id": "00uAGENT1",
            "type": "User",
            "alternateId": "agent@example.com",
            "displayName": "Agent",
        },
        "client": {
            "ipAddress": "34.82.1.2",
            "userAgent": {"rawUserAgent": "python-httpx/0.27", "os": "Linux"},
            "geographicalContext": {
                "city": "The Dalles",
                "country": "United States",
                "postalCode": "97058",
                "geolocation": {"lat": 45.6, "lon": -121.2},
            },
        },
        "outcome": {"result": "SUCCESS"},
        "securityContext": {"asNumber": 15169, "asOrg": "google", "isProxy": False},
        "debugContext": {"debugData": {"requestUri": "/api/v1/users", "dtHash": "d1"}},
        "transaction": {
            "type": "WEB",
            "id": "t1",
            "detail": {"requestApiTokenId": "00T1"},
        },
    }
    event.update(overrides)
    return event


def jsonl(*records: Any) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def read_file(
    path: Path, quarantine: QuarantineWriter | None = None
) -> tuple[list[LogEvent], ReadReport]:
    report = ReadReport()
    events = list(read_events([path], quarantine=quarantine, report=report))
    return events, report


# Formats


def test_json_lines_yield_each_event_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(jsonl(make_event(uuid="a-1"), make_event(uuid="a-2")))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["a-1", "a-2"]
    assert report.events == 2
    assert report.quarantined == 0
    assert report.files_read == 1
    assert report.per_file[str(path)].events == 2


def test_json_array_reports_bad_elements_by_index(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    records = [make_event(uuid="b-1"), {"no": "event"}, make_event(uuid="b-3")]
    path.write_text(json.dumps(records, indent=2))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["b-1", "b-3"]
    assert report.quarantined == 1
    entry = report.entries[0]
    assert entry.line == 1
    assert "array element [1]" in entry.reason
    assert "no eventType" in entry.reason


def test_compact_single_line_array_is_an_array(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_bytes(orjson.dumps([make_event(uuid="c-1"), make_event(uuid="c-2")]))

    events, _ = read_file(path)

    assert [e.uuid for e in events] == ["c-1", "c-2"]


def test_single_pretty_printed_object(tmp_path: Path) -> None:
    path = tmp_path / "account_change.raw"
    path.write_text(json.dumps(make_event(uuid="d-1"), indent=4))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["d-1"]
    assert report.quarantined == 0


def test_single_pretty_object_that_is_not_an_event_is_line_one(tmp_path: Path) -> None:
    path = tmp_path / "row.json"
    path.write_text(json.dumps({"actorId": "00u1", "sourceIP": "1.2.3.4"}, indent=2))

    events, report = read_file(path)

    assert events == []
    assert [(e.line, "no eventType" in e.reason) for e in report.entries] == [(1, True)]


def test_broken_pretty_document_is_quarantined_once(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(make_event(), indent=2)[:-10])

    events, report = read_file(path)

    assert events == []
    assert report.quarantined == 1
    assert report.entries[0].line == 1
    assert report.entries[0].reason.startswith("multi-line JSON document: not JSON")


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "export.json"  # misleading: the bytes are gzip
    path.write_bytes(
        gzip.compress(jsonl(make_event(uuid="e-1"), make_event(uuid="e-2")))
    )

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["e-1", "e-2"]
    assert report.quarantined == 0


def test_gzip_pretty_object(tmp_path: Path) -> None:
    path = tmp_path / "one.bin"
    path.write_bytes(
        gzip.compress(json.dumps(make_event(uuid="e-3"), indent=2).encode())
    )

    events, _ = read_file(path)

    assert [e.uuid for e in events] == ["e-3"]


def test_truncated_gzip_keeps_events_before_the_damage(tmp_path: Path) -> None:
    body = jsonl(*(make_event(uuid=f"g-{i}") for i in range(2000)))
    compressed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    events, report = read_file(path)

    assert 0 < len(events) < 2000
    assert report.quarantined == 1
    assert "corrupt or truncated" in report.entries[0].reason


def test_other_archives_are_named_not_read_as_noise(tmp_path: Path) -> None:
    path = tmp_path / "logs.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 10)

    events, report = read_file(path)

    assert events == []
    assert report.quarantined == 1
    assert "zip archive" in report.entries[0].reason


def test_event_hook_envelope_yields_its_events(tmp_path: Path) -> None:
    envelope = {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "data": {"events": [make_event(uuid="h-1"), {"x": 1}, make_event(uuid="h-3")]},
    }
    path = tmp_path / "hook.json"
    path.write_text(json.dumps(envelope, indent=2))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["h-1", "h-3"]
    assert report.quarantined == 1
    assert report.entries[0].line == 1
    assert "data.events[1]" in report.entries[0].reason


def test_event_hook_envelope_on_a_json_line(tmp_path: Path) -> None:
    envelope = {"eventType": "com.okta.event_hook", "data": {"events": [make_event()]}}
    path = tmp_path / "hooks.jsonl"
    path.write_bytes(jsonl(make_event(uuid="i-1"), envelope))

    events, _ = read_file(path)

    assert [e.uuid for e in events] == ["i-1", make_event()["uuid"]]


def test_envelope_without_events_is_quarantined() -> None:
    body = orjson.dumps({"eventType": "com.okta.event_hook", "data": {}})
    report = ReadReport()

    assert list(read_event_objects(body, "hook", report=report)) == []
    assert "without a data.events list" in report.entries[0].reason


def test_json_line_holding_an_array_of_events(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_bytes(jsonl([make_event(uuid="j-1")], [make_event(uuid="j-2"), 5]))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["j-1", "j-2"]
    assert report.entries[0].line == 2
    assert "array element [1] on the line" in report.entries[0].reason


def test_read_event_objects_reads_an_in_memory_payload() -> None:
    report = ReadReport()
    body = orjson.dumps([make_event(uuid="k-1"), make_event(uuid="k-2")])

    events = list(read_event_objects(body, "event-hook", report=report))

    assert [e.uuid for e in events] == ["k-1", "k-2"]
    assert report.per_file["event-hook"].events == 2


# Bad records


def test_a_non_json_line_in_the_middle_does_not_stop_the_run(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        jsonl(make_event(uuid="m-1"))
        + b"this is not json\n"
        + jsonl(make_event(uuid="m-3"))
    )

    with QuarantineWriter(tmp_path / "q.jsonl") as quarantine:
        events, report = read_file(path, quarantine)

    assert [e.uuid for e in events] == ["m-1", "m-3"]
    assert [(e.line, e.reason[:9]) for e in report.entries] == [(2, "not JSON:")]
    quarantined = (tmp_path / "q.jsonl").read_bytes().splitlines()
    written = [orjson.loads(line) for line in quarantined]
    assert written == [
        {
            "source": str(path),
            "line": 2,
            "reason": report.entries[0].reason,
            "record": "this is not json",
        }
    ]


def test_bytes_that_are_not_utf8_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    bad = json.dumps(make_event(displayMessage="café"), ensure_ascii=False).encode(
        "latin-1"
    )
    path.write_bytes(
        jsonl(make_event(uuid="n-1")) + bad + b"\n" + jsonl(make_event(uuid="n-3"))
    )

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["n-1", "n-3"]
    assert report.entries[0].line == 2
    assert report.entries[0].reason.startswith("not UTF-8 text (byte 0xe9")


def test_empty_lines_are_skipped_not_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_bytes(b"\n\n" + jsonl(make_event(uuid="o-1")) + b"  \r\n\n" + b"{oops\n")

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["o-1"]
    assert [e.line for e in report.entries] == [6]


def test_utf8_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(make_event(uuid="p-1")))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["p-1"]
    assert report.quarantined == 0


def test_empty_file_has_no_events_and_no_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")

    events, report = read_file(path)

    assert events == []
    assert report.files_read == 1
    assert report.quarantined == 0


# Folders


def test_folder_is_read_recursively_in_sorted_order_skipping_docs(
    tmp_path: Path,
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "b" / "2.jsonl").write_bytes(jsonl(make_event(uuid="q-3")))
    (tmp_path / "a" / "deep" / "1.log").write_bytes(jsonl(make_event(uuid="q-2")))
    (tmp_path / "a" / "0.json").write_bytes(jsonl(make_event(uuid="q-1")))
    for name in ("README.md", "labels.csv", "map.yaml", "other.YML"):
        (tmp_path / name).write_text("not events\n")

    report = ReadReport()
    events = list(read_events([tmp_path], quarantine=None, report=report))

    assert [e.uuid for e in events] == ["q-1", "q-2", "q-3"]
    assert report.files_read == 3
    assert report.files_skipped == 4
    assert report.quarantined == 0


def test_missing_input_path_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        read_events([tmp_path / "nowhere.jsonl"], quarantine=None)


def test_a_named_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(jsonl(make_event()))

    assert list_input_files(path) == [path]


# Keys, ids and values


def test_lower_cased_keys_are_read_as_okta_wrote_them() -> None:
    lowered = {
        "uuid": "r-1",
        "published": "2026-03-01T10:02:11Z",
        "eventtype": "user.session.start",
        "displaymessage": "User login to Okta",
        "legacyeventtype": "core.user_auth.login_success",
        "client": {
            "ipaddress": "34.82.1.2",
            "useragent": {"rawuseragent": "curl/8.0"},
            "geographicalcontext": {
                "country": "US",
                "geolocation": {"lat": 1, "lon": 2},
            },
        },
        "authenticationcontext": {"externalsessionid": "sess-1"},
        "securitycontext": {"asnumber": 15169, "isproxy": True},
        "debugcontext": {
            "debugdata": {"requesturi": "/oauth2/v1/token", "dthash": "h"}
        },
        "transaction": {"detail": {"requestapitokenid": "00TTOKEN1"}},
    }

    event = parse_event(lowered)

    assert event.eventType == "user.session.start"
    assert event.displayMessage == "User login to Okta"
    assert event.legacyEventType == "core.user_auth.login_success"
    assert event.ip == "34.82.1.2"
    assert event.user_agent == "curl/8.0"
    assert event.country == "US"
    assert event.coordinates == (1.0, 2.0)
    assert event.session_id == "sess-1"
    assert event.asn == 15169
    assert event.is_proxy is True
    assert event.request_uri == "/oauth2/v1/token"
    assert event.device_id == "dt:h"
    assert event.api_token_id == "00TTOKEN1"
    assert event.model_extra == {}


def test_normalise_keys_leaves_unknown_keys_and_the_input_alone() -> None:
    raw = {
        "eventtype": "x",
        "p_enrichment": {"ipaddress": "kept"},
        "target": [{"id": "t", "detailEntry": {"ID": "kept"}}],
        "custom_field": 1,
    }
    snapshot = json.loads(json.dumps(raw))

    out = normalise_keys(raw)

    assert out == {
        "eventType": "x",
        "p_enrichment": {"ipaddress": "kept"},
        "target": [{"id": "t", "detailEntry": {"ID": "kept"}}],
        "custom_field": 1,
    }
    assert raw == snapshot


def test_camel_case_wins_when_both_spellings_are_present() -> None:
    out = normalise_keys({"eventType": "real", "eventtype": "copy"})

    assert out == {"eventType": "real", "eventtype": "copy"}


def test_already_normalised_events_are_returned_unchanged() -> None:
    event = make_event()

    assert normalise_keys(event) is event


def test_missing_uuid_gets_a_stable_derived_one(tmp_path: Path) -> None:
    record = make_event()
    del record["uuid"]
    path = tmp_path / "no-uuid.jsonl"
    path.write_bytes(jsonl(record, {**record, "eventType": "user.session.end"}))

    first, _ = read_file(path)
    second, _ = read_file(path)

    assert [e.uuid for e in first] == [e.uuid for e in second]
    assert first[0].uuid != first[1].uuid
    assert str(first[0].uuid).count("-") == 4


def test_derived_uuid_ignores_key_case_placeholders_and_vendor_fields() -> None:
    record = make_event()
    del record["uuid"]
    lowered = {k.lower(): v for k, v in record.items()}

    ids = {
        parse_event(record).uuid,
        parse_event({**record, "uuid": "redacted"}).uuid,
        parse_event({**record, "uuid": "XXXXXXXXXXXXXXXX"}).uuid,
        parse_event({**lowered, "p_parse_time": "2026-03-01 10:05:00"}).uuid,
        stable_uuid(record),
    }

    assert len(ids) == 1


def test_redacted_published_becomes_none() -> None:
    assert parse_event(make_event(published="redacted")).published is None


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2022-06-22 18:18:29.015", datetime(2022, 6, 22, 18, 18, 29, 15000, UTC)),
        ("2024-08-15 15:05:09.154000000", datetime(2024, 8, 15, 15, 5, 9, 154000, UTC)),
        ("2020-02-14T22:18:51.843Z", datetime(2020, 2, 14, 22, 18, 51, 843000, UTC)),
    ],
)
def test_published_formats(published: str, expected: datetime) -> None:
    assert parse_event(make_event(published=published)).published == expected


def test_numbers_where_okta_writes_text_are_repaired() -> None:
    record = make_event(
        request={
            "ipChain": [
                {"ip": "10.0.0.1", "geographicalContext": {"postalCode": 10013}}
            ]
        }
    )

    event = parse_event(record)

    assert event.request is not None and event.request.ipChain is not None
    assert event.request.ipChain[0].geographicalContext.postalCode == "10013"  # type: ignore[union-attr]
    assert record["request"]["ipChain"][0]["geographicalContext"]["postalCode"] == 10013


def test_empty_string_where_okta_writes_an_object_is_null() -> None:
    event = parse_event(make_event(debugContext={"debugData": ""}))

    assert event.debug_data == {}


# What is and is not an event


def test_panther_bare_stub_is_an_event() -> None:
    event = parse_event({"eventType": "logout", "p_log_type": "Okta.SystemLog"})

    assert isinstance(event, LogEvent)
    assert event.eventType == "logout"
    assert event.published is None


def test_flattened_query_row_is_not_an_event() -> None:
    row = {
        "eventType": "system.api_token.create",
        "sourceIP": "203.0.113.50",
        "result": "OK",
    }

    expected = r"flattened SIEM/query row.*result, sourceIP"
    with pytest.raises(InvalidEvent, match=expected):
        parse_event(row)


def test_a_record_without_event_type_is_not_an_event() -> None:
    expected = r"no eventType \(keys: p_enrichment, p_log_type\)"
    with pytest.raises(InvalidEvent, match=expected):
        parse_event({"p_log_type": "Okta.SystemLog", "p_enrichment": {}})


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (make_event(actor="someone"), r"field actor: .*\(got a string\)"),
        (make_event(eventType=5), "eventType must be a string, got a number"),
        (make_event(eventType=" "), "eventType is empty"),
        (make_event(uuid=7), "field uuid: must be a string, got a number"),
        (make_event(target={"id": "x"}), r"field target: .*\(got an object\)"),
        (make_event(published="yesterday"), "field published"),
        ([make_event()], "not a JSON object but an array"),
        (
            {"eventType": "com.okta.event_hook", "data": {"events": []}},
            "an Event Hook envelope, not an event",
        ),
    ],
)
def test_wrong_types_name_the_field(record: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        parse_event(record)


def test_unknown_fields_are_kept() -> None:
    event = parse_event(make_event(newOktaField={"a": 1}))

    assert event.model_extra == {"newOktaField": {"a": 1}}


def test_a_truncated_gzip_with_a_damaged_first_line_keeps_the_events_before_the_cut(
    tmp_path: Path,
) -> None:
    events = [make_event(uuid=f"evt-{n}") for n in range(40)]
    text = b'{"eventType": oops\n' + b"".join(orjson.dumps(e) + b"\n" for e in events)
    packed = gzip.compress(text)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 3 // 4])

    read, report = read_file(path)

    assert 0 < len(read) < 40
    assert [e.uuid for e in read] == [f"evt-{n}" for n in range(len(read))]
    reasons = [entry.reason for entry in report.entries]
    assert reasons[0].startswith("not JSON")
    assert "corrupt or truncated" in reasons[-1]


def test_a_damaged_first_line_does_not_hold_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    events = [make_event(uuid=f"evt-{n}") for n in range(5)]
    path.write_bytes(b'{"eventType": oops\n\n' + jsonl(*events))

    def whole_file(_stream):
        raise AssertionError("the reader held the whole file as one document")

    monkeypatch.setattr("events.readers._read_rest", whole_file)
    read, report = read_file(path)

    assert [e.uuid for e in read] == [f"evt-{n}" for n in range(5)]
    assert [(e.line, e.reason[:9]) for e in report.entries] == [(1, "not JSON:")]


OPEN_ENVELOPE = b'{"eventType": "com.okta.event_hook", "data": {"events": [\n'


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        pytest.param(
            lambda events: b'{"eventType": "com.okta.event_hook", "data":\n'
            + orjson.dumps({"events": events})
            + b"\n}\n",
            3,
            id="data on the second line",
        ),
        pytest.param(
            lambda events: OPEN_ENVELOPE
            + b",\n".join(orjson.dumps(e) for e in events)
            + b"\n]}}\n",
            3,
            id="one event a line",
        ),
        pytest.param(
            lambda events: OPEN_ENVELOPE
            + orjson.dumps(events[0])
            + b"\n]}}\n",
            1,
            id="a single event on its own line",
        ),
    ],
)
def test_an_envelope_spread_over_lines_is_one_document(
    tmp_path: Path, layout, expected
) -> None:
    events = [make_event(uuid=f"h-{n}") for n in range(3)]
    path = tmp_path / "hook.json"
    path.write_bytes(layout(events))

    read, report = read_file(path)

    assert [e.uuid for e in read] == [f"h-{n}" for n in range(expected)]
    assert report.entries == []


def test_a_pretty_object_whose_first_line_holds_a_key_is_one_document(
    tmp_path: Path,
) -> None:
    path = tmp_path / "event.json"
    text = json.dumps(make_event(uuid="p-1"), indent=2)
    path.write_text(text.replace("{\n  ", "{", 1))

    read, report = read_file(path)

    assert [e.uuid for e in read] == ["p-1"]
    assert report.entries == []


@pytest.mark.parametrize("indent", [None, 2], ids=["compact", "pretty"])
def test_a_truncated_array_keeps_its_whole_elements(tmp_path: Path, indent) -> None:
    events = [make_event(uuid=f"a-{n}") for n in range(50)]
    text = json.dumps(events, indent=indent).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(text[: len(text) - 300])

    read, report = read_file(path)

    assert 40 < len(read) < 50
    assert [e.uuid for e in read] == [f"a-{n}" for n in range(len(read))]
    [rejected] = report.entries
    assert rejected.reason.startswith(f"JSON array broken after element [{len(read) - 1}]")


def test_text_after_an_array_is_quarantined_and_the_array_read(tmp_path: Path) -> None:
    events = [make_event(uuid=f"a-{n}") for n in range(3)]
    path = tmp_path / "tail.json"
    path.write_bytes(json.dumps(events).encode() + b" trailing words")

    read, report = read_file(path)

    assert [e.uuid for e in read] == ["a-0", "a-1", "a-2"]
    assert [e.reason for e in report.entries] == [
        "JSON array broken after element [2]: text after the array's closing bracket"
    ]


def test_rejected_array_elements_carry_the_line_the_document_starts_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "page.json"
    records = [make_event(uuid=f"c-{n}") for n in range(5)] + [{"no": "event"}]
    path.write_text("\n\n" + json.dumps(records, indent=2))

    _events, report = read_file(path)

    (entry,) = report.entries
    assert entry.line == 3
    assert "array element [5] (0-based)" in entry.reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_exports_are_read(tmp_path: Path, encoding: str) -> None:
    # PowerShell's Out-File writes UTF-16 with a byte-order mark.
    text = jsonl(*(make_event(uuid=f"w-{n}", displayMessage="Café") for n in range(3)))
    mark = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path = tmp_path / "export.jsonl"
    path.write_bytes(mark + text.decode("utf-8").encode(encoding))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["w-0", "w-1", "w-2"]
    assert events[0].displayMessage == "Café"
    assert report.quarantined == 0


def test_gzip_inside_gzip_is_read(tmp_path: Path) -> None:
    path = tmp_path / "twice.jsonl.gz"
    path.write_bytes(gzip.compress(gzip.compress(jsonl(make_event(uuid="g-1")))))

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["g-1"]
    assert report.quarantined == 0


def test_pretty_printed_documents_one_after_another_are_read(tmp_path: Path) -> None:
    # What `jq . export.jsonl > events.json` writes.
    documents = [json.dumps(make_event(uuid=f"j-{n}"), indent=2) for n in range(3)]
    broken = '{\n  "eventType": oops\n}'
    path = tmp_path / "events.json"
    path.write_text("\n".join([*documents, broken, documents[0]]) + "\n")
    first_line_of_broken = sum(d.count("\n") + 1 for d in documents) + 1

    events, report = read_file(path)

    assert [e.uuid for e in events] == ["j-0", "j-1", "j-2"]
    (entry,) = report.entries
    assert entry.line == first_line_of_broken
    assert entry.reason.startswith("multi-line JSON document: not JSON")


def test_a_file_named_twice_is_read_once(tmp_path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    events = folder / "events.jsonl"
    events.write_bytes(b"{}\n")

    files = list_input_files([events, folder, events])

    assert files == [events]


def test_an_unreadable_file_is_named_with_the_reason(tmp_path, monkeypatch) -> None:
    locked = tmp_path / "locked.jsonl"
    locked.write_bytes(b"{}\n")
    opened = Path.open

    def refuse(path: Path, *args: Any, **kwargs: Any):
        # Tests may run as root, whom file modes do not stop.
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(
        UnreadableInput, match=f"cannot read input file {locked}: Permission denied"
    ):
        list(read_events([locked], quarantine=None))
