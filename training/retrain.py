"""`credwatch retrain`: learn from the verdicts, register a challenger, gate it.

One retrain is one MLflow run:

- the events of the last `CREDWATCH_RETRAIN_DAYS` (from files, or the event
  store), of which the last `CREDWATCH_RETRAIN_RECENT_DAYS` are "recent";
- every verdict so far (feedback.labels), and the incidents still open, whose
  events stay out of the refit;
- a challenger built from them (training.challenger): forest and baselines
  refitted on benign history, ensemble weights, familiar-ground severities and
  the risk correction fitted to the verdicts;
- champion and challenger scored on the same recent, labelled history from the
  same starting state (training.gates); both scores and the decision go on the
  run, as metrics and tags, with the labelled windows as its evaluation dataset
  and the learned weights as an artifact;
- the new version takes the `challenger` alias, and the `champion` alias too when
  it passes the gate (recall not lower, false alerts not more);
- "expected" verdicts become map proposals, stored for a person to accept.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from credwatch.db import ensure_utc
from credwatch.settings import Settings
from events.schemas import LogEvent
from features.deployment import DeploymentMap
from features.identity import IdentityResolver
from training.challenger import Challenger, build_challenger
from training.gates import GATE_TIER, Comparison, compare
from training.spans import Span, spans_from_labels

logger = logging.getLogger(__name__)


@dataclass
class RetrainResult:
    version: str
    run_id: str
    champion_version: str
    promoted: bool
    comparison: Comparison
    challenger: Challenger
    spans: list[Span]
    proposals: list[dict[str, Any]] = field(default_factory=list)
    footprints: list[Any] = field(default_factory=list)
    events: int = 0
    recent_start: datetime | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        fit = self.challenger.fit
        return {
            "version": self.version,
            "run_id": self.run_id,
            "compared_with": self.champion_version,
            "promoted": self.promoted,
            "decision": self.comparison.reason,
            "champion": vars(self.comparison.champion),
            "challenger": vars(self.comparison.challenger),
            "tier": self.comparison.tier,
            "verdicts": len(self.spans),
            "events": self.events,
            "weights": {
                "model": fit.weights.model,
                "rules": fit.weights.rules,
                "familiar": fit.familiar,
            },
            "tempered": dict(
                getattr(self.challenger.detector, "familiar_severity", {})
            ),
            "proposals": self.proposals,
            "seconds": round(self.seconds, 1),
        }


def retrain(
    *,
    settings: Settings,
    deployment: DeploymentMap | None,
    paths: Sequence[Path] = (),
    actor: str = "credwatch",
    promote: bool = True,
    now: datetime | None = None,
) -> RetrainResult:
    """Retrain from the verdicts and gate the result against the champion."""
    from training.registry import load_champion

    # With a tracking server MLflow prints each run's URL on stdout, which would
    # corrupt `credwatch retrain --json`; the run id is in the result instead.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

    started = time.perf_counter()
    now = ensure_utc(now or datetime.now(UTC))
    champion, champion_version = load_champion(settings)
    events = _events(settings, paths=paths, now=now)
    if not events:
        raise ValueError(
            "no events to retrain on: give event files (`credwatch retrain FILE...`); "
            "only events received through the Event Hook (`serve`) are kept for "
            "retraining"
        )
    latest = max(e.published for e in events if e.published) if paths else now
    recent_start = latest - timedelta(days=settings.retrain_recent_days)
    spans, unjudged = _spans(settings)
    resolver = IdentityResolver(deployment)

    challenger = build_challenger(
        events,
        spans=spans,
        unjudged=unjudged,
        prior=champion.weights,
        resolver=resolver,
        recent_start=recent_start,
        disabled_rules=settings.disabled_rule_set,
        rule_weights=settings.rule_weights or None,
    )
    # Like `train`, so scoring without this map is pointed out.
    challenger.detector.mapped_agents = len(deployment.agents) if deployment else 0
    recent = [
        e for e in events if e.published is not None and e.published >= recent_start
    ]
    comparison = compare(
        champion,
        challenger.detector,
        recent,
        resolver=resolver,
        spans=spans,
        baselines=challenger.snapshot,
        tier=GATE_TIER,
    )
    proposals = _store_proposals(settings, challenger)
    from feedback.patterns import new_agent_footprints

    footprints = new_agent_footprints(
        recent, resolver=resolver, baselines=challenger.snapshot or champion.baselines
    )
    registered = _register(
        settings,
        challenger=challenger,
        comparison=comparison,
        spans=spans,
        champion_version=champion_version,
        events=len(events),
        recent_start=recent_start,
        proposals=len(proposals),
    )
    from training.promotion import mark_challenger
    from training.promotion import promote as promote_version

    mark_challenger(settings, registered.version)
    promoted = False
    if promote and comparison.promote:
        promote_version(
            settings, registered.version, actor=actor, reason=comparison.reason
        )
        promoted = True
    logger.info("retrain: version %s, %s", registered.version, comparison.reason)
    return RetrainResult(
        version=registered.version,
        run_id=registered.run_id,
        champion_version=champion_version,
        promoted=promoted,
        comparison=comparison,
        challenger=challenger,
        spans=spans,
        proposals=proposals,
        footprints=footprints,
        events=len(events),
        recent_start=recent_start,
        seconds=time.perf_counter() - started,
    )


def _events(
    settings: Settings, *, paths: Sequence[Path], now: datetime
) -> list[LogEvent]:
    if paths:
        from events.readers import read_events

        return list(read_events(list(paths), quarantine=None))
    from events.store import EventStore

    since = now - timedelta(days=settings.retrain_days)
    return list(EventStore.from_settings(settings).read(since=since, until=now))


def _spans(settings: Settings) -> tuple[list[Span], list[Span]]:
    """Every incident's newest verdict, and the incidents still open."""
    from feedback.labels import current_labels
    from response.flows import session_factory
    from response.queries import list_incidents

    with session_factory(settings)() as session:
        spans = spans_from_labels(current_labels(session))
        unjudged = [
            Span(
                incident_id=incident.id,
                identity_id=incident.identity_id,
                identity_kind=incident.identity_kind,
                start=ensure_utc(incident.first_detected_at).replace(
                    minute=0, second=0, microsecond=0
                ),
                end=ensure_utc(incident.last_detected_at),
                verdict="unjudged",
                rules=tuple(incident.rules),
            )
            for incident in list_incidents(session, open_only=True)
        ]
    return spans, unjudged


