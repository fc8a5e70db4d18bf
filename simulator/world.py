"""The simulated organisation: people, AI agents, and the networks both use.

`build_world` draws everything from one seeded generator, so the same seed and
sizes give the same organisation. Traffic is generated later, per identity, from
each identity's own generator (see `simulator.ids.identity_rng`).
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from simulator import catalog
from simulator.catalog import App, UserAgent
from simulator.ids import IdMaker, identity_rng
from simulator.names import OAUTH_SCOPES, TEAMS, agent_name, person_name
from simulator.networks import (
    CLOUD_REGIONS,
    FAILOVER,
    CloudRegion,
    Network,
    mobile_network,
    office_network,
    residential_network,
    vpn_networks,
)
from simulator.places import HOME_CITIES, REMOTE_CITIES, Place, distance_km

logger = logging.getLogger(__name__)

DOMAIN = "example.com"
WEEKDAYS = frozenset(range(5))
_METRO_WEIGHTS = {
    "sf": 0.35,
    "nyc": 0.2,
    "london": 0.15,
    "berlin": 0.1,
    "bangalore": 0.12,
    "toronto": 0.08,
}


@dataclass(slots=True)
class Device:
    """A browser on a laptop or phone; Okta's device token (dtHash) stays with it."""

    kind: str  # laptop, phone or delegate
    agent: UserAgent
    dt_hash: str
    fingerprint: str
    upgrade_day: int | None = None  # browser auto-update: from this day on...
    upgraded: UserAgent | None = None  # ...the browser reports this version

    def agent_on(self, day: int) -> UserAgent:
        if self.upgraded is not None and self.upgrade_day is not None:
            if day >= self.upgrade_day:
                return self.upgraded
        return self.agent


@dataclass(slots=True)
class Person:
    """An employee: where they live and work, their devices, apps and habits."""

    index: int
    id: str
    login: str
    name: str
    home: Place
    metro: str | None  # office metro, None for fully remote staff
    home_net: Network
    home_ip: str
    mobile_net: Network | None
    office: Network | None
    vpn: Network  # the nearest VPN point of presence
    vpn_user: bool
    laptop: Device
    phone: Device | None
    office_days: frozenset[int]
    start_hour: float  # local time the working day usually begins
    day_hours: float
    apps: tuple[App, ...]
    app_weights: tuple[float, ...]
    sso_per_day: float
    phone_use: float  # chance of a phone session on a working day
    admin: bool = False
    delegate: Device | None = None  # an assistant's browser (shared access)
    first_day: int = 0  # day index of the first sign-in (later for new hires)


@dataclass(slots=True)
class Deployment:
    """Where an agent runs in one cloud region, and what the map declares for it."""

    region: CloudRegion
    declared: tuple[Network, ...]
    replica_ips: tuple[str, ...]  # fixed egress per replica; empty when serverless
    serverless: bool


@dataclass(slots=True)
class Agent:
    """An AI agent with an Okta credential and the behaviour the map declares."""

    index: int
    name: str
    kind: str  # oauth_app, api_token or interactive
    actor_id: str
    login: str
    display: str
    token_id: str | None
    owner: str
    jira_assignee: str
    deployments: list[Deployment]
    second_active: bool  # history already uses the second region
    schedule: tuple[str, str] | None  # (days, hours_utc); None: always on
    rate: float  # events (or runs, for interactive agents) per active hour
    ua: UserAgent
    ua_upgrade: UserAgent
    job: str | None
    endpoints: tuple[str, ...]
    scopes: tuple[str, ...]
    auth_server: tuple[str, str]  # (id, name) of the authorization server
    apps: tuple[App, ...]
    replicas: int
    declare_asns: bool

    @property
    def id(self) -> str:
        """The id detections name: the client id for apps, else the user id."""
        return self.actor_id


@dataclass(slots=True)
class World:
    """Everything the traffic generators and the deployment map read."""

    seed: int
    start: datetime
    days: int
    test_day: int  # index of the first day of the test period
    people: list[Person]
    agents: list[Agent]
    app_ids: dict[str, str]
    group_ids: dict[str, str]
    offices: dict[str, Network]
    office_ips: dict[str, tuple[str, ...]]
    vpn_ips: dict[str, tuple[str, ...]]
    auth_servers: tuple[tuple[str, str], ...]
    break_glass_id: str
    sign_on_policy: tuple[str, str]  # (policy id, rule id) every sign-in evaluates
    protected_ids: list[str] = field(default_factory=list)
    shared_access_ids: list[str] = field(default_factory=list)


