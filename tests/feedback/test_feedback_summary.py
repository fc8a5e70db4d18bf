"""Drift, metrics and the summary page written as Markdown and HTML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from feedbackhelpers import T0

from features.vectors import FEATURE_NAMES
from feedback import flows
from feedback.drift import feature_drift, psi, psi_level
from feedback.metrics import compute_metrics
from feedback.summary import SummaryInputs, build_page, publish


def frame(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    data = {name: rng.poisson(3, rows).astype(float) for name in FEATURE_NAMES}
    data["events"] = rng.normal(10 + shift, 2, rows)
    table = pd.DataFrame(data)
    table["identity_kind"] = "human"
    return table


def test_psi_levels_follow_the_usual_thresholds():
    rng = np.random.default_rng(3)
    same = psi(rng.normal(size=4000), rng.normal(size=4000))
    moved = psi(rng.normal(size=4000), rng.normal(1.0, 1, size=4000))
    assert same < 0.1 and psi_level(same) == "stable"
    assert moved > 0.25 and psi_level(moved) == "major"
    assert psi_level(0.18) == "moderate"
    # A value the reference never had counts as a shift, not as nothing.
    assert psi(np.zeros(500), np.ones(500)) > 0.25


def test_feature_drift_names_the_shifted_feature_first():
    rng = np.random.default_rng(4)
    drift = feature_drift(frame(rng, 800), frame(rng, 800, shift=3.0))
    assert drift[0].feature == "events" and drift[0].level == "major"
    assert drift[0].ks_p < 0.05
    assert all(d.level == "stable" for d in drift[1:])


def test_metrics_from_incidents_and_verdicts(settings, open_incident):
    first = open_incident("00uALICE", kind="human", at=T0)
    open_incident("0oaAGENT1", at=T0 + timedelta(hours=1))
    flows.give_verdict(
        settings=settings, incident_id=first, verdict="false-positive", actor="a"
    )
    second = open_incident("00uALICE", kind="human", at=T0 + timedelta(hours=3))
    flows.give_verdict(
        settings=settings, incident_id=second, verdict="true-positive", actor="a"
    )
    from response.flows import session_factory
    from response.queries import list_incidents

    with session_factory(settings)() as session:
        incidents = list_incidents(session)
    metrics = compute_metrics(
        incidents, [], since=T0 - timedelta(days=1), until=T0 + timedelta(days=400)
    )
    assert metrics.incidents == 3
    assert metrics.verdicts == {"false-positive": 1, "true-positive": 1}
    assert metrics.false_positive_rate == 0.5
    assert metrics.recurring == [("00uALICE", 2)]
    assert metrics.mean_time_to_detect_s is not None


def test_summary_page_as_markdown_and_html_with_plots(settings, open_incident):
    open_incident("0oaAGENT1", at=T0)
    rng = np.random.default_rng(5)
    inputs = SummaryInputs(
        kind="weekly",
        now=T0 + timedelta(days=1),
        reference=frame(rng, 400),
        recent=frame(rng, 400, shift=2.0),
        champion_version="3",
        tempered={"agent_outside_declared": "none"},
    )
    settings = settings.model_copy(update={"disabled_rules": "api_rate_spike"})
    page = build_page(settings, inputs)
    where = publish(settings, page)

    folder = Path(where)
    markdown = (folder / "summary.md").read_text()
    html = (folder / "summary.html").read_text()
    assert (
        "below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one"
        in markdown
    )
    assert "api_rate_spike: switched off" in markdown
    assert "agent_outside_declared: no longer counts on familiar ground" in markdown
    assert "| events |" in markdown and "major" in markdown
    assert "Mean time to detect" in markdown and "Policy changes" in markdown
    assert (folder / "drift.png").read_bytes().startswith(b"\x89PNG")
    assert '<img src="drift.png"' in html and "<table>" in html


def test_the_schedule_writes_the_summary_a_week_after_it_starts(settings):
    from feedback.schedule import FeedbackSchedule

    schedule = FeedbackSchedule(settings=settings, deployment=None)
    assert schedule.tick(T0) == {}  # starts the clock, writes nothing
    assert schedule.tick(T0 + timedelta(days=3)) == {}
    ran = schedule.tick(T0 + timedelta(days=7, minutes=1))
    assert (Path(ran["summary"]) / "summary.md").exists()
    assert schedule.tick(T0 + timedelta(days=8)) == {}
