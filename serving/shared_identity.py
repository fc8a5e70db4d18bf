"""An identity as every process sees it: this process's record joined with the score log.

`ScoringService.record_of` asks here when a score log is attached, so that one
`serve` process answers for an identity that another scored (or that this one
scored before a restart). The log holds each event's score once; this process's
own latest scores may still be waiting in the log's writer, so both are joined,
each point once, newest last.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from credwatch.db import ensure_utc
from credwatch.score_log import LoggedScore
from features.identity import Identity
from models.detector import EventScore
from models.schemas import Detection
from serving.service import HISTORY_PER_IDENTITY, IdentityRecord, RiskPoint


def merged_record(
    local: IdentityRecord | None, logged: list[LoggedScore]
) -> IdentityRecord | None:
    """The identity's record from both sources; None when neither knows it."""
    if not logged:
        return local
    newest = max(
        logged, key=lambda row: (ensure_utc(row.scored_at), ensure_utc(row.event_time))
    )
    identity = (
        local.identity
        if local is not None
        else Identity(
            id=newest.identity_id, kind=newest.identity_kind, name=newest.identity_name
        )
    )
    points: dict[tuple[datetime, float, str, str], RiskPoint] = {}
    for row in logged:
        point = RiskPoint(
            event_time=ensure_utc(row.event_time),
            scored_at=ensure_utc(row.scored_at),
            risk=round(row.risk, 2),
            tier=row.tier,
            model_version=row.model_version or "",
        )
        points[_key(point)] = point
    for point in local.points if local is not None else ():
        points.setdefault(_key(point), point)
    ordered = sorted(
        points.values(), key=lambda item: (item.scored_at, item.event_time)
    )
    record = IdentityRecord(identity)
    record.points = deque(ordered[-HISTORY_PER_IDENTITY:], maxlen=HISTORY_PER_IDENTITY)
    local_latest_at = (
        local.points[-1].scored_at if local is not None and local.points else None
    )
    if (
        local is not None
        and local_latest_at is not None
        and local_latest_at >= ensure_utc(newest.scored_at)
    ):
        record.latest = local.latest
    else:
        record.latest = _score_of(identity, newest)
    return record


def _key(point: RiskPoint) -> tuple[datetime, float, str, str]:
    return (point.event_time, point.risk, point.tier, point.model_version)


def _score_of(identity: Identity, row: LoggedScore) -> EventScore:
    detection = Detection.model_validate(row.detection) if row.detection else None
    return EventScore(
        identity=identity, risk=row.risk, tier=row.tier, detection=detection
    )