def build_world(
    *, seed: int, people: int, agents: int, start: datetime, days: int, test_day: int
) -> World:
    """Draw the organisation for `seed`."""
    rng = identity_rng(seed=seed, stream="world", index=0)
    ids = IdMaker(rng)

    app_ids = {
        app.key: ids.okta_id("0oa") for app in (catalog.DASHBOARD, *catalog.APPS)
    }
    group_ids = {name: ids.okta_id("00g") for name in catalog.GROUPS}
    auth_servers = ((ids.okta_id("aus"), "agents-api"), ("default", "default"))

    offices = {
        metro: office_network(metro=metro, place=cities[0])
        for metro, cities in HOME_CITIES.items()
    }
    # Offices and VPN points of presence egress through a handful of NAT addresses.
    office_ips = {m: _pool(rng, net, 4) for m, net in offices.items()}
    vpn_pops = vpn_networks()
    vpn_ips = {net.name: _pool(rng, net, 8) for net in vpn_pops}

    taken: set[str] = set()
    roster = [
        _build_person(rng, ids, i, taken, offices, vpn_pops, days)
        for i in range(people)
    ]
    names: set[str] = set()
    fleet = [_build_agent(rng, ids, j, names, auth_servers) for j in range(agents)]
    _ensure_variety(rng, fleet)

    world = World(
        seed=seed,
        start=start,
        days=days,
        test_day=test_day,
        people=roster,
        agents=fleet,
        app_ids=app_ids,
        group_ids=group_ids,
        offices=offices,
        office_ips=office_ips,
        vpn_ips=vpn_ips,
        auth_servers=auth_servers,
        break_glass_id=ids.okta_id("00u"),
        sign_on_policy=(ids.okta_id("00p"), ids.okta_id("0pr")),
    )
    _assign_roles(rng, ids, world)
    logger.debug("built world: %d people, %d agents", len(roster), len(fleet))
    return world


def _pool(rng: random.Random, network: Network, size: int) -> tuple[str, ...]:
    addresses: list[str] = []
    while len(addresses) < size:
        address = network.address(rng)
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def _laptop(rng: random.Random, ids: IdMaker, days: int) -> Device:
    platform = rng.choices(["mac", "win", "linux"], [0.55, 0.4, 0.05])[0]
    family = rng.choices(["chrome", "firefox", "safari"], [0.72, 0.16, 0.12])[0]
    if family == "safari" and platform != "mac":
        family = "chrome"
    if family == "chrome":
        agent = catalog.chrome(platform, catalog.CHROME_VERSION)
        newer = catalog.chrome(platform, catalog.CHROME_VERSION + 1)
    elif family == "firefox":
        agent = catalog.firefox(platform, catalog.FIREFOX_VERSION)
        newer = catalog.firefox(platform, catalog.FIREFOX_VERSION + 1)
    else:
        agent = newer = catalog.safari(catalog.SAFARI_VERSION)
    device = Device("laptop", agent, ids.hex(64), ids.hex(32))
    if newer is not agent and rng.random() < 0.35:
        device.upgrade_day, device.upgraded = rng.randrange(max(days, 1)), newer
    return device


def _phone(rng: random.Random, ids: IdMaker) -> Device:
    if rng.random() < 0.6:
        agent = catalog.iphone(catalog.SAFARI_VERSION)
    else:
        model = rng.choice(["Pixel 8", "SM-S921B", "Pixel 7a"])
        agent = catalog.android(model, catalog.CHROME_VERSION)
    return Device("phone", agent, ids.hex(64), ids.hex(32))


