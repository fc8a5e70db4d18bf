"""Carries out the outbox: Okta actions, Jira tickets and owner notifications.

For each due entry the executor, in this order:

1. claims it (a lease, so a crashed worker's entries are taken over later);
2. decides whether it may run: an action released or dropped meanwhile is
   cancelled; an Okta action with no Okta org configured is recorded only; an
   automated suspension or revocation past the hourly circuit-breaker limit is
   held for a person (and the incident's ticket gets a critical note saying why);
   a notification or comment that needs the ticket waits briefly for it;
3. writes the attempt to the audit trail (who, what, why, the request) and
   commits, before anything is sent;
4. sends it, and writes the outcome (Okta's request ids, the ticket key, or the
   error) to the attempt and to the action.

A transient failure (time-out, 5xx, 429 after the client's own retries) is tried
again later with exponential back-off; a refusal or too many attempts leaves the
entry `dead` and the action `failed`, listed by `credwatch actions` until a person
approves it again. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from credwatch.db import ensure_utc
from integrations.errors import OktaError, ServiceError
from integrations.jira_tickets import TicketDesk, TicketRef
from integrations.okta import OktaActions
from integrations.webhook import Notice, Notifier
from response import tickets
from response.evidence import evidence_for
from response.outbox import (
    ActionAttempt,
    OutboxEntry,
    automated_attempts_since,
    claim,
    due_entry_ids,
    enqueue_comment,
)
from response.queries import action_as_dict, incident_as_dict, zulu
from response.records import AUTOMATED_ACTOR, Action, Incident

logger = logging.getLogger(__name__)

# What the circuit breaker counts: automated suspensions and revocations.
BREAKER_KINDS: tuple[str, ...] = (
    "suspend",
    "deactivate_app",
    "revoke_tokens",
    "clear_sessions",
)
NO_OKTA_OUTCOME = (
    "recorded only: no Okta org is configured (CREDWATCH_OKTA_ORG_URL), "
    "so nothing was sent"
)
LOCAL_TICKET_OUTCOME = (
    "no Jira configured: the incident stays in the local database "
    "(credwatch incidents, the API)"
)
# Okta answers a lifecycle change to the state a user is already in with
# E0000001; after a retry that is what success looks like.
_SETTLED_STATES = {
    "/lifecycle/suspend": "SUSPENDED",
    "/lifecycle/unsuspend": "ACTIVE",
}


@dataclass(frozen=True)
class ExecutorLimits:
    """The executor's safety limits and timings."""

    breaker_max_per_hour: int = 20
    max_attempts: int = 10
    retry_base_s: float = 5.0
    retry_max_s: float = 900.0
    lease_s: float = 300.0
    wait_for_ticket_s: float = 60.0
    defer_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Any) -> ExecutorLimits:
        return cls(
            breaker_max_per_hour=settings.breaker_max_per_hour,
            max_attempts=settings.outbox_max_attempts,
            retry_base_s=settings.outbox_retry_base_s,
            retry_max_s=settings.outbox_retry_max_s,
            lease_s=getattr(settings, "outbox_lease_s", cls.lease_s),
        )


class _Skip(Exception):
    """The work cannot apply (for example an unconfigured quarantine group)."""


@dataclass
class _Result:
    outcome: str
    responses: list[dict[str, Any]] = field(default_factory=list)
    ticket: TicketRef | None = None
    status: str = "done"


@dataclass
class _Work:
    """One prepared piece of work: the request for the audit, and how to send it."""

    request: dict[str, Any]
    reason: str
    perform: Callable[[], _Result]


