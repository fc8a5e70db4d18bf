"""Read Okta System Log events from files, folders and in-memory payloads.

The content decides the format, never the file name:

* gzip is recognised by its magic bytes and decompressed first;
* then JSON Lines (one value per line), a JSON array, or a single JSON object that
  may be pretty-printed over many lines;
* an Okta Event Hook envelope `{"eventType": "com.okta.event_hook", "data":
  {"events": [...]}}` stands for the events it carries, wherever it appears.

A record that is not an event does not stop the run: it is counted in the
`ReadReport`, logged, and appended to the quarantine file, and reading goes on.
Empty lines are skipped without a trace.
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

import orjson
from pydantic import ValidationError

from credwatch.errors import InvalidEvent, UnreadableInput
from events.lean import LeanEvent, ReadEvent, decode_fields, lean_event, lean_event_of
from events.normalise import (
    VENDOR_PREFIX,
    is_placeholder_uuid,
    normalise_keys,
    repair_type_drift,
    spelled_as_okta,
    stable_uuid,
)
from events.quarantine import QuarantineEntry, QuarantineWriter
from events.schemas import LogEvent
from events.shares import Share

logger = logging.getLogger(__name__)

# Quarantine files are credwatch's own output; read back as input they would be
# quarantined again on every run.
SKIPPED_SUFFIXES = (".md", ".csv", ".yaml", ".yml", ".quarantine.jsonl")
EVENT_HOOK_TYPE = "com.okta.event_hook"

# The report keeps this many entries in memory; the quarantine file keeps them all
# and the counts stay exact.
MAX_REPORTED_ENTRIES = 10_000

_OKTA_TOP_LEVEL = frozenset(LogEvent.model_fields)
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
# Other compressed formats get one clear reason instead of a quarantined line for
# every chunk of binary noise.
_UNREAD_ARCHIVES = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
}
_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
_GZIP_LAYERS = 3
# UTF-32's marks first: UTF-16's little-endian one is a prefix of its own.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LISTED_KEYS = 8
# Okta nests an event about six levels deep. Far deeper values would be refused
# later, when the event is stored (orjson writes at most 254 levels), and would
# then fail the whole delivery they came in; refuse them here, one by one.
MAX_NESTING = 64


class EventParser(Protocol):
    def __call__(self, obj: Any, *, json_text: bytes | None = None) -> ReadEvent: ...


def parse_event(obj: Any, *, json_text: bytes | None = None) -> LogEvent:
    """Read one decoded JSON value as an Okta `LogEvent`, or raise `InvalidEvent`.

    What is an event: a JSON object whose `eventType` (after restoring lower-cased
    key names) is a non-empty string. One exception: a record with none of
    `actor`, `published` and `uuid` that carries top-level keys Okta never writes
    (vendor enrichment `p_*` keys aside) is a flattened SIEM or query row, not an
    event. So Panther's bare `{"eventType": "logout", "p_log_type": ...}` is an
    event, while `{"eventType": ..., "actorId": ..., "sourceIP": ...}` is not.

    An event without a usable `uuid` gets one derived from its content
    (`stable_uuid`). Numbers where Okta writes text and empty strings where it writes
    an object are repaired (`repair_type_drift`); any other wrong type raises
    `InvalidEvent` naming the field.

    `json_text`, the JSON text `obj` was decoded from when the caller has it, spares
    checks that the text answers more cheaply: its keys are text, and a text with
    fewer brackets than the nesting limit cannot nest beyond it.
    """
    return _validate(_prepare(obj, json_text))


def parse_lean_event(
    obj: Any, *, json_text: bytes | None = None
) -> LeanEvent | LogEvent:
    """Read one decoded JSON value for detection only (see `events.lean`).

    The same checks as `parse_event` decide what is an event; then only the fields
    detection reads are checked. An event whose read fields need repair is fully
    validated instead and comes back as a `LogEvent`, or raises `InvalidEvent`.
    """
    event = _prepare(obj, json_text)
    return lean_event(event) or _validate(event)


def _lean_line(line: bytes) -> LeanEvent | None:
    """A JSON line read lean in one pass, when it plainly holds one event in Okta's
    own form; None sends it the general way, which reads, repairs or quarantines it.

    The decoder sees only the fields detection reads, so what `_prepare` checks on
    the whole object is checked here on those: an eventType (spelled as Okta spells
    it) that is not an Event Hook's, a usable uuid, and a text with too few brackets
    to nest beyond the limit, and UTF-8 throughout.
    """
    if _brackets(line) >= MAX_NESTING or not _utf8(line):
        return None
    fields = decode_fields(line)
    if fields is None or fields.uuid is None or is_placeholder_uuid(fields.uuid):
        return None
    event_type = fields.eventType
    if event_type is None or not event_type.strip() or event_type == EVENT_HOOK_TYPE:
        return None
    return lean_event_of(fields)


def _utf8(json_text: bytes) -> bool:
    # The decoder checks the text of the fields it reads only; a line is JSON, and
    # so an event, only if all of it is.
    if json_text.isascii():
        return True
    try:
        json_text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _brackets(json_text: bytes) -> int:
    return json_text.count(b"{") + json_text.count(b"[")


def _prepare(obj: Any, json_text: bytes | None) -> dict[str, Any]:
    """The value as an event object with canonical keys and a usable uuid, or raise."""
    if type(obj) is not dict:
        raise InvalidEvent(f"not a JSON object but {_json_type(obj)}")
    deep = json_text is None or _brackets(json_text) >= MAX_NESTING
    if deep and not _nesting_within(obj, MAX_NESTING):
        raise InvalidEvent(f"nested more than {MAX_NESTING} levels deep")
    if json_text is None and not all(type(key) is str for key in obj):
        # JSON keys are always text; other keys come only from code, not Okta.
        raise InvalidEvent("an object whose keys are not all strings")
    event: dict[str, Any] = obj if spelled_as_okta(obj) else normalise_keys(obj)

    event_type = event.get("eventType")
    if event_type is None:
        raise InvalidEvent(f"no eventType (keys: {_list_keys(event)})")
    if not isinstance(event_type, str):
        raise InvalidEvent(f"eventType must be a string, got {_json_type(event_type)}")
    if not event_type.strip():
        raise InvalidEvent("eventType is empty")
    if event_type == EVENT_HOOK_TYPE:
        raise InvalidEvent("an Event Hook envelope, not an event: read its data.events")
    if "actor" not in event and "published" not in event and "uuid" not in event:
        foreign = [
            k
            for k in event
            if k not in _OKTA_TOP_LEVEL and not k.startswith(VENDOR_PREFIX)
        ]
        if foreign:
            raise InvalidEvent(
                "a flattened SIEM/query row, not an Okta event: no actor, published or "
                f"uuid, and keys Okta never writes ({_list_keys(foreign)})"
            )

    event_id = event.get("uuid")
    if event_id is not None and not isinstance(event_id, str):
        raise InvalidEvent(f"field uuid: must be a string, got {_json_type(event_id)}")
    if is_placeholder_uuid(event_id):
        event = {**event, "uuid": stable_uuid(event)}
    return event


def _validate(event: dict[str, Any]) -> LogEvent:
    try:
        return LogEvent.model_validate(event)
    except ValidationError as exc:
        repaired = repair_type_drift(event, exc.errors())
        if repaired is None:
            raise InvalidEvent(_describe(exc)) from None
    try:
        return LogEvent.model_validate(repaired)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from None


def _nesting_within(node: Any, levels: int) -> bool:
    """Whether no object or array inside `node` lies more than `levels` deep."""
    if levels == 0:
        return False
    values = node.values() if type(node) is dict else node
    for value in values:
        kind = type(value)
        if (kind is dict or kind is list) and not _nesting_within(value, levels - 1):
            return False
    return True


@dataclass(slots=True)
class FileCounts:
    """Events read and records quarantined from one file or payload."""

    events: int = 0
    quarantined: int = 0


@dataclass(slots=True)
class ReadReport:
    """What a read saw. Filled in while the events are consumed."""

    files_read: int = 0
    files_skipped: int = 0
    events: int = 0
    quarantined: int = 0
    per_file: dict[str, FileCounts] = field(default_factory=dict)
    entries: list[QuarantineEntry] = field(default_factory=list)

    def add_share(self, other: ReadReport) -> None:
        """Add what another share of the same read saw (see `events.shares`).

        Every share reads every file, so files are not counted again; events and
        rejects, each booked by one share, are added up.
        """
        self.events += other.events
        self.quarantined += other.quarantined
        for source, counts in other.per_file.items():
            mine = self.per_file.setdefault(source, FileCounts())
            mine.events += counts.events
            mine.quarantined += counts.quarantined
        room = MAX_REPORTED_ENTRIES - len(self.entries)
        self.entries.extend(other.entries[:room])

    def summary(self) -> str:
        return (
            f"{self.events} events from {self.files_read} files, "
            f"{self.quarantined} records quarantined, "
            f"{self.files_skipped} files skipped"
        )


def list_input_files(
    paths: Iterable[str | Path] | str | Path, *, report: ReadReport | None = None
) -> list[Path]:
    """The files a list of input paths stands for, in a deterministic order.

    Files are taken as given; folders are walked recursively in sorted order,
    leaving out names ending in .md, .csv, .yaml or .yml. A file named twice (or
    named and inside a folder also named) is read once, where it first comes. A
    path that does not exist raises `FileNotFoundError`.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
                if candidate.name.lower().endswith(SKIPPED_SUFFIXES):
                    if report is not None:
                        report.files_skipped += 1
                    continue
                files.append(candidate)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"input path {path} does not exist")
    return _first_of_each(files)


