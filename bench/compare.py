"""Training and batch scoring speed of this checkout against another, on one world.

The other checkout is usually an earlier commit of this repository:

    git worktree add /tmp/credwatch-before <commit>
    .venv/bin/python -m bench.compare --other /tmp/credwatch-before [--rounds 2]

Both run in turn, each in its own process with its own checkout first on the path,
on the same simulated world, and report events per CPU-second of `fit_detector`
and `Scorer.score_batch` and the number of detections (which should agree when a
change is meant to be a pure speed-up). Alternating rounds keep a neighbour's load
from favouring one side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_RUN = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import events.readers as readers
from features.deployment import load_deployment_map
from features.identity import IdentityResolver
from training.fit import fit_detector

# Older checkouts have only the full reader.
read = getattr(readers, "read_lean_events", readers.read_events)
world = Path(sys.argv[2])
files = [world / "history.jsonl", world / "test.jsonl"]

def resolver():
    return IdentityResolver(load_deployment_map(world / "deployment.yaml"))

began = time.process_time()
detector, _frame, fit = fit_detector(read(files[:1], quarantine=None), resolver=resolver())
trained = time.process_time() - began
scorer = detector.scorer(resolver())
began = time.process_time()
detections = scorer.score_batch(read(files, quarantine=None))
scored = time.process_time() - began
print(json.dumps({
    "train": fit.events / trained,
    "score": scorer.report.events / scored,
    "detections": len(detections),
}))
"""


def run(checkout: Path, world: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(checkout), str(world)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout")
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    from simulator import simulate

    here = Path(__file__).resolve().parents[1]
    lines = [
        "| round | checkout | train, events per CPU-second | score, events per CPU-second | detections |",
        "| --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory(prefix="credwatch-compare-") as work:
        world = Path(work) / "world"
        simulate(
            people=args.people,
            agents=args.agents,
            days=args.days,
            seed=args.seed,
            out=world,
        )
        for round_no in range(1, args.rounds + 1):
            for name, checkout in (("other", args.other.resolve()), ("this", here)):
                result = run(checkout, world)
                lines.append(
                    f"| {round_no} | {name} | {result['train']:,.0f} | {result['score']:,.0f} "
                    f"| {result['detections']} |"
                )
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