def _store_proposals(
    settings: Settings, challenger: Challenger
) -> list[dict[str, Any]]:
    from feedback.proposals import proposal_as_dict, store_proposals
    from response.flows import session_factory

    with session_factory(settings)() as session:
        rows = store_proposals(session, challenger.proposals)
        session.commit()
        return [proposal_as_dict(row) for row in rows]


def _register(
    settings: Settings,
    *,
    challenger: Challenger,
    comparison: Comparison,
    spans: Sequence[Span],
    champion_version: str,
    events: int,
    recent_start: datetime,
    proposals: int,
) -> Any:
    import mlflow

    from training.registry import register_detector

    fit = challenger.fit
    detector = challenger.detector
    tempered = dict(getattr(detector, "familiar_severity", {}))
    verdicts: dict[str, int] = {}
    for span in spans:
        verdicts[span.verdict] = verdicts.get(span.verdict, 0) + 1
    metrics = {
        **comparison.champion.as_metrics("champion"),
        **comparison.challenger.as_metrics("challenger"),
        "labelled_incidents": float(len(spans)),
        "labelled_windows": float(len(challenger.labelled_windows)),
        "fit_loss_before": fit.loss_before,
        "fit_loss_after": fit.loss_after,
        "events": float(events),
        "windows": float(challenger.fit_report.windows),
        "identities": float(challenger.fit_report.identities),
        "proposals": float(proposals),
        "build_seconds": challenger.seconds,
        **{
            f"verdicts_{verdict.replace('-', '_')}": float(count)
            for verdict, count in verdicts.items()
        },
    }
    params = {
        "n_estimators": detector.model.n_estimators,
        "retrain_days": settings.retrain_days,
        "recent_days": settings.retrain_recent_days,
        "recent_start": recent_start.isoformat(),
        "gate_tier": comparison.tier,
        "disabled_rules": ",".join(sorted(detector.disabled_rules)) or "-",
        "model_weight": fit.weights.model,
        "compared_with": champion_version,
    }
    decision = "promoted" if comparison.promote else "kept"
    tags = {
        "kind": "retrain",
        "decision": decision,
        "decision_reason": comparison.reason[:500],
        "tempered_rules": json.dumps(tempered)[:500],
    }
    registered = register_detector(
        detector,
        settings=settings,
        params=params,
        metrics=metrics,
        dataset=challenger.frame,
        run_name=f"retrain-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        tags=tags,
    )
    explanation = {
        "weights": {"model": fit.weights.model, "rules": fit.weights.rules},
        "familiar_weights": fit.familiar,
        "familiar_severity": tempered,
        "corrections": {k: c.as_dict() for k, c in fit.corrections.items()},
        "changes": {k: list(v) for k, v in fit.moved.items()},
    }
    with mlflow.start_run(run_id=registered.run_id):
        mlflow.log_dict(explanation, "feedback/explanation.json")
        if len(challenger.labelled_windows):
            labelled = mlflow.data.from_pandas(
                challenger.labelled_windows,
                name="verdict-labelled-windows",
                targets="label",
            )
            mlflow.log_input(labelled, context="evaluation")
    return registered
