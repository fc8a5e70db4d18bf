"""IsolationForest per identity kind, scored as "higher is more anomalous", 0-100.

scikit-learn's `score_samples` is lower for more abnormal rows; the sign is turned
once here, and nowhere else. Raw anomaly scores are then calibrated against the
training windows: a window like the bulk of history scores near 0, the most unusual
hour history ever held scores `MAX_SEEN_RISK`, and only windows beyond anything
seen climb towards 100.

An IsolationForest cannot split on a feature that never varied in training (no
new networks ever appeared, say), so a window that breaks such a feature's range
would look ordinary to it. Each feature's training range is therefore kept, and
a window beyond it is pushed past the most unusual hour of history by how far it
overshoots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest

from features.vectors import FEATURE_DESCRIPTIONS, FEATURE_NAMES

MIN_WINDOWS_PER_KIND = 200
# A window beyond the training range in one feature, by twice that feature's usual
# spread, lands in the medium tier; only a window beyond it in several reaches high.
OVERSHOOT_WEIGHT = 0.75
TYPICAL_RISK = 0.0
TAIL_RISK = 20.0
MAX_SEEN_RISK = 45.0
FAR_BEYOND_RISK = 100.0
# Up to this many rows, the packed trees score faster than scikit-learn's call.
PACKED_MAX_ROWS = 16


@dataclass(frozen=True)
class Calibration:
    """Piecewise-linear map from raw anomaly score to 0-100."""

    median: float
    tail: float
    max_seen: float

    def risk(self, raw: np.ndarray) -> np.ndarray:
        spread = max(self.max_seen - self.tail, 1e-3)
        anchors = [
            self.median,
            self.tail,
            self.max_seen,
            self.max_seen + 4 * spread,
        ]
        values = [TYPICAL_RISK, TAIL_RISK, MAX_SEEN_RISK, FAR_BEYOND_RISK]
        return np.interp(raw, anchors, values, left=0.0, right=FAR_BEYOND_RISK)


class KindForest:
    """One forest, its calibration and the typical value of each feature."""

    def __init__(self, *, n_estimators: int = 100, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> KindForest:
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state
        ).fit(X.astype(np.float32))
        self.upper_ = X.max(axis=0)
        raw = self.anomaly_score(X)
        self.calibration_ = Calibration(
            median=float(np.median(raw)),
            tail=float(np.quantile(raw, 0.99)),
            max_seen=float(raw.max()),
        )
        self.typical_ = np.median(X, axis=0)
        spread = np.quantile(X, 0.9, axis=0) - np.quantile(X, 0.1, axis=0)
        self.spread_ = np.where(spread > 0, spread, np.maximum(np.abs(self.typical_), 1.0))
        self.n_windows_ = len(X)
        return self

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """Raw anomaly score, higher is more anomalous.

        A few finite rows (the API scores one event at a time) walk the packed copy
        of the trees, which gives scikit-learn's score 50-100 times faster; batches
        go through scikit-learn itself.
        """
        rows = X.astype(np.float32)
        if len(rows) <= PACKED_MAX_ROWS and np.isfinite(rows).all():
            return self.packed().anomaly_score(rows)
        return -self.forest_.score_samples(rows)

    def packed(self) -> PackedForest:
        """The forest's trees as flat arrays, built on first use."""
        packed = self.__dict__.get("_packed")
        if packed is None:
            packed = self._packed = PackedForest.from_sklearn(self.forest_)
        return packed

    def __getstate__(self) -> dict:
        # The packed copy is derived data; stored models stay as they were.
        state = dict(self.__dict__)
        state.pop("_packed", None)
        return state

    def overshoot(self, X: np.ndarray) -> np.ndarray:
        """How far rows go beyond the training range, summed over features (log scale)."""
        excess = np.maximum(X - self.upper_, 0.0) / self.spread_
        return np.log1p(excess).sum(axis=1)

    def risk(self, X: np.ndarray) -> np.ndarray:
        calibration = self.calibration_
        unit = max(calibration.max_seen - calibration.tail, 1e-3)
        raw = self.anomaly_score(X) + OVERSHOOT_WEIGHT * unit * self.overshoot(X)
        return calibration.risk(raw)

    def explain(self, x: np.ndarray, *, top: int = 3) -> list[str]:
        """The features furthest from typical, as 'what: actual (typical t)'."""
        distance = np.abs(x - self.typical_) / self.spread_
        order = np.argsort(-distance)[:top]
        return [
            f"{FEATURE_DESCRIPTIONS[FEATURE_NAMES[i]]}: {_number(x[i])} "
            f"(typical {_number(self.typical_[i])})"
            for i in order
            if distance[i] > 1.0
        ]


