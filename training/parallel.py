"""Learning from files on several cores, each process taking a share of identities.

Baselines and windows are per identity, so the input is split by actor
(`events.shares`): every process reads all the files but decodes and learns only
its share's events. The parent puts the windows back in the order one pass over
all events would have made them and fits the model once, so the detector is the
one a single process makes (tests/training/test_parallel.py). Where two windows of
different identities begin with the same uuid at the same moment (a forged copy),
their order, and so the forest's sample, may differ from a single pass.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import orjson

from credwatch.errors import QuarantineLost
from events.quarantine import QuarantineWriter
from events.readers import ReadReport, list_input_files, read_lean_events
from events.shares import Share
from features.deployment import DeploymentMap
from features.identity import IdentityResolver
from training.fit import Learned, LearnedWindow, learn_windows
from training.processes import Progress, report_progress, run_in_processes

logger = logging.getLogger(__name__)

# Starting a process and importing the stack in it takes a second or two; below
# this much input one process finishes first.
PARALLEL_FROM_BYTES = 64 * 1024 * 1024
# Every process reads every line and finds its actor (a small decode, about a fifth
# of reading the event), so past a few processes that part outweighs the rest.
MAX_AUTO_WORKERS = 4
# Events a process reads between updates of the shared progress count.
PROGRESS_EVERY = 2_000

_GZIP_MAGIC = b"\x1f\x8b"
# How much of a file's start tells whether it is JSON Lines.
_SNIFFED_BYTES = 1024 * 1024


def workers_for(paths: Sequence[Path], configured: int = 0) -> int:
    """How many processes should learn from `paths`: `configured` when set (above 0),
    else one per core up to `MAX_AUTO_WORKERS` for large inputs and one for small.

    Only JSON Lines split between processes; a JSON array or a pretty-printed
    document would be parsed whole by every one, so such input gets one process.
    """
    if configured > 0:
        return configured
    files = list_input_files(paths)
    if not all(_json_lines_file(path) for path in files):
        return 1
    if sum(_text_size(path) for path in files) < PARALLEL_FROM_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))


def _json_lines_file(path: Path) -> bool:
    """Whether the file's first non-blank line is a JSON object on its own. Only the
    file's start is read: a line longer than that is no event line."""
    try:
        with _open_text(path) as stream:
            start = stream.read(_SNIFFED_BYTES)
    except (OSError, EOFError):
        return False
    lines = start.lstrip().split(b"\n", 1)
    if not lines[0]:
        return True
    if len(lines) == 1 and len(start) == _SNIFFED_BYTES:
        return False
    try:
        return type(orjson.loads(lines[0])) is dict
    except orjson.JSONDecodeError:
        return False


def _text_size(path: Path) -> int:
    """Bytes of text in the file: gzip's own record of it for a gzip file (exact
    below 4 GiB, for a file compressed in one go), else the file's size."""
    with path.open("rb") as stream:
        if stream.read(2) != _GZIP_MAGIC:
            return path.stat().st_size
        stream.seek(-4, os.SEEK_END)
        return int.from_bytes(stream.read(4), "little")