def _first_of_each(files: list[Path]) -> list[Path]:
    """The files without repeats of one file, which would only be read twice over."""
    seen: set[Path] = set()
    unique = []
    for path in files:
        real = path.resolve()
        if real in seen:
            logger.info("%s is named more than once in the input; read once", path)
            continue
        seen.add(real)
        unique.append(path)
    return unique


def read_events(
    paths: Iterable[str | Path] | str | Path,
    *,
    quarantine: QuarantineWriter | None,
    report: ReadReport | None = None,
) -> Iterator[LogEvent]:
    """Yield the events in files and folders; quarantine every other record.

    The paths are resolved before the first event is read, so a missing path fails
    at once. `report`, when given, is filled in as the events are consumed.
    """
    report = report if report is not None else ReadReport()
    files = list_input_files(paths, report=report)
    events = _read_files(files, quarantine=quarantine, report=report, parse=parse_event)
    return cast(Iterator[LogEvent], events)


def read_lean_events(
    paths: Iterable[str | Path] | str | Path,
    *,
    quarantine: QuarantineWriter | None,
    report: ReadReport | None = None,
    share: Share | None = None,
) -> Iterator[ReadEvent]:
    """`read_events` for detection only: what is read and quarantined is the same,
    but events come as `LeanEvent`s (see `events.lean`) where their read fields
    allow, which is several times faster.

    With a `share`, only the events of that share's actors are read and counted,
    and only the records that fall to it are quarantined (see `events.shares`).
    """
    report = report if report is not None else ReadReport()
    files = list_input_files(paths, report=report)
    return _read_files(
        files,
        quarantine=quarantine,
        report=report,
        parse=parse_lean_event,
        read_line=_lean_line,
        share=share,
    )


