"""The quarantine file: lazily created, one JSON line per record, path rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from credwatch.settings import Settings
from events.quarantine import (
    RECORD_LIMIT_BYTES,
    QuarantineEntry,
    QuarantineWriter,
    quarantine_path_for,
)
from events.readers import read_events


def test_no_file_is_created_when_nothing_is_quarantined(tmp_path: Path) -> None:
    events_file = tmp_path / "ok.jsonl"
    events_file.write_bytes(b'{"eventType": "user.session.start", "uuid": "u1"}\n')
    target = tmp_path / "out" / "run.quarantine.jsonl"

    with QuarantineWriter(target) as quarantine:
        events = list(read_events([events_file], quarantine=quarantine))

    assert len(events) == 1
    assert quarantine.count == 0
    assert not target.exists()
    assert not target.parent.exists()


def test_entries_are_appended_with_source_line_reason_and_record(
    tmp_path: Path,
) -> None:
    target = tmp_path / "q" / "run.jsonl"

    with QuarantineWriter(target) as quarantine:
        quarantine.write(QuarantineEntry("a.jsonl", 3, "not JSON"), record=b"{oops")
        quarantine.write(QuarantineEntry("b.jsonl", 9, "not UTF-8"), record=b"\xff\xfe")
    with QuarantineWriter(target) as again:
        again.write(QuarantineEntry("c.json", 1, "no eventType"), record='{"a": 1}')

    lines = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    assert lines == [
        {"source": "a.jsonl", "line": 3, "reason": "not JSON", "record": "{oops"},
        {"source": "b.jsonl", "line": 9, "reason": "not UTF-8", "record": "\\xff\\xfe"},
        {"source": "c.json", "line": 1, "reason": "no eventType", "record": '{"a": 1}'},
    ]
    assert quarantine.count == 2
    assert again.count == 1


def test_long_records_are_cut_at_64_kib(tmp_path: Path) -> None:
    target = tmp_path / "q.jsonl"

    with QuarantineWriter(target) as quarantine:
        quarantine.write(QuarantineEntry("big", 1, "too big"), record=b"x" * 200_000)

    line = orjson.loads(target.read_bytes())
    assert RECORD_LIMIT_BYTES == 64 * 1024
    assert len(line["record"]) == RECORD_LIMIT_BYTES
    assert line["truncated"] is True


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("detections.jsonl", "detections.quarantine.jsonl"),
        ("detections.jsonl.gz", "detections.quarantine.jsonl"),
        ("results", "results.quarantine.jsonl"),
        ("scores.json", "scores.quarantine.jsonl"),
    ],
)
def test_quarantine_sits_next_to_the_output(
    tmp_path: Path, out: str, expected: str
) -> None:
    settings = Settings(home=tmp_path / "home")

    assert quarantine_path_for(tmp_path / out, settings) == tmp_path / expected


def test_without_output_quarantine_goes_under_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    moment = datetime(2026, 3, 1, 10, 2, 11, 123456, UTC)

    path = quarantine_path_for(None, settings, now=moment)

    assert path == settings.quarantine_dir / "20260301T100211.123456Z.jsonl"
