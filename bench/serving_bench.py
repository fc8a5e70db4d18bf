"""Speed of the scoring service: HTTP under load, one event in-process, hook acknowledgement.

Run: `.venv/bin/python -m bench.serving_bench [--duration 10] [--json out.json]`

What is measured, in one run on this machine (load generator on the same cores):

* `POST /v1/score` with one new event per request (a fresh uuid and time each, so
  no request is a replay), through the real app under uvicorn, one worker, with
  an API key, idempotency storage and response; against a bare FastAPI endpoint
  returning a constant, in the same server setup, at 1, 16 and 64 connections.
  wrk (`apt-get install wrk`; installed here when missing and running as root)
  reports requests/s and the latency distribution. The two servers are measured
  turn by turn at each concurrency, so drifting background load hits both alike.
* In-process, the time to turn one event into a score: JSON parse, LogEvent,
  features, rules and the model, through the service's scoring path; and the
  model alone, the packed-numpy walk against scikit-learn's single-row call.
* The time to acknowledge an Okta Event Hook delivery of 1,000 events (stored
  durably first), and the time until the worker has scored it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import serving_data  # noqa: E402

logger = logging.getLogger("bench.serving")

HOOK_SECRET = "bench-hook-secret"
CONNECTIONS = (1, 16, 64)
TARGET_RATIO = 3.0
TARGET_IN_PROCESS_P99_MS = 1.0
TARGET_HOOK_ACK_S = 1.0
# Event time between two requests: with 32 identities taking turns, each sees
# about its usual couple of events an hour, as in the training history. (Seconds
# apart instead would make every identity look hundreds of times busier than
# usual, and every request would open or update an incident.)
SECONDS_PER_REQUEST = 60
RUN_SPAN = 30 * 24 * 3600


@dataclass
class Prepared:
    home: Path
    map_path: Path
    key: str
    population: list[serving_data.Actor]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CREDWATCH_HOME": str(self.home),
            "CREDWATCH_MAP": str(self.map_path),
            "CREDWATCH_OKTA_HOOK_SECRET": HOOK_SECRET,
            "PYTHONPATH": str(ROOT),
        }


def prepare(home: Path) -> Prepared:
    """Train and register a model on synthetic history; create an API key."""
    from credwatch import pipeline
    from credwatch.keys import create_key
    from credwatch.settings import Settings

    population = serving_data.actors()
    home.mkdir(parents=True, exist_ok=True)
    map_path = home / "deployment.yaml"
    map_path.write_text(serving_data.deployment_map_yaml(population))
    history = home / "history.jsonl"
    history.write_bytes(
        b"".join(
            orjson.dumps(item) + b"\n" for item in serving_data.history(population)
        )
    )
    settings = Settings(home=home, map=map_path)
    started = time.perf_counter()
    result = pipeline.train(
        [history], settings=settings, deployment=pipeline.load_map(None, settings)
    )
    logger.warning(
        "trained version %s on %d events (%d windows) in %.1f s",
        result.version,
        result.events,
        result.windows,
        time.perf_counter() - started,
    )
    # High enough that the limiter never answers 429 during the run.
    key, _ = create_key(settings, "bench", scope="admin", rate_per_minute=100_000_000)
    return Prepared(home, map_path, key, population)


# --- in-process ---------------------------------------------------------------------


def measure_in_process(prepared: Prepared, *, events: int = 5_000) -> dict[str, Any]:
    from credwatch import pipeline
    from credwatch.settings import Settings
    from events.readers import parse_event
    from serving.service import ScoringService
    from training.registry import load_champion

    settings = Settings(home=prepared.home, map=prepared.map_path)
    service = ScoringService(settings, pipeline.load_map(None, settings))
    detector, version = load_champion(settings)
    service.install(detector, version)
    stream = serving_data.live(prepared.population, seed=23)
    raw = [orjson.dumps(next(stream)) for _ in range(events + 500)]
    for body in raw[:500]:
        service.score([parse_event(orjson.loads(body))])

    timings = []
    for body in raw[500:]:
        started = time.perf_counter()
        service.score([parse_event(orjson.loads(body))])
        timings.append(time.perf_counter() - started)

    forest = detector.model.forest_for("ai_agent")
    rows = np.random.default_rng(5).gamma(
        2.0, 2.0, size=(2_000, len(detector.feature_names))
    )
    packed = _time_each(lambda row: forest.anomaly_score(row[None, :]), rows)
    sklearn = _time_each(
        lambda row: forest.forest_.score_samples(row[None, :].astype(np.float32)),
        rows[:300],
    )
    return {
        "events": events,
        "event_to_score_ms": _percentiles(timings),
        "model_packed_ms": _percentiles(packed),
        "model_sklearn_ms": _percentiles(sklearn),
    }


def _time_each(function, rows: np.ndarray) -> list[float]:
    timings = []
    for row in rows:
        started = time.perf_counter()
        function(row)
        timings.append(time.perf_counter() - started)
    return timings


def _percentiles(seconds: list[float]) -> dict[str, float]:
    values = np.array(seconds) * 1000
    return {
        "p50": round(float(np.percentile(values, 50)), 4),
        "p99": round(float(np.percentile(values, 99)), 4),
    }


# --- servers and wrk ----------------------------------------------------------------


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        return found
    logger.warning("installing wrk with apt-get")
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True
    )
    return shutil.which("wrk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(target: str, prepared: Prepared, *, factory: bool) -> Iterator[str]:
    """A uvicorn process serving `target` on a loopback port; its base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        # As `credwatch serve` runs (serving/server.py).
        "--loop",
        "asyncio",
        "--http",
        "httptools",
    ]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(command, cwd=ROOT, env=prepared.env())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/openapi.json", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