def read_event_objects(
    data: bytes,
    source: str,
    *,
    quarantine: QuarantineWriter | None = None,
    report: ReadReport | None = None,
) -> Iterator[LogEvent]:
    """Yield the events in an in-memory payload (an Event Hook body, an API page).

    The payload is read exactly as a file would be; `source` names it in reports.
    """
    reader = _SourceReader(source, report or ReadReport(), quarantine)
    return cast(Iterator[LogEvent], reader.read(io.BytesIO(data)))


def _read_files(
    files: list[Path],
    *,
    quarantine: QuarantineWriter | None,
    report: ReadReport,
    parse: EventParser,
    read_line: Callable[[bytes], ReadEvent | None] | None = None,
    share: Share | None = None,
) -> Iterator[ReadEvent]:
    for path in files:
        reader = _SourceReader(str(path), report, quarantine, parse, read_line, share)
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise UnreadableInput(
                f"cannot read input file {path}: {exc.strerror}"
            ) from None
        with stream:
            yield from reader.read(stream)


class _SourceReader:
    """Reads one file or payload and books its events and rejects."""

    def __init__(
        self,
        source: str,
        report: ReadReport,
        quarantine: QuarantineWriter | None,
        parse: EventParser = parse_event,
        read_line: Callable[[bytes], ReadEvent | None] | None = None,
        share: Share | None = None,
    ) -> None:
        self.source = source
        self.parse = parse
        # A shortcut for one event on a JSON line; None sends the line the general way.
        self.read_line = read_line
        self.share = share
        # Whether the line being read was routed to this share (events.shares).
        self.routed = False
        self.report = report
        self.quarantine = quarantine
        self.counts = report.per_file.setdefault(source, FileCounts())
        self.last_line = 0

    def read(self, stream: BinaryIO) -> Iterator[ReadEvent]:
        self.report.files_read += 1
        try:
            yield from self._read_content(stream)
        except _STREAM_ERRORS as exc:
            self.routed = False
            self.reject(
                self.last_line + 1,
                "compressed data is corrupt or truncated after line "
                f"{self.last_line}: {exc}",
                b"",
            )
        except UnicodeDecodeError as exc:
            self.routed = False
            self.reject(
                self.last_line + 1,
                f"text in {exc.encoding} is damaged after line {self.last_line}: "
                f"{exc.reason}",
                b"",
            )
        if self.counts.quarantined:
            logger.info(
                "%s: %d events read, %d records quarantined",
                self.source,
                self.counts.events,
                self.counts.quarantined,
            )
        else:
            logger.debug("%s: %d events read", self.source, self.counts.events)

    def _read_content(self, stream: BinaryIO) -> Iterator[ReadEvent]:
        magic = stream.read(6)
        stream.seek(0)
        layers = 0
        while magic.startswith(_GZIP_MAGIC) and layers < _GZIP_LAYERS:
            # Read line by line as decompressed: a truncated file then still
            # gives every event before the damage. Exports are sometimes
            # compressed twice over.
            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            magic = stream.peek(6)[:6]  # type: ignore[attr-defined]
            layers += 1
        for prefix, name in _UNREAD_ARCHIVES.items():
            if magic.startswith(prefix):
                self.reject(1, f"{name}, not JSON (only gzip is decompressed)", b"")
                return
        encoding = _wide_encoding(magic)
        if encoding is not None:
            # Windows tools (PowerShell's Out-File, Notepad) write UTF-16; read the
            # text it holds as the UTF-8 everything else is.
            stream = codecs.EncodedFile(stream, "utf-8", encoding)  # type: ignore[assignment]

        # The first non-blank line tells the formats apart.
        first = stream.readline().removeprefix(_BOM)
        line_no = 1
        while first and first.isspace():
            first = stream.readline()
            line_no += 1
        if not first:
            return
        lead = first.lstrip()[:1]

        held: list[bytes] = []
        damage: Exception | None = None
        if lead == b"{":
            try:
                value = orjson.loads(first)
            except orjson.JSONDecodeError:
                if not _continues(first):
                    held, damage = _next_line(stream)
                if damage is None and held and _one_object(held[-1]):
                    # JSON Lines whose first line is damaged: read on line by line
                    # rather than hold the whole file as one document.
                    lines = itertools.chain([first], held, stream)
                    yield from self._json_lines(lines, line_no)
                    return
            else:
                yield from self._first_line(value, line_no, first)
                yield from self._json_lines(stream, line_no + 1)
                return
        if lead in (b"{", b"["):
            # A value spread over several lines: a pretty-printed object or array.
            if damage is None:
                rest, damage = _read_rest(stream)
                held.append(rest)
            content = first + b"".join(held)
            yield from self._document(content, first, line_no)
            if damage is not None:
                raise damage
            return
        yield from self._json_lines(itertools.chain([first], stream), line_no)

    def _document(
        self, content: bytes, first: bytes, line_no: int
    ) -> Iterator[ReadEvent]:
        """Events from text that starts with a bracket but not with an event line."""
        try:
            value = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            broken_array = first.lstrip()[:1] == b"[" and _parsed(first) is _NOT_JSON
            if broken_array and (cut := _array_until_damage(content)):
                # A truncated or damaged array: its whole elements are events.
                yield from self._damaged_array(content, line_no, *cut)
                return
            if first.strip() in (b"{", b"["):
                # A lone bracket opens a pretty-printed document, or several one
                # after another (as `jq .` prints them).
                yield from self._pretty_documents(content, line_no, exc)
            else:
                yield from self._json_lines(io.BytesIO(content), line_no)
            return
        if type(value) is list:
            yield from self._array(value, line_no)
        else:
            yield from self._value(value, line=line_no, raw=content, where="")

    def _pretty_documents(
        self, content: bytes, line_no: int, error: orjson.JSONDecodeError
    ) -> Iterator[ReadEvent]:
        """Events from pretty-printed JSON documents written one after another; what
        cannot be read is quarantined once, from where reading stopped."""
        documents, stopped = _concatenated_documents(content)
        if not documents:
            reason = _not_json_reason(content, error)
            self.reject(line_no, f"multi-line JSON document: {reason}", content)
            return
        for offset, document in documents:
            self.last_line = line_no + offset
            yield from self._value(document, line=line_no + offset, raw=None, where="")
        if stopped is not None:
            offset, position, reason = stopped
            self.reject(
                line_no + offset,
                f"multi-line JSON document: not JSON: {reason}",
                content[position:],
            )

    def _first_line(self, value: Any, line_no: int, raw: bytes) -> Iterator[ReadEvent]:
        self.last_line = line_no
        yield from self._value(value, line=line_no, raw=raw.rstrip(b"\r\n"), where="")

    def _json_lines(self, lines: Iterable[bytes], start: int) -> Iterator[ReadEvent]:
        for line_no, line in enumerate(lines, start):
            self.last_line = line_no
            if line.isspace():
                continue
            if self.share is not None:
                owner = self.share.line_owner(line)
                if owner is not None and owner != self.share.index:
                    continue
                self.routed = owner is not None
            if self.read_line is not None:
                event = self.read_line(line)
                if event is not None:
                    kept = self._count(event)
                    if kept is not None:
                        yield kept
                    continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self.reject(line_no, _not_json_reason(line, exc), line.rstrip(b"\r\n"))
                continue
            # The common case, one event on a line, stays free of generators.
            if type(value) is dict and value.get("eventType") != EVENT_HOOK_TYPE:
                event = self._parse(value, line_no, line, "", json_text=line)
                if event is not None:
                    yield event
            else:
                yield from self._value(
                    value, line=line_no, raw=line.rstrip(b"\r\n"), where=""
                )

    def _damaged_array(
        self,
        content: bytes,
        line_no: int,
        items: list[tuple[int, Any]],
        stopped: tuple[int, int, str],
    ) -> Iterator[ReadEvent]:
        """The whole elements of an array that breaks off, each on the line it
        starts on; the rest is quarantined once, from where reading stopped."""
        for index, (offset, item) in enumerate(items):
            self.last_line = line_no + offset
            yield from self._value(
                item,
                line=line_no + offset,
                raw=None,
                where=f"array element [{index}] (0-based): ",
            )
        offset, position, reason = stopped
        self.reject(
            line_no + offset,
            f"JSON array broken after element [{len(items) - 1}]: {reason}",
            content[position:],
        )

    def _array(self, items: list[Any], line: int) -> Iterator[ReadEvent]:
        """The events of a JSON array document starting on `line`; the reason of a
        rejected element names its index."""
        for index, item in enumerate(items):
            yield from self._value(
                item, line=line, raw=None, where=f"array element [{index}] (0-based): "
            )

    def _value(
        self, value: Any, *, line: int, raw: bytes | None, where: str
    ) -> Iterator[ReadEvent]:
        """Events from a value that is an event, an envelope or (on a line) an array."""
        if type(value) is list and not where:
            for index, item in enumerate(value):
                yield from self._value(
                    item,
                    line=line,
                    raw=None,
                    where=f"array element [{index}] on the line: ",
                )
            return
        if type(value) is dict and value.get("eventType") == EVENT_HOOK_TYPE:
            data = value.get("data")
            events = data.get("events") if isinstance(data, dict) else None
            if not isinstance(events, list):
                self.reject(
                    line, f"{where}Event Hook envelope without a data.events list", raw
                )
                return
            for index, item in enumerate(events):
                event = self._parse(
                    item, line, None, f"{where}Event Hook data.events[{index}]: "
                )
                if event is not None:
                    yield event
            return
        event = self._parse(value, line, raw, where)
        if event is not None:
            yield event

    def _parse(
        self,
        value: Any,
        line: int,
        raw: bytes | None,
        where: str,
        *,
        json_text: bytes | None = None,
    ) -> ReadEvent | None:
        try:
            event = self.parse(value, json_text=json_text)
        except InvalidEvent as exc:
            self.reject(line, f"{where}{exc}", raw if raw is not None else _dump(value))
            return None
        return self._count(event)

    def _count(self, event: ReadEvent) -> ReadEvent | None:
        """Book the event as read; None when it belongs to another share."""
        share = self.share
        if share is not None and not self.routed and not share.owns(event.actor_id):
            return None
        self.counts.events += 1
        self.report.events += 1
        return event

    def reject(self, line: int, reason: str, raw: bytes | None) -> None:
        share = self.share
        if share is not None and not (self.routed or share.keeps_rejects):
            return
        entry = QuarantineEntry(source=self.source, line=line, reason=reason)
        self.counts.quarantined += 1
        self.report.quarantined += 1
        if len(self.report.entries) < MAX_REPORTED_ENTRIES:
            self.report.entries.append(entry)
        if self.quarantine is not None:
            self.quarantine.write(entry, record=raw.rstrip(b"\r\n") if raw else b"")
        logger.debug("quarantined %s line %d: %s", self.source, line, reason)


