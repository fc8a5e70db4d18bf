"""The summary's plots, drawn with matplotlib off-screen into PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

from feedback.drift import PSI_MAJOR, PSI_STABLE, FeatureDrift

VERDICT_COLOURS = {
    "true-positive": "#c0392b",
    "false-positive": "#7f8c8d",
    "expected": "#2980b9",
    "open": "#f39c12",
}


def _figure(width: float = 8.0, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    # A Figure not registered with pyplot: nothing global, nothing to close.
    return Figure(figsize=(width, height), dpi=100)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def drift_plot(drift: Sequence[FeatureDrift], *, top: int = 15) -> bytes:
    """PSI of the most drifted features, with the 0.1 and 0.25 thresholds."""
    shown = list(drift)[:top][::-1]
    figure = _figure(8.0, max(2.5, 0.3 * len(shown) + 1))
    axes = figure.add_subplot()
    colours = [
        "#27ae60"
        if d.psi < PSI_STABLE
        else "#f39c12"
        if d.psi <= PSI_MAJOR
        else "#c0392b"
        for d in shown
    ]
    axes.barh([d.feature for d in shown], [d.psi for d in shown], color=colours)
    axes.axvline(
        PSI_STABLE, color="#f39c12", linestyle="--", linewidth=1, label="0.1 moderate"
    )
    axes.axvline(
        PSI_MAJOR, color="#c0392b", linestyle="--", linewidth=1, label="0.25 major"
    )
    axes.set_xlabel("population stability index (recent vs training window)")
    axes.legend(loc="lower right", fontsize=8)
    return _png(figure)


def incidents_plot(per_day: dict[str, dict[str, int]]) -> bytes:
    """Incidents opened per day, stacked by verdict."""
    figure = _figure()
    axes = figure.add_subplot()
    days = list(per_day)
    bottom = [0] * len(days)
    for verdict, colour in VERDICT_COLOURS.items():
        counts = [per_day[day].get(verdict, 0) for day in days]
        if any(counts):
            axes.bar(days, counts, bottom=bottom, color=colour, label=verdict)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_ylabel("incidents opened")
    axes.tick_params(axis="x", labelrotation=45)
    if days:
        axes.legend(fontsize=8)
    return _png(figure)
