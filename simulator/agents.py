"""An AI agent's benign day: its credential used from its own cloud deployment.

Three kinds of agent credential are modelled, each with the events Okta writes:

- OAuth 2.0 service apps (client credentials): one
  `app.oauth2.as.token.grant.access_token` per token request, actor `PublicClientApp`.
- Service-account users with an API token: one event per Management API write,
  carrying `transaction.detail.requestApiTokenId` and a per-request `trs...` id.
  Okta does not log plain reads, so a read-mostly agent is quiet in the log.
- Service accounts that sign in like a person (SDK or headless browser) and then
  open apps, without MFA.

Activity follows the agent's schedule (UTC hours and days) at its own hourly rate,
spread over its replicas' addresses in its declared regions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from features.deployment import parse_days, parse_hours
from simulator.catalog import AGENT_JOBS, APPS, DASHBOARD, MANAGEMENT_OPS, UserAgent
from simulator.clock import DAY, HOUR, MINUTE, SECOND, iso_s, to_ms
from simulator.events import (
    SUCCESS,
    Enrichment,
    Event,
    EventFactory,
    actor,
    request_context,
)
from simulator.ids import IdMaker, identity_rng
from simulator.networks import Network
from simulator.profile import SignInProfile
from simulator.sessions import SessionClient
from simulator.world import Agent, Device, World

_NO_SESSION = request_context("unknown")
_BUSINESS_BOOST = 1.3  # always-on agents still follow the people they serve
_QUIET_FACTOR = 0.7

AgentHook = Callable[["AgentTraffic", int, list[Event]], None]


@dataclass(slots=True)
class AgentPlan:
    """What scenarios change about an agent's traffic."""

    suppressed: list[tuple[int, int]] = field(default_factory=list)  # no own traffic
    regions: list[tuple[int, int, int]] = field(default_factory=list)  # (from, to, idx)
    upgrade_at: int | None = None  # from then on the client reports its new version
    hooks: dict[int, list[AgentHook]] = field(default_factory=dict)