def _concatenated_documents(
    content: bytes,
) -> tuple[list[tuple[int, Any]], tuple[int, int, str] | None]:
    """The JSON documents of `content` written one after another, each with the line
    it starts on (0-based); and, when reading stopped before the end, that line, the
    byte offset and why. A single document or none at all reads as none: the caller
    reports the text as one broken document then."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [], None
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    documents: list[tuple[int, Any]] = []
    position = line = 0
    while True:
        start = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        line += text.count("\n", position, start)
        if start == len(text):
            break
        try:
            document, end = decoder.raw_decode(text, start)
        except ValueError as exc:
            if len(documents) < 1:
                return [], None
            return documents, (line, len(text[:start].encode("utf-8")), str(exc))
        documents.append((line, document))
        line += text.count("\n", start, end)
        position = end
    return (documents, None) if len(documents) > 1 else ([], None)


def _array_until_damage(
    content: bytes,
) -> tuple[list[tuple[int, Any]], tuple[int, int, str]] | None:
    """The elements of a JSON array that breaks off, each with the line it starts on
    (0-based), and where and why reading stopped; None when not even one element
    is whole (the caller reports the text as one broken document then)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    items: list[tuple[int, Any]] = []
    position = _WHITESPACE.match(text).end() + 1  # type: ignore[union-attr]
    line = text.count("\n", 0, position)
    while True:
        start = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        line += text.count("\n", position, start)
        try:
            item, end = decoder.raw_decode(text, start)
        except ValueError as exc:
            reason = str(exc)
            break
        items.append((line, item))
        line += text.count("\n", start, end)
        start = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        line += text.count("\n", end, start)
        if start < len(text) and text[start] == ",":
            position = start + 1
            continue
        if start < len(text) and text[start] == "]":
            start += 1
            reason = "text after the array's closing bracket"
        else:
            reason = "the array ends without its closing bracket"
        break
    if not items:
        return None
    return items, (line, len(text[:start].encode("utf-8")), reason)