class Executor:
    """Runs due outbox entries against the configured services."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        okta: OktaActions | None,
        desk: TicketDesk,
        notifier: Notifier,
        limits: ExecutorLimits = ExecutorLimits(),
        default_assignee: str | None = None,
        worker: str = AUTOMATED_ACTOR,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._okta = okta
        self._desk = desk
        self._notifier = notifier
        self._limits = limits
        self._default_assignee = default_assignee
        self._worker = worker
        self._clock = clock

    def close(self) -> None:
        """Close the clients' connections."""
        for client in (self._okta, self._desk, self._notifier):
            close = getattr(client, "close", None)
            if close is not None:
                close()

    def drain(self, *, max_entries: int = 1000) -> Counter[str]:
        """Run every entry that is due now; a count of what became of them."""
        report: Counter[str] = Counter()
        while sum(report.values()) < max_entries:
            with self._sessions() as session:
                due = due_entry_ids(session, now=self._clock(), limit=100)
            if not due:
                break
            for entry_id in due:
                report[self.run(entry_id)] += 1
        if report:
            logger.info("outbox drained: %s", dict(report))
        return report

    def run(self, entry_id: int) -> str:
        """Carry out one entry; returns what became of it."""
        now = self._clock()
        with self._sessions() as session:
            if not claim(
                session,
                entry_id,
                now=now,
                lease=timedelta(seconds=self._limits.lease_s),
            ):
                session.rollback()
                return "busy"
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None
            work = self._prepare(session, entry, now)
            if isinstance(work, str):
                entry.claimed_until = None
                entry.updated_at = now
                session.commit()
                return work
            # The audit record before anything goes out.
            action = session.get(Action, entry.action_id) if entry.action_id else None
            entry.attempts += 1
            attempt = ActionAttempt(
                outbox_id=entry.id,
                action_id=entry.action_id,
                incident_id=entry.incident_id,
                kind=action.kind if action else entry.kind,
                attempt=entry.attempts,
                actor=entry.approved_by or (action.actor if action else self._worker),
                automated=entry.approved_by is None,
                reason=work.reason,
                request=work.request,
                started_at=now,
            )
            session.add(attempt)
            session.commit()
            attempt_id = attempt.id

        try:
            result: _Result | None = work.perform()
            error: Exception | None = None
        except _Skip as skip:
            result, error = _Result(outcome=f"skipped: {skip}", status="skipped"), None
        except ServiceError as failure:
            result, error = None, failure
        return self._finish(entry_id, attempt_id, result=result, error=error)

    # Deciding.

    def _prepare(
        self, session: Session, entry: OutboxEntry, now: datetime
    ) -> _Work | str:
        incident = session.get(Incident, entry.incident_id)
        if incident is None:
            entry.state = "cancelled"
            return "cancelled"
        if entry.kind == "ticket_comment":
            return self._prepare_comment(session, entry, incident, now)
        action = session.get(Action, entry.action_id) if entry.action_id else None
        if action is None or action.status not in ("planned", "failed"):
            entry.state = "cancelled"
            return "cancelled"
        service = action.request.get("service")
        if service == "okta":
            return self._prepare_okta(session, entry, action, now)
        if action.kind == "open_ticket":
            if not self._desk.configured:
                return self._settle(entry, action, LOCAL_TICKET_OUTCOME, now)
            return self._prepare_ticket(session, action, incident)
        if action.kind == "escalate_ticket":
            if not self._desk.configured:
                return self._settle(entry, action, LOCAL_TICKET_OUTCOME, now)
            return self._prepare_escalation(session, entry, action, incident, now)
        if action.kind == "notify_owner":
            return self._prepare_notice(session, entry, action, incident, now)
        return self._settle(
            entry, action, "recorded: nothing to send for this action", now
        )

    def _prepare_okta(
        self, session: Session, entry: OutboxEntry, action: Action, now: datetime
    ) -> _Work | str:
        if self._okta is None:
            action.mode = "dry-run"
            action.status = "recorded"
            action.outcome = NO_OKTA_OUTCOME
            action.updated_at = now
            entry.state = "done"
            return "recorded"
        if self._breaker_holds(session, entry, action, now):
            return "held"
        calls = list(action.request.get("calls") or [])
        okta = self._okta

        def perform() -> _Result:
            return _Result(
                outcome=f"done: {len(calls)} Okta call(s) succeeded",
                responses=_run_okta_calls(okta, calls),
            )

        return _Work(request=action.request, reason=action.reason, perform=perform)

    def _breaker_holds(
        self, session: Session, entry: OutboxEntry, action: Action, now: datetime
    ) -> bool:
        if action.kind not in BREAKER_KINDS or entry.approved_by is not None:
            return False
        if action.actor != AUTOMATED_ACTOR:
            return False
        limit = self._limits.breaker_max_per_hour
        count = automated_attempts_since(
            session, kinds=BREAKER_KINDS, since=now - timedelta(hours=1)
        )
        if count < limit:
            return False
        action.status = "held"
        action.outcome = (
            f"held by the circuit breaker: {count} automated suspensions and "
            f"revocations in the last hour (limit {limit}); approve with "
            f"`credwatch approve {action.id}` or drop with `credwatch drop {action.id}`"
        )
        action.updated_at = now
        entry.state = "held"
        enqueue_comment(
            session,
            incident_id=action.incident_id,
            text=tickets.hold_comment(
                kind=action.kind, action_id=action.id, count=count, limit=limit
            ),
            priority="critical",
            now=now,
        )
        logger.warning(
            "circuit breaker: held %s (action %s) on %s; %d automated in the last hour",
            action.kind,
            action.id,
            action.identity_id,
            count,
        )
        return True

    def _prepare_ticket(
        self, session: Session, action: Action, incident: Incident
    ) -> _Work:
        draft = tickets.draft_ticket(
            incident=incident_as_dict(incident),
            actions=[action_as_dict(item) for item in incident.actions],
            evidence=evidence_for(session, list(incident.event_ids)),
            requested_priority=action.request.get("priority"),
            target=dict(action.request.get("target") or {}),
            owner=action.request.get("owner"),
            assignee=action.request.get("assignee") or self._default_assignee,
        )
        desk = self._desk

        def perform() -> _Result:
            # A ticket opened before a crash is found by its label, not opened twice.
            ref = desk.find_ticket(draft.label) or desk.open_ticket(draft)
            outcome = f"ticket {ref.key} at {ref.url} ({draft.priority})"
            if ref.dropped:
                outcome += f"; Jira refused {', '.join(ref.dropped)} (left out)"
            return _Result(outcome=outcome, ticket=ref, responses=[{"key": ref.key}])

        request = {
            **action.request,
            "summary": draft.summary,
            "priority": draft.priority,
        }
        return _Work(request=request, reason=action.reason, perform=perform)

    def _prepare_escalation(
        self,
        session: Session,
        entry: OutboxEntry,
        action: Action,
        incident: Incident,
        now: datetime,
    ) -> _Work | str:
        key = _ticket_key(incident)
        if key is None:
            if self._ticket_pending(session, incident):
                return self._defer(entry, now)
            return self._settle(entry, action, "no ticket to escalate", now)
        level = tickets.ticket_level(
            tier=incident.tier, requested=action.request.get("priority"), held=False
        )
        desk = self._desk

        def perform() -> _Result:
            desk.set_priority(key, level)
            desk.add_comment(key, f"Escalated: {action.reason}")
            return _Result(outcome=f"ticket {key} raised to {level}")

        return _Work(
            request={**action.request, "ticket": key, "level": level},
            reason=action.reason,
            perform=perform,
        )

    def _prepare_notice(
        self,
        session: Session,
        entry: OutboxEntry,
        action: Action,
        incident: Incident,
        now: datetime,
    ) -> _Work | str:
        waited = (now - ensure_utc(entry.created_at)).total_seconds()
        if (
            incident.ticket_url is None
            and self._ticket_pending(session, incident)
            and waited < self._limits.wait_for_ticket_s
        ):
            # The notice should link to the ticket: give it a moment to open.
            return self._defer(entry, now)
        who = incident.identity_name or incident.identity_id
        notice = Notice(
            title=f"credwatch: {incident.tier} incident {incident.id} on {who}",
            text="\n".join(incident.reasons[:5]) or action.reason,
            severity=incident.tier,
            dedup_key=tickets.incident_label(incident.id),
            link=incident.ticket_url,
            owner=action.request.get("owner"),
        )
        notifier = self._notifier

        def perform() -> _Result:
            return _Result(outcome=notifier.notify(notice))

        return _Work(
            request={**action.request, "link": incident.ticket_url},
            reason=action.reason,
            perform=perform,
        )

    def _prepare_comment(
        self, session: Session, entry: OutboxEntry, incident: Incident, now: datetime
    ) -> _Work | str:
        if not self._desk.configured:
            entry.state = "done"
            entry.last_error = None
            return "done"
        key = _ticket_key(incident)
        opened = self._ticket_action(session, incident)
        if key is None:
            if self._ticket_pending(session, incident):
                return self._defer(entry, now)
            entry.state = "done"
            return "done"
        if opened is not None and ensure_utc(opened.updated_at) >= ensure_utc(
            entry.created_at
        ):
            # The ticket was written after this comment was queued: it says it already.
            entry.state = "done"
            return "done"
        text = str(entry.payload.get("text") or "")
        priority = entry.payload.get("priority")
        desk = self._desk

        def perform() -> _Result:
            desk.add_comment(key, text)
            if priority:
                desk.set_priority(key, priority)
            return _Result(outcome=f"commented on {key}")

        return _Work(
            request={
                "service": "jira",
                "ticket": key,
                "comment": text,
                "priority": priority,
            },
            reason="later evidence or a held action on an incident with a ticket",
            perform=perform,
        )

    def _ticket_action(self, session: Session, incident: Incident) -> Action | None:
        return session.scalars(
            select(Action).where(
                Action.incident_id == incident.id, Action.kind == "open_ticket"
            )
        ).one_or_none()

    def _ticket_pending(self, session: Session, incident: Incident) -> bool:
        opened = self._ticket_action(session, incident)
        return opened is not None and opened.status in ("planned", "failed", "held")

    def _defer(self, entry: OutboxEntry, now: datetime) -> str:
        entry.next_attempt_at = now + timedelta(seconds=self._limits.defer_s)
        return "deferred"

    def _settle(
        self, entry: OutboxEntry, action: Action, outcome: str, now: datetime
    ) -> str:
        action.status = "done"
        action.outcome = outcome
        action.updated_at = now
        entry.state = "done"
        return "done"

    # Recording the outcome.

    def _finish(
        self,
        entry_id: int,
        attempt_id: int,
        *,
        result: _Result | None,
        error: Exception | None,
    ) -> str:
        now = self._clock()
        with self._sessions() as session:
            entry = session.get(OutboxEntry, entry_id)
            attempt = session.get(ActionAttempt, attempt_id)
            assert entry is not None and attempt is not None
            action = session.get(Action, entry.action_id) if entry.action_id else None
            entry.claimed_until = None
            entry.updated_at = now
            attempt.finished_at = now
            if result is not None:
                attempt.ok = True
                attempt.outcome = result.outcome
                attempt.responses = result.responses
                entry.state = "done"
                entry.last_error = None
                if action is not None:
                    action.status = result.status
                    action.outcome = result.outcome
                    action.updated_at = now
                if result.ticket is not None:
                    incident = session.get(Incident, entry.incident_id)
                    if incident is not None:
                        incident.ticket_url = result.ticket.url
                label = result.status
                logger.info("outbox %s: %s", entry_id, result.outcome)
            else:
                label = self._failed(entry, action, attempt, error, now)
            session.commit()
        return label

    def _failed(
        self,
        entry: OutboxEntry,
        action: Action | None,
        attempt: ActionAttempt,
        error: Exception | None,
        now: datetime,
    ) -> str:
        message = str(error)
        attempt.ok = False
        attempt.outcome = message
        entry.last_error = message
        retryable = isinstance(error, ServiceError) and error.retryable
        if retryable and entry.attempts < self._limits.max_attempts:
            delay = min(
                self._limits.retry_base_s * (2 ** (entry.attempts - 1)),
                self._limits.retry_max_s,
            )
            entry.state = "pending"
            entry.next_attempt_at = now + timedelta(seconds=delay)
            outcome = (
                f"attempt {entry.attempts} failed: {message}; next try at "
                f"{zulu(entry.next_attempt_at)}"
            )
            label = "retrying"
        else:
            entry.state = "dead"
            why = (
                "refused"
                if not retryable
                else f"gave up after {entry.attempts} attempts"
            )
            outcome = f"failed ({why}): {message}"
            if action is not None:
                outcome += f"; `credwatch approve {action.id}` tries again"
            label = "failed"
        logger.warning("outbox %s %s: %s", entry.id, label, outcome)
        if action is not None:
            action.status = "failed"
            action.outcome = outcome
            action.updated_at = now
        return label


