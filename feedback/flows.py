"""The feedback stage as commands and the API use it: settings in, committed out.

- `give_verdict`: an analyst's verdict on an incident (CLI `verdict`, or the API).
- `pull_jira_verdicts`: `credwatch feedback`, and the schedule in `watch`.
- suppressions: add, list, lift.
- map proposals: list, accept (written into a map file), reject.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credwatch.settings import Settings
from feedback.labels import record_verdict
from response.flows import session_factory
from response.queries import incident_as_dict

logger = logging.getLogger(__name__)


def give_verdict(
    *,
    settings: Settings,
    incident_id: int | str,
    verdict: str,
    actor: str,
    source: str = "api",
) -> dict[str, Any]:
    """Resolve an incident with a verdict and keep its labelled span.

    Returns the incident as a dict, with `suppression_id` when an "expected"
    verdict suppressed its pattern (`CREDWATCH_SUPPRESS_EXPECTED_HOURS`).
    Raises `InvalidVerdict` or `UnknownIncident` (response.errors).
    """
    with session_factory(settings)() as session:
        outcome = record_verdict(
            session,
            incident_id=incident_id,
            verdict=verdict,
            source=source,
            actor=actor,
            suppress_hours=settings.suppress_expected_hours,
        )
        session.commit()
        from response.queries import get_incident

        result = incident_as_dict(get_incident(session, outcome.incident_id))
    result["suppression_id"] = outcome.suppression_id
    return result


def pull_jira_verdicts(
    *, settings: Settings, source: Any | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Read resolved tickets since the cursor and apply their verdicts.

    Raises `NotConfigured` without Jira settings.
    """
    from feedback.jira_feedback import collect_jira_verdicts

    owned = source is None
    source = source or jira_source_from_settings(settings)
    try:
        with session_factory(settings)() as session:
            report = collect_jira_verdicts(
                session,
                source=source,
                verdict_source=settings.jira_verdict_source,
                extra_values=settings.jira_verdict_values,
                label_prefix=settings.jira_verdict_label_prefix,
                field_id=settings.jira_verdict_field,
                suppress_hours=settings.suppress_expected_hours,
                now=now,
            )
            session.commit()
    finally:
        if owned:
            source.close()
    return report.as_dict()


def jira_source_from_settings(settings: Settings) -> Any:
    from feedback.jira_source import JiraVerdictSource
    from integrations.errors import NotConfigured

    if not settings.jira_url:
        raise NotConfigured(
            "CREDWATCH_JIRA_URL is not set: "
            "give verdicts with `credwatch verdict` instead"
        )
    if settings.jira_token is None:
        raise NotConfigured("CREDWATCH_JIRA_URL is set but CREDWATCH_JIRA_TOKEN is not")
    if settings.jira_verdict_source == "field" and not settings.jira_verdict_field:
        raise NotConfigured(
            "CREDWATCH_JIRA_VERDICT_SOURCE=field needs CREDWATCH_JIRA_VERDICT_FIELD"
        )
    return JiraVerdictSource(
        url=settings.jira_url,
        user=settings.jira_user,
        token=settings.jira_token,
        project=settings.jira_project,
        timeout=settings.jira_timeout_s,
        max_retries=settings.jira_max_retries,
        page_size=settings.jira_feedback_page_size,
    )


# --- suppressions --------------------------------------------------------------------


def add_suppression(
    *,
    settings: Settings,
    identity_id: str,
    hours: float,
    actor: str,
    network: str | None = None,
    client: str | None = None,
    reason: str = "added by hand",
) -> dict[str, Any]:
    from feedback import suppressions

    with session_factory(settings)() as session:
        row = suppressions.add_suppression(
            session,
            identity_id=identity_id,
            hours=hours,
            actor=actor,
            reason=reason,
            network=network,
            client=client,
        )
        session.commit()
        return suppressions.suppression_as_dict(row)


def list_suppressions(
    *, settings: Settings, active_only: bool = False
) -> list[dict[str, Any]]:
    from feedback import suppressions

    now = datetime.now(UTC)
    with session_factory(settings)() as session:
        rows = suppressions.list_suppressions(session, active_only=active_only, now=now)
        return [suppressions.suppression_as_dict(row, now=now) for row in rows]


def lift_suppression(
    *, settings: Settings, suppression_id: int, actor: str
) -> dict[str, Any]:
    from feedback import suppressions

    with session_factory(settings)() as session:
        row = suppressions.lift_suppression(session, suppression_id, actor=actor)
        session.commit()
        return suppressions.suppression_as_dict(row)


# --- deployment-map proposals --------------------------------------------------------


def list_proposals(
    *, settings: Settings, status: str | None = None
) -> list[dict[str, Any]]:
    from feedback import proposals

    with session_factory(settings)() as session:
        return [
            proposals.proposal_as_dict(row)
            for row in proposals.list_proposals(session, status=status)
        ]


def decide_proposal(
    *,
    settings: Settings,
    proposal_id: int,
    accept: bool,
    actor: str,
    map_path: Path | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Accept (writing the change into a map file) or reject a proposal.

    Accepting needs the map: `map_path` or `CREDWATCH_MAP`; the changed map goes to
    `out`, or replaces the map after a `.bak` copy of it is kept.
    """
    from feedback import proposals

    with session_factory(settings)() as session:
        row = proposals.get_proposal(session, proposal_id)
        written = None
        if accept:
            source = map_path or settings.map
            if source is None:
                raise ValueError(
                    "accepting a proposal needs the deployment map (--map)"
                )
            written = proposals.write_accepted(row, map_path=Path(source), out=out)
        proposals.decide(session, row, accept=accept, actor=actor)
        session.commit()
        result = proposals.proposal_as_dict(row)
    result["written_to"] = str(written) if written else None
    return result