def _build_person(
    rng: random.Random,
    ids: IdMaker,
    index: int,
    taken: set[str],
    offices: dict[str, Network],
    vpn_pops: tuple[Network, ...],
    days: int,
) -> Person:
    name, local = person_name(rng, taken)

    if rng.random() < 0.25:
        metro, home = None, rng.choice(REMOTE_CITIES)
        office_days: frozenset[int] = frozenset()
    else:
        metro = rng.choices(list(_METRO_WEIGHTS), list(_METRO_WEIGHTS.values()))[0]
        home = rng.choice(HOME_CITIES[metro])
        style = rng.random()
        if style < 0.15:
            office_days = WEEKDAYS
        elif style < 0.8:
            office_days = frozenset(rng.sample(sorted(WEEKDAYS), rng.choice([2, 3])))
        else:
            office_days = frozenset()

    home_net = residential_network(rng=rng, place=home)
    vpn = min(
        vpn_pops,
        key=lambda pop: distance_km(home.lat, home.lon, pop.place.lat, pop.place.lon),
    )
    apps = tuple(_weighted_sample(rng, catalog.APPS, rng.randint(4, 9)))
    has_phone = rng.random() < 0.75
    return Person(
        index=index,
        id=ids.okta_id("00u"),
        login=f"{local}@{DOMAIN}",
        name=name,
        home=home,
        metro=metro,
        home_net=home_net,
        home_ip=home_net.address(rng),
        mobile_net=mobile_network(rng=rng, place=home),
        office=offices[metro] if metro else None,
        vpn=vpn,
        vpn_user=rng.random() < 0.3,
        laptop=_laptop(rng, ids, days),
        phone=_phone(rng, ids) if has_phone else None,
        office_days=office_days,
        start_hour=min(11.0, max(6.5, rng.gauss(8.8, 0.7))),
        day_hours=min(11.0, max(6.0, rng.gauss(8.7, 0.8))),
        apps=apps,
        app_weights=tuple(app.weight for app in apps),
        sso_per_day=rng.uniform(4, 14),
        phone_use=rng.uniform(0.1, 0.6) if has_phone else 0.0,
    )


def _weighted_sample(
    rng: random.Random, items: tuple[App, ...], count: int
) -> list[App]:
    pool = list(items)
    chosen: list[App] = []
    while pool and len(chosen) < count:
        pick = rng.choices(pool, [item.weight for item in pool])[0]
        chosen.append(pick)
        pool.remove(pick)
    return chosen


_KIND_CYCLE = ("oauth_app", "api_token", "oauth_app", "api_token", "interactive")
_REGION_WEIGHTS = tuple(
    3.0 if r.region.startswith(("us-", "eastus", "westus")) else 1.5
    for r in CLOUD_REGIONS
)


def _business_hours(region: CloudRegion) -> str:
    country = region.place.country_code
    if country == "US":
        return "13-01"  # 08:00-20:00 US Eastern, wrapping midnight UTC
    if country == "IN":
        return "03-15"
    return "06-18"


def _deployment(
    rng: random.Random, region: CloudRegion, replicas: int, serverless: bool
) -> Deployment:
    if serverless:
        return Deployment(region, region.networks(), (), True)
    nat = rng.choice(region.networks()).subnet(rng, 27)
    return Deployment(region, (nat,), _pool(rng, nat, replicas), False)


