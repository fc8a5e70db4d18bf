"""Where records that are not Okta events go, so they are reported instead of lost.

Each quarantined record becomes one JSON line
`{"source": ..., "line": ..., "reason": ..., "record": ...}`; `record` holds the raw
text (cut at 64 KiB, with `"truncated": true` added when cut). The file is created
on the first record, so a clean run leaves no empty file behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from credwatch.settings import Settings

logger = logging.getLogger(__name__)

RECORD_LIMIT_BYTES = 64 * 1024

# Suffixes dropped from `--out` before adding ".quarantine.jsonl", so that
# `detections.jsonl` gets `detections.quarantine.jsonl` next to it.
_OUTPUT_SUFFIXES = (".gz", ".jsonl", ".ndjson", ".json")


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One record that was not read as an event: where it was and why not.

    `line` is the line number for JSON Lines, the 0-based element index for a JSON
    array (the reason says so) and 1 for a single JSON object.
    """

    source: str
    line: int
    reason: str


class QuarantineWriter:
    """Appends quarantined records to a JSON Lines file, created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._file: IO[bytes] | None = None

    def write(self, entry: QuarantineEntry, *, record: bytes | str) -> None:
        """Append one quarantined record with its raw text."""
        raw = (
            record.encode("utf-8", "surrogateescape")
            if isinstance(record, str)
            else record
        )
        truncated = len(raw) > RECORD_LIMIT_BYTES
        line: dict[str, Any] = {
            "source": entry.source,
            "line": entry.line,
            "reason": entry.reason,
            # backslashreplace keeps bytes that are not UTF-8 visible as \xNN.
            "record": raw[:RECORD_LIMIT_BYTES].decode("utf-8", "backslashreplace"),
        }
        if truncated:
            line["truncated"] = True

        self._append(orjson.dumps(line) + b"\n")

    def write_records(self, lines: list[bytes]) -> None:
        """Append records another writer wrote (its file's lines, as they are)."""
        for line in lines:
            self._append(line if line.endswith(b"\n") else line + b"\n")

    def _append(self, line: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            logger.info("quarantining records that are not events to %s", self.path)
        self._file.write(line)
        # Flushed per record so the file is complete even if the run is killed.
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def quarantine_path_for(
    out: Path | None, settings: Settings, *, now: datetime | None = None
) -> Path:
    """The quarantine file of a run.

    Next to the command's `--out` as `<output>.quarantine.jsonl`; without `--out`,
    `$CREDWATCH_HOME/quarantine/<UTC timestamp>.jsonl`.
    """
    if out is not None:
        out = Path(out)
        stem = out.name
        for suffix in _OUTPUT_SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
        return out.with_name(f"{stem}.quarantine.jsonl")

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return settings.quarantine_dir / f"{moment:%Y%m%dT%H%M%S.%fZ}.jsonl"
