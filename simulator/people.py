"""A person's benign day: where they work from, their sign-ins and app use.

A working day starts at the person's usual local hour (their own time zone, with
daylight saving), from the office on office days, else from home (through the
corporate VPN for VPN users), sometimes from a phone. Each day is a list of
activities run in time order, so Okta's behaviour profile sees sign-ins in the
order they happen; scenarios add their own activities to chosen days.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from simulator.catalog import App
from simulator.clock import HOUR, MINUTE, SECOND, to_ms
from simulator.events import Enrichment, Event, EventFactory, actor
from simulator.ids import IdMaker, identity_rng
from simulator.networks import Network
from simulator.places import Place
from simulator.profile import SignInProfile
from simulator.sessions import Session, SessionClient
from simulator.world import Device, Person, World

# How often things happen on a working day.
P_DAY_OFF = 0.04
P_WEEKEND_WORK = 0.05
P_WRONG_PASSWORD = 0.04
P_PUSH_TIMEOUT = 0.03
P_MFA = 0.85  # otherwise the device is remembered and no factor is asked
P_REAUTH = 0.3  # the session expires and the person signs in again after lunch
P_SIGN_OUT = 0.35
P_VPN_AT_HOME = 0.65
P_NEW_HOME_IP = 0.02  # the ISP hands out a new address
P_DELEGATE = 0.3
P_NEW_LAPTOP = 0.004  # a replaced laptop or reinstalled browser: a new device token

Activity = tuple[int, Callable[[], None]]


@dataclass(slots=True)
class Workday:
    """The shape of one working day, as scenarios need to know it."""

    day: int
    start: int
    end: int
    ip: str
    network: Network
    place: Place


@dataclass(slots=True)
class DayPlan:
    """What scenarios change about a day of one person."""

    work: bool = False  # work that day whatever the habit says
    off: bool = False  # no activity at all (a travel day)
    endpoint: tuple[str, Network] | None = None  # where from: VPN, hotel...
    delegate: bool = False  # the assistant works in the account that day
    stay_home: bool = False
    hooks: list[Callable[[PersonTraffic, Workday], list[Activity]]] = field(
        default_factory=list
    )


class PersonTraffic:
    """Generates one person's events day by day from their own generator."""

    def __init__(
        self, *, person: Person, world: World, seed: int, enrichment: Enrichment
    ) -> None:
        self.person = person
        self.world = world
        self.rng = rng = identity_rng(seed=seed, stream="person", index=person.index)
        self.factory = EventFactory(ids=IdMaker(rng), enrichment=enrichment)
        self.profile = SignInProfile()
        self.client = SessionClient(
            factory=self.factory,
            actor=actor(
                id=person.id, type="User", login=person.login, name=person.name
            ),
            profile=self.profile,
            world=world,
            rng=rng,
        )
        self.plans: dict[int, DayPlan] = {}
        self.home_ip = person.home_ip
        self._first_date = world.start.date()
        if person.first_day == 0:
            self._remember_usual_places()

    def _remember_usual_places(self) -> None:
        """Okta already knows the places and devices of existing staff."""
        person, world = self.person, self.world
        known: list[tuple[str, Place]] = [(self.home_ip, person.home)]
        if person.office is not None and person.metro is not None:
            known += [
                (ip, person.office.place) for ip in world.office_ips[person.metro]
            ]
        if person.vpn_user:
            known += [(ip, person.vpn.place) for ip in world.vpn_ips[person.vpn.name]]
        devices = [person.laptop, person.phone, person.delegate]
        for device in devices:
            if device is None:
                continue
            for ip, place in known:
                self.profile.remember(
                    ip=ip, place=place, device=device.dt_hash, ts=None
                )

    def forget_history(self) -> None:
        """Start from an empty behaviour profile, as Okta does for a new user."""
        self.profile = self.client.profile = SignInProfile()

    def plan(self, day: int) -> DayPlan:
        """The (scenario) plan of a day, created on first use."""
        return self.plans.setdefault(day, DayPlan())

    def local_date(self, day: int) -> date:
        return self._first_date + timedelta(days=day)

    def local_time(self, day: int, hour: float, place: Place | None = None) -> int:
        """Epoch ms of `hour` o'clock local time on day `day` at `place` (home)."""
        place = place or self.person.home
        local = self.local_date(day)
        midnight = to_ms(datetime(local.year, local.month, local.day))
        return midnight + int((hour - place.offset_on(local)) * HOUR)

    def run_day(self, day: int) -> list[Event]:
        """All events of local day `day` (possibly spilling past midnight UTC)."""
        self.client.events = events = []
        self.client.sessions = []
        person, rng = self.person, self.rng
        if day < person.first_day:
            return events
        plan = self.plans.get(day) or DayPlan()
        if plan.off:
            return events
        weekday = self.local_date(day).weekday()

        if rng.random() < P_NEW_HOME_IP:
            self.home_ip = person.home_net.address(rng)
        if rng.random() < P_NEW_LAPTOP:
            ids, laptop = self.factory.ids, person.laptop
            person.laptop = Device(
                "laptop",
                laptop.agent,
                ids.hex(64),
                ids.hex(32),
                laptop.upgrade_day,
                laptop.upgraded,
            )
        works = (weekday < 5 and rng.random() > P_DAY_OFF) or plan.work
        activities: list[Activity] = []
        if works:
            workday = self._workday(day, weekday, plan)
            activities += self._work_activities(workday, plan)
            for hook in plan.hooks:
                activities += hook(self, workday)
        elif weekday >= 5 and rng.random() < P_WEEKEND_WORK:
            activities += self._weekend_activities(day)

        activities.sort(key=lambda activity: activity[0])
        for _, run in activities:
            run()
        return events

    def _workday(self, day: int, weekday: int, plan: DayPlan) -> Workday:
        person, rng, world = self.person, self.rng, self.world
        if plan.endpoint is not None:
            ip, network = plan.endpoint
        elif (
            person.office is not None
            and person.metro is not None
            and weekday in person.office_days
            and not plan.stay_home
            and rng.random() > 0.1
        ):
            ip, network = rng.choice(world.office_ips[person.metro]), person.office
        elif person.vpn_user and rng.random() < P_VPN_AT_HOME:
            ip, network = rng.choice(world.vpn_ips[person.vpn.name]), person.vpn
        else:
            ip, network = self.home_ip, person.home_net
        # The working day follows the clock of wherever the person is.
        place = network.place if network.kind == "residential" else person.home
        start = self.local_time(day, person.start_hour + rng.gauss(0, 0.35), place)
        length = max(3.0, person.day_hours + rng.gauss(0, 0.6))
        return Workday(day, start, start + int(length * HOUR), ip, network, place)

    def _pick_apps(self, count: int) -> list[App]:
        person = self.person
        return self.rng.choices(person.apps, person.app_weights, k=count)

    def _work_activities(self, workday: Workday, plan: DayPlan) -> list[Activity]:
        person, rng = self.person, self.rng
        day, start, end = workday.day, workday.start, workday.end
        activities: list[Activity] = []

        # The laptop session, renewed after lunch when it expires, and its app use.
        breaks = [start]
        if rng.random() < P_REAUTH:
            breaks.append(start + int(rng.uniform(3.5, 5.0) * HOUR))
        count = max(1, _poisson(rng, person.sso_per_day))
        times = sorted(rng.randint(start + 2 * MINUTE, end) for _ in range(count))
        apps = self._pick_apps(count)
        for index, begin in enumerate(breaks):
            until = breaks[index + 1] if index + 1 < len(breaks) else end + 1
            uses = [
                (t, a) for t, a in zip(times, apps, strict=True) if begin < t < until
            ]
            last = index == len(breaks) - 1
            activities.append((begin, self._laptop_session(workday, begin, uses, last)))

        if person.phone is not None and rng.random() < person.phone_use:
            if rng.random() < 0.5:
                when = start - int(rng.uniform(0.2, 1.0) * HOUR)
            else:
                when = end + int(rng.uniform(0.5, 4.0) * HOUR)
            activities.append((when, self._phone_session(workday, when)))

        if person.delegate is not None and (plan.delegate or rng.random() < P_DELEGATE):
            when = self.local_time(day, rng.uniform(9.0, 10.5))
            activities.append((when, self._delegate_session(day, when)))
        return activities

    def _laptop_session(
        self, workday: Workday, begin: int, uses: list[tuple[int, App]], last: bool
    ) -> Callable[[], None]:
        def run() -> None:
            rng, client = self.rng, self.client
            session = client.sign_in(
                ts=begin,
                ip=workday.ip,
                network=workday.network,
                device=self.person.laptop,
                day=workday.day,
                mfa=rng.random() < P_MFA,
                fail_first=rng.random() < P_WRONG_PASSWORD,
                push_timeout=rng.random() < P_PUSH_TIMEOUT,
            )
            for ts, app in uses:
                client.sso(
                    max(ts, session.start + 10 * SECOND), session, app, day=workday.day
                )
            if last and rng.random() < P_SIGN_OUT:
                client.sign_out(
                    workday.end + rng.randint(1, 20) * MINUTE, session, day=workday.day
                )

        return run

    def _phone_endpoint(self, workday: Workday) -> tuple[str, Network]:
        person = self.person
        if (
            workday.network.kind == "residential"
            and workday.network is not person.home_net
        ):
            return workday.ip, workday.network  # hotel Wi-Fi while travelling
        if person.mobile_net is not None and self.rng.random() < 0.6:
            # Carrier-grade NAT: a different address almost every time.
            return person.mobile_net.address(self.rng), person.mobile_net
        return self.home_ip, person.home_net

    def _phone_session(self, workday: Workday, when: int) -> Callable[[], None]:
        def run() -> None:
            rng, client, phone = self.rng, self.client, self.person.phone
            assert phone is not None
            ip, network = self._phone_endpoint(workday)
            session = client.sign_in(
                ts=when,
                ip=ip,
                network=network,
                device=phone,
                day=workday.day,
                mfa=rng.random() < 0.5,
            )
            ts = session.start
            for app in self._pick_apps(rng.randint(1, 3)):
                ts += rng.randint(1, 15) * MINUTE
                client.sso(ts, session, app, day=workday.day)

        return run

    def _delegate_session(self, day: int, when: int) -> Callable[[], None]:
        """The executive's assistant works in the account from the office."""

        def run() -> None:
            rng, client, person = self.rng, self.client, self.person
            assert person.delegate is not None and person.metro is not None
            session = client.sign_in(
                ts=when,
                ip=self.world.office_ips[person.metro][0],
                network=self.world.offices[person.metro],
                device=person.delegate,
                day=day,
            )
            ts = session.start
            for app in self._pick_apps(rng.randint(3, 8)):
                ts += rng.randint(5, 50) * MINUTE
                client.sso(ts, session, app, day=day)

        return run

    def _weekend_activities(self, day: int) -> list[Activity]:
        person, rng = self.person, self.rng
        when = self.local_time(day, rng.uniform(10, 20))
        device = (
            person.laptop
            if person.phone is None or rng.random() < 0.5
            else person.phone
        )

        def run() -> None:
            client = self.client
            session = client.sign_in(
                ts=when,
                ip=self.home_ip,
                network=person.home_net,
                device=device,
                day=day,
            )
            ts = session.start
            for app in self._pick_apps(rng.randint(1, 3)):
                ts += rng.randint(1, 20) * MINUTE
                client.sso(ts, session, app, day=day)

        return [(when, run)]

    def active_session(self, ts: int) -> Session | None:
        """The latest laptop session started before `ts` today."""
        laptop = self.person.laptop
        started = [
            s for s in self.client.sessions if s.start <= ts and s.device is laptop
        ]
        return started[-1] if started else None


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
