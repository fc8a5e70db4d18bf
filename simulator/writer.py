"""Output files: time-sorted event streams, labels, the deployment map.

Events arrive day by day, slightly out of order (a person's local day spans two UTC
days; scenarios add events late). `EventSink` holds them until no later day can
add an earlier event, then writes them sorted by `published` and `uuid`, so memory
stays at about two days of traffic whatever the length of the simulation.
"""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson
import yaml

from simulator.events import Event
from simulator.plan import Label

_ORDER = itemgetter(0, 1)


class EventSink:
    """Writes events in [start, end) to history (before `split`) or test files."""

    def __init__(self, *, out: Path, start: int, split: int, end: int) -> None:
        self._start, self._split, self._end = start, split, end
        self._history: IO[bytes] = (out / "history.jsonl").open("wb")
        self._test: IO[bytes] = (out / "test.jsonl").open("wb")
        self._pending: list[Event] = []
        self.history_count = 0
        self.test_count = 0

    def add(self, events: list[Event]) -> None:
        self._pending.extend(events)

    def flush(self, *, before: int | None) -> None:
        """Write every held event earlier than `before` (all of them if None)."""
        pending = self._pending
        pending.sort(key=_ORDER)
        if before is None:
            cut = len(pending)
        else:
            cut = next(
                (i for i, e in enumerate(pending) if e[0] >= before), len(pending)
            )
        ready, self._pending = pending[:cut], pending[cut:]

        dumps = orjson.dumps
        history: list[bytes] = []
        test: list[bytes] = []
        for ts, _, event in ready:
            if ts < self._start or ts >= self._end:
                continue  # spill-over of a local day beyond the simulated period
            (history if ts < self._split else test).append(dumps(event))
        self.history_count += _write_lines(self._history, history)
        self.test_count += _write_lines(self._test, test)

    def close(self) -> None:
        self.flush(before=None)
        self._history.close()
        self._test.close()


def _write_lines(stream: IO[bytes], lines: list[bytes], batch: int = 20_000) -> int:
    """Write lines in batches: one join per batch, not one copy of a whole day."""
    for begin in range(0, len(lines), batch):
        stream.write(b"\n".join(lines[begin : begin + batch]) + b"\n")
    return len(lines)


def write_labels(path: Path, labels: list[Label]) -> int:
    ordered = sorted(labels, key=lambda x: (x.start, x.identity_id, x.scenario))
    path.write_bytes(
        b"".join(orjson.dumps(label.as_dict()) + b"\n" for label in ordered)
    )
    return len(ordered)


def write_deployment_map(path: Path, document: dict[str, Any], *, seed: int) -> None:
    header = f"# Deployment map of the simulated organisation (seed {seed}).\n"
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=88)
    path.write_text(header + body, encoding="utf-8")
