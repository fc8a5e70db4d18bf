"""Champion against challenger on the same labelled history, and the promotion gate.

Both detectors score the same recent events from the same starting baselines (the
identities' state as it stood when the recent period began), so the comparison
sees only what the models themselves change. Labels are the true-positive verdict
spans; a false alert is an alert no true-positive span explains, which counts
alerts nobody has judged yet as false too, the cautious reading.

The gate: the challenger is promoted only if its recall is not lower and its false
alerts are not more than the champion's.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from events.schemas import LogEvent
from features.baseline import IdentityBaseline
from features.identity import IdentityResolver
from models.detector import Detector
from response.service import MIN_INCIDENT_TIER
from training.evaluation import evaluate
from training.spans import Span, as_labels

GATE_TIER = MIN_INCIDENT_TIER


@dataclass(frozen=True)
class Scores:
    recall: float
    found: int
    positives: int
    false_alerts: int
    alerts: int

    def as_metrics(self, prefix: str) -> dict[str, float]:
        return {
            f"{prefix}_recall": self.recall,
            f"{prefix}_false_alerts": float(self.false_alerts),
            f"{prefix}_alerts": float(self.alerts),
            f"{prefix}_positives": float(self.positives),
        }


@dataclass(frozen=True)
class Comparison:
    champion: Scores
    challenger: Scores
    tier: str

    @property
    def promote(self) -> bool:
        return (
            self.challenger.recall >= self.champion.recall
            and self.challenger.false_alerts <= self.champion.false_alerts
        )

    @property
    def reason(self) -> str:
        ch, cc = self.champion, self.challenger
        said = (
            f"recall {cc.recall:.3f} vs champion {ch.recall:.3f}, false alerts "
            f"{cc.false_alerts} vs {ch.false_alerts} (tier {self.tier} and above)"
        )
        if self.promote:
            return f"promoted: {said}"
        failed = []
        if cc.recall < ch.recall:
            failed.append("recall is lower")
        if cc.false_alerts > ch.false_alerts:
            failed.append("more false alerts")
        return f"kept the champion ({' and '.join(failed)}): {said}"


def score_detector(
    detector: Detector,
    events: Sequence[LogEvent],
    *,
    resolver: IdentityResolver,
    spans: Sequence[Span],
    baselines: dict[str, IdentityBaseline] | None,
    tier: str = GATE_TIER,
    since: datetime | None = None,
) -> Scores:
    """Recall on the true-positive spans and false alerts, scoring `events`.

    With `baselines`, the detector starts from them instead of its own. With
    `since`, only alerts and spans from then on count.
    """
    scored = detector
    if baselines is not None:
        scored = copy.copy(detector)
        scored.baselines = baselines
    detections = scored.scorer(resolver).score_batch(events)
    labels = as_labels(spans)
    if since is not None:
        detections = [d for d in detections if d.window_end >= since]
        labels = [label for label in labels if label.end >= since]
    quality = evaluate(detections, labels=labels, tier=tier)
    found = sum(hit for hit, _ in quality.recall_by_scenario.values())
    total = sum(count for _, count in quality.recall_by_scenario.values())
    return Scores(
        recall=quality.recall if total else 1.0,
        found=found,
        positives=total,
        false_alerts=quality.false_alerts,
        alerts=quality.alerts,
    )


def compare(
    champion: Detector,
    challenger: Detector,
    events: Sequence[LogEvent],
    *,
    resolver: IdentityResolver,
    spans: Sequence[Span],
    baselines: dict[str, IdentityBaseline] | None,
    tier: str = GATE_TIER,
) -> Comparison:
    """Both detectors on the same events, from the same baselines."""
    return Comparison(
        champion=score_detector(
            champion,
            events,
            resolver=resolver,
            spans=spans,
            baselines=baselines,
            tier=tier,
        ),
        challenger=score_detector(
            challenger,
            events,
            resolver=resolver,
            spans=spans,
            baselines=baselines,
            tier=tier,
        ),
        tier=tier,
    )
