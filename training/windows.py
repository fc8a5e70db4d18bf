"""Every identity-hour of a stretch of events, with what the rules found in it.

Retraining needs the windows the analysts judged as the detector saw them: the
window's feature vector, the strongest hit of each rule, whether the identity's
baseline was mature. `collect_windows` walks the events once through the same
feature and rule code as scoring, from the baselines it is given (none: from
scratch), and also keeps

- a copy of the baselines as they stood at `snapshot_at` (so two models can be
  compared on the same recent traffic from the same starting state), and
- the unexpected events of labelled spans, that map proposals are made from.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from events.schemas import LogEvent
from features.baseline import IdentityBaseline
from features.identity import IdentityResolver
from features.ordering import order_batch
from features.state import FeatureStream
from feedback.proposals import SeenEvent, SpanEvidence
from models.detector import on_familiar_ground
from models.rules import SEVERITY_SCORES, evaluate_rules
from training.evaluation import FOLLOW_ON
from training.spans import Span

logger = logging.getLogger(__name__)

_SEVERITY_RANK = {
    name: rank for rank, name in enumerate(("low", "medium", "high", "critical"))
}
# Suffix of a rule's hits on familiar ground, as the ensemble fit names them.
FAMILIAR = "@familiar"


@dataclass
class WindowRecord:
    """One identity's hour: its final feature vector and its rule hits."""

    identity_id: str
    kind: str
    start: datetime
    first_time: datetime
    last_time: datetime
    vector: np.ndarray
    # The strongest hit of each rule on new ground (the event showed the identity
    # something new) and on familiar ground (models.detector.on_familiar_ground).
    hits: dict[str, str] = field(default_factory=dict)
    familiar: dict[str, str] = field(default_factory=dict)
    mature: bool = False
    events: int = 0

    @property
    def rules(self) -> set[str]:
        return set(self.hits) | set(self.familiar)

    def strengths(self) -> dict[str, float]:
        """Strongest hits as strengths in 0..1 (severity score / 100); familiar ones
        under `<rule>@familiar`."""
        found = {rule: SEVERITY_SCORES[sev] / 100.0 for rule, sev in self.hits.items()}
        for rule, severity in self.familiar.items():
            found[f"{rule}{FAMILIAR}"] = SEVERITY_SCORES[severity] / 100.0
        return found


@dataclass
class WindowCollection:
    windows: list[WindowRecord]
    snapshot: dict[str, IdentityBaseline] | None
    evidence: list[SpanEvidence]
    first_event: datetime | None
    last_event: datetime | None


def collect_windows(
    events: Iterable[LogEvent],
    *,
    resolver: IdentityResolver,
    baselines: dict[str, IdentityBaseline] | None = None,
    disabled_rules: frozenset[str] = frozenset(),
    snapshot_at: datetime | None = None,
    spans: Sequence[Span] = (),
) -> WindowCollection:
    """Walk `events` in time order and return every window with its hits."""
    stream = FeatureStream(resolver, copy.deepcopy(baselines) if baselines else None)
    batch = order_batch(events, stream=stream)
    by_identity: dict[str, list[Span]] = {}
    for span in spans:
        by_identity.setdefault(span.identity_id, []).append(span)
    evidence = {
        span.incident_id: SpanEvidence(
            incident_id=span.incident_id,
            identity_id=span.identity_id,
            identity_kind=span.identity_kind,
            agent_name=None,
            verdict=span.verdict,
            rules=list(span.rules),
        )
        for span in spans
    }

    windows: dict[tuple[str, datetime], WindowRecord] = {}
    snapshot = None
    for facts in batch.facts:
        if snapshot_at is not None and snapshot is None and facts.time >= snapshot_at:
            snapshot = copy.deepcopy(stream.baselines)
        observation, _closed = stream.observe(facts)
        hits = evaluate_rules(observation, disabled=disabled_rules)
        identity = facts.identity
        key = (identity.id, observation.window.start)
        record = windows.get(key)
        if record is None:
            record = windows[key] = WindowRecord(
                identity_id=identity.id,
                kind=identity.kind,
                start=observation.window.start,
                first_time=facts.time,
                last_time=facts.time,
                vector=observation.vector,
            )
        record.last_time = facts.time
        record.vector = observation.vector
        record.mature = observation.baseline_mature
        record.events += 1
        familiar = on_familiar_ground(observation, stream.baselines.get(identity.id))
        strongest = record.familiar if familiar else record.hits
        for hit in hits:
            current = strongest.get(hit.rule_id)
            if (
                current is None
                or _SEVERITY_RANK[hit.severity] > _SEVERITY_RANK[current]
            ):
                strongest[hit.rule_id] = hit.severity
        if hits and not facts.expected_network and identity.id in by_identity:
            for span in by_identity[identity.id]:
                if span.start <= facts.time <= span.end:
                    found = evidence[span.incident_id]
                    found.agent_name = identity.agent.name if identity.agent else None
                    found.events.append(
                        SeenEvent(
                            ip=facts.ip,
                            asn=facts.asn,
                            network=facts.network,
                            country=facts.country,
                            client=facts.ua_family,
                            rules=tuple(hit.rule_id for hit in hits),
                        )
                    )
    if snapshot_at is not None and snapshot is None:
        snapshot = copy.deepcopy(stream.baselines)
    logger.info("collected %d windows from %d events", len(windows), batch.events)
    return WindowCollection(
        windows=list(windows.values()),
        snapshot=snapshot,
        evidence=list(evidence.values()),
        first_event=batch.facts[0].time if batch.facts else None,
        last_event=batch.facts[-1].time if batch.facts else None,
    )


def label_windows(
    windows: Sequence[WindowRecord], spans: Sequence[Span]
) -> list[WindowLabel]:
    """Each window's label: from a span of its identity that it overlaps.

    A true-positive span wins over another verdict on the same hour; its windows
    form one group, since an incident is true when any of its windows is, not each
    of them. True incidents of one identity that follow each other within
    `FOLLOW_ON` are one compromise told in several incidents, and one group: the
    later ones often show only what the attacker had already made familiar.
    """
    by_identity: dict[str, list[Span]] = {}
    for span in spans:
        by_identity.setdefault(span.identity_id, []).append(span)
    group_of = _compromise_groups(spans)
    labels: list[WindowLabel] = []
    for window in windows:
        found = UNLABELLED
        for span in by_identity.get(window.identity_id, ()):
            if window.first_time <= span.end and window.last_time >= span.start:
                if span.positive:
                    found = WindowLabel(1, group_of[span.incident_id])
                    break
                found = WindowLabel(0, None)
        labels.append(found)
    return labels


def _compromise_groups(spans: Sequence[Span]) -> dict[int, int]:
    """Each true-positive span's group: the first span of its chain of follow-ons."""
    groups: dict[int, int] = {}
    last: dict[str, Span] = {}
    for span in sorted((s for s in spans if s.positive), key=lambda s: s.start):
        previous = last.get(span.identity_id)
        if previous is not None and span.start <= previous.end + FOLLOW_ON:
            groups[span.incident_id] = groups[previous.incident_id]
        else:
            groups[span.incident_id] = span.incident_id
        last[span.identity_id] = span
    return groups


@dataclass(frozen=True)
class WindowLabel:
    """1 (in a true-positive span, `group` = its incident), 0, or None."""

    value: int | None
    group: int | None = None


UNLABELLED = WindowLabel(None)
