"""An event read for detection only: the fields credwatch reads, checked, no more.

Validating a whole `LogEvent` builds a score of pydantic objects per event and costs
several times what features and rules do. Training and `credwatch score` read every
event of an export once and need only a handful of its fields, so they take
`LeanEvent`s instead. `EventFields` declares those fields as Okta nests them;
msgspec decodes a JSON line straight into it (or converts an already decoded
object), checking each read field's type and skipping the rest unread.

An event whose read fields hold any other type is not guessed at: the reader falls
back to full validation, which repairs the event or quarantines it with a reason.
`LeanEvent` answers the same attribute names as `LogEvent` with the same meaning
(the interpretation functions live in `events.schemas`), so features read either.

What the lean path leaves unchecked are the fields credwatch never reads
(`displayMessage`, `severity`, `target[].detailEntry`, ...): a wrong type there is
quarantined by the full path (API, Event Hook, `watch`) but scored in a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec

from events.schemas import (
    LogEvent,
    device_of,
    is_failure,
    okta_assessment,
    okta_flag,
    parse_okta_time,
    place_on_earth,
    request_uri_of,
    token_id_of,
    usable_ip,
    usable_session,
    usable_user_agent,
)

# The fields read, as Okta nests them. msgspec checks their types while it decodes
# and skips every other field unread; a wrong type is a ValidationError.


class _Actor(msgspec.Struct):
    id: str | None = None
    type: str | None = None
    alternateId: str | None = None
    displayName: str | None = None


class _UserAgent(msgspec.Struct):
    rawUserAgent: str | None = None


class _Geolocation(msgspec.Struct):
    lat: float | None = None
    lon: float | None = None


class _Place(msgspec.Struct):
    country: str | None = None
    city: str | None = None
    geolocation: _Geolocation | None = None


class _Client(msgspec.Struct):
    ipAddress: str | None = None
    userAgent: _UserAgent | None = None
    geographicalContext: _Place | None = None


class _Hop(msgspec.Struct):
    ip: str | None = None


class _Request(msgspec.Struct):
    ipChain: list[_Hop] | None = None


# The 32-bit AS number space; anything else is left to full validation to judge.
_AsNumber = Annotated[int, msgspec.Meta(ge=0, le=4_294_967_295)]


class _Security(msgspec.Struct):
    asNumber: _AsNumber | None = None
    asOrg: str | None = None
    isProxy: bool | None = None


class _Authentication(msgspec.Struct):
    rootSessionId: str | None = None
    externalSessionId: str | None = None


class _Transaction(msgspec.Struct):
    detail: dict[str, Any] | None = None


class _Debug(msgspec.Struct):
    debugData: dict[str, Any] | None = None


class _Outcome(msgspec.Struct):
    result: str | None = None


class _Target(msgspec.Struct):
    id: str | None = None
    type: str | None = None


class EventFields(msgspec.Struct):
    """The fields of an event that detection reads, and only those."""

    eventType: str | None = None
    uuid: str | None = None
    published: str | None = None
    actor: _Actor | None = None
    client: _Client | None = None
    request: _Request | None = None
    securityContext: _Security | None = None
    authenticationContext: _Authentication | None = None
    transaction: _Transaction | None = None
    debugContext: _Debug | None = None
    outcome: _Outcome | None = None
    target: list[_Target] | None = None


_LINE_DECODER = msgspec.json.Decoder(EventFields)


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


def decode_fields(line: bytes) -> EventFields | None:
    """The read fields of a JSON text holding one object; None when it is not JSON,
    not an object, or a read field has another type."""
    try:
        return _LINE_DECODER.decode(line)
    except msgspec.DecodeError:
        return None


def lean_event(event: dict[str, Any]) -> LeanEvent | None:
    """The read fields of a decoded, key-normalised event with a text `uuid` and
    `eventType`; None when one of them needs full validation."""
    try:
        fields = msgspec.convert(event, EventFields)
    except msgspec.ValidationError:
        return None
    return lean_event_of(fields)


def lean_event_of(fields: EventFields) -> LeanEvent | None:
    """The event the fields describe, read as `LogEvent` would read it; None when
    its time needs full validation (which refuses it with the reason)."""
    try:
        published = parse_okta_time(fields.published)
    except ValueError:
        return None
    actor = fields.actor or _NO_ACTOR
    client = fields.client or _NO_CLIENT
    place = client.geographicalContext or _NO_PLACE
    security = fields.securityContext or _NO_SECURITY
    auth = fields.authenticationContext or _NO_AUTHENTICATION
    debug = (fields.debugContext or _NO_DEBUG).debugData or {}

    return LeanEvent(
        uuid=fields.uuid,  # type: ignore[arg-type]
        eventType=fields.eventType,  # type: ignore[arg-type]
        published=published,
        actor_id=actor.id,
        actor_type=actor.type,
        actor_name=actor.displayName or actor.alternateId,
        ip=_ip(client, fields.request),
        user_agent=usable_user_agent(
            client.userAgent.rawUserAgent if client.userAgent else None
        ),
        country=place.country or None,
        city=place.city or None,
        coordinates=_coordinates(place.geolocation),
        asn=security.asNumber,
        as_org=security.asOrg,
        is_proxy=bool(security.isProxy),
        session_id=usable_session(auth.rootSessionId or auth.externalSessionId),
        api_token_id=token_id_of(
            fields.transaction.detail if fields.transaction else None
        ),
        device_id=device_of(debug),
        request_uri=request_uri_of(debug),
        failed=is_failure(fields.outcome.result if fields.outcome else None),
        threat_suspected=okta_flag(debug.get("threatSuspected")),
        behaviors=okta_assessment(debug, "behaviors"),
        risk=okta_assessment(debug, "risk"),
        target_refs=tuple((target.type, target.id) for target in fields.target or ()),
    )


_NO_ACTOR = _Actor()
_NO_CLIENT = _Client()
_NO_PLACE = _Place()
_NO_SECURITY = _Security()
_NO_AUTHENTICATION = _Authentication()
_NO_DEBUG = _Debug()


def _ip(client: _Client, request: _Request | None) -> str | None:
    ip = usable_ip(client.ipAddress)
    if ip is None and request is not None and request.ipChain:
        ip = usable_ip(request.ipChain[0].ip)
    return ip


def _coordinates(place: _Geolocation | None) -> tuple[float, float] | None:
    return None if place is None else place_on_earth(place.lat, place.lon)
