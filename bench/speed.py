"""Throughput and memory of the batch path: reading, features and scoring, and training.

A world of about a million events is simulated once; then, each in a fresh process
so that its peak memory is its own, the benchmark measures:

* decoding the JSON lines alone (orjson): the floor any reader stands on, and the
  baseline the other rows are read against, since the machine is shared;
* reading with full validation (what the API, the Event Hook and `watch` do);
* reading lean (what training and `credwatch score` do, see `events.lean`);
* training on every event: reading, baselines, features, forests; in one process,
  and in one process per core as `credwatch train` does for large inputs
  (training/parallel.py), where CPU seconds include the workers';
* scoring every event: reading, features, rules, model, window verdicts.

Speed per core is events per CPU-second of the measuring process and its workers
(scikit-learn runs single-threaded here), so a neighbour's load on the other core
matters less than it does to wall time; both are printed.

    .venv/bin/python -m bench.speed [--people 1400 --agents 350 --days 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import NamedTuple


class Measured(NamedTuple):
    events: int
    wall_seconds: float
    cpu_seconds: float
    peak_mb: float
    # The largest peak of a worker process the step started, if any.
    workers_peak_mb: float


def _files(world: Path) -> list[Path]:
    return [world / "history.jsonl", world / "test.jsonl"]


def _decode(world: Path) -> int:
    import orjson

    count = 0
    for path in _files(world):
        with path.open("rb") as lines:
            for line in lines:
                orjson.loads(line)
                count += 1
    return count


def _read_full(world: Path) -> int:
    from events.readers import read_events

    return sum(1 for _ in read_events(_files(world), quarantine=None))


def _read_lean(world: Path) -> int:
    from events.readers import read_lean_events

    return sum(1 for _ in read_lean_events(_files(world), quarantine=None))


def _resolver(world: Path):
    from features.deployment import load_deployment_map
    from features.identity import IdentityResolver

    return IdentityResolver(load_deployment_map(world / "deployment.yaml"))


def _train(world: Path, workers: int) -> int:
    """Learn and fit as `credwatch train` does, in `workers` processes."""
    import joblib

    from events.readers import ReadReport
    from features.deployment import load_deployment_map
    from training.fit import fit_learned
    from training.parallel import learn_from_files

    learned = learn_from_files(
        _files(world),
        deployment=load_deployment_map(world / "deployment.yaml"),
        quarantine=None,
        report=ReadReport(),
        workers=workers,
    )
    detector, _frame, report = fit_learned(learned)
    joblib.dump(detector, world / f"detector-{workers}.joblib")
    return report.events


def _train_in_one(world: Path) -> int:
    return _train(world, 1)


def _train_in_all(world: Path) -> int:
    from training.parallel import MAX_AUTO_WORKERS

    return _train(world, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))


def _score(world: Path) -> int:
    import joblib

    from events.readers import read_lean_events

    detector = joblib.load(world / "detector-1.joblib")
    scorer = detector.scorer(_resolver(world))
    scorer.score_batch(read_lean_events(_files(world), quarantine=None))
    return scorer.report.events


def _timed(task, argument, queue) -> None:
    # Imports are paid before the clock starts, the same for every step.
    import joblib  # noqa: F401

    import events.readers  # noqa: F401
    import training.fit  # noqa: F401

    wall, cpu = time.perf_counter(), _cpu_seconds()
    count = task(argument)
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put(Measured(count, wall, cpu, _peak_mb(), workers_peak))


def _cpu_seconds() -> float:
    """CPU time of this process and of the worker processes it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _peak_mb() -> float:
    """This process's peak resident memory. On Linux, from VmHWM: `ru_maxrss` keeps
    the peak of the parent it was started from (which simulated the world)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kilobytes = next(
        line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")
    )
    return int(kilobytes) / 1024


def measure(task, argument) -> Measured:
    """Run `task(argument)` in a fresh process: events, wall and CPU seconds, peak RSS."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_timed, args=(task, argument, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


STEPS = [
    ("decode JSON lines only (orjson): baseline", _decode),
    ("read, full validation (API, hook, watch)", _read_full),
    ("read lean (training and score)", _read_lean),
    (
        "train on every event, one process: read, baselines, features, forests",
        _train_in_one,
    ),
    (
        "train on every event, one process per core (as `credwatch train` does)",
        _train_in_all,
    ),
    ("score every event: read, features, rules, model, verdicts", _score),
]


def table(rows: list[tuple[str, Measured]]) -> str:
    baseline = rows[0][1]
    base_rate = baseline.events / baseline.cpu_seconds
    lines = [
        "| step | events | wall s | CPU s | events per CPU-second | vs decode only "
        "| peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in rows:
        rate = m.events / m.cpu_seconds
        peak = f"{m.peak_mb:,.0f}"
        if m.workers_peak_mb > 1:
            peak += f" (+ each worker up to {m.workers_peak_mb:,.0f})"
        lines.append(
            f"| {name} | {m.events:,} | {m.wall_seconds:.1f} | {m.cpu_seconds:.1f} "
            f"| {rate:,.0f} | {rate / base_rate:.2f} | {peak} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1400)
    parser.add_argument("--agents", type=int, default=350)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    from simulator import simulate

    with tempfile.TemporaryDirectory(prefix="credwatch-speed-") as work:
        world = Path(work) / "world"
        summary = simulate(
            people=args.people,
            agents=args.agents,
            days=args.days,
            seed=args.seed,
            out=world,
        )
        print(f"simulated {summary.events:,} events in {summary.elapsed_seconds:.1f} s")
        rows = [(name, measure(step, world)) for name, step in STEPS]

    text = table(rows)
    print(text)
    return text


if __name__ == "__main__":
    main()
