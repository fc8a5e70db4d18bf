"""From fitted familiar-ground weights to the severities a detector tempers hits to.

The ensemble fit learns, for each rule, one weight for hits on new ground and one
for hits on familiar ground (the event showed the identity nothing new). Scoring
keeps the rule's weight and instead lowers the severity of a familiar hit
(models.detector.Detector.temper), so the learned weight is turned into the
severity whose weighted score comes closest to it, or "none" when not even a low
hit is deserved. Only rules the verdicts made less trusted on familiar ground are
tempered.
"""

from __future__ import annotations

from models.ensemble import EnsembleWeights
from models.rules import RULES_BY_ID, SEVERITY_SCORES

# Only a clear loss of trust tempers a rule: less than this share of its weight.
TEMPER_BELOW = 0.8
_CHOICES = ("none", "low", "medium", "high", "critical")


def familiar_severities(
    familiar: dict[str, float], weights: EnsembleWeights
) -> dict[str, str]:
    """rule id -> the severity its familiar-ground hits count at."""
    tempered: dict[str, str] = {}
    for rule_id, familiar_weight in sorted(familiar.items()):
        rule = RULES_BY_ID.get(rule_id)
        weight = weights.rule_weight(rule_id)
        if rule is None or weight <= 0 or familiar_weight >= TEMPER_BELOW * weight:
            continue
        default = rule.severity
        wanted = familiar_weight * SEVERITY_SCORES[default]
        candidates = [s for s in _CHOICES if _score(s) <= SEVERITY_SCORES[default]]
        best = min(candidates, key=lambda s: abs(weight * _score(s) - wanted))
        if best != default:
            tempered[rule_id] = best
    return tempered


def _score(severity: str) -> float:
    return 0.0 if severity == "none" else SEVERITY_SCORES[severity]
