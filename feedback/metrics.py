"""The numbers that tell whether the system works, from incidents and verdicts.

Over a period (the last week, by default):

- mean time to detect: from the evidence (the event at which the detection
  reached its tier) to the incident written down;
- mean time to respond: from the incident opened to its verdict;
- false-positive rate from verdicts: false positives and expected activity over
  all verdicts given in the period (expected activity is also shown apart, being
  a map or policy to fix rather than a model error);
- recurring incidents: identities with more than one incident in the period;
- policy changes: promotions, rollbacks, suppressions, map changes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from credwatch.db import ensure_utc


@dataclass
class Metrics:
    since: datetime
    until: datetime
    incidents: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    mean_time_to_detect_s: float | None = None
    mean_time_to_respond_s: float | None = None
    false_positive_rate: float | None = None
    expected_rate: float | None = None
    recurring: list[tuple[str, int]] = field(default_factory=list)
    policy_changes: dict[str, int] = field(default_factory=dict)
    incidents_per_day: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "incidents": self.incidents,
            "verdicts": self.verdicts,
            "mean_time_to_detect_s": self.mean_time_to_detect_s,
            "mean_time_to_respond_s": self.mean_time_to_respond_s,
            "false_positive_rate": self.false_positive_rate,
            "expected_rate": self.expected_rate,
            "recurring": self.recurring,
            "policy_changes": self.policy_changes,
        }


def compute_metrics(
    incidents: Sequence[object],
    changes: Sequence[object],
    *,
    since: datetime,
    until: datetime,
) -> Metrics:
    """The period's metrics from incident rows and policy-change rows."""
    since, until = ensure_utc(since), ensure_utc(until)
    opened = [
        i
        for i in incidents
        if since <= ensure_utc(i.opened_at) < until  # type: ignore[attr-defined]
    ]
    judged = [
        i
        for i in incidents
        if i.verdict_at is not None  # type: ignore[attr-defined]
        and since <= ensure_utc(i.verdict_at) < until  # type: ignore[attr-defined]
    ]
    result = Metrics(since=since, until=until, incidents=len(opened))
    result.verdicts = dict(Counter(i.verdict for i in judged))  # type: ignore[attr-defined]

    detect = [
        (ensure_utc(i.opened_at) - ensure_utc(i.first_detected_at)).total_seconds()  # type: ignore[attr-defined]
        for i in opened
    ]
    respond = [
        (ensure_utc(i.verdict_at) - ensure_utc(i.opened_at)).total_seconds()  # type: ignore[attr-defined]
        for i in judged
    ]
    result.mean_time_to_detect_s = statistics.fmean(detect) if detect else None
    result.mean_time_to_respond_s = statistics.fmean(respond) if respond else None
    if judged:
        false = result.verdicts.get("false-positive", 0)
        expected = result.verdicts.get("expected", 0)
        result.false_positive_rate = (false + expected) / len(judged)
        result.expected_rate = expected / len(judged)

    per_identity = Counter(i.identity_id for i in opened)  # type: ignore[attr-defined]
    result.recurring = [(who, n) for who, n in per_identity.most_common() if n > 1]
    result.policy_changes = dict(Counter(c.kind for c in changes))  # type: ignore[attr-defined]
    per_day: dict[str, Counter[str]] = {}
    for incident in opened:
        day = ensure_utc(incident.opened_at).strftime("%Y-%m-%d")  # type: ignore[attr-defined]
        per_day.setdefault(day, Counter())[incident.verdict or "open"] += 1  # type: ignore[attr-defined]
    result.incidents_per_day = {day: dict(c) for day, c in sorted(per_day.items())}
    return result


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
