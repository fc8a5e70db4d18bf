"""What `watch` runs on a schedule: pull verdicts, and the weekly summary.

`FeedbackSchedule.tick(now)` is cheap to call on every loop: it pulls Jira
verdicts every `verdict_interval` (when Jira is configured) and writes the weekly
summary once a week, remembering the last one in the database so a restart does
not repeat it. The database is read once, then only when something is due, so a
tick between those is a comparison of two times. Failures are logged and retried
on a later tick; they never stop the caller.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from credwatch.settings import Settings
from features.deployment import DeploymentMap

logger = logging.getLogger(__name__)

DEFAULT_VERDICT_INTERVAL = timedelta(minutes=15)


class FeedbackSchedule:
    def __init__(
        self,
        *,
        settings: Settings,
        deployment: DeploymentMap | None,
        verdict_interval: timedelta = DEFAULT_VERDICT_INTERVAL,
    ) -> None:
        self._settings = settings
        self._deployment = deployment
        self._interval = verdict_interval
        self._next_pull: datetime | None = None
        self._next_summary: datetime | None = None

    def tick(self, now: datetime | None = None) -> dict[str, Any]:
        """Run what is due; returns what ran (empty when nothing was due)."""
        now = now or datetime.now(UTC)
        ran: dict[str, Any] = {}
        if self._settings.jira_url and (
            self._next_pull is None or now >= self._next_pull
        ):
            self._next_pull = now + self._interval
            try:
                from feedback.flows import pull_jira_verdicts

                ran["verdicts"] = pull_jira_verdicts(settings=self._settings, now=now)
            except Exception:
                logger.exception("pulling Jira verdicts failed; will try again")
        if self._next_summary is not None and now < self._next_summary:
            return ran
        try:
            where = weekly_summary_if_due(
                settings=self._settings, deployment=self._deployment, now=now
            )
            if where:
                ran["summary"] = where
            self._next_summary = next_summary_due(self._settings, now=now)
        except Exception:
            self._next_summary = now + self._interval
            logger.exception("the weekly summary failed; will try again")
        return ran


def weekly_summary_if_due(
    *, settings: Settings, deployment: DeploymentMap | None, now: datetime
) -> str | None:
    """Write the weekly summary when the last one is a week old.

    The first call only starts the clock: the first summary comes after a week of
    watching, not at start-up.
    """
    from feedback.jira_feedback import read_cursor, save_cursor
    from feedback.summary import SUMMARY_CURSOR, WEEK
    from response.flows import session_factory

    with session_factory(settings)() as session:
        last = read_cursor(session, SUMMARY_CURSOR)
        if last is None:
            save_cursor(session, now, now=now, name=SUMMARY_CURSOR)
            session.commit()
            return None
    if now - last < WEEK:
        return None
    where = weekly_summary(settings=settings, deployment=deployment, now=now)
    with session_factory(settings)() as session:
        save_cursor(session, now, now=now, name=SUMMARY_CURSOR)
        session.commit()
    return where


def next_summary_due(settings: Settings, *, now: datetime) -> datetime:
    """When the next weekly summary is due, from the last one in the database."""
    from feedback.jira_feedback import read_cursor
    from feedback.summary import SUMMARY_CURSOR, WEEK
    from response.flows import session_factory

    with session_factory(settings)() as session:
        last = read_cursor(session, SUMMARY_CURSOR)
    return (last or now) + WEEK


def weekly_summary(
    *, settings: Settings, deployment: DeploymentMap | None, now: datetime
) -> str:
    """Drift of the last week against the three before it, from the event store."""
    from credwatch.errors import ModelNotReady
    from events.store import EventStore
    from features.identity import IdentityResolver
    from feedback.patterns import new_agent_footprints
    from feedback.summary import WEEK, SummaryInputs, build_page, publish
    from training.challenger import frame_of
    from training.windows import collect_windows

    resolver = IdentityResolver(deployment)
    store = EventStore.from_settings(settings)
    recent_start = now - WEEK
    events = list(
        store.read(since=now - timedelta(days=settings.retrain_days), until=now)
    )
    collection = collect_windows(events, resolver=resolver)
    reference = frame_of([w for w in collection.windows if w.last_time < recent_start])
    recent = frame_of([w for w in collection.windows if w.last_time >= recent_start])

    inputs = SummaryInputs(kind="weekly", now=now, reference=reference, recent=recent)
    try:
        from training.registry import load_champion

        champion, version = load_champion(settings)
    except ModelNotReady:
        champion = None
    if champion is not None:
        inputs.champion_version = version
        inputs.tempered = dict(getattr(champion, "familiar_severity", {}))
        inputs.rule_weights = dict(champion.weights.rules)
        inputs.footprints = new_agent_footprints(
            (e for e in events if e.published and e.published >= recent_start),
            resolver=resolver,
            baselines=champion.baselines,
        )
    return publish(settings, build_page(settings, inputs))