_LUA = """
local templates = {%(templates)s}
local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}
local counter = 0
request = function()
  counter = counter + 1
  local template = templates[(counter %% #templates) + 1]
  local id = string.format("bench-%(tag)s-%%09d", counter)
  local published = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", %(base)d + %(step)d * counter) .. ".000Z"
  local body = template:gsub("__UUID__", id, 1)
  body = body:gsub("__PUBLISHED__", published, 1)
  return wrk.format("POST", "/v1/score", headers, body)
end
"""


def write_script(prepared: Prepared, folder: Path, *, tag: str, base: int) -> Path:
    """A wrk script sending one new event per request, actors in turn."""
    stream = serving_data.live(prepared.population, seed=31)
    templates = []
    for _ in range(16):
        item = next(stream)
        item["uuid"], item["published"] = "__UUID__", "__PUBLISHED__"
        text = orjson.dumps(item).decode()
        if "]=]" in text:
            raise ValueError("event template cannot sit in a Lua long string")
        templates.append(f"[=[{text}]=]")
    path = folder / f"score-{tag}.lua"
    path.write_text(
        _LUA
        % {
            "templates": ", ".join(templates),
            "key": prepared.key,
            "tag": tag,
            "base": base,
            "step": SECONDS_PER_REQUEST,
        }
    )
    return path


def run_wrk(
    wrk: str, url: str, script: Path, *, connections: int, seconds: float
) -> dict[str, Any]:
    result = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            f"{url}/v1/score",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(result.stdout)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50/p99 latency (ms) and non-2xx count from wrk's output."""

    def latency(label: str) -> float:
        match = re.search(
            rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE
        )
        if match is None:
            raise ValueError(f"no {label}% latency in wrk output:\n{output}")
        return round(float(match.group(1)) * _UNITS[match.group(2)], 3)

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "requests_per_s": round(float(rate.group(1)), 1) if rate else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def measure_http(
    wrk: str,
    bare_url: str,
    score_url: str,
    prepared: Prepared,
    folder: Path,
    *,
    seconds: float,
) -> list[dict[str, Any]]:
    rows = []
    base = int((serving_data.START + timedelta(hours=9)).timestamp())
    for run, connections in enumerate(CONNECTIONS):
        # Each run's events start after the previous run's last one, and all of
        # them lie in the past (serving_data.START is 120 days back; three runs
        # take 90 days of event time at most).
        start = base + run * RUN_SPAN
        warm = write_script(prepared, folder, tag=f"w{connections}", base=start)
        script = write_script(
            prepared, folder, tag=f"c{connections}", base=start + RUN_SPAN // 3
        )
        run_wrk(wrk, score_url, warm, connections=connections, seconds=2)
        run_wrk(wrk, bare_url, warm, connections=connections, seconds=2)
        bare = run_wrk(wrk, bare_url, script, connections=connections, seconds=seconds)
        scored = run_wrk(
            wrk, score_url, script, connections=connections, seconds=seconds
        )
        rows.append({"connections": connections, "bare": bare, "score": scored})
        logger.warning("c=%d bare %s score %s", connections, bare, scored)
    return rows


# --- Event Hook -------------------------------------------------------------------


