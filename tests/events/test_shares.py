"""Reading in shares: together the shares read every event once and quarantine
every other record once, whatever the input looks like."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from events.readers import ReadReport, read_lean_events
from events.shares import Share
from tests.builders import build_event
from tests.reading_checks import shared_okta_dir


def _event(actor: str, uuid: str, **overrides: Any) -> dict[str, Any]:
    event = build_event(actor_id=actor, uuid=uuid).model_dump(
        mode="json", exclude_none=True
    )
    return {**event, **overrides}


def _line(value: Any) -> bytes:
    return orjson.dumps(value) + b"\n"


def _hostile_files(folder: Path) -> list[Path]:
    """Records that route oddly: no actor, an envelope naming its own actor, keys
    spelled otherwise, arrays, damage."""
    lines = [
        _line(_event("00uA", "u-1")),
        _line(_event("00uE", "u-2")),
        b"not json at all\n",
        _line({**_event("00uA", "u-3"), "actor": None}),
        _line({**_event("00uA", "u-4"), "actor": {"id": ""}}),
        _line({**_event("00uC", "u-5"), "actor": {"id": 7}}),
        _line(
            {
                "eventType": "com.okta.event_hook",
                "actor": {"id": "00uHOOK"},
                "data": {"events": [_event("00uA", "u-6"), _event("00uE", "u-7")]},
            }
        ),
        _line([_event("00uE", "u-8"), _event("00uC", "u-9")]),
        _line({k.upper(): v for k, v in _event("00uC", "u-10").items()}),
        b'{"eventType": "user.session.start", "actor": {"id": "00uA"}, "uuid": \n',
        _line({"uuid": "u-11", "actor": {"id": "00uE"}}),
        b"\xff\xfe not text\n",
        _line(_event("00uD", "u-12")),
    ]
    plain = folder / "odd.jsonl"
    plain.write_bytes(b"".join(lines))
    truncated = folder / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress(b"".join(lines))[:-40])
    return [plain, truncated]


def _read(paths: list[Path], share: Share | None) -> tuple[list[Any], ReadReport]:
    report = ReadReport()
    events = list(read_lean_events(paths, quarantine=None, report=report, share=share))
    return events, report


def _keys(events: list[Any]) -> Counter:
    return Counter((event.uuid, event.actor_id, event.eventType) for event in events)


@pytest.mark.parametrize("count", [2, 3])
def test_shares_together_read_what_one_reader_reads(tmp_path, count) -> None:
    paths = [shared_okta_dir(), *_hostile_files(tmp_path)]
    whole, whole_report = _read(paths, None)

    parts = [_read(paths, Share(index, count)) for index in range(count)]
    merged = ReadReport()
    for _events, report in parts:
        merged.add_share(report)

    assert sum((_keys(events) for events, _ in parts), Counter()) == _keys(whole)
    assert merged.events == whole_report.events == len(whole)
    assert merged.quarantined == whole_report.quarantined > 0
    assert Counter((e.source, e.line, e.reason) for e in merged.entries) == Counter(
        (e.source, e.line, e.reason) for e in whole_report.entries
    )
    assert {
        source: (c.events, c.quarantined) for source, c in merged.per_file.items()
    } == {
        source: (c.events, c.quarantined) for source, c in whole_report.per_file.items()
    }


def test_each_event_falls_to_the_share_of_its_actor(tmp_path) -> None:
    paths = _hostile_files(tmp_path)
    in_envelope = {"u-6", "u-7"}
    for index in range(3):
        share = Share(index, 3)
        events, _ = _read(paths, share)
        for event in events:
            if event.uuid in in_envelope:
                # An envelope that names an actor of its own is routed by it, and
                # its events go with it (learning notices, see training/parallel.py).
                assert zlib.crc32(b"00uHOOK") % 3 == index
            else:
                assert share.owns(event.actor_id), (event.uuid, event.actor_id)


def test_a_share_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="share 2 of 2"):
        Share(2, 2)
