"""The rule catalogue: precise, explainable detections of credential misuse.

Each rule reads one `Observation` (an event seen against its identity's history)
and either stays silent or returns a `Hit` with a plain-words reason that names the
evidence. Rules have stable ids, which detections, tickets and verdicts refer to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from features.geo_names import country_code
from features.facts import (
    MFA_EVENTS,
    OKTA_DETECTIONS,
    PUSH_EVENTS,
    SIGN_IN_EVENTS,
    THREAT_EVENTS,
    EventFacts,
)
from features.identity import AI_AGENT, HUMAN
from features.state import Observation

SEVERITY_SCORES = {"low": 30.0, "medium": 55.0, "high": 80.0, "critical": 95.0}

IMPOSSIBLE_SPEED_KMH = 900.0
IMPOSSIBLE_MIN_KM = 500.0
PUSH_FATIGUE_COUNT = 4
SPRAY_FAILURES = 5
RATE_SPIKE_FACTOR = 5.0
RATE_SPIKE_MIN_EVENTS = 30
# Okta's names for a velocity (implausible travel) finding among its behaviours.
VELOCITY_BEHAVIORS = frozenset({"Velocity", "Velocity Behavior"})


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    severity: str
    reason: str
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    family: str
    severity: str
    summary: str
    check: Callable[[Observation], tuple[str, str, tuple[str, ...]] | None]

    def evaluate(self, observation: Observation) -> Hit | None:
        found = self.check(observation)
        if found is None:
            return None
        return self.hit(found)

    def hit(self, found: tuple[str, str, tuple[str, ...]]) -> Hit:
        severity, reason, evidence = found
        return Hit(self.id, severity or self.severity, reason, evidence)


def _where(facts: EventFacts) -> str:
    place = facts.country or "unknown country"
    network = facts.network or "an unknown network"
    return f"{facts.ip or 'no address'} ({network}, {place})"


def _explained(facts: EventFacts) -> bool:
    """A network the organisation owns or the agent is declared on needs no alert."""
    return facts.expected_network


def concurrent_networks(obs: Observation):
    facts = obs.facts
    identity = facts.identity
    if identity.shared_access or not facts.network or _explained(facts):
        return None
    # People move between known networks; only a network new to them counts.
    if identity.kind != AI_AGENT and not obs.new_network:
        return None
    others = [
        item for item in obs.recent
        if item.network and item.network != facts.network
    ]
    if not others:
        return None
    # An agent that habitually works from several networks at once (replicas in
    # regions its map does not declare) is not judged on a network it has used for
    # long (familiar ground), within the number of networks it uses at once.
    at_once = len({facts.network, *(item.network for item in others)})
    if obs.familiar_network and at_once <= obs.usual_concurrency:
        return None
    other = others[-1]
    minutes = (facts.time - other.time).total_seconds() / 60
    credential = "token" if identity.kind == AI_AGENT else "credential"
    reason = (
        f"{credential} used from {_where(facts)} and {_where(other)} "
        f"within {max(minutes, 0):.0f} minutes"
    )
    usual = obs.usual_concurrency
    if usual > 1:
        reason += f" ({at_once} networks at once; usually at most {usual})"
    return None, reason, (other.uuid, facts.uuid)


def session_context_change(obs: Observation):
    before = obs.session_before
    facts = obs.facts
    if before is None or before.moved:
        return None

    changes = []
    if before.other_device(facts.device):
        changes.append("device")
    client = facts.session_client
    if before.ua_family and client and before.ua_family != client:
        changes.append(f"client {before.ua_family} to {client}")
    # A laptop moving from home to office keeps its device and client; only a move
    # to a network the person never used, and no network of the organisation's,
    # counts on its own.
    if (
        before.network and facts.network and before.network != facts.network
        and obs.new_network and not _explained(facts)
    ):
        changes.append(f"network {before.network} to {facts.network}")
    if not changes:
        return None

    # A session does not cross borders by itself: a move abroad is high on its own.
    abroad = bool(before.country and facts.country and before.country != facts.country)
    severity = "high" if len(changes) > 1 or "device" in changes or abroad else "medium"
    reason = (
        f"session {facts.session[:12]}… changed {', '.join(changes)} mid-session, "
        f"now from {_where(facts)}"
    )
    return severity, reason, (facts.uuid,)


def okta_threat_signal(obs: Observation):
    facts = obs.facts
    if facts.threat_suspected:
        # ThreatInsight names the attacking address as the actor of its own
        # events; that is worth recording but is no identity to act upon.
        severity = "low" if facts.identity.id == facts.ip else "high"
        what = (
            f"Okta reported {facts.event_type}" if facts.event_type in THREAT_EVENTS
            else "Okta ThreatInsight marked the request as a suspected threat"
        )
        return severity, f"{what} from {_where(facts)}", (facts.uuid,)
    detection = OKTA_DETECTIONS.get(facts.event_type)
    if detection is not None:
        return "high", f"Okta detected {detection} ({facts.event_type}) from {_where(facts)}", (
            facts.uuid,
        )
    if facts.risk_level >= 3:
        reasons = f" ({facts.risk_reasons})" if facts.risk_reasons else ""
        # Okta's risk is mostly novelty; for an identity without history everything
        # is new, so alone it does not justify suspending anyone.
        severity = "high" if obs.baseline_mature else "medium"
        if facts.expected_network:
            # The place Okta found anomalous is a network the organisation owns.
            severity = "low"
        return severity, f"Okta rated the sign-in risk HIGH{reasons}", (facts.uuid,)
    # Okta judges velocity on people's sign-ins; agents with replicas in several
    # regions trip it by design.
    if facts.identity.kind == HUMAN and not VELOCITY_BEHAVIORS.isdisjoint(
        facts.positive_behaviors
    ):
        return "medium", "Okta flagged velocity (implausible travel)", (facts.uuid,)
    return None


def impossible_travel(obs: Observation):
    facts = obs.facts
    previous = obs.previous_location
    if facts.identity.kind != HUMAN or previous is None or facts.identity.shared_access:
        return None
    if previous.trusted or facts.expected_network or facts.is_proxy:
        return None
    if obs.travel_km < IMPOSSIBLE_MIN_KM or obs.travel_kmh < IMPOSSIBLE_SPEED_KMH:
        return None
    minutes = (facts.time - previous.time).total_seconds() / 60
    place = ", ".join(p for p in (facts.city, facts.country) if p) or "unknown place"
    reason = (
        f"signed in from {previous.place} and {place}, {obs.travel_km:,.0f} km apart "
        f"in {minutes:.0f} minutes ({obs.travel_kmh:,.0f} km/h)"
    )
    return None, reason, (previous.uuid, facts.uuid)


def agent_outside_declared(obs: Observation):
    facts = obs.facts
    agent = facts.identity.agent
    if agent is None or facts.known_network is not None:
        return None
    if agent.declares_network() and facts.ip and not facts.in_declared_network:
        return None, (
            f"agent {agent.name} acted from {_where(facts)}, outside its declared "
            f"networks"
        ), (facts.uuid,)
    if agent.countries and facts.country and not _country_declared(agent.countries, facts.country):
        return None, (
            f"agent {agent.name} acted from {facts.country}, not one of its declared "
            f"countries ({', '.join(agent.countries)})"
        ), (facts.uuid,)
    return None


def agent_off_schedule(obs: Observation):
    facts = obs.facts
    agent = facts.identity.agent
    if agent is None or agent.schedule is None or not obs.off_schedule_events:
        return None
    # One stray call may be clock skew or a retry; sustained work is not.
    if obs.off_schedule_sustained:
        severity, what = "high", f"has worked {obs.off_schedule_events} events in a row"
    elif obs.off_schedule_events == 1:
        severity, what = None, f"was active at {facts.time:%a %H:%M} UTC"
    else:
        return None
    return severity, (
        f"agent {agent.name} {what} outside its schedule "
        f"({agent.schedule.days} {agent.schedule.hours_utc} UTC)"
    ), (facts.uuid,)


def client_mismatch(obs: Observation):
    facts = obs.facts
    kind = facts.identity.kind
    # Agents that drive a browser exist; what matters is a client the agent's
    # history does not know (or any, while it has no history yet).
    novel_client = obs.new_ua_family or not obs.baseline_mature
    if kind == AI_AGENT and facts.ua_class in {"browser", "tool"} and novel_client:
        what = "a browser" if facts.ua_class == "browser" else f"the desktop tool {facts.ua_family}"
        return None, (
            f"agent credential used from {what} ({(facts.user_agent or '')[:60]}) at "
            f"{_where(facts)}"
        ), (facts.uuid,)
    if kind == HUMAN and facts.ua_class == "automation" and obs.new_ua_family:
        return "medium", (
            f"a person's account driven by the automation client {facts.ua_family} "
            f"from {_where(facts)}"
        ), (facts.uuid,)
    return None


def api_new_endpoint(obs: Observation):
    facts = obs.facts
    agent = facts.identity.agent
    if agent is None or not facts.request_uri:
        return None
    # Sign-in flows (/login, /idp/idx, /oauth2/v1/authorize) are not API usage.
    is_api_call = facts.api_token_id is not None or facts.request_uri.startswith("/api/")
    if is_api_call and agent.api_endpoints and not agent.allows_endpoint(facts.request_uri):
        path = facts.request_uri.split("?", 1)[0]
        return None, f"agent {agent.name} called {path}, outside its declared endpoints", (
            facts.uuid,
        )
    return None


def api_rate_spike(obs: Observation):
    facts = obs.facts
    if facts.identity.kind == HUMAN or not obs.usual_hourly_events:
        return None
    limit = max(
        RATE_SPIKE_FACTOR * obs.usual_hourly_events, 2 * obs.busiest_hour,
        RATE_SPIKE_MIN_EVENTS,
    )
    # Fire once, on the event that crosses the limit.
    if obs.window_events != int(limit) + 1:
        return None
    return None, (
        f"{obs.window_events} events this hour against a usual "
        f"{obs.usual_hourly_events:.0f} (busiest recent hour {obs.busiest_hour})"
    ), (facts.uuid,)


def mfa_push_fatigue(obs: Observation):
    facts = obs.facts
    if facts.identity.kind != HUMAN:
        return None
    if facts.event_type not in PUSH_EVENTS and not (
        facts.event_type in MFA_EVENTS and facts.failed
    ):
        return None
    prompts = [
        item for item in obs.recent
        if item.event_type in PUSH_EVENTS or (item.event_type in MFA_EVENTS and item.failed)
    ]
    if len(prompts) + 1 != PUSH_FATIGUE_COUNT:
        return None
    return None, (
        f"{len(prompts) + 1} MFA push prompts or rejections within 10 minutes, the "
        f"latest from {_where(facts)}"
    ), tuple(item.uuid for item in prompts) + (facts.uuid,)


def password_spray_on_agent(obs: Observation):
    facts = obs.facts
    if facts.identity.kind == HUMAN or not facts.failed:
        return None
    failures = [item for item in obs.recent if item.failed]
    if len(failures) + 1 != SPRAY_FAILURES:
        return None
    sources = {item.ip for item in failures if item.ip} | {facts.ip}
    return None, (
        f"{len(failures) + 1} failed sign-ins on a non-human account within 10 minutes "
        f"from {len(sources - {None})} addresses"
    ), tuple(item.uuid for item in failures) + (facts.uuid,)


def anonymizing_proxy(obs: Observation):
    facts = obs.facts
    if not facts.is_proxy or facts.expected_network:
        return None
    if facts.event_type not in SIGN_IN_EVENTS and facts.identity.kind == HUMAN:
        return None
    # A refused attempt shows the account is targeted, not that it is taken.
    severity, verb = ("low", "tried to sign in") if facts.failed else (None, "signed in")
    return severity, (
        f"{verb} through an anonymising proxy at {_where(facts)}"
        f"{' (' + facts.asn_org + ')' if facts.asn_org else ''}"
    ), (facts.uuid,)


def new_token_elsewhere(obs: Observation):
    birth = obs.token_birth
    facts = obs.facts
    if birth is None or facts.expected_network or not facts.network:
        return None
    if facts.network == birth.network or (obs.baseline_mature and not obs.new_network):
        return None
    hours = (facts.time - birth.created).total_seconds() / 3600
    return None, (
        f"API token {birth.token_id[:10]}… created by {birth.creator} from "
        f"{birth.network or 'an unknown network'} {hours:.0f} h ago is used from "
        f"{_where(facts)}"
    ), (birth.uuid, facts.uuid)


def _country_declared(declared: list[str], country: str) -> bool:
    return (country_code(country) or country.upper()) in declared


CATALOGUE: tuple[Rule, ...] = (
    Rule("concurrent_networks", "credential sharing", "high",
         "one credential in use from two networks at once", concurrent_networks),
    Rule("session_context_change", "session hijack", "high",
         "a session carried to another network, device or client", session_context_change),
    Rule("impossible_travel", "impossible travel", "high",
         "a person in two places too far apart for the time between", impossible_travel),
    Rule("agent_outside_declared", "unexpected place", "high",
         "an agent acting from outside its declared networks or countries",
         agent_outside_declared),
    Rule("agent_off_schedule", "schedule", "medium",
         "an agent active outside its declared schedule", agent_off_schedule),
    Rule("api_new_endpoint", "API usage", "medium",
         "an agent calling endpoints outside its declared ones", api_new_endpoint),
    Rule("api_rate_spike", "API usage", "medium",
         "a non-human identity far busier than its usual hour", api_rate_spike),
    Rule("client_mismatch", "client mismatch", "high",
         "a browser or desktop tool on an agent credential, or automation on a person's",
         client_mismatch),
    Rule("mfa_push_fatigue", "MFA and token abuse", "high",
         "a burst of MFA push prompts or rejections", mfa_push_fatigue),
    Rule("password_spray_on_agent", "MFA and token abuse", "medium",
         "a burst of failed sign-ins on a non-human account", password_spray_on_agent),
    Rule("anonymizing_proxy", "unexpected place", "medium",
         "a sign-in through an anonymising proxy the organisation does not own",
         anonymizing_proxy),
    Rule("new_token_elsewhere", "MFA and token abuse", "high",
         "a new API token used from another network than the one it was made on",
         new_token_elsewhere),
    Rule("okta_threat_signal", "Okta signals", "high",
         "Okta's own ThreatInsight, risk or behaviour detections", okta_threat_signal),
)

RULES_BY_ID = {rule.id: rule for rule in CATALOGUE}


def evaluate_rules(
    observation: Observation, *, disabled: frozenset[str] = frozenset()
) -> list[Hit]:
    # Every rule runs on every event and nearly all stay silent, so the loop calls
    # the checks directly rather than through `Rule.evaluate`.
    rules = (
        CATALOGUE if not disabled
        else tuple(rule for rule in CATALOGUE if rule.id not in disabled)
    )
    hits = []
    for rule in rules:
        found = rule.check(observation)
        if found is not None:
            hits.append(rule.hit(found))
    return hits
