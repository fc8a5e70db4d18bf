"""Hostile values shared by the parser and endpoint tests: what attackers and broken
exporters put where Okta puts an event, within what JSON decoding can produce."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

BASE_EVENT: dict[str, Any] = {
    "uuid": "f3b2c1d0-0000-4000-8000-000000000001",
    "published": "2026-03-02T09:00:00.000Z",
    "eventType": "user.authentication.sso",
    "version": "0",
    "severity": "INFO",
    "displayMessage": "User single sign on to app",
    "actor": {"id": "00uALICE", "type": "User", "alternateId": "alice@example.com"},
    "client": {
        "ipAddress": "203.0.113.10",
        "userAgent": {"rawUserAgent": "Mozilla/5.0"},
        "geographicalContext": {
            "city": "Denver",
            "country": "United States",
            "geolocation": {"lat": 39.7, "lon": -104.9},
        },
    },
    "authenticationContext": {"externalSessionId": "102SESSION"},
    "outcome": {"result": "SUCCESS"},
    "securityContext": {"asNumber": 7922, "isp": "Comcast"},
    "debugContext": {"debugData": {"requestId": "req1", "requestUri": "/app/sso"}},
    "transaction": {"type": "WEB", "id": "tx1", "detail": {}},
    "target": [{"id": "0oaAPP", "type": "AppInstance", "displayName": "App"}],
}

# Values an attacker (or a broken exporter) puts where Okta puts something else.
NASTY_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**63),
    2**64 - 1,
    1e40,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "\x00",
    "\u202e",
    "a" * 100_000,
    "NaN",
    "Infinity",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-03-02 09:00:00",
    "2026-03-02T09:00:00.123456789Z",
    (datetime.now(UTC) + timedelta(days=400)).isoformat(),
    "::1",
    "fe80::1%eth0",
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "10.0.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "255.255.255.255",
    "999.1.1.1",
    "1.2.3.4, 5.6.7.8",
    "com.okta.event_hook",
    "{k=v, a=b}",
    "\U0001f600" * 1000,
]


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for level in range(levels):
        value = {"n": value} if level % 2 else [value]
    return value


NASTY_VALUES: list[Any] = [
    *NASTY_SCALARS,
    [],
    {},
    [None],
    {"": None},
    deep(70),
    deep(300),
]

json_scalars = st.one_of(
    # The integers JSON decoding gives (orjson reads larger ones as floats).
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    # Lone surrogates cannot arrive in JSON (orjson refuses them), so none here.
    st.text(st.characters(exclude_categories=["Cs"]), max_size=50),
    st.sampled_from(NASTY_SCALARS),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)
# Keys an event has, at several depths, for replacing with something hostile.
EVENT_PATHS: list[tuple[str, ...]] = [
    ("uuid",),
    ("published",),
    ("eventType",),
    ("actor",),
    ("actor", "id"),
    ("actor", "type"),
    ("client",),
    ("client", "ipAddress"),
    ("client", "userAgent"),
    ("client", "userAgent", "rawUserAgent"),
    ("client", "geographicalContext"),
    ("client", "geographicalContext", "geolocation", "lat"),
    ("client", "geographicalContext", "country"),
    ("authenticationContext",),
    ("authenticationContext", "externalSessionId"),
    ("outcome", "result"),
    ("securityContext", "asNumber"),
    ("securityContext", "isProxy"),
    ("debugContext", "debugData"),
    ("debugContext", "debugData", "requestUri"),
    ("transaction", "detail"),
    ("transaction", "detail", "requestApiTokenId"),
    ("target",),
    ("request",),
    ("version",),
    ("severity",),
    ("displayMessage",),
    ("EVENTTYPE",),
    ("p_log_type",),
    ("unknownField",),
]


def with_value(
    event: dict[str, Any], path: tuple[str, ...], value: Any
) -> dict[str, Any]:
    # Objects along the path are copied; the rest is shared, never changed.
    copy = dict(event)
    node = copy
    for step in path[:-1]:
        child = node.get(step)
        node[step] = child = dict(child) if isinstance(child, dict) else {}
        node = child
    node[path[-1]] = value
    return copy


def without(event: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    copy = dict(event)
    node = copy
    for step in path[:-1]:
        child = node.get(step)
        if not isinstance(child, dict):
            return copy
        node[step] = child = dict(child)
        node = child
    node.pop(path[-1], None)
    return copy
