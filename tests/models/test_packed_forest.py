"""The packed-numpy walk of the trees gives scikit-learn's IsolationForest scores."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from models.forest import KindForest, PackedForest


def _rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    # Ordinary rows, far outliers and exact training values (ties at thresholds).
    usual = rng.gamma(2.0, 2.0, size=(n, d))
    wild = rng.normal(0.0, 40.0, size=(n, d))
    return np.vstack([usual, wild])


@pytest.mark.parametrize("max_features", [1.0, 0.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_packed_scores_equal_sklearn(seed, max_features):
    rng = np.random.default_rng(seed)
    train = rng.gamma(2.0, 2.0, size=(2_000, 23)).astype(np.float32)
    forest = IsolationForest(
        n_estimators=60, max_features=max_features, random_state=seed
    ).fit(train)
    rows = np.vstack([_rows(rng, 300, 23), train[:50]]).astype(np.float32)

    packed = PackedForest.from_sklearn(forest).anomaly_score(rows)

    np.testing.assert_allclose(packed, -forest.score_samples(rows), rtol=0, atol=1e-9)


def test_kind_forest_single_rows_match_its_batch_scores():
    rng = np.random.default_rng(7)
    kind = KindForest(n_estimators=50).fit(rng.gamma(2.0, 2.0, size=(1_000, 23)))
    rows = _rows(rng, 100, 23)

    batch = kind.anomaly_score(rows)  # scikit-learn's path
    one_by_one = np.array([kind.anomaly_score(row[None, :])[0] for row in rows])

    np.testing.assert_allclose(one_by_one, batch, rtol=0, atol=1e-9)
    np.testing.assert_allclose(kind.risk(rows[:1]), kind.risk(rows)[:1], atol=1e-9)


def test_non_finite_rows_take_sklearns_path():
    rng = np.random.default_rng(3)
    kind = KindForest(n_estimators=20).fit(rng.gamma(2.0, 2.0, size=(500, 5)))
    row = np.array([[np.inf, 1.0, 1.0, 1.0, 1.0]])

    assert (
        kind.anomaly_score(row)[0]
        == -kind.forest_.score_samples(row.astype(np.float32))[0]
    )


def test_the_packed_copy_is_not_pickled():
    rng = np.random.default_rng(5)
    kind = KindForest(n_estimators=10).fit(rng.gamma(2.0, 2.0, size=(300, 4)))
    kind.anomaly_score(np.ones((1, 4)))

    restored = pickle.loads(pickle.dumps(kind))

    assert "_packed" in kind.__dict__ and "_packed" not in restored.__dict__
    np.testing.assert_allclose(
        restored.anomaly_score(np.ones((1, 4))), kind.anomaly_score(np.ones((1, 4)))
    )
