"""`make bench`: every benchmark, one after the other, each printing its table.

    .venv/bin/python -m bench [name ...]     # names: quality panther speed serving
                                             #        response feedback soak
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "quality": "bench.quality",
    "panther": "bench.panther",
    "speed": "bench.speed",
    "serving": "bench.serving_bench",
    "response": "bench.response_bench",
    "feedback": "bench.feedback_bench",
    "soak": "bench.soak_bench",
}


def main(names: list[str]) -> None:
    chosen = names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        importlib.import_module(BENCHMARKS[name]).main([])


if __name__ == "__main__":
    main(sys.argv[1:])