def _refuse_constant(name: str) -> Any:
    # Python's reader accepts NaN and Infinity; JSON, and Okta, have neither.
    raise ValueError(f"{name} is not JSON")


_WHITESPACE = re.compile(r"\s*")


def _wide_encoding(magic: bytes) -> str | None:
    """The encoding a byte-order mark names, for the UTF-16 and UTF-32 ones."""
    for mark, encoding in _WIDE_BOMS:
        if magic.startswith(mark):
            return encoding
    return None


def _read_rest(stream: BinaryIO) -> tuple[bytes, Exception | None]:
    """The rest of the stream, as far as it reads, and the damage that stopped it
    (a truncated gzip), so that what came before is not lost."""
    chunks = []
    try:
        for line in stream:
            chunks.append(line)
    except _STREAM_ERRORS as exc:
        return b"".join(chunks), exc
    return b"".join(chunks), None


def _next_line(stream: BinaryIO) -> tuple[list[bytes], Exception | None]:
    """The lines up to and including the next one that is not blank, and the damage
    that stopped the reading, if any."""
    lines = []
    try:
        for line in stream:
            lines.append(line)
            if not line.isspace():
                break
    except _STREAM_ERRORS as exc:
        return lines, exc
    return lines, None


def _continues(line: bytes) -> bool:
    """Whether the line ends where a value must go on (after `{`, `[`, `,` or `:`),
    as the first line of a multi-line document does."""
    return line.rstrip()[-1:] in (b"{", b"[", b",", b":")


def _one_object(line: bytes) -> bool:
    """Whether the line holds a whole JSON object, as a line of JSON Lines does (a
    line inside a pretty-printed document seldom does)."""
    return line.lstrip()[:1] == b"{" and type(_parsed(line)) is dict


_NOT_JSON = object()


def _parsed(line: bytes) -> Any:
    """The JSON value the line holds on its own, or `_NOT_JSON`."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _not_json_reason(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})"
    return f"not JSON: {exc}"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(step) for step in error["loc"]) or "event"
        parts.append(
            f"field {where}: {error['msg']} (got {_json_type(error['input'])})"
        )
    if exc.error_count() > 3:
        parts.append(f"and {exc.error_count() - 3} more")
    return "; ".join(parts)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _list_keys(keys: Iterable[str]) -> str:
    names = sorted(keys)
    shown = ", ".join(names[:_LISTED_KEYS])
    if len(names) > _LISTED_KEYS:
        shown += f", ... ({len(names)} keys)"
    return shown or "none"


def _dump(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return repr(value).encode("utf-8", "backslashreplace")
