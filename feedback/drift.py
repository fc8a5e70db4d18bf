"""Feature drift between the training window and recent traffic: PSI and KS.

Population stability index per feature, over bins cut at the reference's deciles
(features with few distinct values are compared value by value), read with the
usual thresholds: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
major one. The two-sample Kolmogorov-Smirnov test is reported beside it with its
p-value; on thousands of windows KS flags even trivial shifts, so the level comes
from PSI and KS only confirms it (p < 0.05). Bins and smoothing are fixed, so runs
compare with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from features.vectors import FEATURE_DESCRIPTIONS, FEATURE_NAMES

PSI_STABLE = 0.1
PSI_MAJOR = 0.25
KS_ALPHA = 0.05
BINS = 10
# A feature with at most this many distinct values is compared value by value.
CATEGORICAL_LIMIT = 10
# Empty bins would make PSI infinite; each share is at least this.
SMOOTHING = 1e-4
MIN_ROWS = 20


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    ks: float
    ks_p: float
    reference_mean: float
    recent_mean: float

    @property
    def level(self) -> str:
        return psi_level(self.psi)

    @property
    def description(self) -> str:
        return FEATURE_DESCRIPTIONS.get(self.feature, self.feature)


def psi_level(value: float) -> str:
    """'stable' below 0.1, 'moderate' up to 0.25, 'major' above."""
    if value < PSI_STABLE:
        return "stable"
    if value <= PSI_MAJOR:
        return "moderate"
    return "major"


def psi(reference: np.ndarray, recent: np.ndarray, *, bins: int = BINS) -> float:
    """Population stability index of `recent` against `reference`."""
    reference = np.asarray(reference, dtype=float)
    recent = np.asarray(recent, dtype=float)
    if len(reference) == 0 or len(recent) == 0:
        return float("nan")
    values = np.unique(reference)
    if len(values) <= CATEGORICAL_LIMIT:
        expected = np.array([(reference == v).mean() for v in values])
        actual = np.array([(recent == v).mean() for v in values])
        # Values the reference never had form one more category.
        expected = np.append(expected, 0.0)
        actual = np.append(actual, 1.0 - actual.sum())
    else:
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
        expected = np.bincount(
            np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1
        ) / len(reference)
        actual = np.bincount(
            np.searchsorted(edges, recent, side="right"), minlength=len(edges) + 1
        ) / len(recent)
    expected = np.clip(expected, SMOOTHING, None)
    actual = np.clip(actual, SMOOTHING, None)
    return float(((actual - expected) * np.log(actual / expected)).sum())


def feature_drift(reference: pd.DataFrame, recent: pd.DataFrame) -> list[FeatureDrift]:
    """PSI and KS of every feature, largest PSI first; empty with too few rows."""
    if len(reference) < MIN_ROWS or len(recent) < MIN_ROWS:
        return []
    found = []
    for name in FEATURE_NAMES:
        if name not in reference or name not in recent:
            continue
        ref = reference[name].to_numpy(dtype=float)
        new = recent[name].to_numpy(dtype=float)
        # The asymptotic p-value: the exact one is slow on thousands of windows and
        # falls back to this anyway, with a warning.
        test = ks_2samp(ref, new, method="asymp")
        found.append(
            FeatureDrift(
                feature=name,
                psi=psi(ref, new),
                ks=float(test.statistic),
                ks_p=float(test.pvalue),
                reference_mean=float(ref.mean()),
                recent_mean=float(new.mean()),
            )
        )
    return sorted(found, key=lambda item: -item.psi)


def drift_by_kind(
    reference: pd.DataFrame, recent: pd.DataFrame
) -> dict[str, list[FeatureDrift]]:
    """Feature drift per identity kind (people and agents drift separately)."""
    kinds = sorted(
        set(reference.get("identity_kind", [])) | set(recent.get("identity_kind", []))
    )
    return {
        kind: feature_drift(
            reference[reference["identity_kind"] == kind],
            recent[recent["identity_kind"] == kind],
        )
        for kind in kinds
    }
