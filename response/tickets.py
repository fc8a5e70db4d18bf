"""What an incident's ticket says: summary, description, priority, comments.

Plain text (Jira REST v2 takes it on Cloud and Data Center alike). The description
holds the identity, its apps, the detections and their reasons, the Okta events
that carry the evidence, a timeline, the actions taken, and the remediation
recommended for the identity's kind.
"""

from __future__ import annotations

import re

from typing import Any

from integrations.jira_tickets import PriorityLevel, TicketDraft
from models.schemas import tier_rank

LEVELS: tuple[PriorityLevel, ...] = ("normal", "urgent", "critical")
TIER_LEVEL: dict[str, PriorityLevel] = {
    "low": "normal",
    "medium": "normal",
    "high": "urgent",
    "critical": "critical",
}
MAX_EVENTS_SHOWN = 25

REMEDIATION: dict[str, list[str]] = {
    "human": [
        "Confirm with the person, by a channel other than email, whether the activity was theirs.",
        "If not: reset the password, re-enrol MFA after verifying their identity, and review "
        "their devices and recently granted OAuth consents.",
        "Review what the sessions in the evidence accessed in the apps listed above.",
    ],
    "ai_agent": [
        "Rotate the agent's credential (API token, client secret or private key) and deploy "
        "the new one only to the agent's declared runtime.",
        "Review what the credential did from the unexpected networks or clients.",
        "If the activity was expected, add it to the deployment map so it stops alerting.",
    ],
    "service": [
        "Rotate the service credential and restrict it to the networks it runs from.",
        "Review the API calls made with it from the unexpected places or clients.",
    ],
    "oauth_app": [
        "Rotate the app's client secret or JWKS key pair; its tokens are already revoked "
        "if credwatch acted.",
        "Review the scopes granted to the app and remove any it does not need.",
    ],
}


def incident_label(incident_id: int) -> str:
    return f"credwatch-incident-{incident_id}"


def ticket_level(*, tier: str, requested: str | None, held: bool) -> PriorityLevel:
    """The highest of: the tier's level, the policy's priority, critical when held."""
    level = TIER_LEVEL.get(tier, "normal")
    if requested == "urgent" and LEVELS.index(level) < LEVELS.index("urgent"):
        level = "urgent"
    if held:
        level = "critical"
    return level


def draft_ticket(
    *,
    incident: dict[str, Any],
    actions: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
    requested_priority: str | None,
    target: dict[str, Any],
    owner: str | None,
    assignee: str | None,
) -> TicketDraft:
    """The ticket of one incident as it stands now."""
    held = [action for action in actions if action["status"] == "held"]
    level = ticket_level(
        tier=incident["tier"], requested=requested_priority, held=bool(held)
    )
    who = incident["identity_name"] or incident["identity_id"]
    summary = (
        f"credwatch: {incident['tier']} risk on {incident['identity_kind']} {who} "
        f"({', '.join(incident['rules']) or 'model'})"
    )
    sections = [
        _identity(incident, target, owner, evidence),
        _held(held),
        _detections(incident),
        _events(evidence, incident["event_ids"]),
        _timeline(incident, evidence, actions),
        _actions(actions),
        _remediation(incident, target),
    ]
    return TicketDraft(
        summary=summary,
        description="\n\n".join(section for section in sections if section),
        priority=level,
        label=incident_label(incident["id"]),
        labels=["credwatch", f"tier-{incident['tier']}"],
        assignee=assignee,
    )


def evidence_comment(*, incident: dict[str, Any], new_reasons: list[str]) -> str:
    """A comment for later evidence merged into an open incident."""
    lines = [
        f"New evidence: the incident is now {incident['tier']} "
        f"(risk {incident['risk']:.1f}), {incident['detection_count']} detections.",
        *(f"- {_plain(reason)}" for reason in new_reasons),
        f"Rules so far: {', '.join(incident['rules']) or 'model only'}.",
    ]
    return "\n".join(lines)


def hold_comment(*, kind: str, action_id: int, count: int, limit: int) -> str:
    return (
        f"CIRCUIT BREAKER: credwatch held the automated {kind} (action {action_id}). "
        f"{count} automated suspensions and revocations ran in the last hour, and the "
        f"limit is {limit}, so a person must decide. Approve it with "
        f"`credwatch approve {action_id}` or drop it with `credwatch drop {action_id}`."
    )


# Jira renders descriptions and comments as wiki markup: in text that came from
# events (which whoever acts in Okta shapes, user agents above all) these would
# make links, images and macros in the security team's ticket.
_MARKUP = re.compile(r"([\[\]{}|!])")


