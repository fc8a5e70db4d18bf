"""Labelled spans: what training knows from verdicts, independent of the database.

A `Span` is one incident's verdict over one identity and stretch of time. The
feedback tables hold them (feedback.records.VerdictLabel); the benchmark builds
them from simulated labels. Training and evaluation only see spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from credwatch.db import ensure_utc
from events.schemas import LogEvent
from training.evaluation import FOLLOW_ON, Label


@dataclass(frozen=True)
class Span:
    incident_id: int
    identity_id: str
    identity_kind: str
    start: datetime
    end: datetime
    verdict: str
    rules: tuple[str, ...] = field(default=())

    @property
    def positive(self) -> bool:
        return self.verdict == "true-positive"


def spans_from_labels(rows: Iterable[object]) -> list[Span]:
    """Spans from `VerdictLabel` rows (feedback.labels.current_labels)."""
    return [
        Span(
            incident_id=row.incident_id,  # type: ignore[attr-defined]
            identity_id=row.identity_id,  # type: ignore[attr-defined]
            identity_kind=row.identity_kind,  # type: ignore[attr-defined]
            start=ensure_utc(row.start),  # type: ignore[attr-defined]
            end=ensure_utc(row.end),  # type: ignore[attr-defined]
            verdict=row.verdict,  # type: ignore[attr-defined]
            rules=tuple(row.rules or ()),  # type: ignore[attr-defined]
        )
        for row in rows
    ]


def as_labels(spans: Sequence[Span]) -> list[Label]:
    """True-positive spans as evaluation labels (training.evaluation), one per
    compromise: true incidents of one identity that follow each other within
    `FOLLOW_ON` are one compromise, caught when any of them is."""
    labels: list[Label] = []
    last: dict[str, int] = {}
    for span in sorted((s for s in spans if s.positive), key=lambda s: s.start):
        index = last.get(span.identity_id)
        if index is not None and span.start <= labels[index].end + FOLLOW_ON:
            earlier = labels[index]
            labels[index] = Label(
                identity_id=earlier.identity_id,
                start=earlier.start,
                end=max(earlier.end, span.end),
                scenario="verdict",
            )
            continue
        last[span.identity_id] = len(labels)
        labels.append(
            Label(
                identity_id=span.identity_id,
                start=span.start,
                end=span.end,
                scenario="verdict",
            )
        )
    return labels


def without_positive_spans(
    events: Iterable[LogEvent],
    spans: Sequence[Span],
    *,
    unjudged: Sequence[Span] = (),
) -> Iterable[LogEvent]:
    """The events outside every true-positive and unjudged span: benign history.

    An attacker's networks and clients must not become part of the victim's normal,
    and an incident nobody has judged yet may be an attack still going on.
    """
    positive: dict[str, list[Span]] = {}
    for span in [*(s for s in spans if s.positive), *unjudged]:
        positive.setdefault(span.identity_id, []).append(span)
    for event in events:
        covering = positive.get(event.actor_id or "")
        if (
            covering
            and event.published is not None
            and any(s.start <= event.published <= s.end for s in covering)
        ):
            continue
        yield event
