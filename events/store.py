"""An append-only store of the events credwatch has read.

Layout under the root (normally `settings.events_dir`):

    <root>/<YYYY-MM-DD>/<write time>-<seq>-<random>.jsonl.gz
    <root>/undated/...

One folder per UTC day of `published`; events without a `published` go to
`undated`. Every append writes new gzip JSON Lines files and never touches existing
ones. Each file is written under a temporary name and renamed into place, so a
reader never sees half a file. A line holds the event as credwatch normalised it
(camelCase keys, a `uuid` always present, every unknown field kept), which reads
back into an equal `LogEvent`.

Duplicates are dropped by `uuid` within one append only; the same event appended
twice in separate calls is stored twice.
"""

from __future__ import annotations

import gzip
import logging
import os
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from credwatch.errors import InvalidEvent
from credwatch.settings import Settings
from events.readers import parse_event
from events.schemas import LogEvent

logger = logging.getLogger(__name__)

UNDATED = "undated"
PART_SUFFIX = ".jsonl.gz"

# Events buffered before the buffers are written out as part files; bounds memory
# and open files however many days one append spans.
_CHUNK_EVENTS = 50_000
# Fast compression: the store is written on every read of new events.
_COMPRESS_LEVEL = 5


class EventStore:
    """Day-partitioned gzip JSON Lines files of normalised events."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Settings) -> EventStore:
        return cls(settings.events_dir)

    def append(self, events: Iterable[LogEvent]) -> int:
        """Store `events`, skipping repeats of a uuid within this call.

        Returns the number of events written.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        seen: set[str] = set()
        buffers: dict[str, list[bytes]] = defaultdict(list)
        buffered = written = duplicates = chunk = 0

        for event in events:
            if event.uuid in seen:
                duplicates += 1
                continue
            seen.add(event.uuid)
            line = orjson.dumps(event.model_dump(mode="json", exclude_unset=True))
            buffers[_partition_of(event.published)].append(line)
            buffered += 1
            if buffered >= _CHUNK_EVENTS:
                chunk += 1
                written += self._flush(buffers, f"{stamp}-{chunk:04d}")
                buffered = 0
        if buffered:
            chunk += 1
            written += self._flush(buffers, f"{stamp}-{chunk:04d}")

        logger.info(
            "stored %d events under %s (%d duplicate uuids dropped)",
            written,
            self.root,
            duplicates,
        )
        return written

    def read(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogEvent]:
        """Yield stored events with `since <= published < until`.

        Naive datetimes are taken as UTC. Undated events are yielded only when
        neither bound is given. Order: day by day, then in the order written; the
        events of one day are not sorted by time.
        """
        since = _as_utc(since)
        until = _as_utc(until)
        for partition in self._partitions(since=since, until=until):
            for path in sorted(partition.glob(f"*{PART_SUFFIX}")):
                if path.name.startswith("."):
                    continue
                for event in _read_part(path):
                    published = event.published
                    if since is not None and (published is None or published < since):
                        continue
                    if until is not None and (published is None or published >= until):
                        continue
                    yield event

    def _partitions(
        self, *, since: datetime | None, until: datetime | None
    ) -> list[Path]:
        if not self.root.is_dir():
            return []
        dated: list[tuple[date, Path]] = []
        undated: list[Path] = []
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            if folder.name == UNDATED:
                undated.append(folder)
                continue
            try:
                day = date.fromisoformat(folder.name)
            except ValueError:
                logger.warning(
                    "ignoring %s: not a day partition of the event store", folder
                )
                continue
            if since is not None and day < since.date():
                continue
            if until is not None and day > until.date():
                continue
            dated.append((day, folder))

        chosen = [folder for _, folder in sorted(dated)]
        if since is None and until is None:
            chosen.extend(undated)
        return chosen

    def _flush(self, buffers: dict[str, list[bytes]], name: str) -> int:
        written = 0
        for partition, lines in sorted(buffers.items()):
            if not lines:
                continue
            folder = self.root / partition
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"{name}-{secrets.token_hex(4)}{PART_SUFFIX}"
            temporary = folder / f".{final.name}.tmp"
            with gzip.open(temporary, "wb", compresslevel=_COMPRESS_LEVEL) as out:
                out.write(b"\n".join(lines) + b"\n")
            os.replace(temporary, final)
            written += len(lines)
        buffers.clear()
        return written


def _partition_of(published: datetime | None) -> str:
    if published is None:
        return UNDATED
    return published.astimezone(UTC).date().isoformat()


def _read_part(path: Path) -> Iterator[LogEvent]:
    with gzip.open(path, "rb") as lines:
        for line_no, line in enumerate(lines, 1):
            if line.isspace():
                continue
            # The store holds only what append wrote; a bad line is damage to
            # report, not input to quarantine.
            try:
                yield parse_event(orjson.loads(line))
            except (orjson.JSONDecodeError, InvalidEvent) as exc:
                raise InvalidEvent(
                    f"event store file {path} line {line_no}: {exc}"
                ) from exc


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
