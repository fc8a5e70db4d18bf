"""The background worker that scores Event Hook deliveries after they are acknowledged.

One thread per server process drains the durable queue oldest first: it reads each
delivery as the file readers would (records that are not events go to the
quarantine folder), skips a delivery Okta sent again (same `eventId`) and events
already scored (same `uuid`), scores the rest in `published` order, responds to
what it finds, keeps the new events in the event store, and marks the delivery
done. A delivery that fails is tried again, at most `MAX_ATTEMPTS` times in all.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson

from credwatch.settings import Settings
from events.quarantine import QuarantineWriter
from events.readers import ReadReport, read_event_objects
from events.store import EventStore
from serving.metrics import Metrics
from serving.queue import Claimed, DeliveryQueue
from serving.responder import respond_to
from serving.service import ScoringService

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
PURGE_SECONDS = 3600.0
# Events scored per hold of the model's lock, so API requests get their turn.
SCORE_CHUNK = 20


class HookWorker:
    """Drains the delivery queue in a daemon thread."""

    def __init__(
        self,
        *,
        service: ScoringService,
        queue: DeliveryQueue,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self.service = service
        self.queue = queue
        self.metrics = metrics
        self.settings = settings
        self.store = EventStore.from_settings(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="credwatch-hook-worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def notify(self) -> None:
        """A delivery was queued: look now rather than at the next poll."""
        self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued delivery is scored (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Deliveries being scored still count, so 0 means done.
            if self.queue.depth() == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self._drain()
            except Exception:
                # The database may be briefly unreachable; the queue keeps the work.
                logger.exception("Event Hook worker failed; retrying shortly")
                worked = False
            if not worked:
                self._wake.wait(timeout=POLL_SECONDS)
                self._wake.clear()

    def _drain(self) -> bool:
        if self.service.model is None:
            return False
        did_work = False
        while not self._stop.is_set():
            self._wake.clear()
            claimed = self.queue.claim()
            if claimed is None:
                break
            did_work = True
            self._process_safely(claimed)
        self.metrics.queue_depth.set(self.queue.depth())
        if time.monotonic() - self._last_purge > PURGE_SECONDS:
            self._last_purge = time.monotonic()
            self.queue.purge()
        return did_work

    def _process_safely(self, claimed: Claimed) -> None:
        try:
            self.process(claimed)
        except Exception as exc:
            status = self.queue.fail(claimed, f"{type(exc).__name__}: {exc}")
            logger.exception(
                "delivery %d failed (attempt %d); now %s",
                claimed.id,
                claimed.attempts,
                status,
            )

    def process(self, claimed: Claimed) -> None:
        started = time.perf_counter()
        delivery_id = _delivery_id(claimed.body)
        if delivery_id and self.queue.seen_delivery(delivery_id, other_than=claimed.id):
            self.queue.finish(
                claimed.id,
                delivery_id=delivery_id,
                events=0,
                duplicates=0,
                quarantined=0,
            )
            logger.info(
                "delivery %d repeats Okta delivery %s; skipped", claimed.id, delivery_id
            )
            return

        quarantine_path = self.settings.quarantine_dir / f"okta-hook-{claimed.id}.jsonl"
        report = ReadReport()
        with QuarantineWriter(quarantine_path) as quarantine:
            events = list(
                read_event_objects(
                    claimed.body,
                    f"okta event hook delivery {claimed.id}",
                    quarantine=quarantine,
                    report=report,
                )
            )
        batch = self.service.score(events, chunk=SCORE_CHUNK)
        assert batch is not None  # a chunked scoring waits for the lock
        responses = respond_to(
            batch.detections(),
            settings=self.settings,
            deployment=self.service.deployment,
        )
        if batch.fresh:
            self.store.append(batch.fresh)
        if self.service.shared is not None:
            # The scores are in the shared log before the delivery counts as done.
            self.service.shared.flush()
        self.queue.finish(
            claimed.id,
            delivery_id=delivery_id,
            events=len(batch.fresh),
            duplicates=batch.duplicates,
            quarantined=report.quarantined,
        )

        for item in batch.scores:
            self.metrics.scores.labels(item.tier, "okta-hook").inc()
        for response in responses.values():
            for kind, status in response.actions:
                self.metrics.actions.labels(kind, status).inc()
        self.metrics.hook_events.labels("scored").inc(len(batch.scores))
        self.metrics.hook_events.labels("duplicate").inc(batch.duplicates)
        self.metrics.hook_events.labels("quarantined").inc(report.quarantined)
        logger.info(
            "delivery %d: %d events scored, %d duplicates, %d quarantined, "
            "%d incidents touched in %.0f ms",
            claimed.id,
            len(batch.scores),
            batch.duplicates,
            report.quarantined,
            sum(1 for item in responses.values() if item.incident_id is not None),
            (time.perf_counter() - started) * 1000,
        )


def _delivery_id(body: bytes) -> str | None:
    """Okta's `eventId` of the delivery, when the body is an Event Hook envelope."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict):
        value = document.get("eventId")
        if isinstance(value, str) and value.strip():
            return value.strip()[:128]
    return None
