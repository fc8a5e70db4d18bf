"""The Okta System Log `LogEvent`, as `GET /api/v1/logs` and Event Hooks deliver it.

Every field is optional: real exports and hand-written fixtures leave many out, and
Okta adds new ones over time, so unknown fields are kept (`extra="allow"`). Values
whose type varies between real sources (numbers as strings, Okta's `{k=v}` map
strings, lists or objects for `behaviors`) are accepted as they come and read
through the helper properties below.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

_OKTA_MAP_PAIR = re.compile(r"([^{},=]+?)=([^{},]*)")
_FRACTION = re.compile(r"\.(\d+)")
# Okta's System Log postdates this; an earlier `published` is corrupt or forged.
EARLIEST_PUBLISHED = datetime(2000, 1, 1, tzinfo=UTC)
# How far ahead of this machine's clock an event may claim to be (clock skew). A
# later one would move identities' windows into the future and hide what follows.
FUTURE_TOLERANCE = timedelta(days=1)


class _Part(BaseModel):
    # Exports write some text fields as numbers (a postal code of 10013).
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, coerce_numbers_to_str=True
    )


class Geolocation(_Part):
    lat: float | None = None
    lon: float | None = None

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _number_or_none(cls, value: Any) -> Any:
        return _float_or_none(value)


class GeographicalContext(_Part):
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postalCode: str | None = None
    geolocation: Geolocation | None = None


class UserAgent(_Part):
    rawUserAgent: str | None = None
    os: str | None = None
    browser: str | None = None


class Client(_Part):
    userAgent: UserAgent | None = None
    zone: str | None = None
    device: str | None = None
    id: str | None = None
    ipAddress: str | None = None
    geographicalContext: GeographicalContext | None = None


class Actor(_Part):
    id: str | None = None
    type: str | None = None
    alternateId: str | None = None
    displayName: str | None = None
    detailEntry: Any = None


class Target(_Part):
    id: str | None = None
    type: str | None = None
    alternateId: str | None = None
    displayName: str | None = None
    detailEntry: Any = None


class Outcome(_Part):
    result: str | None = None
    reason: str | None = None


class AuthenticationContext(_Part):
    authenticationProvider: str | None = None
    credentialProvider: Any = None
    credentialType: str | None = None
    issuer: Any = None
    interface: str | None = None
    authenticationStep: int | None = None
    externalSessionId: str | None = None
    rootSessionId: str | None = None


class Transaction(_Part):
    type: str | None = None
    id: str | None = None
    detail: dict[str, Any] | None = None


class DebugContext(_Part):
    debugData: dict[str, Any] | None = None

    @field_validator("debugData", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class SecurityContext(_Part):
    asNumber: int | None = None
    asOrg: str | None = None
    isp: str | None = None
    domain: str | None = None
    isProxy: bool | None = None

    @field_validator("asNumber", mode="before")
    @classmethod
    def _as_number(cls, value: Any) -> Any:
        # Enrichment, not the event's substance: a value that is no AS number
        # reads as unknown (and is filled from the offline database) rather than
        # costing the whole event.
        return _as_number_or_none(value)

    @field_validator("isProxy", mode="before")
    @classmethod
    def _is_proxy(cls, value: Any) -> Any:
        return _bool_or_none(value)


class IpChainEntry(_Part):
    ip: str | None = None
    geographicalContext: GeographicalContext | None = None
    version: str | None = None
    source: str | None = None


class Request(_Part):
    ipChain: list[IpChainEntry] | None = None


class LogEvent(_Part):
    """One Okta System Log event. `published` is None when the source redacted it."""

    uuid: str
    published: datetime | None = None
    eventType: str
    version: str | None = None
    severity: str | None = None
    displayMessage: str | None = None
    legacyEventType: str | None = None
    actor: Actor | None = None
    client: Client | None = None
    device: Any = None
    authenticationContext: AuthenticationContext | None = None
    outcome: Outcome | None = None
    target: list[Target] | None = None
    transaction: Transaction | None = None
    debugContext: DebugContext | None = None
    securityContext: SecurityContext | None = None
    request: Request | None = None

    @field_validator("published", mode="before")
    @classmethod
    def _published(cls, value: Any) -> Any:
        return parse_okta_time(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return None if value is None else str(value)

    # Readers of the fields whose shape varies between sources. The meaning of each
    # value is decided by the functions below the class, which `events.lean` shares.

    @property
    def debug_data(self) -> dict[str, Any]:
        if self.debugContext is None or self.debugContext.debugData is None:
            return {}
        return self.debugContext.debugData

    @property
    def actor_id(self) -> str | None:
        return self.actor.id if self.actor else None

    @property
    def actor_type(self) -> str | None:
        return self.actor.type if self.actor else None

    @property
    def actor_name(self) -> str | None:
        return (self.actor.displayName or self.actor.alternateId) if self.actor else None

    @property
    def ip(self) -> str | None:
        ip = usable_ip(self.client.ipAddress if self.client else None)
        if ip is None and self.request and self.request.ipChain:
            ip = usable_ip(self.request.ipChain[0].ip)
        return ip

    @property
    def user_agent(self) -> str | None:
        if self.client and self.client.userAgent:
            return usable_user_agent(self.client.userAgent.rawUserAgent)
        return None

    @property
    def geo(self) -> GeographicalContext | None:
        return self.client.geographicalContext if self.client else None

    @property
    def country(self) -> str | None:
        geo = self.geo
        return geo.country if geo and geo.country else None

    @property
    def city(self) -> str | None:
        geo = self.geo
        return geo.city if geo and geo.city else None

    @property
    def coordinates(self) -> tuple[float, float] | None:
        geo = self.geo
        if geo and geo.geolocation:
            return place_on_earth(geo.geolocation.lat, geo.geolocation.lon)
        return None

    @property
    def asn(self) -> int | None:
        return self.securityContext.asNumber if self.securityContext else None

    @property
    def as_org(self) -> str | None:
        return self.securityContext.asOrg if self.securityContext else None

    @property
    def is_proxy(self) -> bool:
        return bool(self.securityContext and self.securityContext.isProxy)

    @property
    def session_id(self) -> str | None:
        ctx = self.authenticationContext
        if ctx is None:
            return None
        return usable_session(ctx.rootSessionId or ctx.externalSessionId)

    @property
    def api_token_id(self) -> str | None:
        detail = self.transaction.detail if self.transaction else None
        return token_id_of(detail)

    @property
    def device_id(self) -> str | None:
        """The device: Okta's device token hash (`dtHash`), else the classic
        engine's `deviceFingerprint`, prefixed so that the two never compare equal."""
        return device_of(self.debug_data)

    @property
    def request_uri(self) -> str | None:
        return request_uri_of(self.debug_data)

    @property
    def failed(self) -> bool:
        return is_failure(self.outcome.result if self.outcome else None)

    @property
    def threat_suspected(self) -> bool:
        return okta_flag(self.debug_data.get("threatSuspected"))

    @property
    def behaviors(self) -> dict[str, str]:
        """Okta's behaviour detections, e.g. {"New Device": "POSITIVE"}.

        Okta writes them in `debugData.behaviors` and, on newer events, inside the
        `logOnlySecurityData` JSON as well; both are read.
        """
        return okta_assessment(self.debug_data, "behaviors")

    @property
    def risk(self) -> dict[str, str]:
        """Okta's risk evaluation, e.g. {"level": "HIGH", "reasons": "New Device"}."""
        return okta_assessment(self.debug_data, "risk")

    @property
    def risk_level(self) -> str | None:
        level = self.risk.get("level")
        return level.strip().upper() if level else None

    @property
    def target_refs(self) -> tuple[tuple[str | None, str | None], ...]:
        """(type, id) of each target."""
        return tuple((target.type, target.id) for target in self.target or ())