def _open_text(path: Path) -> IO[bytes]:
    with path.open("rb") as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def learn_from_files(
    paths: Sequence[Path],
    *,
    deployment: DeploymentMap | None,
    quarantine: QuarantineWriter | None,
    report: ReadReport,
    workers: int,
    on_event: Progress | None = None,
    received_at: datetime | None = None,
) -> Learned:
    """`learn_windows` over the events of `paths`, read lean, in `workers` processes.

    Records that are not events are quarantined to `quarantine`'s file, once;
    `report` and `on_event` hear of every event as a single reader would tell them.
    Events without a time count as received at `received_at` (now if not given).
    """
    # One moment for every process, so events without a time fall in one hour.
    received_at = received_at or datetime.now(UTC)
    list_input_files(paths)  # a missing path fails here, before any process starts
    if workers <= 1:
        events = read_lean_events(paths, quarantine=quarantine, report=report)
        return learn_windows(
            _counted(events, on_event),
            resolver=IdentityResolver(deployment),
            received_at=received_at,
        )

    with _shares_folder() as work:
        share_quarantines = [
            Path(work) / f"quarantine-{index}.jsonl" for index in range(workers)
        ]
        tasks = [
            (
                list(paths),
                deployment,
                Share(index, workers),
                share_quarantines[index],
                received_at,
            )
            for index in range(workers)
        ]
        results = run_in_processes(
            _learn_share, tasks, what="learning share", on_progress=on_event
        )
        if quarantine is not None:
            expected = sum(share_report.quarantined for _, share_report in results)
            records = _in_reading_order(share_quarantines, paths)
            if len(records) != expected:
                raise QuarantineLost(
                    f"the processes quarantined {expected} records but {work} holds "
                    f"{len(records)}: their files were removed while training ran"
                )
            quarantine.write_records(records)

    _add_share_reports(report, [share_report for _, share_report in results], paths)

    parts = [_unpack(packed) for packed, _report in results]
    split = _split_identities(parts)
    if split:
        # Only a line holding events of other actors than the one it names gets
        # here (see events.shares). The reading was booked once; only the learning
        # is done again.
        logger.warning(
            "%d identities were split between processes (e.g. %s); learning again "
            "in one process",
            len(split),
            sorted(split)[0],
        )
        events = read_lean_events(paths, quarantine=None)
        return learn_windows(
            events, resolver=IdentityResolver(deployment), received_at=received_at
        )
    return merge_shares(parts)


def merge_shares(parts: Sequence[Learned]) -> Learned:
    """What the shares learned, as one pass over all their events would have it."""
    windows = sorted(
        (window for part in parts for window in part.windows),
        key=lambda window: window.first_event,
    )
    first_window: dict[str, int] = {}
    for position, window in enumerate(windows):
        first_window.setdefault(window.identity_id, position)
    baselines = {
        identity: baseline
        for part in parts
        for identity, baseline in part.baselines.items()
    }
    ordered = sorted(
        baselines, key=lambda identity: first_window.get(identity, len(windows))
    )
    firsts = [part.first_event for part in parts if part.first_event is not None]
    lasts = [part.last_event for part in parts if part.last_event is not None]
    return Learned(
        windows=windows,
        baselines={identity: baselines[identity] for identity in ordered},
        events=sum(part.events for part in parts),
        duplicates=sum(part.duplicates for part in parts),
        unattributed=sum(part.unattributed for part in parts),
        first_event=min(firsts, default=None),
        last_event=max(lasts, default=None),
    )


SHARES_PREFIX = "credwatch-shares-"
# A process id is only meaningful in its own PID namespace (a container sharing
# the temporary folder sees other ids), so a folder is also left alone until it
# has been still this long.
ABANDONED_AFTER_SECONDS = 24 * 3600


def _shares_folder() -> tempfile.TemporaryDirectory[str]:
    """A scratch folder for the shares' rejects, named by this process's id.

    A run killed outright (SIGKILL, power loss) cannot remove its folder; later
    runs remove those whose process is gone, so they do not pile up.
    """
    _remove_abandoned_shares(Path(tempfile.gettempdir()))
    return tempfile.TemporaryDirectory(prefix=f"{SHARES_PREFIX}{os.getpid()}-")


