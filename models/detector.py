"""The detector: baselines, anomaly model, rules and ensemble, scoring events.

A `Detector` is what training produces and MLflow stores. Scoring goes through a
`Scorer`, which starts from a copy of the detector's baselines so that scoring the
same file twice gives the same answer. `Scorer.score_event` serves the API and
`watch` one event at a time; `Scorer.score_batch` walks a whole file through the
same feature and rule code and calls the model once for all of it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

from credwatch.batch_memory import collector_paused
from events.lean import ReadEvent
from events.schemas import LogEvent
from features.baseline import FAMILIAR_EVENTS, IdentityBaseline
from features.identity import Identity, IdentityResolver
from features.facts import EventFacts
from features.ordering import order_batch
from features.state import FeatureStream, Observation
from features.vectors import FEATURE_NAMES
from models.ensemble import EnsembleWeights, combine, tier_for
from models.forest import AnomalyModel
from models.rules import Hit, evaluate_rules
from models.schemas import Detection, Tier, tier_rank

MODEL_REASON_FLOOR = 25.0
# An identity without enough history is unusual in every way at first; the model's
# word on it counts for less until its baseline matures.
IMMATURE_MODEL_FACTOR = 0.5
MAX_EVIDENCE_IDS = 200
BATCH_CHUNK = 20_000


class Detector:
    """Everything needed to score: trained once, stored as one MLflow model version."""

    feature_names = list(FEATURE_NAMES)
    # Agents in the deployment map it was trained with (0 for none, or unknown).
    mapped_agents = 0

    def __init__(
        self,
        *,
        model: AnomalyModel,
        baselines: dict[str, IdentityBaseline],
        weights: EnsembleWeights | None = None,
        disabled_rules: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        self.baselines = baselines
        self.weights = weights or EnsembleWeights()
        self.disabled_rules = disabled_rules
        self.model_version: str | None = None

    def scorer(self, resolver: IdentityResolver) -> Scorer:
        return Scorer(self, resolver)

    def temper(
        self,
        observation: Observation,
        hits: list[Hit],
        baseline: IdentityBaseline | None = None,
    ) -> list[Hit]:
        """Hits on familiar ground, at the severity analysts' verdicts taught.

        `familiar_severity` (rule id -> a lower severity, or "none" to drop the
        hit) is learned by retraining (training/tempering.py) and applies only when
        the event shows the identity nothing new (`on_familiar_ground`); a detector
        without it, or any event with something new, keeps the rules' own
        severities.
        """
        tempered = getattr(self, "familiar_severity", None)
        if not tempered or not hits or not on_familiar_ground(observation, baseline):
            return hits
        kept = []
        for hit in hits:
            severity = tempered.get(hit.rule_id)
            lower = severity is not None and (
                _SEVERITY_RANK.get(severity, 99) < _SEVERITY_RANK[hit.severity]
            )
            if not lower:
                kept.append(hit)
            elif severity != "none":
                kept.append(replace(hit, severity=severity))
        return kept

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's 0-100 anomaly score of feature rows (the MLflow pyfunc face)."""
        X = frame[self.feature_names].to_numpy(dtype=np.float64)
        kinds = frame["identity_kind"].astype(str).to_numpy()
        return pd.DataFrame({"anomaly_score": self.model.risk(X, kinds)})


@dataclass
class EventScore:
    """The state of an event's window right after the event, as the API reports it."""

    identity: Identity
    risk: float
    tier: Tier
    detection: Detection | None


@dataclass
class _WindowVerdict:
    identity: Identity
    start: datetime
    first_time: datetime
    last_time: datetime
    hits: dict[str, Hit] = field(default_factory=dict)
    rule_order: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    risk: float = 0.0
    tier: Tier = "none"
    detected_at: datetime | None = None
    model_risk: float = 0.0
    model_reasons: list[str] = field(default_factory=list)
    window_event_ids: list[str] = field(default_factory=list)


class _ToJudge(NamedTuple):
    """What `Scorer._judge` needs of an observed event, kept while its chunk waits
    for the model."""

    facts: EventFacts
    window_start: datetime
    mature: bool
    vector: np.ndarray
    hits: Sequence[Hit]


