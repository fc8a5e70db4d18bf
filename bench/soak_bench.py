"""Soak test of the scoring service: `/v1/score` and the Okta Event Hook together,
at a steady rate, for minutes, against a real `credwatch serve` on loopback.

Run: `.venv/bin/python -m bench.soak_bench [--minutes 10] [--rate 25] [--hook-rate 2]
[--events-per-delivery 20] [--database-url URL] [--json out.json]`

The load is open-loop: requests are sent on a fixed schedule whatever the answers
take, and each latency is measured from when the request was due, so a stalled
server shows up as latency rather than as a slower sender. One stream of new events
(a fresh uuid and time each) is split between the two routes, so identities see
their events in time order whichever route carried them. Every few seconds the
server's resident memory (from /proc) and the hook backlog (`/metrics`) are
sampled. The report gives errors by kind, latency percentiles per route, memory
over time with its trend after warm-up, and how long the backlog took to drain.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import serving_bench, serving_data  # noqa: E402

logger = logging.getLogger("bench.soak")

# Memory samples in the first part of the run are start-up and warm-up (imports
# settling, caches filling); the trend is judged on the rest.
WARMUP_FRACTION = 0.2
# Growth above this after warm-up counts as a leak, in MB per minute and in all.
GROWTH_MB_PER_MINUTE = 1.0
GROWTH_MB_TOTAL = 25.0
_QUEUE_DEPTH = re.compile(r"^credwatch_hook_queue_depth\s+([0-9.eE+-]+)$", re.M)


@dataclass
class Route:
    """What one route answered: latencies (ms) and outcomes."""

    name: str
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies.append(elapsed)
            self.outcomes[outcome] += 1

    def summary(self) -> dict[str, Any]:
        with self.lock:
            values = sorted(self.latencies)
            outcomes = dict(self.outcomes)
        ok = sum(n for what, n in outcomes.items() if what in ("200", "204"))
        return {
            "requests": len(values),
            "ok": ok,
            "errors": len(values) - ok,
            "outcomes": outcomes,
            "latency_ms": _percentiles(values),
        }


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    queue_depth: float | None
    score_requests: int
    hook_requests: int


class EventStream:
    """One time-ordered stream of new events, shared by both routes."""

    def __init__(self, population: list[serving_data.Actor]) -> None:
        self._events = serving_data.live(population, seed=97)
        self._lock = threading.Lock()

    def take(self, count: int) -> list[dict[str, Any]]:
        with self._lock:
            return [next(self._events) for _ in range(count)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="credwatch-soak-") as folder:
        home = Path(folder)
        prepared = serving_bench.prepare(home)
        port = serving_bench._free_port()
        env = prepared.env()
        if args.database_url:
            env["CREDWATCH_DATABASE_URL"] = args.database_url
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("credwatch")),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(home / "serve.log").open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, server)
            return _soak(args, url, server.pid, prepared)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _soak(
    args: argparse.Namespace, url: str, pid: int, prepared: serving_bench.Prepared
) -> dict[str, Any]:
    duration = args.minutes * 60
    stream = EventStream(prepared.population)
    score, hook = Route("POST /v1/score"), Route("POST /v1/okta/events")
    samples: list[Sample] = []
    stop = threading.Event()
    deliveries = Counter[str]()
    client = httpx.Client(
        base_url=url,
        timeout=30,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )
    score_headers = {"X-API-Key": prepared.key}
    hook_headers = {
        "Authorization": serving_bench.HOOK_SECRET,
        "Content-Type": "application/json",
    }

    def send_score(due: float) -> None:
        event = stream.take(1)[0]
        try:
            answer = client.post(
                "/v1/score",
                content=orjson.dumps(event),
                headers={**score_headers, "Content-Type": "application/json"},
            )
            score.record(str(answer.status_code), due)
        except httpx.HTTPError as exc:
            score.record(type(exc).__name__, due)

    def send_hook(due: float) -> None:
        events = stream.take(args.events_per_delivery)
        number = sum(deliveries.values()) + 1
        deliveries["sent"] += 1
        body = {
            "eventType": "com.okta.event_hook",
            "eventId": f"soak-{number}",
            "data": {"events": events},
        }
        try:
            answer = client.post(
                "/v1/okta/events", content=orjson.dumps(body), headers=hook_headers
            )
            hook.record(str(answer.status_code), due)
        except httpx.HTTPError as exc:
            hook.record(type(exc).__name__, due)

    pool = ThreadPoolExecutor(max_workers=48)
    started = time.perf_counter()

    def schedule(rate: float, send) -> None:
        # Open loop: the n-th request is due at start + n / rate.
        if rate <= 0:
            return
        n = 0
        while not stop.is_set():
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                return
            if time.perf_counter() - started >= duration:
                return
            pool.submit(send, due)
            n += 1

    def sample() -> None:
        while not stop.wait(args.sample_seconds):
            samples.append(
                Sample(
                    seconds=round(time.perf_counter() - started, 1),
                    rss_mb=_rss_mb(pid),
                    queue_depth=_queue_depth(client),
                    score_requests=len(score.latencies),
                    hook_requests=len(hook.latencies),
                )
            )

    threads = [
        threading.Thread(target=schedule, args=(args.rate, send_score), daemon=True),
        threading.Thread(
            target=schedule, args=(args.hook_rate, send_hook), daemon=True
        ),
        threading.Thread(target=sample, daemon=True),
    ]
    for thread in threads:
        thread.start()
    first_rss = _rss_mb(pid)
    for thread in threads[:2]:
        thread.join()
    pool.shutdown(wait=True)
    sent_for = time.perf_counter() - started
    # The backlog the worker still has, and how long it takes to clear it.
    drain_started = time.perf_counter()
    backlog = _queue_depth(client)
    while (_queue_depth(client) or 0) > 0 and time.perf_counter() - drain_started < 300:
        time.sleep(0.5)
    drained_in = time.perf_counter() - drain_started
    stop.set()
    threads[2].join(timeout=5)
    samples.append(
        Sample(
            round(time.perf_counter() - started, 1),
            _rss_mb(pid),
            _queue_depth(client),
            len(score.latencies),
            len(hook.latencies),
        )
    )
    client.close()
    return _report(args, score, hook, samples, first_rss, sent_for, backlog, drained_in)


def _report(
    args,
    score: Route,
    hook: Route,
    samples: list[Sample],
    first_rss: float,
    sent_for: float,
    backlog: float | None,
    drained_in: float,
) -> dict[str, Any]:
    steady = [
        s for s in samples if s.seconds >= WARMUP_FRACTION * args.minutes * 60
    ] or samples
    slope = _slope([(s.seconds / 60, s.rss_mb) for s in steady])
    growth = steady[-1].rss_mb - steady[0].rss_mb if steady else 0.0
    leak = slope > GROWTH_MB_PER_MINUTE and growth > GROWTH_MB_TOTAL
    return {
        "minutes": args.minutes,
        "target_rate": {
            "score_per_s": args.rate,
            "hook_deliveries_per_s": args.hook_rate,
            "events_per_delivery": args.events_per_delivery,
        },
        "achieved_rate": {
            "score_per_s": round(len(score.latencies) / sent_for, 2),
            "hook_deliveries_per_s": round(len(hook.latencies) / sent_for, 2),
            "events_per_s": round(
                (len(score.latencies) + len(hook.latencies) * args.events_per_delivery)
                / sent_for,
                1,
            ),
        },
        "score": score.summary(),
        "hook": hook.summary(),
        "hook_backlog_at_end": backlog,
        "hook_backlog_drained_s": round(drained_in, 1),
        "memory": {
            "rss_mb_at_start": round(first_rss, 1),
            "rss_mb_after_warmup": round(steady[0].rss_mb, 1) if steady else None,
            "rss_mb_at_end": round(samples[-1].rss_mb, 1) if samples else None,
            "rss_mb_max": round(max(s.rss_mb for s in samples), 1) if samples else None,
            "trend_mb_per_minute_after_warmup": round(slope, 3),
            "growth_mb_after_warmup": round(growth, 1),
            "verdict": "growing" if leak else "no growth",
        },
        "samples": [s.__dict__ for s in samples],
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, math.ceil(q * len(values)) - 1)], 2)

    return {
        "p50": at(0.5),
        "p90": at(0.9),
        "p99": at(0.99),
        "p99.9": at(0.999),
        "max": round(values[-1], 2),
        "mean": round(statistics.fmean(values), 2),
    }


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _queue_depth(client: httpx.Client) -> float | None:
    try:
        found = _QUEUE_DEPTH.search(client.get("/metrics", timeout=5).text)
    except httpx.HTTPError:
        return None
    return float(found.group(1)) if found else None


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("credwatch serve exited during start-up")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("credwatch serve did not become ready")


def render(report: dict[str, Any]) -> str:
    lines = [
        f"soak: {report['minutes']:g} min; achieved {report['achieved_rate']['score_per_s']} scores/s and "
        f"{report['achieved_rate']['hook_deliveries_per_s']} hook deliveries/s "
        f"({report['achieved_rate']['events_per_s']} events/s)",
    ]
    for key in ("score", "hook"):
        route = report[key]
        latency = route["latency_ms"]
        lines.append(
            f"  {key:<5} {route['requests']:>7} requests, {route['errors']} errors {route['outcomes']}; "
            f"latency ms p50 {latency.get('p50')} p90 {latency.get('p90')} p99 {latency.get('p99')} "
            f"p99.9 {latency.get('p99.9')} max {latency.get('max')}"
        )
    memory = report["memory"]
    lines.append(
        f"  memory RSS MB: start {memory['rss_mb_at_start']}, after warm-up {memory['rss_mb_after_warmup']}, "
        f"end {memory['rss_mb_at_end']}, max {memory['rss_mb_max']}; trend "
        f"{memory['trend_mb_per_minute_after_warmup']} MB/min -> {memory['verdict']}"
    )
    lines.append(
        f"  hook backlog at the end of sending: {report['hook_backlog_at_end']} deliveries, "
        f"drained in {report['hook_backlog_drained_s']} s"
    )
    lines.append("  over time (s: RSS MB, backlog, score requests, hook requests):")
    step = max(1, len(report["samples"]) // 12)
    for sample in report["samples"][::step]:
        lines.append(
            f"    {sample['seconds']:>7}: {sample['rss_mb']:.1f}, {sample['queue_depth']}, "
            f"{sample['score_requests']}, {sample['hook_requests']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--rate", type=float, default=25.0, help="POST /v1/score per second"
    )
    parser.add_argument(
        "--hook-rate", type=float, default=2.0, help="Event Hook deliveries per second"
    )
    parser.add_argument("--events-per-delivery", type=int, default=20)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CREDWATCH_SOAK_DATABASE_URL"),
        help="A shared database instead of SQLite in the temporary folder",
    )
    parser.add_argument("--json", type=Path, help="Also write the full report here")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    report = run(args)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
