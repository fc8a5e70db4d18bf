"""Learning from verdicts: the ensemble fit, familiar-ground tempering, the risk
correction, and the detector's use of them."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.optimize import approx_fprime

from features.baseline import IdentityBaseline
from features.vectors import FEATURE_NAMES
from models.detector import FAMILIAR_EVENTS, Detector
from models.ensemble import EnsembleWeights
from models.forest import AnomalyModel
from models.rules import Hit
from training.correction import (
    CorrectedForest,
    VerdictCorrection,
    corrected_model,
    plain_model,
)
from training.ensemble_fit import _Data, _loss_and_gradient, fit_ensemble
from training.tempering import familiar_severities
from training.windows import WindowLabel, WindowRecord

T0 = datetime(2026, 3, 2, tzinfo=UTC)
F = len(FEATURE_NAMES)
TODAY = T0.toordinal()


def test_the_gradient_is_exact():
    rng = np.random.default_rng(0)
    n, rules, kinds, features = 50, 3, 2, 4
    risk = rng.uniform(0, 100, n)
    p = np.clip(risk / 100, 1e-3, 1 - 1e-3)
    group = np.where(rng.random(n) < 0.2, rng.integers(0, 4, n), -1)
    group[:4] = np.arange(4)
    data = _Data(
        risk=risk,
        z=rng.normal(size=(n, features)),
        logit_risk=np.log(p / (1 - p)),
        factor=np.where(rng.random(n) < 0.8, 1.0, 0.5),
        strengths=(rng.random((n, rules)) < 0.3)
        * rng.choice([0.3, 0.55, 0.8], (n, rules)),
        negative=group < 0,
        negative_weight=np.where(group < 0, rng.uniform(0.1, 1, n), 0),
        group=group,
        group_weight=rng.uniform(1, 3, 4),
        kind_index=rng.integers(-1, kinds, n),
    )
    theta = np.concatenate(
        [
            [0.7],
            rng.uniform(0.3, 1.2, rules),
            rng.normal(scale=0.3, size=kinds * (2 + features)),
        ]
    )
    start = theta + 0.1

    def loss(t):
        return _loss_and_gradient(t, data, start, rules, kinds, features)[0]

    exact = _loss_and_gradient(theta, data, start, rules, kinds, features)[1]
    assert np.allclose(exact, approx_fprime(theta, loss, 1e-7), atol=1e-5)


def window(identity: str, hour: int, *, novel=(), familiar=(), new_networks=0.0):
    vector = np.zeros(F)
    vector[FEATURE_NAMES.index("events")] = 5
    vector[FEATURE_NAMES.index("new_networks")] = new_networks
    start = T0 + timedelta(hours=hour)
    return WindowRecord(
        identity_id=identity,
        kind="ai_agent",
        start=start,
        first_time=start,
        last_time=start + timedelta(minutes=30),
        vector=vector,
        hits={rule: "high" for rule in novel},
        familiar={rule: "high" for rule in familiar},
        mature=True,
        events=5,
    )


def small_model() -> AnomalyModel:
    rng = np.random.default_rng(1)
    X = np.abs(rng.normal(3, 1, size=(400, F)))
    return AnomalyModel(n_estimators=20).fit(X, np.array(["ai_agent"] * 400))


def test_expected_verdicts_on_familiar_ground_temper_the_rule_not_its_novel_hits():
    windows, labels = [], []
    # Agents working from the region they always used: called expected.
    for i in range(40):
        windows.append(
            window(f"0oaSTALE{i % 4}", i, familiar=("agent_outside_declared",))
        )
        labels.append(WindowLabel(0))
    # A compromise: the first hour on a network never seen, then familiar hours.
    windows.append(
        window("0oaVICTIM", 50, novel=("agent_outside_declared",), new_networks=1)
    )
    windows.append(window("0oaVICTIM", 51, familiar=("agent_outside_declared",)))
    labels += [WindowLabel(1, group=7), WindowLabel(1, group=7)]
    # Quiet unlabelled hours.
    for i in range(200):
        windows.append(window(f"0oaQUIET{i % 9}", i))
        labels.append(WindowLabel(None))

    prior = EnsembleWeights()
    fit = fit_ensemble(windows, labels, model=small_model(), prior=prior)

    assert fit.positives == 1 and fit.negatives == 40
    assert fit.familiar["agent_outside_declared"] < 0.3
    assert fit.weights.rule_weight("agent_outside_declared") > 0.9
    assert fit.loss_after < fit.loss_before
    tempered = familiar_severities(fit.familiar, fit.weights)
    assert tempered["agent_outside_declared"] in {"none", "low"}
    assert "agent_outside_declared@familiar" in fit.moved


def test_no_verdicts_change_nothing():
    windows = [window("0oaQUIET", i) for i in range(30)]
    fit = fit_ensemble(
        windows,
        [WindowLabel(None)] * 30,
        model=small_model(),
        prior=EnsembleWeights(model=0.8),
    )
    assert fit.weights.model == 0.8 and fit.moved == {}
    assert all(c.is_identity for c in fit.corrections.values())


@dataclass
class Facts:
    network: str | None = "AS16509"
    ua_family: str | None = "python-requests"


@dataclass
class Seen:
    baseline_mature: bool = True
    new_network: bool = False
    new_country: bool = False
    new_device: bool = False
    new_ua_family: bool = False
    facts: Facts = field(default_factory=Facts)


def test_detector_tempers_only_hits_on_familiar_ground():
    detector = Detector(model=small_model(), baselines={})
    hit = Hit(
        "agent_outside_declared", "high", "outside its declared networks", ("e1",)
    )
    other = Hit("client_mismatch", "high", "a browser", ("e2",))
    assert detector.temper(Seen(), [hit]) == [hit]  # nothing learned yet

    detector.familiar_severity = {
        "agent_outside_declared": "low",
        "client_mismatch": "none",
    }
    assert [h.severity for h in detector.temper(Seen(), [hit])] == ["low"]
    assert detector.temper(Seen(), [other]) == []
    # Something new about the event: the rules' own severities stand.
    assert detector.temper(Seen(new_network=True), [hit, other]) == [hit, other]
    assert detector.temper(Seen(baseline_mature=False), [hit]) == [hit]

    # Known, but not established: a network seen a handful of times (an attacker's,
    # learned an hour ago) is not familiar ground yet.
    baseline = IdentityBaseline()
    for _ in range(5):
        baseline.networks.add("AS16509", TODAY)
        baseline.ua_families.add("python-requests", TODAY)
    assert detector.temper(Seen(), [hit], baseline) == [hit]
    for _ in range(FAMILIAR_EVENTS):
        baseline.networks.add("AS16509", TODAY)
        baseline.ua_families.add("python-requests", TODAY)
    assert [h.severity for h in detector.temper(Seen(), [hit], baseline)] == ["low"]


def test_corrected_forest_moves_risk_and_keeps_through_pickling():
    model = small_model()
    forest = model.by_kind_["ai_agent"]
    X = np.abs(np.random.default_rng(2).normal(3, 1, size=(5, F)))
    center, spread = forest.typical_, forest.spread_
    same = CorrectedForest.wrap(
        forest, VerdictCorrection.none(center=center, spread=spread)
    )
    assert np.allclose(same.risk(X), np.clip(forest.risk(X), 0.1, 99.9), atol=1e-6)

    coef = np.zeros(F)
    coef[FEATURE_NAMES.index("events")] = 1.0
    raised = corrected_model(
        model, {"ai_agent": VerdictCorrection(0.5, 0.0, coef, center, spread)}
    )
    kinds = np.array(["ai_agent"] * 5)
    assert (raised.risk(X, kinds) > model.risk(X, kinds)).all()
    restored = pickle.loads(pickle.dumps(raised))
    assert np.allclose(restored.risk(X, kinds), raised.risk(X, kinds))
    assert np.allclose(plain_model(restored).risk(X, kinds), model.risk(X, kinds))
    assert raised.shared_ is model.shared_
