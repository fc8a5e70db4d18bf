"""Learning in several processes gives the detector one process gives."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import numpy as np
import orjson
import pytest

from credwatch.errors import QuarantineLost
from events.quarantine import QuarantineWriter
from events.readers import ReadReport
from events.shares import Share
from features.baseline import IdentityBaseline
from features.deployment import load_deployment_map
from simulator import simulate
from tests.builders import build_event
from training.fit import Learned, fit_learned
from training.parallel import (
    MAX_AUTO_WORKERS,
    PARALLEL_FROM_BYTES,
    _learn_share,
    learn_from_files,
    workers_for,
)
from training.processes import ProcessFailed, run_in_processes


def _baseline_state(baseline: IdentityBaseline) -> tuple:
    counters = (
        baseline.networks,
        baseline.ips,
        baseline.countries,
        baseline.devices,
        baseline.ua_families,
        baseline.endpoints,
    )
    return (
        baseline.events,
        baseline.first_seen,
        baseline.last_seen,
        baseline.active_hours,
        baseline.busiest_hour,
        baseline.hours_of_week,
        [(list(c.counts.items()), list(c.seen_once)) for c in counters],
    )


def assert_same_learning(one: Learned, other: Learned) -> None:
    assert [(w.identity_id, w.kind, w.first_event) for w in other.windows] == [
        (w.identity_id, w.kind, w.first_event) for w in one.windows
    ]
    assert np.array_equal(
        np.vstack([w.vector for w in other.windows]),
        np.vstack([w.vector for w in one.windows]),
    )
    assert list(other.baselines) == list(one.baselines)
    assert [_baseline_state(b) for b in other.baselines.values()] == [
        _baseline_state(b) for b in one.baselines.values()
    ]
    assert (other.events, other.duplicates, other.unattributed) == (
        one.events,
        one.duplicates,
        one.unattributed,
    )
    assert (other.first_event, other.last_event) == (one.first_event, one.last_event)


RECEIVED = datetime(2026, 4, 1, 12, 30, tzinfo=UTC)


def _learn(paths, workers, deployment=None, quarantine_path=None):
    report = ReadReport()
    with (
        QuarantineWriter(quarantine_path) if quarantine_path else _no_writer() as writer
    ):
        learned = learn_from_files(
            paths,
            deployment=deployment,
            quarantine=writer,
            report=report,
            workers=workers,
            received_at=RECEIVED,
        )
    return learned, report


class _no_writer:
    def __enter__(self):
        return None

    def __exit__(self, *_exc):
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    simulate(people=14, agents=6, days=3, seed=31, out=out)
    history_path = out / "history.jsonl"
    # Events whose source redacted the time: all processes must place them alike.
    undated = [
        orjson.loads(line) for line in history_path.read_bytes().splitlines()[:5]
    ]
    # Records that are not events, to be quarantined once whichever process reads them.
    with history_path.open("ab") as history:
        for number, event in enumerate(undated):
            del event["published"]
            event["uuid"] = f"undated-{number}"
            history.write(orjson.dumps(event) + b"\n")
        history.write(b"not an event\n")
        history.write(orjson.dumps({"uuid": "x", "actor": {"id": "00uNOBODY"}}) + b"\n")
    return out


@pytest.mark.parametrize("workers", [2, 3])
def test_processes_learn_what_one_process_learns(world, tmp_path, workers) -> None:
    paths = [world / "history.jsonl", world / "test.jsonl"]
    deployment = load_deployment_map(world / "deployment.yaml")
    one, one_report = _learn(paths, 1, deployment, tmp_path / "one.jsonl")
    many, many_report = _learn(paths, workers, deployment, tmp_path / "many.jsonl")

    assert one.events > 1000
    assert_same_learning(one, many)
    assert many_report.summary() == one_report.summary()
    quarantined = [
        (record["source"], record["line"], record["reason"])
        for record in map(
            orjson.loads, (tmp_path / "many.jsonl").read_bytes().splitlines()
        )
    ]
    assert quarantined == [(e.source, e.line, e.reason) for e in one_report.entries]
    assert many_report.entries == one_report.entries
    assert len(quarantined) == 2

    detector_one, frame_one, _ = fit_learned(one)
    detector_many, frame_many, _ = fit_learned(many)
    assert frame_many.equals(frame_one)
    assert np.array_equal(
        detector_many.predict_frame(frame_one), detector_one.predict_frame(frame_one)
    )


def test_an_identity_split_between_processes_is_learned_again_in_one(tmp_path) -> None:
    # An Event Hook envelope on a line that names an actor of its own goes to that
    # actor's process with the events inside it; here those events' actor (00uA)
    # falls to the other of two processes, which reads the rest of its events.
    def event(uuid: str, minutes: int) -> dict:
        made = build_event(actor_id="00uA", uuid=uuid, at=timedelta(minutes=minutes))
        return made.model_dump(mode="json", exclude_none=True)

    envelope = {
        "eventType": "com.okta.event_hook",
        "actor": {"id": "00uHOOK"},
        "data": {"events": [event("e-2", 2), event("e-3", 3)]},
    }
    lines = [event("e-1", 1), envelope, event("e-4", 4), event("e-5", 65)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    one, _ = _learn([path], 1)
    many, report = _learn([path], 2)

    assert many.events == report.events == 5
    assert_same_learning(one, many)


def test_small_inputs_are_learned_in_one_process(tmp_path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_bytes(b"{}\n")
    assert workers_for([small]) == 1
    assert workers_for([small], configured=3) == 3
    assert PARALLEL_FROM_BYTES > small.stat().st_size


def test_a_failed_process_fails_the_training_with_its_reason(tmp_path) -> None:
    missing = tmp_path / "gone.jsonl"
    task = ([missing], None, Share(0, 1), tmp_path / "q.jsonl", RECEIVED)

    with pytest.raises(ProcessFailed, match="share 1 of 1 failed: FileNotFoundError"):
        run_in_processes(_learn_share, [task], what="learning share")


def test_only_large_json_lines_inputs_are_split(tmp_path) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_bytes(b'{"eventType": "user.session.start"}\n' * 10)
    array = tmp_path / "events.json"
    array.write_bytes(b'[{"eventType": "user.session.start"}]')

    with patch("training.parallel.PARALLEL_FROM_BYTES", 100):
        assert workers_for([lines]) == min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
        assert workers_for([lines, array]) == 1
        packed = tmp_path / "events.jsonl.gz"
        packed.write_bytes(gzip.compress(lines.read_bytes()))
        # Counted by the text inside, not the compressed size.
        assert packed.stat().st_size < 100 <= len(lines.read_bytes())
        assert workers_for([packed]) == workers_for([lines])


def test_a_killed_runs_scratch_folder_is_removed_by_a_later_run(
    tmp_path, monkeypatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    two_days_ago = time.time() - 2 * 24 * 3600
    abandoned = scratch / f"credwatch-shares-{finished.pid}-abc"
    abandoned.mkdir()
    (abandoned / "quarantine-0.jsonl").write_bytes(b"{}\n")
    for path in (abandoned / "quarantine-0.jsonl", abandoned):
        os.utime(path, (two_days_ago, two_days_ago))
    # A dead id with a fresh folder may be a live run in another PID namespace.
    recent = scratch / f"credwatch-shares-{finished.pid}-def"
    recent.mkdir()
    running = scratch / f"credwatch-shares-{os.getpid()}-ghi"
    running.mkdir()
    os.utime(running, (two_days_ago, two_days_ago))
    path = tmp_path / "events.jsonl"
    event = build_event(actor_id="00uA").model_dump(mode="json")
    path.write_bytes(orjson.dumps(event) + b"\n")

    _learn([path], 2)

    assert {p.name for p in scratch.iterdir()} == {recent.name, running.name}


def test_quarantined_records_lost_with_the_scratch_folder_fail_the_training(
    tmp_path, monkeypatch
) -> None:
    path = tmp_path / "events.jsonl"
    event = build_event(actor_id="00uA").model_dump(mode="json")
    path.write_bytes(orjson.dumps(event) + b"\nnot an event\n")

    def run_then_lose_the_files(task, tasks, **options):
        results = run_in_processes(task, tasks, **options)
        for _paths, _map, _share, share_quarantine, _at in tasks:
            share_quarantine.unlink(missing_ok=True)
        return results

    monkeypatch.setattr("training.parallel.run_in_processes", run_then_lose_the_files)

    with pytest.raises(QuarantineLost, match="quarantined 1 records but"):
        _learn([path], 2, quarantine_path=tmp_path / "q.jsonl")