# Most events hit nothing; one shared empty tuple stands in for their hits.
_NO_HITS: tuple[Hit, ...] = ()


@dataclass
class ScoreReport:
    events: int = 0
    duplicates: int = 0
    undated: int = 0
    unattributed: int = 0
    identities: int = 0
    windows: int = 0
    detections: int = 0


class Scorer:
    def __init__(self, detector: Detector, resolver: IdentityResolver) -> None:
        self.detector = detector
        self.stream = FeatureStream(resolver, copy.deepcopy(detector.baselines))
        self.verdicts: dict[tuple[str, datetime], _WindowVerdict] = {}
        self.report = ScoreReport()

    def score_event(self, event: LogEvent, *, when: datetime | None = None) -> EventScore | None:
        """Score one event as it arrives; None when it names no actor."""
        self.report.events += 1
        facts = self.stream.facts_of(event, when=when)
        if facts is None:
            self.report.unattributed += 1
            return None
        item = self._to_judge(facts)
        kind = np.array([facts.identity.kind])
        model_risk = float(self.detector.model.risk(item.vector[None, :], kind)[0])

        verdict = self._judge(item, model_risk)
        return EventScore(
            identity=verdict.identity,
            risk=verdict.risk,
            tier=verdict.tier,
            detection=self._detection(verdict),
        )

    def score_batch(self, events: Iterable[ReadEvent]) -> list[Detection]:
        """Score a whole batch in time order; one detection per window above none."""
        with collector_paused():
            batch = order_batch(events, stream=self.stream)
            self.report.events += batch.events
            self.report.duplicates += batch.duplicates
            self.report.undated += batch.undated
            self.report.unattributed += batch.unattributed

            # One model call per chunk of window prefixes is far cheaper than one
            # each, and chunks keep the vectors of a million events out of memory.
            for start in range(0, len(batch.facts), BATCH_CHUNK):
                chunk = batch.facts[start : start + BATCH_CHUNK]
                pending = [self._to_judge(facts) for facts in chunk]
                X = np.vstack([item.vector for item in pending])
                kinds = np.array([item.facts.identity.kind for item in pending])
                model_risks = self.detector.model.risk(X, kinds)
                for item, model_risk in zip(pending, model_risks, strict=True):
                    self._judge(item, float(model_risk))
        return self.detections()

    def forget_finished_windows(self) -> int:
        """Drop the verdicts of windows no identity is in any more; returns how many.

        A batch lists every window's detection at its end; a long-running scorer
        (the API, `watch`) only ever judges an identity's current window again, so
        it calls this now and then to keep memory flat.
        """
        current = {
            (identity_id, state.window.start)
            for identity_id, state in self.stream.states.items()
            if state.window is not None
        }
        finished = [key for key in self.verdicts if key not in current]
        for key in finished:
            del self.verdicts[key]
        return len(finished)

    def detections(self) -> list[Detection]:
        found = [self._detection(verdict) for verdict in self.verdicts.values()]
        detections = [item for item in found if item is not None]
        detections.sort(key=lambda item: (item.detected_at, item.identity_id))
        self.report.windows = len(self.verdicts)
        self.report.identities = len(self.stream.states)
        self.report.detections = len(detections)
        return detections

    def _to_judge(self, facts: EventFacts) -> _ToJudge:
        """Observe an event and keep only what judging it after the model call needs.

        The observation's snapshots (recent events, session trace, location) then
        die at once instead of living for the whole chunk, where they drove full
        garbage collections over every object of the batch (on 235k events, the
        loop's collection time fell from about 10 s to 3 s).
        """
        observation, hits = self._observe(facts)
        return _ToJudge(
            facts, observation.window.start, observation.baseline_mature,
            observation.vector, hits or _NO_HITS,
        )

    def _observe(self, facts: EventFacts) -> tuple[Observation, list[Hit]]:
        observation, _closed = self.stream.observe(facts)
        hits = evaluate_rules(observation, disabled=self.detector.disabled_rules)
        baseline = self.stream.baselines.get(facts.identity.id)
        return observation, self.detector.temper(observation, hits, baseline)

    def _judge(self, item: _ToJudge, model_risk: float) -> _WindowVerdict:
        """Fold one observed event and the model's risk into its window's verdict."""
        facts, window_start, hits = item.facts, item.window_start, item.hits
        key = (facts.identity.id, window_start)
        if not item.mature:
            model_risk *= IMMATURE_MODEL_FACTOR
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self.verdicts[key] = _WindowVerdict(
                facts.identity, window_start, facts.time, facts.time
            )
        verdict.last_time = max(verdict.last_time, facts.time)
        if len(verdict.window_event_ids) < MAX_EVIDENCE_IDS:
            verdict.window_event_ids.append(facts.uuid)

        changed = False
        for hit in hits:
            changed |= _keep_strongest(verdict, hit)
        if model_risk > verdict.model_risk:
            changed = True
            verdict.model_risk = model_risk
            if model_risk >= MODEL_REASON_FLOOR:
                forest = self.detector.model.forest_for(facts.identity.kind)
                verdict.model_reasons = forest.explain(item.vector)
        if not changed:
            # Same model risk and hits as when the risk was last combined: the
            # risk would come out the same and could not exceed verdict.risk.
            return verdict

        risk = combine(
            model_risk=verdict.model_risk, hits=verdict.hits, weights=self.detector.weights
        )
        if risk > verdict.risk:
            tier = tier_for(risk)
            if tier_rank(tier) > tier_rank(verdict.tier):
                verdict.tier = tier
                verdict.detected_at = facts.time
            verdict.risk = risk
        return verdict

    def _detection(self, verdict: _WindowVerdict) -> Detection | None:
        if verdict.tier == "none" or verdict.detected_at is None:
            return None
        identity = verdict.identity
        reasons = [verdict.hits[rule_id].reason for rule_id in verdict.rule_order]
        evidence = list(verdict.evidence)
        if verdict.model_risk >= MODEL_REASON_FLOOR:
            unusual = "; ".join(verdict.model_reasons) or "an unusual mix of features"
            reasons.append(
                f"activity unlike the history of {identity.kind} identities "
                f"(model risk {verdict.model_risk:.0f}): {unusual}"
            )
            if not evidence:
                evidence = list(verdict.window_event_ids)
        return Detection(
            identity_id=identity.id,
            identity_kind=identity.kind,  # type: ignore[arg-type]
            identity_name=identity.name,
            window_start=verdict.first_time,
            window_end=verdict.last_time,
            detected_at=verdict.detected_at,
            risk=verdict.risk,
            tier=verdict.tier,
            rules=list(verdict.rule_order),
            reasons=reasons,
            event_ids=evidence[:MAX_EVIDENCE_IDS],
            model_version=self.detector.model_version,
        )


