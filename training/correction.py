"""A correction of the forest's risk, learned from verdicts, stored with the model.

The IsolationForest says how unusual a window is, not how likely it is misuse.
Verdicts teach the difference: an agent working from the region it always used is
unusual for agents as a whole but was called expected, a first address from a new
network was a compromise. The correction is a small logistic model in log-odds:

    corrected = sigmoid(logit(risk) * (1 + slope) + intercept + sum_j coef_j * z_j)

with `z_j` the window's features in units of the forest's own typical value and
spread. All zero means no change, which is where training starts and what too few
verdicts leave. Each coefficient reads as "this feature, one usual spread above
typical, multiplies the odds of misuse by exp(coef)", which is how the summary
explains it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.vectors import FEATURE_DESCRIPTIONS, FEATURE_NAMES
from models.forest import AnomalyModel, KindForest

# Risks are kept off 0 and 100 so their log-odds stay finite.
RISK_FLOOR = 0.001
# A feature far outside its usual spread counts as this many spreads, no more:
# counts like events per hour would otherwise swamp everything else.
Z_LIMIT = 5.0


@dataclass(frozen=True)
class VerdictCorrection:
    """Log-odds correction of one forest's 0-100 risk."""

    intercept: float
    slope: float
    coef: np.ndarray
    center: np.ndarray
    spread: np.ndarray

    @classmethod
    def none(cls, *, center: np.ndarray, spread: np.ndarray) -> VerdictCorrection:
        return cls(0.0, 0.0, np.zeros(len(center)), center, spread)

    def standardise(self, X: np.ndarray) -> np.ndarray:
        return np.clip((X - self.center) / self.spread, -Z_LIMIT, Z_LIMIT)

    def apply(self, risk: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Corrected 0-100 risk of rows `X` whose forest risk is `risk`."""
        p = np.clip(
            np.asarray(risk, dtype=np.float64) / 100.0, RISK_FLOOR, 1 - RISK_FLOOR
        )
        odds = np.log(p / (1 - p)) * (1.0 + self.slope) + self.intercept
        odds = odds + self.standardise(X) @ self.coef
        return 100.0 / (1.0 + np.exp(-odds))

    @property
    def is_identity(self) -> bool:
        return self.intercept == 0 and self.slope == 0 and not np.any(self.coef)

    def strongest(self, *, top: int = 5) -> list[tuple[str, float]]:
        """The features that move the odds most, as (description, coefficient)."""
        order = np.argsort(-np.abs(self.coef))[:top]
        return [
            (FEATURE_DESCRIPTIONS[FEATURE_NAMES[i]], float(self.coef[i]))
            for i in order
            if abs(self.coef[i]) >= 0.05
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "intercept": round(self.intercept, 4),
            "slope": round(self.slope, 4),
            "coef": {
                name: round(float(value), 4)
                for name, value in zip(FEATURE_NAMES, self.coef, strict=True)
                if abs(value) >= 1e-4
            },
        }


class CorrectedForest(KindForest):
    """A fitted `KindForest` whose risk passes through a `VerdictCorrection`.

    Built by `wrap` from a fitted forest; scoring, packing and explanations are the
    forest's own, only `risk` adds the correction.
    """

    correction_: VerdictCorrection

    @classmethod
    def wrap(cls, forest: KindForest, correction: VerdictCorrection) -> CorrectedForest:
        base = forest.base_forest() if isinstance(forest, CorrectedForest) else forest
        wrapped = cls.__new__(cls)
        wrapped.__dict__.update(base.__getstate__())
        wrapped.correction_ = correction
        return wrapped

    def base_forest(self) -> KindForest:
        """The forest without the correction."""
        plain = KindForest.__new__(KindForest)
        state = self.__getstate__()
        state.pop("correction_", None)
        plain.__dict__.update(state)
        return plain

    def risk(self, X: np.ndarray) -> np.ndarray:
        return self.correction_.apply(super().risk(X), X)


def correction_basis(forest: KindForest) -> tuple[np.ndarray, np.ndarray]:
    """The centre and spread features are measured in: the forest's own."""
    return np.asarray(forest.typical_, dtype=np.float64), np.asarray(
        forest.spread_, dtype=np.float64
    )


def corrected_model(
    model: AnomalyModel, corrections: dict[str, VerdictCorrection]
) -> AnomalyModel:
    """A copy of `model` whose kind forests carry `corrections` (by identity kind).

    The shared forest (for kinds with little history) takes the correction of no
    kind in particular, so it stays as it is.
    """
    import copy

    corrected = copy.copy(model)
    corrected.by_kind_ = dict(model.by_kind_)
    for kind, correction in corrections.items():
        forest = model.by_kind_.get(kind)
        if forest is not None and not correction.is_identity:
            corrected.by_kind_[kind] = CorrectedForest.wrap(forest, correction)
    return corrected


def corrections_of(model: AnomalyModel) -> dict[str, VerdictCorrection]:
    return {
        kind: forest.correction_
        for kind, forest in model.by_kind_.items()
        if isinstance(forest, CorrectedForest)
    }


def plain_model(model: AnomalyModel) -> AnomalyModel:
    """A copy of `model` with every correction taken off its forests."""
    import copy

    plain = copy.copy(model)
    plain.by_kind_ = {
        kind: forest.base_forest() if isinstance(forest, CorrectedForest) else forest
        for kind, forest in model.by_kind_.items()
    }
    return plain
