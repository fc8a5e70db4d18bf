"""The facts of one event that features and rules read, extracted once.

Reading pydantic attributes and parsing Okta's map strings is the costly part of
feature extraction, so every event is reduced once to this flat record.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from events.lean import ReadEvent
from features.deployment import parse_ip
from features.enrichment import default_enricher
from features.identity import Identity, IdentityResolver

RISK_LEVELS = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}
PUSH_EVENTS = frozenset({"system.push.send_factor_verify_push"})
MFA_EVENTS = frozenset(
    {"user.authentication.auth_via_mfa", "user.mfa.okta_verify.deny_push"}
)
THREAT_EVENTS = frozenset({"security.threat.detected", "user.risk.detect"})
# Okta's own detections of a stolen session, token or password.
OKTA_DETECTIONS = {
    "app.oauth2.token.detect_reuse": "a refresh token replayed",
    "app.oauth2.as.token.detect_reuse": "a refresh token replayed",
    "security.session.detect_client_roaming": "a session roaming between clients",
    "user.session.context.change": "a session's context changing",
    "security.breached_credential.detected": "a breached password",
    "user.mfa.attempt_bypass": "an attempt to bypass MFA",
    "user.account.report_suspicious_activity_by_enduser": "the user reporting activity they did not do",
}
SIGN_IN_EVENTS = frozenset(
    {"user.session.start", "user.authentication.sso", "user.authentication.verify",
     "user.authentication.auth_via_mfa", "policy.evaluate_sign_on"}
)

_TOOL_AGENTS = ("curl/", "postmanruntime", "insomnia", "httpie", "wget/")
_AUTOMATION_AGENTS = (
    "python", "go-http-client", "okta-sdk", "java/", "okhttp", "node-fetch", "axios",
    "aiohttp", "httpx", "boto", "terraform", "ruby", "dotnet", "powershell", "libcurl",
    "apache-httpclient", "okta-", "langchain", "openai",
)
_BROWSER_NAME = re.compile(r"(Edg|OPR|Chrome|Firefox|Safari)/")


# Clients that drive a session. Okta's own apps (Okta Verify, internal
# integrations) write events into people's sessions too and say nothing of who
# holds the session.
DRIVING_CLIENTS = frozenset({"browser", "tool", "automation"})


@dataclass(slots=True)
class EventFacts:
    uuid: str
    time: datetime
    event_type: str
    identity: Identity
    ip: str | None
    asn: int | None
    network: str | None
    known_network: str | None
    is_proxy: bool
    asn_org: str | None
    country: str | None
    city: str | None
    coordinates: tuple[float, float] | None
    session: str | None
    device: str | None
    user_agent: str | None
    ua_family: str | None
    ua_class: str | None
    request_uri: str | None
    api_token_id: str | None
    created_token: str | None
    failed: bool
    threat_suspected: bool
    positive_behaviors: tuple[str, ...]
    risk_level: int
    risk_reasons: str | None
    # From a network the agent is declared on; and from that or one the
    # organisation owns (VPN, proxies, CI), where no alert is due for the network.
    in_declared_network: bool
    expected_network: bool
    # The AS (and so `network`), or the country, city and coordinates, came from the
    # offline IP database because Okta gave none.
    inferred_network: bool = False
    inferred_place: bool = False

    @property
    def session_client(self) -> str | None:
        return self.ua_family if self.ua_class in DRIVING_CLIENTS else None


def extract_facts(
    event: ReadEvent, identity: Identity, resolver: IdentityResolver, when: datetime
) -> EventFacts:
    ip = event.ip
    asn = event.asn
    as_org = event.as_org
    country, city, coordinates = event.country, event.city, event.coordinates
    inferred_network = inferred_place = False
    if ip and (asn is None or country is None or coordinates is None):
        # Okta's own enrichment is missing; fill only the gaps.
        info = default_enricher().lookup(ip)
        if info is not None:
            asn, as_org, inferred_network = info.fill_network(asn, as_org)
            country, city, coordinates, inferred_place = info.fill_place(
                country, city, coordinates
            )
    user_agent = event.user_agent
    risk = event.risk
    known_network = resolver.network_name(ip, asn)
    declared = bool(identity.agent and identity.agent.in_networks(ip, asn))
    return EventFacts(
        uuid=event.uuid,
        time=when,
        event_type=event.eventType,
        identity=identity,
        ip=ip,
        asn=asn,
        network=network_key(ip, asn),
        known_network=known_network,
        is_proxy=event.is_proxy,
        asn_org=as_org,
        country=country,
        city=city,
        coordinates=coordinates,
        session=event.session_id,
        device=event.device_id,
        user_agent=user_agent,
        ua_family=user_agent_family(user_agent),
        ua_class=user_agent_class(user_agent),
        request_uri=event.request_uri,
        api_token_id=event.api_token_id,
        created_token=_created_token(event),
        failed=event.failed,
        threat_suspected=event.threat_suspected
        or event.eventType in THREAT_EVENTS,
        positive_behaviors=tuple(
            name for name, value in event.behaviors.items() if value.upper() == "POSITIVE"
        ),
        risk_level=RISK_LEVELS.get((risk.get("level") or "").strip().upper(), 0),
        risk_reasons=risk.get("reasons"),
        in_declared_network=declared,
        expected_network=declared or known_network is not None,
        inferred_network=inferred_network,
        inferred_place=inferred_place,
    )


@lru_cache(maxsize=65536)
def network_key(ip: str | None, asn: int | None) -> str | None:
    """The network an address belongs to: its AS, or its /16 (/48) when Okta gave none."""
    if asn is not None:
        return f"AS{asn}"
    if not ip:
        return None
    address = parse_ip(ip)
    if address is None:
        return None
    prefix = 16 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@lru_cache(maxsize=4096)
def user_agent_class(user_agent: str | None) -> str | None:
    """'browser', 'tool' (curl, Postman), 'automation' (SDKs, HTTP libraries), 'other'."""
    if not user_agent:
        return None
    lowered = user_agent.lower()
    if any(marker in lowered for marker in _TOOL_AGENTS):
        return "tool"
    if lowered.startswith("mozilla/"):
        return "browser"
    if any(marker in lowered for marker in _AUTOMATION_AGENTS):
        return "automation"
    return "other"


@lru_cache(maxsize=4096)
def user_agent_family(user_agent: str | None) -> str | None:
    """A version-free name: 'browser:Chrome', 'python-requests', 'curl'."""
    if not user_agent:
        return None
    if user_agent.lower().startswith("mozilla/"):
        match = _BROWSER_NAME.search(user_agent)
        return f"browser:{match.group(1) if match else 'other'}"
    return user_agent.split("/", 1)[0].split(" ", 1)[0].lower()


def travel_kmh(
    origin: tuple[float, float], destination: tuple[float, float], hours: float
) -> tuple[float, float]:
    """Great-circle distance (km) and the speed (km/h) needed to cover it."""
    lat1, lon1 = map(math.radians, origin)
    lat2, lon2 = map(math.radians, destination)
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))
    return km, km / max(hours, 1 / 60)


TOKEN_CREATED = frozenset({"system.api_token.create"})


def _created_token(event: ReadEvent) -> str | None:
    """The id of the API token an event created, if it created one."""
    if event.eventType not in TOKEN_CREATED:
        return None
    for kind, target_id in event.target_refs:
        if (kind or "").lower() == "token" and target_id:
            return target_id
    return None