def _run_okta_calls(
    okta: OktaActions, calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = []
    for call in calls:
        method, path = str(call["method"]), str(call["path"])
        if "{" in path:
            raise _Skip(
                f"{path} names a value that is not configured (for require_mfa: the "
                "response policy's quarantine_group_id)"
            )
        params = {str(k): str(v) for k, v in (call.get("params") or {}).items()}
        try:
            responses.append(okta.call(method, path, params=params or None).as_audit())
        except OktaError as error:
            settled = _already_settled(okta, path, error)
            if settled is None:
                raise
            responses.append(
                {
                    "method": method,
                    "path": path,
                    "status": error.status,
                    "note": settled,
                }
            )
    return responses


def _already_settled(okta: OktaActions, path: str, error: OktaError) -> str | None:
    """A note when Okta refused only because the change had already been made."""
    for suffix, state in _SETTLED_STATES.items():
        if path.endswith(suffix) and error.error_code == "E0000001":
            user_id = path.split("/")[4]
            if okta.user_status(user_id) == state:
                return f"already {state}"
    if path.startswith("/api/v1/api-tokens/") and error.error_code == "E0000007":
        return "token already revoked"
    return None


def _ticket_key(incident: Incident) -> str | None:
    if not incident.ticket_url:
        return None
    return incident.ticket_url.rstrip("/").rsplit("/", 1)[-1]


def executor_for(
    settings: Any, *, sessions: sessionmaker[Session] | None = None
) -> Executor:
    """The executor wired to the services the settings configure."""
    from integrations.factory import (
        desk_from_settings,
        notifier_from_settings,
        okta_from_settings,
    )
    from response.flows import session_factory

    return Executor(
        sessions=sessions or session_factory(settings),
        okta=okta_from_settings(settings),
        desk=desk_from_settings(settings),
        notifier=notifier_from_settings(settings),
        limits=ExecutorLimits.from_settings(settings),
        default_assignee=settings.jira_default_assignee,
    )
