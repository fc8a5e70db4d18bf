"""Time in the simulation: integer milliseconds since the Unix epoch, UTC.

Integers keep sorting and arithmetic cheap; `iso_ms` renders them the way Okta
writes `published` (milliseconds and a `Z`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_DATE_CACHE: dict[int, str] = {}


def to_ms(moment: datetime) -> int:
    """A timezone-aware (or UTC-naive) datetime as epoch milliseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ts: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ts)


def day_of(ts: int) -> date:
    return from_ms(ts).date()


def iso_ms(ts: int) -> str:
    """`2026-03-02T17:03:12.345Z`, as Okta writes `published`."""
    days, rest = divmod(ts, DAY)
    day_text = _DATE_CACHE.get(days)
    if day_text is None:
        day_text = from_ms(days * DAY).strftime("%Y-%m-%d")
        _DATE_CACHE[days] = day_text
    hours, rest = divmod(rest, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds, millis = divmod(rest, SECOND)
    return f"{day_text}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def iso_s(ts: int) -> str:
    """Whole seconds with a `Z`, as labels carry their periods."""
    return iso_ms(ts - ts % SECOND)[:19] + "Z"
