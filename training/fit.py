"""Fitting a detector on history: baselines first, then the anomaly model.

Learning walks the events in time order through the feature stream and keeps each
identity's baseline and each window's final vector (`learn_windows`); fitting then
trains the anomaly model on those vectors (`fit_learned`). The two are apart so
that learning can run in several processes, each on its share of the identities
(training/parallel.py), with one fit on what they learned together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from credwatch.batch_memory import collector_paused
from credwatch.errors import NoTrainingData
from events.lean import ReadEvent
from features.baseline import IdentityBaseline
from features.identity import IdentityResolver
from features.ordering import order_batch
from features.state import FeatureStream
from features.vectors import FEATURE_NAMES
from models.detector import Detector
from models.forest import AnomalyModel


@dataclass
class FitReport:
    events: int
    duplicates: int
    unattributed: int
    identities: int
    windows: int
    windows_by_kind: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None


@dataclass(slots=True)
class LearnedWindow:
    """One identity's hour as training sees it: the vector after its last event."""

    identity_id: str
    kind: str
    # (time, uuid) of the window's first event: where the window starts in a
    # single pass over all events in time order, whichever share learned it.
    first_event: tuple[datetime, str]
    vector: np.ndarray


@dataclass
class Learned:
    """What a pass over events in time order leaves behind for the model."""

    windows: list[LearnedWindow] = field(default_factory=list)
    baselines: dict[str, IdentityBaseline] = field(default_factory=dict)
    events: int = 0
    duplicates: int = 0
    unattributed: int = 0
    first_event: datetime | None = None
    last_event: datetime | None = None


def learn_windows(
    events: Iterable[ReadEvent],
    *,
    resolver: IdentityResolver,
    received_at: datetime | None = None,
) -> Learned:
    """Every identity's baseline and every window's final vector, in time order.

    Events without a time count as received at `received_at` (now if not given).
    """
    stream = FeatureStream(resolver)
    windows: dict[tuple[str, datetime], LearnedWindow] = {}
    with collector_paused():
        batch = order_batch(events, stream=stream, received_at=received_at)
        for facts in batch.facts:
            observation, _closed = stream.observe(facts)
            key = (facts.identity.id, observation.window.start)
            window = windows.get(key)
            if window is None:
                windows[key] = LearnedWindow(
                    facts.identity.id,
                    facts.identity.kind,
                    (facts.time, facts.uuid),
                    observation.vector,
                )
            else:
                # The last vector of a window is the whole window's vector.
                window.vector = observation.vector
        stream.close_all()
    return Learned(
        windows=list(windows.values()),
        baselines=stream.baselines,
        events=batch.events,
        duplicates=batch.duplicates,
        unattributed=batch.unattributed,
        first_event=batch.facts[0].time if batch.facts else None,
        last_event=batch.facts[-1].time if batch.facts else None,
    )


def fit_learned(
    learned: Learned, *, n_estimators: int = 100, random_state: int = 0
) -> tuple[Detector, pd.DataFrame, FitReport]:
    """Fit the anomaly model on the learned windows; the detector keeps the baselines.

    Returns the detector, the training frame (one row per identity and hour, the
    window's final feature vector) and a report of what was learned.
    """
    if not learned.windows:
        raise NoTrainingData(
            "no event in the training data names an actor; nothing to learn"
        )

    X = np.vstack([window.vector for window in learned.windows])
    kinds = np.array([window.kind for window in learned.windows])
    model = AnomalyModel(n_estimators=n_estimators, random_state=random_state).fit(
        X, kinds
    )
    detector = Detector(model=model, baselines=learned.baselines)

    frame = pd.DataFrame(X, columns=list(FEATURE_NAMES))
    frame["identity_kind"] = kinds
    found_kinds, counts = np.unique(kinds, return_counts=True)
    report = FitReport(
        events=learned.events,
        duplicates=learned.duplicates,
        unattributed=learned.unattributed,
        identities=len(learned.baselines),
        windows=len(X),
        windows_by_kind={
            str(k): int(v) for k, v in zip(found_kinds, counts, strict=True)
        },
        first_event=learned.first_event,
        last_event=learned.last_event,
    )
    return detector, frame, report


def fit_detector(
    events: Iterable[ReadEvent],
    *,
    resolver: IdentityResolver,
    n_estimators: int = 100,
    random_state: int = 0,
) -> tuple[Detector, pd.DataFrame, FitReport]:
    """Learn every identity's baseline and fit the anomaly model on its windows."""
    learned = learn_windows(events, resolver=resolver)
    return fit_learned(learned, n_estimators=n_estimators, random_state=random_state)
