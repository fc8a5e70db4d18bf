"""Building a challenger from events and verdicts, without MLflow.

Two passes over the events:

1. every window as observed, with its rule hits (training.windows), so the
   judged windows can be labelled, and the baselines as they stood when the recent
   period began are kept for a fair comparison;
2. a fresh fit (training.fit) on the benign events only: the events of
   true-positive spans are left out, so an attacker's networks never become the
   victim's normal.

Then the ensemble's weights and the forest's risk correction are fitted to the
labelled windows (training.ensemble_fit), rules switched off or re-weighted in the
settings are applied, and the expected spans yield map proposals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from events.schemas import LogEvent
from features.baseline import IdentityBaseline
from features.identity import IdentityResolver
from feedback.proposals import Proposal, propose
from models.detector import Detector
from models.ensemble import EnsembleWeights
from training.correction import corrected_model
from training.ensemble_fit import EnsembleFit, fit_ensemble
from training.fit import FitReport, fit_detector
from training.spans import Span, without_positive_spans
from training.tempering import familiar_severities
from training.windows import WindowLabel, WindowRecord, collect_windows, label_windows

logger = logging.getLogger(__name__)


@dataclass
class Challenger:
    """A refitted detector and everything that went into it."""

    detector: Detector
    frame: pd.DataFrame  # training windows of the new forest
    reference_frame: pd.DataFrame  # windows before the recent period (drift)
    recent_frame: pd.DataFrame  # windows of the recent period (drift)
    fit: EnsembleFit
    fit_report: FitReport
    snapshot: dict[str, IdentityBaseline] | None
    proposals: list[Proposal]
    labelled_windows: pd.DataFrame  # the labelled dataset, logged with the run
    seconds: float


def build_challenger(
    events: Sequence[LogEvent],
    *,
    spans: Sequence[Span],
    prior: EnsembleWeights,
    resolver: IdentityResolver,
    recent_start: datetime,
    unjudged: Sequence[Span] = (),
    disabled_rules: frozenset[str] = frozenset(),
    rule_weights: dict[str, float] | None = None,
    n_estimators: int = 100,
    random_state: int = 0,
) -> Challenger:
    """Refit on `events`, learn from `spans`, starting from `prior` weights.

    `unjudged` spans (incidents still open) teach nothing and their events are
    kept out of the refit. `rule_weights` from the settings are fixed by hand:
    they override the fit.
    """
    started = time.perf_counter()
    collection = collect_windows(
        events,
        resolver=resolver,
        disabled_rules=disabled_rules,
        snapshot_at=recent_start,
        spans=spans,
    )
    labels = label_windows(collection.windows, spans)

    fresh, frame, fit_report = fit_detector(
        without_positive_spans(events, spans, unjudged=unjudged),
        resolver=resolver,
        n_estimators=n_estimators,
        random_state=random_state,
    )
    # Learn from the judged windows, whenever they were, and from a sample of
    # the recent unjudged ones.
    chosen = [
        i
        for i, window in enumerate(collection.windows)
        if labels[i].value is not None or window.last_time >= recent_start
    ]
    windows = [collection.windows[i] for i in chosen]
    window_labels = [labels[i] for i in chosen]
    fit = fit_ensemble(
        windows,
        window_labels,
        model=fresh.model,
        prior=prior,
        random_state=random_state,
    )
    weights = fit.weights
    if rule_weights:
        weights = EnsembleWeights(
            model=weights.model, rules={**weights.rules, **rule_weights}
        )
        fit.weights = weights

    detector = Detector(
        model=corrected_model(fresh.model, fit.corrections),
        baselines=fresh.baselines,
        weights=weights,
        disabled_rules=disabled_rules,
    )
    detector.familiar_severity = familiar_severities(fit.familiar, weights)
    proposals = propose(collection.evidence)
    seconds = time.perf_counter() - started
    logger.info(
        "challenger built in %.1f s: %d windows, %d labelled, %d proposals",
        seconds,
        len(collection.windows),
        fit.positives + fit.negatives,
        len(proposals),
    )
    return Challenger(
        detector=detector,
        frame=frame,
        reference_frame=frame_of(
            [w for w in collection.windows if w.last_time < recent_start]
        ),
        recent_frame=frame_of(
            [w for w in collection.windows if w.last_time >= recent_start]
        ),
        fit=fit,
        fit_report=fit_report,
        snapshot=collection.snapshot,
        proposals=proposals,
        labelled_windows=_labelled_frame(collection.windows, labels),
        seconds=seconds,
    )


def frame_of(windows: Sequence[WindowRecord]) -> pd.DataFrame:
    """Windows as a feature frame (one row each, with `identity_kind`)."""
    from features.vectors import FEATURE_NAMES

    if not windows:
        return pd.DataFrame(columns=[*FEATURE_NAMES, "identity_kind"])
    frame = pd.DataFrame([w.vector for w in windows], columns=list(FEATURE_NAMES))
    frame["identity_kind"] = [w.kind for w in windows]
    return frame


def _labelled_frame(
    windows: Sequence[WindowRecord], labels: Sequence[WindowLabel]
) -> pd.DataFrame:
    rows = [
        {
            "identity_id": w.identity_id,
            "identity_kind": w.kind,
            "window_start": w.start.isoformat(),
            "rules": ",".join(sorted(w.rules)),
            # Floats: MLflow's schema of an integer column cannot hold a gap.
            "label": float(label.value),
            "incident": float(label.group) if label.group is not None else None,
        }
        for w, label in zip(windows, labels, strict=True)
        if label.value is not None
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "identity_id",
            "identity_kind",
            "window_start",
            "rules",
            "label",
            "incident",
        ],
    )