def _remove_abandoned_shares(folder: Path, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for candidate in folder.glob(f"{SHARES_PREFIX}*-*"):
        owner = candidate.name.removeprefix(SHARES_PREFIX).split("-", 1)[0]
        if not owner.isdigit() or _process_alive(int(owner)):
            continue
        if now - _last_change(candidate) >= ABANDONED_AFTER_SECONDS:
            shutil.rmtree(candidate, ignore_errors=True)


def _last_change(folder: Path) -> float:
    try:
        times = [folder.lstat().st_mtime]
        times.extend(child.lstat().st_mtime for child in folder.iterdir())
    except OSError:
        return time.time()  # vanishing as we look: someone else is tidying it
    return max(times)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and not ours to clean
    return True


def _add_share_reports(
    report: ReadReport, shares: list[ReadReport], paths: Sequence[Path]
) -> None:
    """Book the shares' reading in `report` as one reader would have booked it."""
    report.files_read += shares[0].files_read
    report.files_skipped += shares[0].files_skipped
    for share_report in shares:
        report.add_share(share_report)
    place = _reading_place(paths)
    report.entries.sort(key=lambda entry: place(entry.source, entry.line))


def _in_reading_order(
    share_quarantines: list[Path], paths: Sequence[Path]
) -> list[bytes]:
    """The shares' quarantined records in the order one reader would have written
    them."""
    records = []
    for part in share_quarantines:
        if part.exists():
            records.extend(part.read_bytes().splitlines())
    place = _reading_place(paths)

    def record_place(record: bytes) -> tuple[int, int]:
        where = orjson.loads(record)
        return place(where["source"], where["line"])

    return sorted(records, key=record_place)


def _reading_place(paths: Sequence[Path]) -> Callable[[str, int], tuple[int, int]]:
    """Where a file's line comes in a single reader's pass: by file as the input
    lists them, then by line."""
    rank = {str(path): index for index, path in enumerate(list_input_files(paths))}
    return lambda source, line: (rank.get(source, len(rank)), line)


def _split_identities(parts: Sequence[Learned]) -> set[str]:
    """Identities that more than one share learned from."""
    seen: set[str] = set()
    split: set[str] = set()
    for part in parts:
        split |= seen & part.baselines.keys()
        seen |= part.baselines.keys()
    return split


# The worker's side. Module-level so that spawned processes can import it.


def _learn_share(
    paths: list[Path],
    deployment: DeploymentMap | None,
    share: Share,
    quarantine_path: Path,
    received_at: datetime,
) -> tuple[_Packed, ReadReport]:
    report = ReadReport()
    with QuarantineWriter(quarantine_path) as quarantine:
        events = read_lean_events(
            paths, quarantine=quarantine, report=report, share=share
        )
        counted = _counted_in_batches(events)
        learned = learn_windows(
            counted, resolver=IdentityResolver(deployment), received_at=received_at
        )
    return _pack(learned), report


def _counted(events, on_event: Progress | None):
    for event in events:
        if on_event is not None:
            on_event(1)
        yield event


def _counted_in_batches(events):
    pending = 0
    for event in events:
        pending += 1
        if pending == PROGRESS_EVERY:
            report_progress(pending)
            pending = 0
        yield event
    report_progress(pending)


@dataclass
class _Packed:
    """A share's `Learned` in a few arrays, which pass between processes far faster
    than a list of window objects does."""

    identity_ids: list[str]
    kinds: list[str]
    first_times: list[datetime]
    first_uuids: list[str]
    vectors: np.ndarray
    learned: Learned


def _pack(learned: Learned) -> _Packed:
    windows = learned.windows
    width = len(windows[0].vector) if windows else 0
    vectors = (
        np.vstack([w.vector for w in windows]) if windows else np.empty((0, width))
    )
    bare = Learned(
        baselines=learned.baselines,
        events=learned.events,
        duplicates=learned.duplicates,
        unattributed=learned.unattributed,
        first_event=learned.first_event,
        last_event=learned.last_event,
    )
    return _Packed(
        identity_ids=[w.identity_id for w in windows],
        kinds=[w.kind for w in windows],
        first_times=[w.first_event[0] for w in windows],
        first_uuids=[w.first_event[1] for w in windows],
        vectors=vectors,
        learned=bare,
    )


def _unpack(packed: _Packed) -> Learned:
    learned = packed.learned
    learned.windows = [
        LearnedWindow(identity, kind, (time, uuid), vector)
        for identity, kind, time, uuid, vector in zip(
            packed.identity_ids,
            packed.kinds,
            packed.first_times,
            packed.first_uuids,
            packed.vectors,
            strict=True,
        )
    ]
    return learned