_UNUSABLE_IPS = frozenset({"", "null", "redacted"})


def usable_ip(value: str | None) -> str | None:
    return None if value is None or value in _UNUSABLE_IPS else value


def usable_user_agent(raw: str | None) -> str | None:
    return None if raw in (None, "", "UNKNOWN") else raw


def usable_session(session: str | None) -> str | None:
    # API-token calls carry a per-request transaction id ("trs…"), not a session.
    if _is_placeholder(session) or session.startswith("trs"):  # type: ignore[union-attr]
        return None
    return session


def token_id_of(detail: dict[str, Any] | None) -> str | None:
    token = (detail or {}).get("requestApiTokenId")
    return str(token) if token else None


def device_of(debug_data: dict[str, Any]) -> str | None:
    token_hash = debug_data.get("dtHash")
    if token_hash:
        return f"dt:{token_hash}"
    fingerprint = debug_data.get("deviceFingerprint")
    return f"fp:{fingerprint}" if fingerprint else None


def request_uri_of(debug_data: dict[str, Any]) -> str | None:
    value = debug_data.get("requestUri")
    return str(value) if value else None


def okta_flag(value: Any) -> bool:
    """A flag Okta writes as a boolean or as text ("true", "false")."""
    return bool(_bool_or_none(value))


def is_failure(result: str | None) -> bool:
    return (result or "").upper() in {"FAILURE", "DENY"}


