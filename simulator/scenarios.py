"""Choose scenario targets and arrange every compromise and look-alike.

Targets are drawn in a fixed order, the most constrained scenarios first (only a
few agents have an idle second region, only declared executives share access), and
never reused, so each label tells one story about one identity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from simulator import compromises, lookalikes
from simulator.agents import AgentTraffic
from simulator.clock import DAY, to_ms
from simulator.ids import identity_rng
from simulator.injection import Injector
from simulator.people import PersonTraffic
from simulator.plan import LabelBook
from simulator.world import World

logger = logging.getLogger(__name__)


def arrange_scenarios(
    *,
    world: World,
    people: list[PersonTraffic],
    agents: list[AgentTraffic],
    counts: dict[str, int],
    seed: int,
) -> LabelBook:
    """Register every scenario's hooks; labels fill in as traffic is generated."""
    rng = identity_rng(seed=seed, stream="scenarios", index=0)
    first = to_ms(world.start)
    labels = LabelBook(period=(first, first + world.days * DAY))
    injector = Injector(world=world, rng=rng, labels=labels)
    taken: set[str] = set()
    person_traffic = {t.person.id: t for t in people}
    agent_traffic = {t.agent.id: t for t in agents}

    def arrange(name: str, eligible: list, run: Callable, by_id: dict) -> None:
        """Arrange `name` against free eligible identities until enough took."""
        wanted, done = counts[name], 0
        candidates = [item for item in eligible if item.id not in taken]
        rng.shuffle(candidates)
        for target in candidates:
            if done == wanted:
                break
            if run(injector, by_id[target.id]):
                taken.add(target.id)
                done += 1
        if done < wanted:
            logger.warning("scenario %s: %d wanted, %d arranged", name, wanted, done)

    # People. Executives with declared shared access only play that part.
    staff = world.people
    shared = [p for p in staff if p.id in world.shared_access_ids]
    arrange(
        "shared_access_person", shared, lookalikes.shared_access_person, person_traffic
    )
    taken.update(p.id for p in shared)
    arrange(
        "new_user",
        [p for p in staff if not p.admin],
        lookalikes.new_user,
        person_traffic,
    )
    for name in (
        "session_hijack",
        "impossible_travel",
        "mfa_push_fatigue",
        "okta_threat_signal",
    ):
        arrange(name, staff, getattr(compromises, name), person_traffic)
    arrange(
        "vpn_signin",
        [p for p in staff if not p.vpn_user],
        lookalikes.vpn_signin,
        person_traffic,
    )
    arrange("plausible_travel", staff, lookalikes.plausible_travel, person_traffic)

    # Agents.
    fleet = world.agents
    standby = [a for a in fleet if len(a.deployments) > 1 and not a.second_active]
    arrange(
        "agent_second_declared_region",
        standby,
        lookalikes.agent_second_declared_region,
        agent_traffic,
    )
    arrange(
        "agent_off_schedule",
        [a for a in fleet if a.schedule is not None],
        compromises.agent_off_schedule,
        agent_traffic,
    )
    arrange(
        "api_enumeration",
        [a for a in fleet if a.kind == "api_token"],
        compromises.api_enumeration,
        agent_traffic,
    )
    arrange(
        "token_shared_across_networks",
        [a for a in fleet if a.kind != "interactive"],
        compromises.token_shared_across_networks,
        agent_traffic,
    )
    for name in ("agent_outside_declared_network", "human_using_agent_token"):
        arrange(name, fleet, getattr(compromises, name), agent_traffic)
    arrange(
        "agent_user_agent_upgrade",
        fleet,
        lookalikes.agent_user_agent_upgrade,
        agent_traffic,
    )
    return labels
