"""`credwatch watch`: score each event as it arrives, respond, ticket, repeat.

Events come from the Okta System Log (polled with a saved cursor, see
`events.poller`) or, with no Okta org configured or with `--replay`, from files
replayed at a chosen speed. Each event is scored by the champion detector
(`Scorer.score_event`); a detection at medium or above opens or updates the
identity's incident exactly as `score` does, and in enforce mode the executor
carries out the queued actions right away, so containment follows the event
within the second.

Exactly-once: an event that leads to a response is marked handled in the same
transaction as the response; the others are marked in batches and at the end of
each page (`MARK_BATCH`). A restart re-reads the page from the saved cursor and
skips what is marked. Each event's score goes to the shared score log
(credwatch/score_log.py) in the transaction that marks the event, so an event is
logged once however often the process restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from credwatch.retention import RetentionSchedule
from credwatch.score_log import insert_rows, row_for
from credwatch.settings import Settings
from events.poller import SystemLogPoller, mark_handled
from events.readers import read_events
from events.schemas import LogEvent
from features.deployment import DeploymentMap
from features.identity import IdentityResolver
from feedback.schedule import FeedbackSchedule
from integrations.okta import LogSource
from models.detector import Detector
from models.schemas import Detection, tier_rank
from response.evidence import keep_evidence
from response.executor import Executor
from response.policy import ResponsePolicy
from response.service import MIN_INCIDENT_TIER, respond

logger = logging.getLogger(__name__)

# Events with no response are marked handled this many at a time.
MARK_BATCH = 200
# Recent events kept in memory, to store the ones a detection cites as evidence.
RECENT_EVENTS = 20_000


@dataclass
class WatchReport:
    """What a watch run saw and did."""

    events: int = 0
    skipped: int = 0
    detections: int = 0
    incidents: set[int] = field(default_factory=set)
    outbox: Counter[str] = field(default_factory=Counter)
    polls: int = 0

    def summary(self) -> str:
        done = (
            ", ".join(f"{n} {what}" for what, n in sorted(self.outbox.items()))
            or "none"
        )
        return (
            f"{self.events} events scored, {self.detections} detections at "
            f"{MIN_INCIDENT_TIER} or above, {len(self.incidents)} incidents; "
            f"outbox: {done}"
        )


class Watcher:
    """Scores events one by one and responds to what they reveal."""

    def __init__(
        self,
        *,
        settings: Settings,
        detector: Detector,
        deployment: DeploymentMap | None,
        policy: ResponsePolicy,
        sessions: sessionmaker[Session],
        executor: Executor | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_event: Callable[[LogEvent], None] | None = None,
    ) -> None:
        self._settings = settings
        self._scorer = detector.scorer(IdentityResolver(deployment))
        self._deployment = deployment
        self._policy = policy
        self._sessions = sessions
        self._executor = executor
        self._clock = clock
        self._on_event = on_event
        self._recent: OrderedDict[str, LogEvent] = OrderedDict()
        self._unmarked: list[str] = []
        # Scores for the shared score log, written with the marks of their events.
        self._scores: list[dict[str, object]] = []
        self._version = detector.model_version
        self.report = WatchReport()
        self.stop = threading.Event()
        self._retention = RetentionSchedule(settings, sessions=sessions)
        # Jira verdicts every 15 minutes, the summary page once a week.
        self._feedback = FeedbackSchedule(settings=settings, deployment=deployment)

    # Sources.

    def replay(self, paths: Iterable[Path], *, speed: float = 0.0) -> WatchReport:
        """Replay files in event time; `speed` X is X times real time, 0 flat out."""
        events = sorted(
            read_events(list(paths), quarantine=None),
            key=lambda event: (
                event.published is None,
                event.published or datetime.min,
            ),
        )
        self._retention.maybe_run()
        started = time.monotonic()
        first = next((event.published for event in events if event.published), None)
        for event in events:
            if self.stop.is_set():
                break
            if speed > 0 and first is not None and event.published is not None:
                due = (event.published - first).total_seconds() / speed
                pause = due - (time.monotonic() - started)
                if pause > 0 and self.stop.wait(pause):
                    break
            self.handle(event, cursor=None)
        self._flush_marks(None)
        self._drain()
        return self.report

    def poll(
        self,
        *,
        source: LogSource,
        since: datetime | None,
        max_polls: int | None = None,
        interval: float | None = None,
    ) -> WatchReport:
        """Poll the System Log until stopped (or `max_polls` polls)."""
        poller = SystemLogPoller(
            source=source,
            sessions=self._sessions,
            since=since,
            now=self._clock,
            page_limit=self._settings.watch_page_limit,
        )
        pause = self._settings.watch_poll_interval_s if interval is None else interval
        while not self.stop.is_set():
            batch = poller.poll()
            self.report.polls += 1
            for event in batch:
                self.handle(event, cursor=poller.name)
            self._flush_marks(poller.name)
            poller.finish_page()
            # Retries that came due while the page was worked on.
            self._drain()
            self._retention.maybe_run()
            self._feedback.tick()
            if max_polls is not None and self.report.polls >= max_polls:
                break
            if not batch and self.stop.wait(pause):
                break
        return self.report

    # One event.

    def handle(self, event: LogEvent, *, cursor: str | None) -> None:
        """Score one event and respond to what it reveals."""
        if self._on_event is not None:
            self._on_event(event)
        if event.uuid in self._recent:
            self.report.skipped += 1
            return
        self._remember(event)
        self.report.events += 1
        scored = self._scorer.score_event(event)
        if scored is not None:
            self._scores.append(
                row_for(event, scored, version=self._version, source="watch", now=self._clock())
            )
        detection = scored.detection if scored is not None else None
        if detection is None or tier_rank(detection.tier) < tier_rank(
            MIN_INCIDENT_TIER
        ):
            if cursor is not None:
                self._unmarked.append(event.uuid)
            if len(self._unmarked) >= MARK_BATCH or len(self._scores) >= MARK_BATCH:
                self._flush_marks(cursor)
            return
        self.report.detections += 1
        queued = self._respond(detection, event, cursor=cursor)
        if queued:
            self._drain()

    def _respond(
        self, detection: Detection, event: LogEvent, *, cursor: str | None
    ) -> bool:
        now = self._clock()
        with self._sessions() as session:
            cited = [
                self._recent[uuid]
                for uuid in detection.event_ids
                if uuid in self._recent
            ]
            keep_evidence(session, identity_id=detection.identity_id, events=cited)
            outcome = respond(
                detection=detection,
                session=session,
                policy=self._policy,
                deployment_map=self._deployment,
                mode=self._settings.response_mode,
                now=now,
            )
            if cursor is not None:
                mark_handled(
                    session, uuids=[*self._unmarked, event.uuid], name=cursor, now=now
                )
            insert_rows(session.connection(), self._scores)
            session.commit()
        self._unmarked.clear()
        self._scores.clear()
        if outcome.incident_id is not None:
            self.report.incidents.add(outcome.incident_id)
        return bool(outcome.actions or outcome.new_reasons)

    def _flush_marks(self, cursor: str | None) -> None:
        if not self._unmarked and not self._scores:
            return
        with self._sessions() as session:
            if cursor is not None:
                mark_handled(
                    session, uuids=list(self._unmarked), name=cursor, now=self._clock()
                )
            # In the same transaction: an event is marked handled with its score.
            insert_rows(session.connection(), self._scores)
            session.commit()
        self._unmarked.clear()
        self._scores.clear()

    def _drain(self) -> None:
        if self._executor is None or self._settings.response_mode != "enforce":
            return
        self.report.outbox.update(self._executor.drain())

    def _remember(self, event: LogEvent) -> None:
        self._recent[event.uuid] = event
        while len(self._recent) > RECENT_EVENTS:
            self._recent.popitem(last=False)


def parse_since(text: str | None) -> datetime | None:
    """`--since`: ISO 8601 (a time without an offset is UTC); None means now."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not an ISO 8601 time (e.g. 2026-03-01T10:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_watch(
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
    since: datetime | None,
    replay: list[Path] | None,
    speed: float,
    detector: Detector | None = None,
    stop: threading.Event | None = None,
    max_polls: int | None = None,
) -> WatchReport:
    """Wire the watcher to the settings' database, services and champion model."""
    from credwatch.pipeline import load_detector
    from integrations.factory import okta_from_settings
    from response.executor import executor_for
    from response.flows import policy_for, session_factory

    if not replay and not settings.okta_org_url:
        raise ValueError(
            "no Okta org is configured (CREDWATCH_OKTA_ORG_URL): give --replay PATH... "
            "to replay files instead"
        )
    sessions = session_factory(settings)
    executor = executor_for(settings, sessions=sessions)
    watcher = Watcher(
        settings=settings,
        detector=detector or load_detector(settings),
        deployment=deployment,
        policy=policy_for(settings),
        sessions=sessions,
        executor=executor,
    )
    if stop is not None:
        watcher.stop = stop
    try:
        if replay:
            logger.info("replaying %d path(s) at speed %s", len(replay), speed)
            return watcher.replay(replay, speed=speed)
        okta = okta_from_settings(settings)
        assert okta is not None
        try:
            return watcher.poll(source=okta, since=since, max_polls=max_polls)
        finally:
            okta.close()
    finally:
        executor.close()
