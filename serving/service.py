"""The scoring state one server process shares between requests and the hook worker.

`ScoringService` holds the loaded champion (`LoadedModel`: detector, scorer and the
lock that keeps the scorer's identity state consistent), the events already scored
(by uuid, time, type, actor and address), and each identity's recent risk. The
model is swapped by replacing one reference: a request takes the reference once
and finishes on that model even if a new champion arrives meanwhile.

Identity windows live in this process. Several server processes each keep their
own, which docs/deploy.md spells out; each event's score also goes to the score
log they share (credwatch/score_log.py), so any of them answers for any identity.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from credwatch.score_log import ScoreLog
from credwatch.settings import Settings
from events.schemas import LogEvent
from features.deployment import DeploymentMap
from features.identity import Identity, IdentityResolver
from models.detector import Detector, EventScore, Scorer
from models.schemas import Detection, tier_rank

logger = logging.getLogger(__name__)

SEEN_EVENTS = 500_000
# Scored events between two sweeps of the scorer's finished windows.
PRUNE_EVERY = 5_000
IDENTITIES_REMEMBERED = 100_000
HISTORY_PER_IDENTITY = 50


@dataclass
class LoadedModel:
    """One champion version with the scorer built on it."""

    detector: Detector
    scorer: Scorer
    version: str
    loaded_at: datetime
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class RiskPoint:
    """An identity's window risk right after one of its events."""

    event_time: datetime
    scored_at: datetime
    risk: float
    tier: str
    model_version: str


@dataclass
class IdentityRecord:
    """What this process remembers of one identity between requests."""

    identity: Identity
    points: deque[RiskPoint] = field(
        default_factory=lambda: deque(maxlen=HISTORY_PER_IDENTITY)
    )
    latest: EventScore | None = None


@dataclass
class ScoredBatch:
    """What scoring a request's or a delivery's events gave."""

    scores: list[EventScore]
    received: int
    duplicates: int
    unattributed: int
    model_version: str
    # Events seen for the first time, in time order (the ones worth storing).
    fresh: list[LogEvent] = field(default_factory=list)

    def worst(self) -> EventScore | None:
        return max(
            self.scores,
            key=lambda item: (tier_rank(item.tier), item.risk),
            default=None,
        )

    def detections(self) -> list[Detection]:
        """The latest detection of each identity's window, in event order."""
        latest: dict[tuple[str, datetime], Detection] = {}
        for item in self.scores:
            detection = item.detection
            if detection is not None:
                latest[(detection.identity_id, detection.window_start)] = detection
        return list(latest.values())


class ModelNotLoaded(RuntimeError):
    """No champion is loaded yet; the service answers 503 until one is."""


class ScoringService:
    """The champion, identity state and seen events of this server process."""

    def __init__(self, settings: Settings, deployment: DeploymentMap | None) -> None:
        self.settings = settings
        self.deployment = deployment
        self.resolver = IdentityResolver(deployment)
        self.model: LoadedModel | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._records: OrderedDict[str, IdentityRecord] = OrderedDict()
        # Guards the two maps above; always taken inside a model's lock, never around it.
        self._state_lock = threading.Lock()
        self._scored_since_prune = 0
        # The score log every process shares (credwatch/score_log.py), once attached.
        self.shared: ScoreLog | None = None

    # --- the model ----------------------------------------------------------------

    def install(self, detector: Detector, version: str) -> LoadedModel:
        """Make `detector` the model new requests use; requests in flight keep theirs."""
        detector.model_version = version
        # A fresh scorer starts from the new version's own baselines, learned from
        # more recent history than the old one's.
        loaded = LoadedModel(
            detector=detector,
            scorer=detector.scorer(self.resolver),
            version=version,
            loaded_at=datetime.now(UTC),
        )
        previous = self.model
        self.model = loaded
        if previous is None:
            logger.info("serving model version %s", version)
        else:
            logger.info("serving model version %s (was %s)", version, previous.version)
        return loaded

    def current(self) -> LoadedModel:
        model = self.model
        if model is None:
            raise ModelNotLoaded("no champion model is loaded yet")
        return model

    @property
    def model_version(self) -> str | None:
        model = self.model
        return model.version if model else None

    # --- scoring ------------------------------------------------------------------

    def score(
        self, events: Iterable[LogEvent], *, chunk: int | None = None, wait: bool = True
    ) -> ScoredBatch | None:
        """Score events in time order, skipping events already scored.

        `chunk` releases the model's lock every so many events, so a large hook
        delivery does not hold up API requests while it is scored. With
        `wait=False` nothing is scored and None is returned when the lock is
        busy, so the event loop can hand the work to a thread instead of waiting.
        """
        if not wait and chunk is not None:
            raise ValueError("a chunked scoring always waits for the lock")
        model = self.current()
        now = datetime.now(UTC)
        # Okta delivers late and out of order; identity state wants time order.
        ordered = sorted(events, key=lambda event: (event.published or now, event.uuid))
        duplicates = unattributed = 0
        scores: list[EventScore] = []
        fresh: list[LogEvent] = []
        step = chunk or max(len(ordered), 1)
        for start in range(0, len(ordered), step):
            if not model.lock.acquire(blocking=wait):
                return None
            try:
                for event in ordered[start : start + step]:
                    if not self._first_sight(event):
                        duplicates += 1
                        continue
                    fresh.append(event)
                    scored = model.scorer.score_event(event, when=now)
                    if scored is None:
                        unattributed += 1
                        continue
                    scores.append(scored)
                    self._remember(event, scored, model.version, now)
            finally:
                model.lock.release()
        self._scored_since_prune += len(scores)
        if self._scored_since_prune >= PRUNE_EVERY:
            self._scored_since_prune = 0
            self._prune_finished_windows(model)
        return ScoredBatch(
            scores, len(ordered), duplicates, unattributed, model.version, fresh
        )

    def _prune_finished_windows(self, model: LoadedModel) -> None:
        """Forget the verdicts of windows no identity is in any more."""
        with model.lock:
            finished = model.scorer.forget_finished_windows()
        if finished:
            logger.debug("forgot %d finished windows", finished)

    def record_of(self, identity_id: str) -> IdentityRecord | None:
        with self._state_lock:
            local = self._records.get(identity_id)
        if self.shared is None:
            return local
        # What other processes (or this one before a restart) scored, too.
        from serving.shared_identity import merged_record

        return merged_record(local, self.shared.recent(identity_id))

    def _first_sight(self, event: LogEvent) -> bool:
        # A repeat matches in uuid, time, type, actor and address; the same uuid
        # with other content is kept, so a forged copy cannot hide the real event.
        key = hash(
            (event.uuid, event.published, event.eventType, event.actor_id, event.ip)
        )
        with self._state_lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
            return True

    def _remember(
        self, event: LogEvent, scored: EventScore, version: str, now: datetime
    ) -> None:
        identity = scored.identity
        point = RiskPoint(
            event_time=event.published or now,
            scored_at=now,
            risk=round(scored.risk, 2),
            tier=scored.tier,
            model_version=version,
        )
        with self._state_lock:
            record = self._records.get(identity.id)
            if record is None:
                record = self._records[identity.id] = IdentityRecord(identity)
                if len(self._records) > IDENTITIES_REMEMBERED:
                    self._records.popitem(last=False)
            else:
                self._records.move_to_end(identity.id)
            record.identity = identity
            record.points.append(point)
            record.latest = scored
        if self.shared is not None:
            self.shared.add(event, scored, version=version, now=now)
