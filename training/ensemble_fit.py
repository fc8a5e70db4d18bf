"""Refitting the ensemble from verdicts: rule weights, model weight, risk correction.

The detector combines rule hits and the model's risk as a noisy-OR (models/
ensemble.py): a window is misuse unless every piece of evidence is innocent, each
piece weighted. Read as a probability, that is a model of the verdicts, so its
weights can be fitted to them by maximum likelihood, together with the forest's
risk correction (training/correction.py):

    p = 1 - (1 - w_model * m / 100) * prod_r (1 - w_r * s_r)
    m = corrected forest risk (halved while the identity's baseline is immature)

A verdict is about an incident, not each of its hours: a compromise is caught when
any of its windows alerts, while every window of a false or expected incident is a
false alert. So a true-positive incident enters the likelihood as one group,
P(caught) = 1 - prod_i (1 - p_i), and every other window on its own (a multiple-
instance reading, which keeps the quiet later hours of a compromise, alike to any
benign hour, from teaching that benign hours are risky). Labelled windows pull it
towards the verdicts; a sample of unlabelled windows,
taken as benign with a small weight, keeps it from raising risk everywhere
(the same role the quantile constraint plays in active anomaly discovery); and a
penalty holds every parameter near where it started, so a handful of verdicts
moves the detector only a little. Missed true positives weigh more than false
alarms, since recall must not drop.

The fit is a bounded L-BFGS over a few dozen parameters with an exact gradient.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from models.detector import IMMATURE_MODEL_FACTOR
from models.ensemble import EnsembleWeights
from models.forest import AnomalyModel
from training.correction import (
    RISK_FLOOR,
    VerdictCorrection,
    correction_basis,
    plain_model,
)
from training.windows import FAMILIAR, WindowLabel, WindowRecord

logger = logging.getLogger(__name__)

# Penalties: how firmly the weights and the correction hold to where they start.
WEIGHT_PENALTY = 0.05
CORRECTION_PENALTY = 0.02
# A missed compromise costs this many false alarms.
POSITIVE_EMPHASIS = 3.0
# Unlabelled windows, taken as benign, weigh this much in all, relative to the
# labelled ones.
UNLABELLED_SHARE = 0.5
# A kind needs this many labelled windows before its risk is corrected.
MIN_LABELLED_PER_KIND = 5

MODEL_WEIGHT_BOUNDS = (0.1, 1.0)
RULE_WEIGHT_BOUNDS = (0.05, 1.5)
INTERCEPT_BOUNDS = (-6.0, 6.0)
SLOPE_BOUNDS = (-0.9, 3.0)
COEF_BOUNDS = (-3.0, 3.0)
# A rule's weighted strength stays short of certainty.
MAX_STRENGTH = 0.99


@dataclass
class EnsembleFit:
    """The fitted weights and corrections, and what the fit saw."""

    weights: EnsembleWeights
    # Weights of rules' hits on familiar ground (training/tempering.py).
    familiar: dict[str, float]
    corrections: dict[str, VerdictCorrection]
    rows: int
    positives: int
    negatives: int
    unlabelled: int
    loss_before: float
    loss_after: float
    rules_seen: list[str] = field(default_factory=list)
    prior: EnsembleWeights = field(default_factory=EnsembleWeights)

    @property
    def moved(self) -> dict[str, tuple[float, float]]:
        """Weights that moved from where the fit started."""
        return self.changes(self.prior)

    def changes(self, prior: EnsembleWeights) -> dict[str, tuple[float, float]]:
        """Weights that moved, as name -> (before, after)."""
        moved = {}
        if abs(self.weights.model - prior.model) >= 0.005:
            moved["model"] = (prior.model, self.weights.model)
        for column in self.rules_seen:
            rule = _rule_of(column)
            before = prior.rule_weight(rule)
            after = (
                self.familiar[rule]
                if column.endswith(FAMILIAR)
                else self.weights.rule_weight(rule)
            )
            if abs(after - before) >= 0.005:
                moved[column] = (before, after)
        return moved


@dataclass
class _Data:
    risk: np.ndarray  # forest risk 0..100 before correction
    z: np.ndarray  # standardised features per row (by its kind's basis)
    logit_risk: np.ndarray
    factor: np.ndarray  # maturity factor of the model's word
    strengths: np.ndarray  # N x R rule strengths (0 without a hit)
    negative: np.ndarray  # rows scored one by one as benign
    negative_weight: np.ndarray
    group: np.ndarray  # true-positive group of a row (-1: none)
    group_weight: np.ndarray  # per group
    kind_index: np.ndarray  # which corrected kind (-1: none)


def fit_ensemble(
    windows: Sequence[WindowRecord],
    labels: Sequence[WindowLabel],
    *,
    model: AnomalyModel,
    prior: EnsembleWeights,
    unlabelled_sample: int = 2000,
    random_state: int = 0,
) -> EnsembleFit:
    """Fit weights and per-kind corrections to the labelled windows.

    `model` is the forest the corrections will sit on; any correction it already
    carries is set aside first, so corrections never stack.
    """
    model = plain_model(model)
    labelled = [i for i, label in enumerate(labels) if label.value is not None]
    rng = np.random.default_rng(random_state)
    others = [i for i, label in enumerate(labels) if label.value is None]
    if len(others) > unlabelled_sample:
        others = sorted(
            rng.choice(others, size=unlabelled_sample, replace=False).tolist()
        )
    chosen = labelled + others
    rows = [windows[i] for i in chosen]
    y = np.array([labels[i].value or 0 for i in chosen], dtype=float)
    is_labelled = np.array([labels[i].value is not None for i in chosen])
    groups = [labels[i].group if labels[i].value == 1 else None for i in chosen]
    positives = len({group for group in groups if group is not None})
    negatives = int(((y == 0) & is_labelled).sum())

    rules = sorted({rule for row in rows for rule in row.strengths()})
    kinds = sorted(
        kind
        for kind in {row.kind for row, on in zip(rows, is_labelled, strict=True) if on}
        if kind in model.by_kind_
        and sum(
            1
            for row, on in zip(rows, is_labelled, strict=True)
            if on and row.kind == kind
        )
        >= MIN_LABELLED_PER_KIND
    )
    data = _prepare(
        rows,
        y,
        is_labelled,
        groups,
        model=model,
        rules=rules,
        kinds=kinds,
        positives=positives,
        negatives=negatives,
    )
    n_features = data.z.shape[1]
    start, bounds = _start(prior, rules, len(kinds), n_features)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _loss_and_gradient(
            theta, data, start, len(rules), len(kinds), n_features
        )

    before, _ = objective(start)
    if positives + negatives == 0:
        result_theta, after = start, before
    else:
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500},
        )
        result_theta, after = result.x, float(result.fun)
    weights, familiar, corrections = _unpack(
        result_theta, prior, rules, kinds, n_features, model
    )
    logger.info(
        "ensemble fit on %d windows (%d true incidents, %d false windows, "
        "%d unlabelled): loss %.4f -> %.4f",
        len(rows),
        positives,
        negatives,
        int((~is_labelled).sum()),
        before,
        after,
    )
    return EnsembleFit(
        weights=weights,
        familiar=familiar,
        corrections=corrections,
        rows=len(rows),
        positives=positives,
        negatives=negatives,
        unlabelled=int((~is_labelled).sum()),
        loss_before=float(before),
        loss_after=float(after),
        rules_seen=rules,
        prior=prior,
    )


def _prepare(
    rows: Sequence[WindowRecord],
    y: np.ndarray,
    is_labelled: np.ndarray,
    groups: Sequence[int | None],
    *,
    model: AnomalyModel,
    rules: list[str],
    kinds: list[str],
    positives: int,
    negatives: int,
) -> _Data:
    n = len(rows)
    X = np.vstack([row.vector for row in rows]) if rows else np.zeros((0, 0))
    row_kinds = np.array([row.kind for row in rows])
    risk = model.risk(X, row_kinds) if n else np.zeros(0)
    z = np.zeros_like(X)
    kind_index = np.full(n, -1)
    for k, kind in enumerate(kinds):
        mask = row_kinds == kind
        center, spread = correction_basis(model.by_kind_[kind])
        z[mask] = VerdictCorrection.none(center=center, spread=spread).standardise(
            X[mask]
        )
        kind_index[mask] = k
    p = np.clip(risk / 100.0, RISK_FLOOR, 1 - RISK_FLOOR)
    strengths = np.zeros((n, len(rules)))
    column = {rule: j for j, rule in enumerate(rules)}
    for i, row in enumerate(rows):
        for rule, strength in row.strengths().items():
            strengths[i, column[rule]] = strength

    ids = sorted({group for group in groups if group is not None})
    group_of = {group: j for j, group in enumerate(ids)}
    group = np.array([group_of[g] if g is not None else -1 for g in groups], dtype=int)
    negative = group < 0
    negative_weight = np.zeros(n)
    negative_weight[is_labelled & negative] = 1.0
    unlabelled = int((~is_labelled).sum())
    if unlabelled:
        labelled_total = max(positives + negatives, 10)
        negative_weight[~is_labelled] = UNLABELLED_SHARE * labelled_total / unlabelled
    # Each caught incident weighs as much as the false windows over the true
    # incidents, times the emphasis on recall.
    group_weight = np.full(
        len(ids), max(1.0, negatives / max(positives, 1)) * POSITIVE_EMPHASIS
    )
    factor = np.array([1.0 if row.mature else IMMATURE_MODEL_FACTOR for row in rows])
    return _Data(
        risk=risk,
        z=z,
        logit_risk=np.log(p / (1 - p)),
        factor=factor,
        strengths=strengths,
        negative=negative,
        negative_weight=negative_weight,
        group=group,
        group_weight=group_weight,
        kind_index=kind_index,
    )


def _start(
    prior: EnsembleWeights, rules: list[str], kinds: int, features: int
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    # A rule's hits on familiar ground start from the rule's own weight.
    start = [prior.model, *(prior.rule_weight(_rule_of(rule)) for rule in rules)]
    bounds = [MODEL_WEIGHT_BOUNDS, *([RULE_WEIGHT_BOUNDS] * len(rules))]
    for _ in range(kinds):
        start.extend([0.0, 0.0, *([0.0] * features)])
        bounds.extend([INTERCEPT_BOUNDS, SLOPE_BOUNDS, *([COEF_BOUNDS] * features)])
    clipped = [
        min(max(value, low), high)
        for value, (low, high) in zip(start, bounds, strict=True)
    ]
    return np.array(clipped, dtype=float), bounds


def _loss_and_gradient(
    theta: np.ndarray,
    data: _Data,
    start: np.ndarray,
    rules: int,
    kinds: int,
    features: int,
) -> tuple[float, np.ndarray]:
    n = len(data.negative)
    grad = np.zeros_like(theta)
    # The model's corrected risk, per row.
    offset = np.zeros(n)
    slope_term = np.zeros(n)
    block = 2 + features
    for k in range(kinds):
        base = 1 + rules + k * block
        mask = data.kind_index == k
        intercept, slope, coef = (
            theta[base],
            theta[base + 1],
            theta[base + 2 : base + block],
        )
        offset[mask] = intercept + data.z[mask] @ coef
        slope_term[mask] = data.logit_risk[mask] * slope
    odds = data.logit_risk + slope_term + offset
    sigma = 1.0 / (1.0 + np.exp(-odds))
    corrected = np.where(data.kind_index >= 0, sigma, np.clip(data.risk / 100.0, 0, 1))
    m = corrected * data.factor  # 0..1

    w_model = theta[0]
    u = w_model * m
    a = np.clip(1.0 - u, 1e-9, 1.0)
    w_rules = theta[1 : 1 + rules]
    raw = data.strengths * w_rules
    s = np.clip(raw, 0.0, MAX_STRENGTH)
    b = 1.0 - s
    clear = a * np.prod(b, axis=1) if rules else a
    clear = np.clip(clear, 1e-9, 1 - 1e-9)

    # Benign rows one by one: -log(clear). Caught groups: -log(1 - prod clear).
    total_weight = max(data.negative_weight.sum() + data.group_weight.sum(), 1e-9)
    log_clear = np.log(clear)
    loss = float(-(data.negative_weight * log_clear * data.negative).sum())
    dl_dclear = np.where(data.negative, -data.negative_weight / clear, 0.0)
    if len(data.group_weight):
        in_group = data.group >= 0
        group_log_clear = np.bincount(
            data.group[in_group],
            weights=log_clear[in_group],
            minlength=len(data.group_weight),
        )
        group_clear = np.clip(np.exp(group_log_clear), 1e-12, 1 - 1e-9)
        loss += float(-(data.group_weight * np.log(1 - group_clear)).sum())
        # d/d clear_i of -log(1 - C) with C = prod clear = C / ((1 - C) clear_i).
        per_group = data.group_weight * group_clear / (1 - group_clear)
        dl_dclear[in_group] = per_group[data.group[in_group]] / clear[in_group]
    loss /= total_weight
    dl_dclear = dl_dclear / total_weight

    # Model weight and the correction, through a = 1 - w_model * m.
    dclear_da = clear / a
    grad[0] = float((dl_dclear * dclear_da * -m).sum())
    dl_dm = dl_dclear * dclear_da * -w_model
    dl_dodds = dl_dm * data.factor * sigma * (1 - sigma)
    for k in range(kinds):
        base = 1 + rules + k * block
        mask = data.kind_index == k
        g = dl_dodds[mask]
        grad[base] = float(g.sum())
        grad[base + 1] = float((g * data.logit_risk[mask]).sum())
        grad[base + 2 : base + block] = g @ data.z[mask]
    # Rule weights, through b_r = 1 - w_r * s_r (flat where the strength is capped).
    if rules:
        active = (raw > 0) & (raw < MAX_STRENGTH)
        dclear_db = clear[:, None] / np.clip(b, 1e-9, None)
        grad[1 : 1 + rules] = (
            dl_dclear[:, None] * dclear_db * -data.strengths * active
        ).sum(axis=0)

    # Penalties towards the start.
    diff = theta - start
    penalty = np.full_like(theta, CORRECTION_PENALTY)
    penalty[: 1 + rules] = WEIGHT_PENALTY
    loss += float((penalty * diff**2).sum())
    grad += 2 * penalty * diff
    return loss, grad


def _unpack(
    theta: np.ndarray,
    prior: EnsembleWeights,
    rules: list[str],
    kinds: list[str],
    features: int,
    model: AnomalyModel,
) -> tuple[EnsembleWeights, dict[str, float], dict[str, VerdictCorrection]]:
    rule_weights = dict(prior.rules)
    familiar: dict[str, float] = {}
    for j, rule in enumerate(rules):
        value = round(float(theta[1 + j]), 4)
        if rule.endswith(FAMILIAR):
            familiar[_rule_of(rule)] = value
        else:
            rule_weights[rule] = value
    weights = EnsembleWeights(model=round(float(theta[0]), 4), rules=rule_weights)
    corrections = {}
    block = 2 + features
    for k, kind in enumerate(kinds):
        base = 1 + len(rules) + k * block
        center, spread = correction_basis(model.by_kind_[kind])
        corrections[kind] = VerdictCorrection(
            intercept=float(theta[base]),
            slope=float(theta[base + 1]),
            coef=np.array(theta[base + 2 : base + block], dtype=float),
            center=center,
            spread=spread,
        )
    return weights, familiar, corrections


def _rule_of(column: str) -> str:
    return column.removesuffix(FAMILIAR)
