"""Fitting a detector on history: baselines first, then the anomaly model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from credwatch.batch_memory import collector_paused
from credwatch.errors import NoTrainingData
from events.lean import ReadEvent
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


def fit_detector(
    events: Iterable[ReadEvent],
    *,
    resolver: IdentityResolver,
    n_estimators: int = 100,
    random_state: int = 0,
) -> tuple[Detector, pd.DataFrame, FitReport]:
    """Learn every identity's baseline and fit the anomaly model on its windows.

    Returns the detector, the training frame (one row per identity and hour, the
    window's final feature vector) and a report of what was read.
    """
    stream = FeatureStream(resolver)
    with collector_paused():
        batch = order_batch(events, stream=stream)
        final_vectors: dict[tuple[str, datetime], tuple[np.ndarray, str]] = {}
        for facts in batch.facts:
            observation, _closed = stream.observe(facts)
            # The last vector of a window is the whole window's vector.
            final_vectors[(facts.identity.id, observation.window.start)] = (
                observation.vector, facts.identity.kind,
            )
        stream.close_all()
    if not final_vectors:
        raise NoTrainingData("no event in the training data names an actor; nothing to learn")

    X = np.vstack([vector for vector, _ in final_vectors.values()])
    kinds = np.array([kind for _, kind in final_vectors.values()])
    model = AnomalyModel(n_estimators=n_estimators, random_state=random_state).fit(X, kinds)
    detector = Detector(model=model, baselines=stream.baselines)

    frame = pd.DataFrame(X, columns=list(FEATURE_NAMES))
    frame["identity_kind"] = kinds
    report = FitReport(
        events=batch.events,
        duplicates=batch.duplicates,
        unattributed=batch.unattributed,
        identities=len(stream.states),
        windows=len(X),
        windows_by_kind={str(k): int(v) for k, v in zip(*np.unique(kinds, return_counts=True), strict=True)},
        first_event=batch.facts[0].time if batch.facts else None,
        last_event=batch.facts[-1].time if batch.facts else None,
    )
    return detector, frame, report