class AgentTraffic:
    """Generates one agent's events day by day from its own generator."""

    def __init__(
        self, *, agent: Agent, world: World, seed: int, enrichment: Enrichment
    ) -> None:
        self.agent = agent
        self.world = world
        self.rng = rng = identity_rng(seed=seed, stream="agent", index=agent.index)
        self.np_rng = np.random.default_rng(rng.getrandbits(64))
        self.factory = EventFactory(ids=IdMaker(rng), enrichment=enrichment)
        self.plan = AgentPlan()
        kind = "PublicClientApp" if agent.kind == "oauth_app" else "User"
        self.actor = actor(
            id=agent.actor_id, type=kind, login=agent.login, name=agent.display
        )
        self.token_detail = (
            {"requestApiTokenId": agent.token_id} if agent.token_id else {}
        )
        if agent.schedule is None:
            self.days, self.hours = frozenset(range(7)), frozenset(range(24))
        else:
            self.days = parse_days(agent.schedule[0])
            self.hours = parse_hours(agent.schedule[1])
        self._auth_type = rng.choice(["client_secret_basic", "private_key_jwt"])
        self._busy = _busy_hours(agent)
        self._user_targets: dict[str, dict[str, Any]] = {}
        self._pools: dict[tuple[int, int], list[tuple[str, Network]]] = {}
        self.devices: list[Device] = []
        self._foreign_devices: dict[str, Device] = {}
        self.session_client: SessionClient | None = None
        if agent.kind == "interactive":
            self._set_up_sessions()
        elif agent.kind == "api_token":
            self._set_up_job()

    # -- the schedule and where each request comes from

    def user_agent(self, ts: int) -> UserAgent:
        upgrade_at = self.plan.upgrade_at
        if upgrade_at is not None and ts >= upgrade_at:
            return self.agent.ua_upgrade
        return self.agent.ua

    def deployment_index(self, ts: int, replica: int) -> int:
        for begin, end, index in self.plan.regions:
            if begin <= ts < end:
                return index
        agent = self.agent
        if agent.second_active and len(agent.deployments) > 1:
            return replica % 2  # active-active: replicas are spread over both regions
        return 0

    def origin(self, ts: int, replica: int) -> tuple[str, Network]:
        """The address and network a replica's request comes from at `ts`."""
        deployment = self.agent.deployments[self.deployment_index(ts, replica)]
        if not deployment.serverless:
            ip = deployment.replica_ips[replica % len(deployment.replica_ips)]
            return ip, deployment.declared[0]
        # Functions egress from a pool of regional addresses that changes daily.
        day = (ts - to_ms(self.world.start)) // DAY
        key = (day, id(deployment))
        pool = self._pools.get(key)
        if pool is None:
            size = 2 * self.agent.replicas + 4
            nets = [self.rng.choice(deployment.declared) for _ in range(size)]
            pool = self._pools[key] = [(net.address(self.rng), net) for net in nets]
        return pool[self.rng.randrange(len(pool))]

    # -- a day

    def run_day(self, day: int) -> list[Event]:
        """All events of UTC day `day`."""
        world = self.world
        begin = to_ms(world.start) + day * DAY
        weekday = (world.start.weekday() + day) % 7
        events: list[Event] = []
        if weekday in self.days:
            hours = np.array([h for h in range(24) if h in self.hours], dtype=np.int64)
            if hours.size:
                events = self._hours(begin, hours)
        for hook in self.plan.hooks.get(day, []):
            hook(self, day, events)
        return events

    def _hours(self, begin: int, hours: np.ndarray) -> list[Event]:
        agent, np_rng = self.agent, self.np_rng
        factors = np.array([self._busy[h] for h in hours.tolist()])
        counts = np_rng.poisson(agent.rate * factors)
        total = int(counts.sum())
        if total == 0:
            return []
        starts = np.repeat(begin + hours * HOUR, counts)
        # Interactive runs last up to ~20 minutes; start them early in the hour so
        # they end inside it (and inside the schedule).
        span = 35 * MINUTE if agent.kind == "interactive" else HOUR
        times = np.sort(starts + np_rng.integers(0, span, total))
        replicas = np_rng.integers(0, max(agent.replicas, 1), total)
        # An interactive run begun just before a suppressed period would still be
        # running in it: keep its start clear by the length of a run.
        margin = 25 * MINUTE if agent.kind == "interactive" else 0
        suppressed = [(a - margin, b) for a, b in self.plan.suppressed]

        events: list[Event] = []
        for ts, replica in zip(times.tolist(), replicas.tolist(), strict=True):
            if suppressed and any(a <= ts < b for a, b in suppressed):
                continue
            ip, network = self.origin(ts, replica)
            events += self.request(ts, ip, network, self.user_agent(ts), replica)
        return events

    def request(
        self, ts: int, ip: str, network: Network, ua: UserAgent, replica: int = 0
    ) -> list[Event]:
        """One unit of the agent's normal work from `ip` (one run if interactive)."""
        kind = self.agent.kind
        if kind == "oauth_app":
            return [self.token_grant(ts, ip, network, ua)]
        if kind == "api_token":
            return [self.management_call(ts, ip, network, ua)]
        return self._run(ts, ip, network, ua, replica)

    # -- OAuth service apps

    def token_grant(
        self, ts: int, ip: str, network: Network, ua: UserAgent, threat: bool = False
    ) -> Event:
        agent, ids = self.agent, self.factory.ids
        server_id, server_name = agent.auth_server
        scopes = ", ".join(agent.scopes)
        return self.factory.make(
            ts=ts,
            event_type="app.oauth2.as.token.grant.access_token",
            actor=self.actor,
            ip=ip,
            network=network,
            agent=ua,
            auth=_NO_SESSION,
            debug={
                "requestUri": f"/oauth2/{server_id}/v1/token",
                "grantType": "client_credentials",
                "requestedScopes": scopes,
                "grantedScopes": scopes,
                "clientAuthType": self._auth_type,
                "tokenLifetimeSeconds": "3600",
                "threatSuspected": "true" if threat else "false",
            },
            target=[
                {
                    "id": ids.access_token_id(),
                    "type": "access_token",
                    "alternateId": "unknown",
                    "displayName": "Access Token",
                    "detailEntry": {
                        "expires": iso_s(ts + HOUR),
                        "subject": agent.actor_id,
                        "hash": ids.text(22),
                    },
                },
                {
                    "id": server_id,
                    "type": "AuthorizationServer",
                    "alternateId": server_name,
                    "displayName": server_name,
                    "detailEntry": None,
                },
            ],
            client_id=agent.actor_id,
        )

    # -- API-token service accounts

    def _user_target(self, user_id: str, login: str, name: str) -> dict[str, Any]:
        target = self._user_targets.get(user_id)
        if target is None:
            target = self._user_targets[user_id] = {
                "id": user_id,
                "type": "User",
                "alternateId": login,
                "displayName": name,
                "detailEntry": None,
            }
        return target

    def _set_up_job(self) -> None:
        weights = AGENT_JOBS[self.agent.job or "provisioning"][0]
        self._operations = list(weights)
        self._operation_weights = list(itertools.accumulate(weights.values()))
        self._groups = [
            {
                "id": group_id,
                "type": "UserGroup",
                "alternateId": "unknown",
                "displayName": name,
                "detailEntry": None,
            }
            for name, group_id in sorted(self.world.group_ids.items())
        ]
        labels = {app.key: app.label for app in (DASHBOARD, *APPS)}
        self._apps = [
            {
                "id": app_id,
                "type": "AppInstance",
                "alternateId": labels[key],
                "displayName": labels[key],
                "detailEntry": None,
            }
            for key, app_id in sorted(self.world.app_ids.items())
        ]

    def management_call(
        self, ts: int, ip: str, network: Network, ua: UserAgent
    ) -> Event:
        """One write the agent's job makes, with the event Okta logs for it."""
        rng, world = self.rng, self.world
        operation = rng.choices(self._operations, cum_weights=self._operation_weights)[
            0
        ]
        event_type, template = MANAGEMENT_OPS[operation]

        day = (ts - to_ms(world.start)) // DAY
        person = rng.choice(world.people) if world.people else None
        if person is not None and person.first_day > day:
            person = None  # not hired yet
        if operation in ("create_user", "deactivate_user") or person is None:
            # New hires and leavers from the HR system: not among the simulated staff.
            # Not cached: each of these users appears once.
            user_id = self.factory.ids.okta_id("00u")
            user = {
                "id": user_id,
                "type": "User",
                "alternateId": f"{user_id.lower()}@example.com",
                "displayName": "New Hire",
                "detailEntry": None,
            }
        else:
            user = self._user_target(person.id, person.login, person.name)
        group, app = rng.choice(self._groups), rng.choice(self._apps)
        uri = template.format(user=user["id"], group=group["id"], app=app["id"])
        if "{group}" in template:
            target = [user, group]
        elif "{app}" in template:
            target = [user, app]
        else:
            target = [user]
        return self.api_call(
            ts, ip, network, ua, event_type=event_type, uri=uri, target=target
        )

    def api_call(
        self,
        ts: int,
        ip: str,
        network: Network,
        ua: UserAgent,
        *,
        event_type: str,
        uri: str,
        target: list[dict[str, Any]] | None,
        outcome: dict[str, Any] = SUCCESS,
        extra: dict[str, Any] | None = None,
        severity: str | None = None,
    ) -> Event:
        """An event Okta logs for a Management API request made with the token."""
        debug: dict[str, Any] = {"requestUri": uri.split("?", 1)[0], "url": uri}
        if "?" not in uri:
            debug["url"] = uri + "?"
        if extra:
            debug.update(extra)
        debug["threatSuspected"] = "false"
        return self.factory.make(
            ts=ts,
            event_type=event_type,
            actor=self.actor,
            ip=ip,
            network=network,
            agent=ua,
            auth=request_context(self.factory.ids.transaction_session_id()),
            debug=debug,
            outcome=outcome,
            target=target,
            detail=self.token_detail,
            severity=severity,
        )

    # -- interactive service accounts

    def _set_up_sessions(self) -> None:
        agent, ids = self.agent, self.factory.ids
        self.devices = [
            Device("agent", agent.ua, ids.hex(64), ids.hex(32))
            for _ in range(max(agent.replicas, 1))
        ]
        profile = SignInProfile()
        used = agent.deployments if agent.second_active else agent.deployments[:1]
        for deployment in used:
            for ip in deployment.replica_ips:
                network = deployment.declared[0]
                for device in self.devices:
                    profile.remember(
                        ip=ip, place=network.place, device=device.dt_hash, ts=None
                    )
        self.session_client = SessionClient(
            factory=self.factory,
            actor=self.actor,
            profile=profile,
            world=self.world,
            rng=self.rng,
            classic=True,
        )

    def _foreign_device(self, ua: UserAgent) -> Device:
        """Someone else's browser or tool: it has a device token of its own."""
        device = self._foreign_devices.get(ua.raw)
        if device is None:
            ids = self.factory.ids
            device = Device("other", ua, ids.hex(64), ids.hex(32))
            self._foreign_devices[ua.raw] = device
        return device

    def _run(
        self, ts: int, ip: str, network: Network, ua: UserAgent, replica: int
    ) -> list[Event]:
        """Sign in, open a few apps, usually sign out: one unit of work."""
        client, rng, agent = self.session_client, self.rng, self.agent
        assert client is not None
        client.events = events = []
        device = self.devices[replica % len(self.devices)]
        if ua is agent.ua_upgrade:
            device = Device("agent", ua, device.dt_hash, device.fingerprint)
        elif ua is not agent.ua:
            device = self._foreign_device(ua)
        day = (ts - to_ms(self.world.start)) // DAY
        session = client.sign_in(
            ts=ts, ip=ip, network=network, device=device, day=day, mfa=False
        )
        moment = session.start
        for _ in range(rng.randint(2, 6)):
            moment += rng.randint(20, 180) * SECOND
            client.sso(moment, session, rng.choice(agent.apps), day=day)
        if rng.random() < 0.7:
            client.sign_out(moment + rng.randint(1, 30) * SECOND, session, day=day)
        return events


def _busy_hours(agent: Agent) -> list[float]:
    """Hourly rate multipliers: always-on agents are busier in business hours."""
    if agent.schedule is not None:
        return [1.0] * 24
    busy = parse_hours(_local_business_hours(agent))
    return [_BUSINESS_BOOST if h in busy else _QUIET_FACTOR for h in range(24)]


def _local_business_hours(agent: Agent) -> str:
    offset = agent.deployments[0].region.place.utc_offset
    start = int(math.floor(9 - offset)) % 24
    return f"{start:02d}-{(start + 9) % 24:02d}"
