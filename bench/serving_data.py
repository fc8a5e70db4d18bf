"""Synthetic Okta traffic for the serving benchmark: a history to train on, then live events.

Self-contained and deterministic (one seed): a handful of AI agents calling the
Okta API with their tokens from their cloud networks, and people signing in from
home and office. Realistic enough that features, rules and the forest do their
normal work per event; the benchmark measures speed, not detection.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Far enough back that every benchmark event stays in the past (events dated in
# the future are refused), whatever day the benchmark runs.
LIVE_DAYS = 120
START = (datetime.now(UTC) - timedelta(days=LIVE_DAYS)).replace(
    hour=0, minute=0, second=0, microsecond=0
)
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)


@dataclass(frozen=True)
class Actor:
    id: str
    kind: str
    ip: str
    asn: int
    country: str
    city: str
    lat: float
    lon: float
    user_agent: str
    token: str | None = None
    network: str | None = None


def actors(*, agents: int = 8, people: int = 24) -> list[Actor]:
    found = []
    for n in range(agents):
        found.append(
            Actor(
                id=f"00uAGENT{n:03d}",
                kind="agent",
                ip=f"34.82.{n}.10",
                asn=15169,
                country="United States",
                city="The Dalles",
                lat=45.6,
                lon=-121.2,
                user_agent="python-requests/2.31.0",
                token=f"00TAGENT{n:03d}",
                network=f"34.82.{n}.0/24",
            )
        )
    for n in range(people):
        found.append(
            Actor(
                id=f"00uPERSON{n:03d}",
                kind="person",
                ip=f"203.0.{n}.10",
                asn=7922,
                country="United States",
                city="Denver",
                lat=39.74,
                lon=-104.99,
                user_agent=BROWSER,
            )
        )
    return found


def deployment_map_yaml(population: list[Actor]) -> str:
    lines = ["agents:"]
    for actor in population:
        if actor.kind == "agent":
            lines += [
                f"  - name: bot-{actor.id[-3:]}",
                f'    match: {{api_token_ids: ["{actor.token}"], actor_ids: ["{actor.id}"]}}',
                f'    networks: ["{actor.network}"]',
                "    asns: [15169]",
            ]
    return "\n".join(lines) + "\n"


def event(actor: Actor, moment: datetime, rng: random.Random) -> dict[str, Any]:
    """One LogEvent as Okta would send it."""
    agent = actor.kind == "agent"
    return {
        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
        "published": moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}Z",
        "eventType": "user.lifecycle.update" if agent else "user.authentication.sso",
        "version": "0",
        "severity": "INFO",
        "displayMessage": "Update user profile"
        if agent
        else "User single sign on to app",
        "actor": {
            "id": actor.id,
            "type": "User",
            "alternateId": f"{actor.id}@example.com",
            "displayName": actor.id,
        },
        "client": {
            "ipAddress": actor.ip,
            "userAgent": {"rawUserAgent": actor.user_agent},
            "geographicalContext": {
                "city": actor.city,
                "country": actor.country,
                "geolocation": {"lat": actor.lat, "lon": actor.lon},
            },
        },
        "authenticationContext": {
            "externalSessionId": None if agent else f"102{actor.id}"
        },
        "outcome": {"result": "SUCCESS"},
        "securityContext": {"asNumber": actor.asn, "isp": "Example ISP"},
        "debugContext": {
            "debugData": {
                "requestId": f"req{rng.getrandbits(40):x}",
                "requestUri": "/api/v1/users" if agent else "/app/sso/saml",
                "threatSuspected": "false",
                **({} if agent else {"deviceFingerprint": f"dev-{actor.id}"}),
            }
        },
        "transaction": {
            "type": "WEB",
            "id": f"tx{rng.getrandbits(32):x}",
            "detail": {"requestApiTokenId": actor.token} if agent else {},
        },
        "target": [
            {"id": "00uTARGET", "type": "User", "alternateId": "target@example.com"}
        ],
    }


def history(
    population: list[Actor], *, days: int = 10, seed: int = 7
) -> Iterator[dict[str, Any]]:
    """Ordinary traffic over `days` before START, in time order."""
    rng = random.Random(seed)
    moment = START - timedelta(days=days)
    while moment < START:
        for actor in population:
            busy = actor.kind == "agent" or 8 <= moment.hour < 18
            if busy and rng.random() < (0.8 if actor.kind == "agent" else 0.3):
                for _ in range(rng.randint(1, 4)):
                    yield event(
                        actor, moment + timedelta(minutes=rng.randint(0, 59)), rng
                    )
        moment += timedelta(hours=1)


def live(population: list[Actor], *, seed: int = 11) -> Iterator[dict[str, Any]]:
    """An endless stream of new events after START, about a minute apart.

    With the 32 identities taking turns, each sees about as many events an hour
    as in its history.
    """
    rng = random.Random(seed)
    moment = START + timedelta(hours=9)
    while True:
        moment += timedelta(seconds=rng.randint(30, 90))
        yield event(rng.choice(population), moment, rng)