def _plain(value: Any) -> str:
    """Event-derived text as inert wiki text: markup escaped, on one line."""
    text = " ".join(str(value).splitlines())
    return _MARKUP.sub(r"\\\1", text)


def _identity(
    incident: dict[str, Any],
    target: dict[str, Any],
    owner: str | None,
    evidence: list[dict[str, Any]],
) -> str:
    apps = sorted(
        {_plain(app) for item in evidence for app in item.get("apps") or [] if app}
    )
    lines = [
        "Identity",
        f"- id: {incident['identity_id']} ({incident['identity_kind']}, Okta {target.get('type', 'user')})",
        f"- name: {_plain(incident['identity_name'] or '-')}",
        f"- owner: {owner or '-'}",
        f"- apps and systems: {', '.join(apps) if apps else 'see the events below'}",
        f"- incident: {incident['id']}, opened {incident['opened_at']}, "
        f"risk {incident['risk']:.1f}, tier {incident['tier']}, model version "
        f"{incident['model_version'] or '-'}",
    ]
    return "\n".join(lines)


def _held(held: list[dict[str, Any]]) -> str:
    if not held:
        return ""
    lines = ["Held by the circuit breaker (waiting for a person)"]
    for action in held:
        lines.append(f"- {action['kind']} (action {action['id']}): {action['outcome']}")
    return "\n".join(lines)


def _detections(incident: dict[str, Any]) -> str:
    lines = [
        "Detections and reasons",
        f"- rules: {', '.join(incident['rules']) or 'model only'}",
    ]
    lines.extend(f"- {_plain(reason)}" for reason in incident["reasons"])
    return "\n".join(lines)


def _events(evidence: list[dict[str, Any]], event_ids: list[str]) -> str:
    lines = ["Okta events carrying the evidence"]
    if not evidence:
        shown = ", ".join(event_ids[:MAX_EVENTS_SHOWN])
        lines.append(f"- event uuids: {shown or '-'}")
        return "\n".join(lines)
    for item in evidence[:MAX_EVENTS_SHOWN]:
        where = ", ".join(
            _plain(part)
            for part in (
                item.get("ip"),
                item.get("place"),
                f"AS{item['asn']}" if item.get("asn") else None,
                item.get("asOrg"),
            )
            if part
        )
        lines.append(
            f"- {item.get('published')} {_plain(item.get('eventType'))} "
            f"[{_plain(item.get('outcome') or '-')}] from {where or 'unknown'}; "
            f"client {_plain(item.get('userAgent') or '-')}; "
            f"session {_plain(item.get('session') or '-')}; uuid {_plain(item.get('uuid'))}"
        )
    if len(evidence) > MAX_EVENTS_SHOWN:
        lines.append(f"- ... and {len(evidence) - MAX_EVENTS_SHOWN} more")
    return "\n".join(lines)


def _timeline(
    incident: dict[str, Any],
    evidence: list[dict[str, Any]],
    actions: list[dict[str, Any]],
) -> str:
    moments: list[tuple[str, str]] = []
    if evidence:
        moments.append((str(evidence[0].get("published")), "first evidence event"))
        moments.append((str(evidence[-1].get("published")), "last evidence event"))
    moments.append((incident["first_detected_at"], "first detection"))
    moments.append((incident["opened_at"], "incident opened"))
    if incident["last_detected_at"] != incident["first_detected_at"]:
        moments.append((incident["last_detected_at"], "latest detection"))
    for action in actions:
        if action["status"] in ("done", "held", "failed", "recorded"):
            moments.append(
                (action["updated_at"], f"{action['kind']}: {action['status']}")
            )
    moments.sort()
    return "\n".join(
        ["Timeline (UTC)", *(f"- {when} {what}" for when, what in moments)]
    )


def _actions(actions: list[dict[str, Any]]) -> str:
    lines = ["Actions"]
    for action in actions:
        if action["kind"] in ("open_ticket", "record"):
            continue
        lines.append(
            f"- {action['kind']}: {action['status']} ({action['mode']}) - {action['outcome'] or ''}"
        )
    return "\n".join(lines) if len(lines) > 1 else ""


def _remediation(incident: dict[str, Any], target: dict[str, Any]) -> str:
    kind = (
        "oauth_app" if target.get("type") == "oauth_app" else incident["identity_kind"]
    )
    steps = REMEDIATION.get(kind, REMEDIATION["service"])
    urgent = tier_rank(incident["tier"]) >= tier_rank("high")
    head = "Recommended remediation" + (" (urgent)" if urgent else "")
    return "\n".join([head, *(f"{n}. {step}" for n, step in enumerate(steps, 1))])
