"""The ensemble: rule hits and the model's risk combined into one risk and a tier.

Both parts are read as probabilities that the window is misuse and combined as a
noisy-OR, so two independent high-severity findings outweigh either alone and the
model can raise, but never lower, what the rules found. The weights are explicit
and travel with the model, so verdicts can refit them later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.rules import SEVERITY_SCORES, Hit
from models.schemas import Tier

TIER_THRESHOLDS: tuple[tuple[float, Tier], ...] = (
    (90.0, "critical"),
    (75.0, "high"),
    (50.0, "medium"),
    (25.0, "low"),
)


@dataclass
class EnsembleWeights:
    # The model alone tops out just under the high tier: an unexplained anomaly
    # earns a ticket for review, and only with a rule's evidence a suspension.
    model: float = 0.74
    rules: dict[str, float] = field(default_factory=dict)

    def rule_weight(self, rule_id: str) -> float:
        return self.rules.get(rule_id, 1.0)


def combine(*, model_risk: float, hits: dict[str, Hit], weights: EnsembleWeights) -> float:
    """Risk 0-100 from the model's calibrated risk and the strongest hit of each rule."""
    clear = 1.0 - min(1.0, weights.model * model_risk / 100.0)
    for rule_id, hit in hits.items():
        strength = weights.rule_weight(rule_id) * SEVERITY_SCORES[hit.severity] / 100.0
        clear *= 1.0 - min(1.0, strength)
    return round(100.0 * (1.0 - clear), 1)


def tier_for(risk: float) -> Tier:
    for threshold, tier in TIER_THRESHOLDS:
        if risk >= threshold:
            return tier
    return "none"
