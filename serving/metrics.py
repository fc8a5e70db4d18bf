"""Prometheus metrics of one server process, served at `GET /metrics`.

Each app gets its own registry, so several apps in one process (the tests) never
collide. With several worker processes each serves its own counters; the scraper
sees whichever worker answered (docs/deploy.md).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class Metrics:
    """The service's counters, gauges and histograms."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "credwatch_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "credwatch_http_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.scores = Counter(
            "credwatch_scores",
            "Events scored, by the tier of their window",
            ["tier", "source"],
            registry=registry,
        )
        self.actions = Counter(
            "credwatch_actions",
            "Response actions recorded",
            ["kind", "status"],
            registry=registry,
        )
        self.replays = Counter(
            "credwatch_score_replays",
            "Scoring requests answered from a stored answer",
            registry=registry,
        )
        self.hook_events = Counter(
            "credwatch_hook_events",
            "Event Hook events, by what became of them",
            ["outcome"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "credwatch_hook_queue_depth",
            "Event Hook deliveries waiting to be scored",
            registry=registry,
        )
        self.model_info = Gauge(
            "credwatch_model_info",
            "The model version being served (value 1)",
            ["version"],
            registry=registry,
        )
        self.model_reloads = Counter(
            "credwatch_model_reloads",
            "Champion versions loaded after start",
            registry=registry,
        )

    def observe_request(
        self, method: str, route: str, status: int, seconds: float
    ) -> None:
        children = self._request_children.get((method, route, status))
        if children is None:
            # Looking a labelled child up costs more than using it; routes, methods
            # and statuses are few, so each pair is looked up once.
            children = self._request_children[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def set_model(self, version: str, previous: str | None) -> None:
        if previous is not None and previous != version:
            try:
                self.model_info.remove(previous)
            except KeyError:
                pass
        self.model_info.labels(version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
