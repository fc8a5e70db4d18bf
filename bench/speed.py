"""Throughput and memory of the batch path: parsing, features and scoring, and training.

A world of about a million events is simulated once; then, each in a fresh process
so that its peak memory is its own, the benchmark measures parsing alone, training
on the history (baselines and forests), and parsing + features + rules + model over
every event. The machine is shared, so parsing alone is the baseline the other
figures are read against.

    .venv/bin/python -m bench.speed [--people 1400 --agents 350 --days 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path


def _parse(paths: list[Path]) -> int:
    from events.readers import read_events

    return sum(1 for _ in read_events(paths, quarantine=None))


def _train(world: Path) -> int:
    from events.readers import read_events
    from features.deployment import load_deployment_map
    from features.identity import IdentityResolver
    from training.fit import fit_detector

    resolver = IdentityResolver(load_deployment_map(world / "deployment.yaml"))
    events = read_events([world / "history.jsonl"], quarantine=None)
    _detector, _frame, report = fit_detector(events, resolver=resolver)
    return report.events


def _score(world: Path) -> int:
    import joblib

    from events.readers import read_events
    from features.deployment import load_deployment_map
    from features.identity import IdentityResolver

    detector = joblib.load(world / "detector.joblib")
    scorer = detector.scorer(IdentityResolver(load_deployment_map(world / "deployment.yaml")))
    scorer.score_batch(read_events([world / "history.jsonl", world / "test.jsonl"], quarantine=None))
    return scorer.report.events


def _fit_and_save(world: Path) -> None:
    import joblib

    from events.readers import read_events
    from features.deployment import load_deployment_map
    from features.identity import IdentityResolver
    from training.fit import fit_detector

    resolver = IdentityResolver(load_deployment_map(world / "deployment.yaml"))
    detector, _frame, _report = fit_detector(
        read_events([world / "history.jsonl"], quarantine=None), resolver=resolver
    )
    joblib.dump(detector, world / "detector.joblib")


def _timed(task, argument, queue) -> None:
    began = time.perf_counter()
    count = task(argument)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((count, seconds, peak_mb))


def measure(task, argument) -> tuple[int, float, float]:
    """Run `task(argument)` in a fresh process: (events, seconds, peak RSS in MB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_timed, args=(task, argument, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


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
        summary = simulate(people=args.people, agents=args.agents, days=args.days,
                           seed=args.seed, out=world)
        files = [world / "history.jsonl", world / "test.jsonl"]
        parsed = measure(_parse, files)
        trained = measure(_train, world)
        _fit_and_save(world)
        scored = measure(_score, world)

    rows = [
        ("simulate (all files written)", summary.events, summary.elapsed_seconds, float("nan")),
        ("parse only (baseline)", *parsed),
        ("train on history: parse, baselines, features, forests", *trained),
        ("score all: parse, features, rules, model", *scored),
    ]
    lines = [
        "| step | events | seconds | events/s (1 core) | vs parse only | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    parse_rate = parsed[0] / parsed[1]
    for name, count, seconds, peak in rows:
        rate = count / seconds
        peak_text = "-" if peak != peak else f"{peak:,.0f}"
        lines.append(
            f"| {name} | {count:,} | {seconds:.1f} | {rate:,.0f} | {rate / parse_rate:.2f} | {peak_text} |"
        )
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main()
