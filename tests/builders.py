"""Builders of realistic Okta events for the tests of every stage."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from events.schemas import LogEvent

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_ids = itertools.count(1)


def build_event(
    *,
    at: datetime | timedelta = timedelta(0),
    event_type: str = "user.authentication.sso",
    actor_id: str = "00uPERSON1",
    actor_type: str = "User",
    ip: str = "203.0.113.10",
    asn: int | None = 7922,
    country: str = "United States",
    city: str = "Denver",
    lat: float = 39.74,
    lon: float = -104.99,
    user_agent: str = BROWSER,
    session: str | None = "102SESSION1",
    device: str | None = "dev-1",
    result: str = "SUCCESS",
    token_id: str | None = None,
    request_uri: str | None = None,
    debug: dict[str, Any] | None = None,
    **extra: Any,
) -> LogEvent:
    """An Okta LogEvent with realistic defaults; `at` is a time or an offset from START."""
    moment = START + at if isinstance(at, timedelta) else at
    debug_data: dict[str, Any] = {"requestId": f"req{next(_ids)}", "threatSuspected": "false"}
    if device:
        debug_data["deviceFingerprint"] = device
    if request_uri:
        debug_data["requestUri"] = request_uri
    debug_data.update(debug or {})
    document: dict[str, Any] = {
        "uuid": f"evt-{next(_ids):06d}",
        "published": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "actor": {"id": actor_id, "type": actor_type, "alternateId": f"{actor_id}@example.com", "displayName": actor_id},
        "client": {
            "ipAddress": ip,
            "userAgent": {"rawUserAgent": user_agent},
            "geographicalContext": {"city": city, "country": country, "geolocation": {"lat": lat, "lon": lon}},
        },
        "authenticationContext": {"externalSessionId": session},
        "outcome": {"result": result},
        "securityContext": {"asNumber": asn},
        "debugContext": {"debugData": debug_data},
        "transaction": {"type": "WEB", "id": "tx", "detail": {"requestApiTokenId": token_id} if token_id else {}},
    }
    document.update(extra)
    return LogEvent.model_validate(document)