def _build_agent(
    rng: random.Random,
    ids: IdMaker,
    index: int,
    names: set[str],
    auth_servers: tuple[tuple[str, str], ...],
) -> Agent:
    kind = _KIND_CYCLE[index % len(_KIND_CYCLE)]
    name = agent_name(rng, index, names)
    replicas = rng.choices([1, 2, 3, 4], [0.35, 0.35, 0.2, 0.1])[0]
    serverless = kind != "interactive" and rng.random() < 0.25
    region = rng.choices(CLOUD_REGIONS, _REGION_WEIGHTS)[0]
    deployments = [_deployment(rng, region, replicas, serverless)]
    second_active = False
    if rng.random() < 0.3:
        second = next(r for r in CLOUD_REGIONS if r.region == FAILOVER[region.region])
        deployments.append(_deployment(rng, second, replicas, serverless))
        second_active = rng.random() < 0.5
        if second_active:
            replicas = max(replicas, 2)  # at least one replica in each region

    style = rng.random()
    if style < 0.45:
        schedule = None
    elif style < 0.85:
        schedule = ("mon-fri", _business_hours(region))
    else:
        schedule = ("mon-sun", "01-05")  # nightly batch window

    # Token requests per hour (tokens live an hour, but not every client caches
    # them), writes per hour, or sign-in runs per hour.
    median = {"oauth_app": 6.0, "api_token": 4.0, "interactive": 1.0}[kind]
    cap = {"oauth_app": 60.0, "api_token": 40.0, "interactive": 4.0}[kind]
    rate = min(cap, max(median / 8, median * math.exp(rng.gauss(0, 0.8))))
    if schedule == ("mon-sun", "01-05"):
        rate *= 3  # batch jobs work through their backlog in a short window

    if kind == "interactive" and rng.random() < 0.5:
        ua = catalog.HEADLESS
        upgrade = UserAgent(
            ua.raw.replace("131.0.6778.33", "133.0.6943.53"),
            ua.os,
            ua.browser,
            ua.device,
        )
    else:
        current, newer = rng.choice(catalog.AGENT_CLIENTS)
        ua, upgrade = UserAgent(current), UserAgent(newer)

    job: str | None = None
    scopes: tuple[str, ...] = ()
    apps: tuple[App, ...] = ()
    if kind == "oauth_app":
        actor_id, token_id = ids.okta_id("0oa"), None
        scopes = tuple(rng.sample(OAUTH_SCOPES, rng.randint(1, 3)))
        endpoints: tuple[str, ...] = ("/oauth2/*/v1/token",)
    elif kind == "api_token":
        actor_id, token_id = ids.okta_id("00u"), ids.okta_id("00T")
        job = rng.choice(sorted(catalog.AGENT_JOBS))
        endpoints = catalog.AGENT_JOBS[job][1]
    else:
        actor_id, token_id = ids.okta_id("00u"), None
        apps = tuple(rng.sample(catalog.APPS, rng.randint(1, 3)))
        endpoints = (
            "/api/v1/authn",
            "/app/*/sso/saml",
            "/oauth2/v1/authorize",
            "/login/signout",
        )

    login = name if kind == "oauth_app" else f"svc-{name}@{DOMAIN}"
    return Agent(
        index=index,
        name=name,
        kind=kind,
        actor_id=actor_id,
        login=actor_id if kind == "oauth_app" else login,
        display=name if kind == "oauth_app" else f"svc-{name}",
        token_id=token_id,
        owner=rng.choice(TEAMS),
        jira_assignee=ids.hex(24),
        deployments=deployments,
        second_active=second_active,
        schedule=schedule,
        rate=round(rate, 2),
        ua=ua,
        ua_upgrade=upgrade,
        job=job,
        endpoints=endpoints,
        scopes=scopes,
        auth_server=rng.choice(auth_servers),
        apps=apps,
        replicas=replicas,
        declare_asns=serverless or rng.random() < 0.2,
    )


def _ensure_variety(rng: random.Random, fleet: list[Agent]) -> None:
    """Give even a small fleet the shapes every scenario needs.

    Off-schedule use needs a scheduled token agent, and the second-region look-alike
    needs an agent whose declared second region is idle in history.
    """
    tokens = [a for a in fleet if a.kind == "api_token"]
    if tokens and not any(a.schedule for a in tokens):
        tokens[0].schedule = (
            "mon-fri",
            _business_hours(tokens[0].deployments[0].region),
        )
    standby = [a for a in fleet if len(a.deployments) > 1 and not a.second_active]
    if len(fleet) >= 4 and not standby:
        agent = fleet[-1]
        if len(agent.deployments) == 1:
            region = agent.deployments[0].region
            second = next(
                r for r in CLOUD_REGIONS if r.region == FAILOVER[region.region]
            )
            serverless = agent.deployments[0].serverless
            agent.deployments.append(
                _deployment(rng, second, agent.replicas, serverless)
            )
        agent.second_active = False


def _assign_roles(rng: random.Random, ids: IdMaker, world: World) -> None:
    """Admins (protected from automatic action) and shared-access executives."""
    people = world.people
    for person in rng.sample(people, min(2, len(people))):
        person.admin = True
        world.protected_ids.append(person.id)
    world.protected_ids.append(world.break_glass_id)

    candidates = [p for p in people if p.metro and not p.admin]
    wanted = max(1, len(people) // 60) if len(people) >= 10 else 0
    for person in rng.sample(candidates, min(wanted, len(candidates))):
        # An executive whose assistant works in their account from the office.
        agent = catalog.chrome("win", catalog.CHROME_VERSION)
        person.delegate = Device("delegate", agent, ids.hex(64), ids.hex(32))
        world.shared_access_ids.append(person.id)