class PackedForest:
    """An IsolationForest's trees packed into flat arrays, walked with numpy.

    Every tree's nodes are laid end to end: `feature`, `threshold`, `left` and
    `right` index the packed arrays, and a leaf points to itself, so walking all
    trees at once for `depth` steps (the trees' maximum depth) lands every row on
    its leaf in each tree. `leaf_length` holds scikit-learn's path length of a
    leaf (its depth plus the average path length of the samples left in it), and
    the score follows `IsolationForest.score_samples` term by term, so the two
    agree to rounding.
    """

    def __init__(
        self,
        *,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        leaf_length: np.ndarray,
        roots: np.ndarray,
        depth: int,
        denominator: float,
    ) -> None:
        self.feature = feature
        self.threshold = threshold
        self.left = left
        self.right = right
        self.leaf_length = leaf_length
        self.roots = roots
        self.depth = depth
        self.denominator = denominator

    @classmethod
    def from_sklearn(cls, forest: IsolationForest) -> PackedForest:
        features, thresholds, lefts, rights, lengths, roots = [], [], [], [], [], []
        offset = 0
        subsample = forest._max_features != forest.n_features_in_
        trees = zip(
            forest.estimators_,
            forest.estimators_features_,
            forest._decision_path_lengths,
            forest._average_path_length_per_tree,
            strict=True,
        )
        for estimator, tree_features, path_lengths, average_lengths in trees:
            tree = estimator.tree_
            nodes = np.arange(tree.node_count)
            leaf = tree.children_left == -1
            feature = np.where(leaf, 0, tree.feature)
            if subsample:
                # Trees of a feature-subsampled forest number their own columns.
                feature = np.asarray(tree_features)[feature]
            features.append(feature)
            thresholds.append(np.where(leaf, np.inf, tree.threshold))
            lefts.append(np.where(leaf, nodes, tree.children_left) + offset)
            rights.append(np.where(leaf, nodes, tree.children_right) + offset)
            lengths.append(np.asarray(path_lengths) + np.asarray(average_lengths) - 1.0)
            roots.append(offset)
            offset += tree.node_count
        max_samples = _average_path_length_of(forest._max_samples)
        return cls(
            feature=np.concatenate(features).astype(np.intp),
            threshold=np.concatenate(thresholds).astype(np.float64),
            left=np.concatenate(lefts).astype(np.intp),
            right=np.concatenate(rights).astype(np.intp),
            leaf_length=np.concatenate(lengths).astype(np.float64),
            roots=np.asarray(roots, dtype=np.intp),
            depth=max(estimator.tree_.max_depth for estimator in forest.estimators_),
            denominator=len(forest.estimators_) * max_samples,
        )

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """The negated `score_samples` of float32 rows: higher is more anomalous."""
        rows = np.asarray(X, dtype=np.float32).astype(np.float64)
        nodes = np.broadcast_to(self.roots, (len(rows), len(self.roots)))
        row_index = np.arange(len(rows))[:, None]
        for _ in range(self.depth):
            values = rows[row_index, self.feature[nodes]]
            nodes = np.where(
                values <= self.threshold[nodes], self.left[nodes], self.right[nodes]
            )
        # A running sum adds tree by tree in scikit-learn's order, so even the
        # rounding matches.
        depths = np.cumsum(self.leaf_length[nodes], axis=1)[:, -1]
        if self.denominator == 0:
            return np.ones(len(rows))
        return 2.0 ** (-depths / self.denominator)


class AnomalyModel:
    """A forest per identity kind; kinds with little history share one forest."""

    def __init__(self, *, n_estimators: int = 100, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: np.ndarray, kinds: np.ndarray) -> AnomalyModel:
        if len(X) == 0:
            raise ValueError("cannot fit the anomaly model on zero windows")
        self.shared_ = self._forest().fit(X)
        self.by_kind_: dict[str, KindForest] = {}
        for kind in np.unique(kinds):
            rows = X[kinds == kind]
            if len(rows) >= MIN_WINDOWS_PER_KIND:
                self.by_kind_[str(kind)] = self._forest().fit(rows)
        return self

    def forest_for(self, kind: str) -> KindForest:
        return self.by_kind_.get(kind, self.shared_)

    def risk(self, X: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """Calibrated 0-100 risk of each row under its kind's forest."""
        result = np.zeros(len(X))
        for kind in np.unique(kinds):
            mask = kinds == kind
            result[mask] = self.forest_for(str(kind)).risk(X[mask])
        return result

    def _forest(self) -> KindForest:
        return KindForest(n_estimators=self.n_estimators, random_state=self.random_state)


def _average_path_length_of(n_samples: int) -> float:
    """scikit-learn's average path length c(n) of an n-sample isolation tree."""
    from sklearn.ensemble._iforest import _average_path_length

    return float(_average_path_length([n_samples])[0])


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 10 else f"{value:.2f}"