def _keep_strongest(verdict: _WindowVerdict, hit: Hit) -> bool:
    """Record the hit; True when it changed the window's strongest hits."""
    current = verdict.hits.get(hit.rule_id)
    if current is None:
        verdict.rule_order.append(hit.rule_id)
    stronger = (
        current is None or _SEVERITY_RANK[hit.severity] > _SEVERITY_RANK[current.severity]
    )
    if stronger:
        verdict.hits[hit.rule_id] = hit
    for event_id in hit.event_ids:
        if event_id not in verdict.evidence and len(verdict.evidence) < MAX_EVIDENCE_IDS:
            verdict.evidence.append(event_id)
    return stronger


_SEVERITY_RANK = {"none": -1, "low": 0, "medium": 1, "high": 2, "critical": 3}


def on_familiar_ground(
    observation: Observation, baseline: IdentityBaseline | None = None
) -> bool:
    """The event shows a mature identity nothing new: network, country, device and
    client are all ones its history holds, and (given the baseline) the network and
    client are established there, with `FAMILIAR_EVENTS` events or more, so an
    attacker's network does not turn familiar within the hour it appears. (New API
    paths are left out: paths carry object ids, so agents meet new ones all the
    time.)"""
    if not observation.baseline_mature or (
        observation.new_network
        or observation.new_country
        or observation.new_device
        or observation.new_ua_family
    ):
        return False
    if baseline is None:
        return True
    facts = observation.facts
    return all(
        value is None or counter.counts.get(value, 0) >= FAMILIAR_EVENTS
        for counter, value in (
            (baseline.networks, facts.network),
            (baseline.ua_families, facts.ua_family),
        )
    )