def okta_assessment(debug_data: dict[str, Any], name: str) -> dict[str, str]:
    """Okta's `behaviors` or `risk` map, from `debugData` and from the
    `logOnlySecurityData` JSON of newer events; `debugData` wins."""
    found = parse_okta_map(debug_data.get(name))
    security = debug_data.get("logOnlySecurityData")
    if security is None:
        return found
    return {**parse_okta_map(_security_data(security).get(name)), **found}


def _security_data(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def parse_okta_time(value: Any) -> datetime | None:
    """Read Okta's `published`: ISO-8601, or the space-separated SIEM export form.

    Returns None for redaction placeholders; raises ValueError for other junk.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _in_range(_as_utc(value), value)
    if not isinstance(value, str):
        raise ValueError(f"published must be a timestamp string, got {value!r}")
    try:
        # Okta's own form ("2026-03-04T00:00:04.316Z") reads as it is.
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _read_exported_time(value)
        if moment is None:
            return None
    try:
        moment = _as_utc(moment)
    except OverflowError:
        # A time at the edge of the calendar that its offset pushes past year 1 or 9999.
        raise ValueError(f"published {value!r} is not an ISO-8601 timestamp") from None
    return _in_range(moment, value)


def _read_exported_time(value: str) -> datetime | None:
    """A time as exports rewrite it (space-separated, nine fraction digits, "z");
    None for a redaction placeholder."""
    text = value.strip()
    if text.lower() in {"", "redacted", "null", "none"}:
        return None

    text = text.replace(" ", "T", 1).replace("Z", "+00:00").replace("z", "+00:00")
    # Python reads at most 6 fraction digits; some exports write 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(3, "0"), text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"published {value!r} is not an ISO-8601 timestamp") from None


def _in_range(moment: datetime, value: Any) -> datetime:
    if moment < EARLIEST_PUBLISHED:
        raise ValueError(f"published {value!r} is before {EARLIEST_PUBLISHED.year}")
    if moment.timestamp() > time.time() + FUTURE_TOLERANCE.total_seconds():
        raise ValueError(f"published {value!r} is in the future")
    return moment


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_okta_map(value: Any) -> dict[str, str]:
    """Read Okta's `{key=value, ...}` strings, and the list or object forms."""
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    if isinstance(value, list):
        return parse_okta_map("{" + ", ".join(str(item) for item in value) + "}")
    text = str(value)
    # Okta writes a handful of distinct behaviour and risk strings over and over;
    # long ones are not Okta's and would only fill the cache.
    if len(text) <= _CACHED_MAP_LENGTH:
        return dict(_cached_okta_map_pairs(text))
    return dict(_okta_map_pairs(text))


_CACHED_MAP_LENGTH = 512


def _okta_map_pairs(text: str) -> tuple[tuple[str, str], ...]:
    # `reasons=` may hold a comma-separated list, which the pair pattern would
    # split; keep every fragment without "=" with the key before it.
    pairs: dict[str, str] = {}
    last_key = None
    for fragment in text.strip().strip("{}").split(","):
        match = _OKTA_MAP_PAIR.fullmatch(fragment.strip())
        if match:
            last_key = match.group(1).strip()
            pairs[last_key] = match.group(2).strip()
        elif last_key is not None and fragment.strip():
            pairs[last_key] += ", " + fragment.strip()
    return tuple(pairs.items())


_cached_okta_map_pairs = lru_cache(maxsize=4096)(_okta_map_pairs)


def _is_placeholder(value: str | None) -> bool:
    return value is None or value.strip().lower() in {
        "",
        "unknown",
        "null",
        "redacted",
        "none",
    }


def _float_or_none(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _bool_or_none(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", "", "null"}:
        return False
    return None


# AS numbers are 32-bit (RFC 6793).
_LARGEST_AS_NUMBER = 2**32 - 1


def _as_number_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip().upper().removeprefix("AS").strip()
        plausible = len(digits) <= 10 and digits.isascii() and digits.isdigit()
        value = int(digits) if plausible else None
    elif isinstance(value, float):
        value = int(value) if value.is_integer() else None
    if isinstance(value, int) and 0 <= value <= _LARGEST_AS_NUMBER:
        return value
    return None


def place_on_earth(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """The coordinates, if both are given and name a place on Earth. A latitude of
    192 or a longitude of 500 is damage, and as a place it would make travel
    between two sign-ins in one city look impossible."""
    if lat is None or lon is None:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None  # also NaN, which compares false with everything
    return lat, lon
