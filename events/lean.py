"""An event read for detection only: the fields credwatch reads, checked and nothing more.

Validating a whole `LogEvent` builds a score of pydantic objects per event and costs
several times what features and rules do. Training and `credwatch score` read every
event of an export once and need only a handful of its fields, so they take
`LeanEvent`s instead: the values identity resolution, features and rules read,
taken from the decoded JSON object after checking each one's type.

An event whose read fields hold any other type is not guessed at: `lean_event`
returns None and the reader falls back to full validation, which repairs the event
or quarantines it with a reason. Both kinds answer the same attribute names with the
same meaning (the interpretation functions live in `events.schemas`), so features
read either one.

What the lean path leaves unchecked are the fields credwatch never reads
(`displayMessage`, `severity`, `target[].detailEntry`, ...): a wrong type there is
quarantined by the full path (API, Event Hook, `watch`) but scored in a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.schemas import (
    LogEvent,
    device_of,
    is_failure,
    okta_assessment,
    okta_flag,
    parse_okta_time,
    token_id_of,
    usable_ip,
    usable_session,
    usable_user_agent,
)

# Stands in for an absent object so that reading goes on without a branch per level.
_ABSENT: dict[str, Any] = {}


@dataclass(slots=True)
class LeanEvent:
    """The read fields of one event, named as `LogEvent` names them."""

    uuid: str
    eventType: str
    published: datetime | None
    actor_id: str | None
    actor_type: str | None
    actor_name: str | None
    ip: str | None
    user_agent: str | None
    country: str | None
    city: str | None
    coordinates: tuple[float, float] | None
    asn: int | None
    as_org: str | None
    is_proxy: bool
    session_id: str | None
    api_token_id: str | None
    device_id: str | None
    request_uri: str | None
    failed: bool
    threat_suspected: bool
    behaviors: dict[str, str]
    risk: dict[str, str]
    target_refs: tuple[tuple[str | None, str | None], ...]


# Either way of reading an event; features and identity resolution take both.
ReadEvent = LogEvent | LeanEvent


class _UnexpectedType(Exception):
    """A read field holds a type the lean reader does not interpret."""


def lean_event(event: dict[str, Any]) -> LeanEvent | None:
    """The read fields of a decoded, key-normalised event with a text `uuid` and
    `eventType`; None when one of them needs full validation."""
    try:
        return _read(event)
    except (_UnexpectedType, ValueError):
        return None


def _read(event: dict[str, Any]) -> LeanEvent:
    actor = _object(event, "actor")
    client = _object(event, "client")
    geo = _object(client, "geographicalContext")
    security = _object(event, "securityContext")
    auth = _object(event, "authenticationContext")
    debug = _object(_object(event, "debugContext"), "debugData")

    display_name = _text(actor, "displayName")
    alternate_id = _text(actor, "alternateId")
    root_session = _text(auth, "rootSessionId")
    external_session = _text(auth, "externalSessionId")
    request_uri = debug.get("requestUri")

    return LeanEvent(
        uuid=event["uuid"],
        eventType=event["eventType"],
        published=parse_okta_time(event.get("published")),
        actor_id=_text(actor, "id"),
        actor_type=_text(actor, "type"),
        actor_name=display_name or alternate_id,
        ip=_ip(event, client),
        user_agent=usable_user_agent(_text(_object(client, "userAgent"), "rawUserAgent")),
        country=_text(geo, "country") or None,
        city=_text(geo, "city") or None,
        coordinates=_coordinates(_object(geo, "geolocation")),
        asn=_whole_number(security.get("asNumber")),
        as_org=_text(security, "asOrg"),
        is_proxy=bool(_flag(security.get("isProxy"))),
        session_id=usable_session(root_session or external_session),
        api_token_id=token_id_of(_object(_object(event, "transaction"), "detail")),
        device_id=device_of(debug),
        request_uri=str(request_uri) if request_uri else None,
        failed=is_failure(_text(_object(event, "outcome"), "result")),
        threat_suspected=okta_flag(debug.get("threatSuspected")),
        behaviors=okta_assessment(debug, "behaviors"),
        risk=okta_assessment(debug, "risk"),
        target_refs=_target_refs(event.get("target")),
    )


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return _ABSENT
    if type(value) is not dict:
        raise _UnexpectedType(key)
    return value


def _text(parent: dict[str, Any], key: str) -> str | None:
    value = parent.get(key)
    if value is None or type(value) is str:
        return value
    raise _UnexpectedType(key)


def _ip(event: dict[str, Any], client: dict[str, Any]) -> str | None:
    ip = usable_ip(_text(client, "ipAddress"))
    if ip is not None:
        return ip
    chain = _object(event, "request").get("ipChain")
    if chain is None:
        return None
    if type(chain) is not list or (chain and type(chain[0]) is not dict):
        raise _UnexpectedType("ipChain")
    return usable_ip(_text(chain[0], "ip")) if chain else None


def _coordinates(place: dict[str, Any]) -> tuple[float, float] | None:
    lat, lon = place.get("lat"), place.get("lon")
    if lat is None or lon is None:
        # Full validation reads an unusable half as absent as well; check the other.
        _number(lat)
        _number(lon)
        return None
    return _number(lat), _number(lon)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        return float(value)
    raise _UnexpectedType("a coordinate")


def _whole_number(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    raise _UnexpectedType("asNumber")


def _flag(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise _UnexpectedType("isProxy")


def _target_refs(targets: Any) -> tuple[tuple[str | None, str | None], ...]:
    if targets is None:
        return ()
    if type(targets) is not list:
        raise _UnexpectedType("target")
    refs = []
    for target in targets:
        if type(target) is not dict:
            raise _UnexpectedType("target")
        refs.append((_text(target, "type"), _text(target, "id")))
    return tuple(refs)
