"""Assemble Okta LogEvent objects as plain dicts, ready for orjson.

The enrichment Okta derives from an address (geography, AS, ISP, zone) and the
parsed user agent are the same for every event from that address and client, so
they are built once and shared between events; orjson serialises a shared dict as
often as it is referenced. Per event only the ids, times and debug data are new.
Keys follow the order `GET /api/v1/logs` returns them in.
"""

from __future__ import annotations

from typing import Any

from simulator.catalog import EVENT_KINDS, UserAgent
from simulator.clock import iso_ms
from simulator.ids import IdMaker
from simulator.networks import Network

# An event as the generators pass it around: (published ms, uuid, LogEvent dict).
Event = tuple[int, str, dict[str, Any]]

SUCCESS: dict[str, Any] = {"result": "SUCCESS", "reason": None}
ALLOW: dict[str, Any] = {
    "result": "ALLOW",
    "reason": "Sign-on policy evaluation resulted in ALLOW",
}
BAD_PASSWORD: dict[str, Any] = {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
PUSH_REJECTED: dict[str, Any] = {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
PUSH_TIMEOUT: dict[str, Any] = {"result": "FAILURE", "reason": "Push timed out"}

_FAILED = frozenset({"FAILURE", "DENY"})


class Enrichment:
    """Shared per-address and per-client pieces of events (a cache, no randomness)."""

    def __init__(self) -> None:
        self._places: dict[
            str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
        ] = {}
        self._clients: dict[tuple[str, str, str | None], dict[str, Any]] = {}

    def place(
        self, ip: str, network: Network
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(geographicalContext, securityContext, request) for an address."""
        cached = self._places.get(ip)
        if cached is None:
            where = network.place
            geo = {
                "city": where.city,
                "state": where.state,
                "country": where.country,
                "postalCode": where.postal_code or None,
                "geolocation": {"lat": where.lat, "lon": where.lon},
            }
            operator = network.operator
            security = {
                "asNumber": operator.asn,
                "asOrg": operator.as_org,
                "isp": operator.isp,
                "domain": operator.domain,
                "isProxy": network.is_proxy,
            }
            request = {
                "ipChain": [
                    {
                        "ip": ip,
                        "geographicalContext": geo,
                        "version": "V4",
                        "source": None,
                    }
                ]
            }
            cached = self._places[ip] = (geo, security, request)
        return cached

    def client(
        self, ip: str, network: Network, agent: UserAgent, client_id: str | None
    ) -> dict[str, Any]:
        key = (ip, agent.raw, client_id)
        cached = self._clients.get(key)
        if cached is None:
            geo = self.place(ip, network)[0]
            cached = self._clients[key] = {
                "userAgent": agent.as_dict(),
                "zone": network.zone,
                "device": agent.device,
                "id": client_id,
                "ipAddress": ip,
                "geographicalContext": geo,
            }
        return cached


def actor(*, id: str, type: str, login: str, name: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "alternateId": login,
        "displayName": name,
        "detailEntry": None,
    }


def session_context(session_id: str) -> dict[str, Any]:
    return {
        "authenticationProvider": None,
        "credentialProvider": None,
        "credentialType": None,
        "issuer": None,
        "interface": None,
        "authenticationStep": 0,
        "rootSessionId": session_id,
        "externalSessionId": session_id,
    }


def factor_context(session_id: str) -> dict[str, Any]:
    context = session_context(session_id)
    context["authenticationProvider"] = "FACTOR_PROVIDER"
    context["credentialProvider"] = "OKTA_CREDENTIAL_PROVIDER"
    return context


def request_context(external_id: str | None) -> dict[str, Any]:
    """Context of a session-less request (token grants, API-token calls)."""
    return {
        "authenticationProvider": None,
        "credentialProvider": None,
        "credentialType": None,
        "issuer": None,
        "interface": None,
        "authenticationStep": 0,
        "externalSessionId": external_id,
    }


class EventFactory:
    """Builds events for one identity from its own id generator."""

    __slots__ = ("ids", "_enrichment")

    def __init__(self, *, ids: IdMaker, enrichment: Enrichment) -> None:
        self.ids = ids
        self._enrichment = enrichment

    def make(
        self,
        *,
        ts: int,
        event_type: str,
        actor: dict[str, Any],
        ip: str,
        network: Network,
        agent: UserAgent,
        auth: dict[str, Any],
        debug: dict[str, Any],
        outcome: dict[str, Any] = SUCCESS,
        target: list[dict[str, Any]] | None = None,
        detail: dict[str, Any] | None = None,
        transaction_type: str = "WEB",
        severity: str | None = None,
        client_id: str | None = None,
    ) -> Event:
        """One LogEvent. `debug` is completed with the request id and url."""
        ids = self.ids
        uuid = ids.uuid(ts)
        request_id = ids.request_id()
        _, security, request = self._enrichment.place(ip, network)
        kind = EVENT_KINDS[event_type]
        failed = outcome["result"] in _FAILED
        uri = debug.get("requestUri")
        debug_data = {"requestId": request_id, **debug}
        if uri is not None and "url" not in debug_data:
            debug_data["url"] = uri + "?"
        event = {
            "actor": actor,
            "client": self._enrichment.client(ip, network, agent, client_id),
            "device": None,
            "authenticationContext": auth,
            "displayMessage": kind.display,
            "eventType": event_type,
            "outcome": outcome,
            "published": iso_ms(ts),
            "securityContext": security,
            "severity": severity or ("WARN" if failed else "INFO"),
            "debugContext": {"debugData": debug_data},
            "legacyEventType": kind.legacy_failure if failed else kind.legacy_success,
            "transaction": {
                "type": transaction_type,
                "id": request_id,
                "detail": detail if detail is not None else {},
            },
            "uuid": uuid,
            "version": "0",
            "request": request,
            "target": target,
        }
        return ts, uuid, event


_SYSTEM_ACTOR: dict[str, Any] = {
    "id": "0oa1okta0system0001",
    "type": "SystemPrincipal",
    "alternateId": "system@okta.com",
    "displayName": "Okta System",
    "detailEntry": None,
}
_NO_CLIENT: dict[str, Any] = {
    "userAgent": None,
    "zone": None,
    "device": None,
    "id": None,
    "ipAddress": None,
    "geographicalContext": None,
}
_NO_SECURITY: dict[str, Any] = {
    "asNumber": None,
    "asOrg": None,
    "isp": None,
    "domain": None,
    "isProxy": None,
}


def system_job_event(
    factory: EventFactory, *, ts: int, event_type: str, target: list[dict[str, Any]]
) -> Event:
    """An event of an Okta background job (e.g. an HR import): no client at all."""
    ids = factory.ids
    uuid = ids.uuid(ts)
    kind = EVENT_KINDS[event_type]
    event = {
        "actor": _SYSTEM_ACTOR,
        "client": _NO_CLIENT,
        "device": None,
        "authenticationContext": request_context(None),
        "displayMessage": kind.display,
        "eventType": event_type,
        "outcome": SUCCESS,
        "published": iso_ms(ts),
        "securityContext": _NO_SECURITY,
        "severity": "INFO",
        "debugContext": {"debugData": {}},
        "legacyEventType": kind.legacy_success,
        "transaction": {"type": "JOB", "id": ids.text(27), "detail": {}},
        "uuid": uuid,
        "version": "0",
        "request": {"ipChain": []},
        "target": target,
    }
    return ts, uuid, event
