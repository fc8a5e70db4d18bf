"""Detection quality against labels (contracts section 5)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from events.schemas import parse_okta_time
from models.schemas import Detection, tier_rank


# Alerts on a compromised identity soon after its labelled period (the victim
# back home after the attacker's sign-in, say) follow from the same incident.
FOLLOW_ON = timedelta(hours=24)


@dataclass(frozen=True)
class Label:
    identity_id: str
    start: datetime
    end: datetime
    scenario: str

    def covers(self, detection: Detection) -> bool:
        return (
            detection.identity_id == self.identity_id
            and detection.window_start <= self.end
            and detection.window_end >= self.start
        )

    def explains(self, detection: Detection) -> bool:
        """The detection is this incident's, or follows from it within FOLLOW_ON."""
        return (
            detection.identity_id == self.identity_id
            and detection.window_start <= self.end + FOLLOW_ON
            and detection.window_end >= self.start
        )


@dataclass
class Evaluation:
    tier: str
    recall_by_scenario: dict[str, tuple[int, int]] = field(default_factory=dict)
    lookalikes_alerted: dict[str, tuple[int, int]] = field(default_factory=dict)
    false_alerts: int = 0
    alerts: int = 0

    @property
    def recall(self) -> float:
        found = sum(hit for hit, _ in self.recall_by_scenario.values())
        total = sum(count for _, count in self.recall_by_scenario.values())
        return found / total if total else 0.0


def read_labels(path: Path) -> list[Label]:
    if not path.exists():
        return []
    labels = []
    for line in path.read_bytes().splitlines():
        if line.strip():
            row = orjson.loads(line)
            labels.append(
                Label(
                    identity_id=row["identity_id"],
                    start=parse_okta_time(row["start"]),
                    end=parse_okta_time(row["end"]),
                    scenario=row["scenario"],
                )
            )
    return labels


def evaluate(
    detections: Iterable[Detection],
    *,
    labels: Sequence[Label],
    lookalikes: Sequence[Label] = (),
    tier: str = "high",
) -> Evaluation:
    """Recall per scenario and false alerts, counting detections at `tier` or above."""
    alerts = [d for d in detections if tier_rank(d.tier) >= tier_rank(tier)]
    result = Evaluation(tier=tier, alerts=len(alerts))

    for scenario in sorted({label.scenario for label in labels}):
        group = [label for label in labels if label.scenario == scenario]
        found = sum(any(label.covers(alert) for alert in alerts) for label in group)
        result.recall_by_scenario[scenario] = (found, len(group))
    for scenario in sorted({label.scenario for label in lookalikes}):
        group = [label for label in lookalikes if label.scenario == scenario]
        alerted = sum(any(label.covers(alert) for alert in alerts) for label in group)
        result.lookalikes_alerted[scenario] = (alerted, len(group))

    result.false_alerts = sum(
        not any(label.explains(alert) for label in labels) for alert in alerts
    )
    return result