def measure_hook(
    url: str, prepared: Prepared, *, deliveries: int = 5
) -> dict[str, Any]:
    stream = serving_data.live(prepared.population, seed=47)
    host, port = url.removeprefix("http://").split(":")
    acks = []
    bodies = []
    for n in range(deliveries):
        events = [next(stream) for _ in range(1_000)]
        bodies.append(
            orjson.dumps(
                {
                    "eventType": "com.okta.event_hook",
                    "eventTypeVersion": "1.0",
                    "cloudEventsVersion": "0.1",
                    "eventId": f"bench-delivery-{n}",
                    "contentType": "application/json",
                    "data": {"events": events},
                }
            )
        )
    started_all = time.perf_counter()
    for body in bodies:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        started = time.perf_counter()
        connection.request(
            "POST",
            "/v1/okta/events",
            body=body,
            headers={"Authorization": HOOK_SECRET, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        acks.append(time.perf_counter() - started)
        connection.close()
        if response.status != 204:
            raise RuntimeError(f"hook answered {response.status}")
    drained = _wait_drained(url)
    return {
        "deliveries": deliveries,
        "events_per_delivery": 1_000,
        "body_bytes": len(bodies[0]),
        "ack_ms_median": round(statistics.median(acks) * 1000, 1),
        "ack_ms_max": round(max(acks) * 1000, 1),
        "all_scored_s": round(drained - started_all, 2) if drained else None,
    }


def _wait_drained(url: str, timeout: float = 120.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
        match = re.search(r"^credwatch_hook_queue_depth ([\d.]+)$", text, re.MULTILINE)
        scored = re.search(
            r'^credwatch_hook_events_total\{outcome="scored"\} ([\d.]+)$',
            text,
            re.MULTILINE,
        )
        if (
            match
            and float(match.group(1)) == 0
            and scored
            and float(scored.group(1)) > 0
        ):
            return time.perf_counter()
        time.sleep(0.05)
    return None


# --- report -------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    lines = [f"# Serving benchmark ({results['when']}, {os.cpu_count()} CPUs)", ""]
    http_rows = results.get("http")
    if http_rows:
        lines += [
            "| connections | bare req/s | bare p50 | bare p99 | score req/s | score p50 | score p99 | p99 ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in http_rows:
            bare, score = row["bare"], row["score"]
            ratio = score["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else float("nan")
            lines.append(
                f"| {row['connections']} | {bare['requests_per_s']:,.0f} | {bare['p50_ms']} ms | "
                f"{bare['p99_ms']} ms | {score['requests_per_s']:,.0f} | {score['p50_ms']} ms | "
                f"{score['p99_ms']} ms | {ratio:.2f} |"
            )
        errors = sum(
            row["score"]["non_2xx"] + row["bare"]["non_2xx"] for row in http_rows
        )
        lines += ["", f"non-2xx answers during the runs: {errors}", ""]
        if errors:
            lines += [
                "WARNING: some answers were errors; the scoring rows are not valid.",
                "",
            ]
    else:
        lines += ["HTTP runs skipped (no wrk).", ""]
    inproc = results["in_process"]
    lines += [
        f"In-process, one event to a score (parse, features, rules, model), "
        f"{inproc['events']} events: p50 {inproc['event_to_score_ms']['p50']} ms, "
        f"p99 {inproc['event_to_score_ms']['p99']} ms",
        f"Model alone, one row: packed p50 {inproc['model_packed_ms']['p50']} ms / "
        f"p99 {inproc['model_packed_ms']['p99']} ms; scikit-learn p50 "
        f"{inproc['model_sklearn_ms']['p50']} ms / p99 {inproc['model_sklearn_ms']['p99']} ms",
    ]
    hook = results.get("hook")
    if hook:
        lines.append(
            f"Event Hook, {hook['deliveries']} deliveries of {hook['events_per_delivery']} events "
            f"({hook['body_bytes']:,} bytes): acknowledged in {hook['ack_ms_median']} ms median, "
            f"{hook['ack_ms_max']} ms max; all scored {hook['all_scored_s']} s after the first was sent"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per wrk run"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--skip-http", action="store_true", help="in-process numbers only"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    results: dict[str, Any] = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    with tempfile.TemporaryDirectory(prefix="credwatch-bench-") as tmp:
        folder = Path(tmp)
        prepared = prepare(folder / "home")
        results["in_process"] = measure_in_process(prepared)
        wrk = None if args.skip_http else ensure_wrk()
        if wrk is None and not args.skip_http:
            logger.warning("wrk is not installed; HTTP runs skipped")
        with server("serving.app:create_app", prepared, factory=True) as score_url:
            if wrk:
                with server(
                    "bench.serving_bare:app", prepared, factory=False
                ) as bare_url:
                    results["http"] = measure_http(
                        wrk,
                        bare_url,
                        score_url,
                        prepared,
                        folder,
                        seconds=args.duration,
                    )
            results["hook"] = measure_hook(score_url, prepared)

    text = report(results)
    sys.stdout.write(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
