"""The summary page, after each retrain and each week.

Sections: the model (champion, and after a retrain the challenger's scores against
it and what it learned), the rules switched off or tuned, feature drift between
the training window and recent traffic, new patterns, the operating metrics, and
the proposed deployment-map changes. Published to Notion when
`CREDWATCH_NOTION_TOKEN` and `CREDWATCH_NOTION_DATABASE_ID` are set, otherwise
written as Markdown and HTML under the reports folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from credwatch.db import ensure_utc
from credwatch.settings import Settings
from feedback.drift import KS_ALPHA, PSI_MAJOR, PSI_STABLE, FeatureDrift, feature_drift
from feedback.metrics import Metrics, compute_metrics, duration
from feedback.page import Bullets, Heading, Image, Page, Paragraph, Table
from feedback.patterns import Footprint, PatternGroup, new_incident_patterns

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
SUMMARY_CURSOR = "summary-weekly"
MAX_ROWS = 25


@dataclass
class SummaryInputs:
    kind: str  # "retrain" or "weekly"
    now: datetime
    reference: pd.DataFrame | None = None
    recent: pd.DataFrame | None = None
    retrain: dict[str, Any] | None = None
    footprints: list[Footprint] = field(default_factory=list)
    champion_version: str | None = None
    tempered: dict[str, str] = field(default_factory=dict)
    rule_weights: dict[str, float] = field(default_factory=dict)


def build_page(settings: Settings, inputs: SummaryInputs) -> Page:
    """The page, from the inputs and what the database holds for the last week."""
    now = ensure_utc(inputs.now)
    since = now - WEEK
    metrics, patterns, proposals = _from_database(settings, since=since, until=now)
    what = "after retraining" if inputs.kind == "retrain" else "weekly"
    page = Page(
        title=f"credwatch summary {what}, {now:%Y-%m-%d %H:%M} UTC",
        kind=inputs.kind,
        created=now,
    )
    _model_section(page, inputs)
    _rules_section(page, settings, inputs)
    drift = (
        feature_drift(inputs.reference, inputs.recent)
        if inputs.reference is not None and inputs.recent is not None
        else []
    )
    _drift_section(page, drift, inputs)
    _patterns_section(page, patterns, inputs.footprints)
    _metrics_section(page, metrics)
    _proposals_section(page, proposals)
    return page


def after_retrain(settings: Settings, result: Any, *, publisher: Any = None) -> str:
    """The summary of a retrain (training.retrain.RetrainResult), published."""
    challenger = result.challenger
    detector = challenger.detector
    inputs = SummaryInputs(
        kind="retrain",
        now=datetime.now(UTC),
        reference=challenger.reference_frame,
        recent=challenger.recent_frame,
        retrain=result.as_dict(),
        footprints=list(result.footprints),
        champion_version=result.version if result.promoted else result.champion_version,
        tempered=dict(getattr(detector, "familiar_severity", {})),
        rule_weights=dict(detector.weights.rules),
    )
    return publish(settings, build_page(settings, inputs), publisher=publisher)


def publish(settings: Settings, page: Page, *, publisher: Any = None) -> str:
    """Publish to Notion when configured, else write files; returns where it went."""
    if publisher is None and settings.notion_token and settings.notion_database_id:
        from feedback.notion import NotionPublisher

        publisher = NotionPublisher(
            token=settings.notion_token,
            database_id=settings.notion_database_id,
            base_url=settings.notion_url,
            notion_version=settings.notion_version,
        )
        try:
            return publisher.publish(page)
        finally:
            publisher.close()
    if publisher is not None:
        return publisher.publish(page)
    from feedback.render import write_page

    return str(write_page(page, reports_dir=settings.reports_dir))


# --- sections ------------------------------------------------------------------------


def _model_section(page: Page, inputs: SummaryInputs) -> None:
    page.add(Heading("Model"))
    result = inputs.retrain
    if result is None:
        page.add(
            Paragraph(f"Champion: version {inputs.champion_version or 'none yet'}.")
        )
        return
    champion, challenger = result["champion"], result["challenger"]
    page.add(
        Paragraph(
            f"Retrained from {result['verdicts']} verdicts on {result['events']:,} "
            f"events: version {result['version']} against champion "
            f"{result['compared_with']}. {result['decision'].capitalize()}."
        ),
        Table(
            ("", "recall", "false alerts", "alerts"),
            (
                (
                    "champion " + result["compared_with"],
                    _ratio(champion),
                    str(champion["false_alerts"]),
                    str(champion["alerts"]),
                ),
                (
                    "challenger " + result["version"],
                    _ratio(challenger),
                    str(challenger["false_alerts"]),
                    str(challenger["alerts"]),
                ),
            ),
        ),
        Paragraph(
            f"Scored on the same labelled recent history, tier {result['tier']} and "
            "above. The gate: recall not lower, false alerts not more."
        ),
    )
    weights = result.get("weights") or {}
    learned = [f"model weight {weights.get('model', 0):.2f}"]
    learned += [
        f"{rule}: weight {w:.2f}"
        for rule, w in sorted(weights.get("rules", {}).items())
        if abs(w - 1.0) >= 0.05
    ]
    learned += [
        f"{rule} on familiar ground: weight {w:.2f}"
        for rule, w in sorted(weights.get("familiar", {}).items())
        if abs(w - weights.get("rules", {}).get(rule, 1.0)) >= 0.05
    ]
    page.add(Paragraph("What the verdicts changed:"), Bullets(tuple(learned)))


def _rules_section(page: Page, settings: Settings, inputs: SummaryInputs) -> None:
    page.add(Heading("Rules switched off or tuned"))
    items = []
    for rule in sorted(settings.disabled_rule_set):
        items.append(f"{rule}: switched off (CREDWATCH_DISABLED_RULES)")
    for rule, weight in sorted(settings.rule_weights.items()):
        items.append(f"{rule}: weight set to {weight:g} (CREDWATCH_RULE_WEIGHTS)")
    for rule, severity in sorted(inputs.tempered.items()):
        counts = "no longer counts" if severity == "none" else f"counts as {severity}"
        items.append(f"{rule}: {counts} on familiar ground (learned from verdicts)")
    for rule, weight in sorted(inputs.rule_weights.items()):
        if abs(weight - 1.0) >= 0.05:
            items.append(f"{rule}: weight {weight:.2f} (learned from verdicts)")
    page.add(
        Bullets(tuple(items)) if items else Paragraph("Every rule is on, as shipped.")
    )


def _drift_section(
    page: Page, drift: list[FeatureDrift], inputs: SummaryInputs
) -> None:
    page.add(
        Heading("Feature drift"),
        Paragraph(
            "Population stability index (PSI) of each feature, recent traffic against "
            f"the training window: below {PSI_STABLE} stable, {PSI_STABLE} to "
            f"{PSI_MAJOR} a moderate shift, above {PSI_MAJOR} a major one. The "
            f"two-sample Kolmogorov-Smirnov test is shown beside it (p < {KS_ALPHA} "
            "flags a shift; on many windows it flags small ones too)."
        ),
    )
    if not drift:
        page.add(Paragraph("Too few windows in one of the periods to compare."))
        return
    levels = {
        level: sum(d.level == level for d in drift) for level in ("major", "moderate")
    }
    rows = len(inputs.reference) if inputs.reference is not None else 0
    recent = len(inputs.recent) if inputs.recent is not None else 0
    page.add(
        Paragraph(
            f"{levels['major']} features shifted majorly and {levels['moderate']} "
            f"moderately ({rows:,} training windows, {recent:,} recent windows)."
        ),
        Table(
            ("feature", "PSI", "level", "KS", "KS p", "mean before", "mean recent"),
            tuple(
                (
                    d.feature,
                    f"{d.psi:.3f}",
                    d.level,
                    f"{d.ks:.3f}",
                    f"{d.ks_p:.3g}",
                    f"{d.reference_mean:.3g}",
                    f"{d.recent_mean:.3g}",
                )
                for d in drift[:MAX_ROWS]
            ),
        ),
    )
    from feedback.plots import drift_plot

    page.add(
        Image("drift.png", drift_plot(drift), "PSI per feature, most drifted first")
    )


def _patterns_section(
    page: Page, patterns: list[PatternGroup], footprints: list[Footprint]
) -> None:
    page.add(Heading("New patterns"))
    if patterns:
        page.add(
            Paragraph("Incidents of the week with a pattern no earlier incident had:"),
            Table(
                ("pattern", "incidents", "identities"),
                tuple(
                    (g.label, str(len(g.incidents)), str(len(g.identities)))
                    for g in patterns[:MAX_ROWS]
                ),
            ),
        )
    else:
        page.add(Paragraph("No incident of the week had a pattern unseen before."))
    if footprints:
        page.add(
            Paragraph(
                "Agents seen on networks or clients their history does not hold:"
            ),
            Bullets(
                tuple(
                    f"{f.name}: "
                    + "; ".join(
                        part
                        for part in (
                            f"networks {', '.join(sorted(f.networks)[:5])}"
                            if f.networks
                            else "",
                            f"clients {', '.join(sorted(f.clients)[:5])}"
                            if f.clients
                            else "",
                        )
                        if part
                    )
                    for f in footprints[:MAX_ROWS]
                )
            ),
        )


def _metrics_section(page: Page, metrics: Metrics) -> None:
    verdicts = (
        ", ".join(f"{n} {v}" for v, n in sorted(metrics.verdicts.items())) or "none"
    )
    rate = (
        f"{metrics.false_positive_rate:.0%} (of which expected activity "
        f"{metrics.expected_rate:.0%})"
        if metrics.false_positive_rate is not None
        else "no verdicts yet"
    )
    recurring = (
        ", ".join(f"{who} ({n})" for who, n in metrics.recurring[:10])
        if metrics.recurring
        else "none"
    )
    changes = (
        ", ".join(
            f"{n} {kind.replace('_', ' ')}"
            for kind, n in sorted(metrics.policy_changes.items())
        )
        or "none"
    )
    page.add(
        Heading("How the system works"),
        Bullets(
            (
                f"Incidents opened in the last 7 days: {metrics.incidents}",
                f"Mean time to detect (evidence to incident): "
                f"{duration(metrics.mean_time_to_detect_s)}",
                f"Mean time to respond (incident to verdict): "
                f"{duration(metrics.mean_time_to_respond_s)}",
                f"Verdicts: {verdicts}; false-positive rate from verdicts: {rate}",
                f"Identities with recurring incidents: {recurring}",
                f"Policy changes: {changes}",
            )
        ),
    )
    if metrics.incidents_per_day:
        from feedback.plots import incidents_plot

        page.add(
            Image(
                "incidents.png",
                incidents_plot(metrics.incidents_per_day),
                "Incidents opened per day, by verdict",
            )
        )


def _proposals_section(page: Page, proposals: list[dict[str, Any]]) -> None:
    page.add(Heading("Proposed deployment-map changes"))
    if not proposals:
        page.add(Paragraph("None pending."))
        return
    page.add(
        Paragraph(
            "From expected verdicts; accept with `credwatch proposals accept ID`:"
        ),
        Table(
            ("id", "change", "from incidents"),
            tuple(
                (
                    str(p["id"]),
                    p["change"],
                    ", ".join(map(str, p["detail"].get("incidents", []))),
                )
                for p in proposals[:MAX_ROWS]
            ),
        ),
    )


def _from_database(
    settings: Settings, *, since: datetime, until: datetime
) -> tuple[Metrics, list[PatternGroup], list[dict[str, Any]]]:
    from feedback.policy_log import changes_between
    from feedback.proposals import list_proposals, proposal_as_dict
    from response.flows import session_factory
    from response.queries import list_incidents

    with session_factory(settings)() as session:
        incidents = list_incidents(session)
        changes = changes_between(session, since=since, until=until)
        metrics = compute_metrics(incidents, changes, since=since, until=until)
        patterns = new_incident_patterns(incidents, since=since)
        proposals = [
            proposal_as_dict(row) for row in list_proposals(session, status="proposed")
        ]
    return metrics, patterns, proposals


def _ratio(scores: dict[str, Any]) -> str:
    return f"{scores['recall']:.2f} ({scores['found']}/{scores['positives']})"
