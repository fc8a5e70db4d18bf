"""Incident tickets: the `TicketDesk` interface, Jira through the `jira` package, and
the embedded default that keeps incidents in the local database only.

The Jira client is built on first use (its constructor already calls `serverInfo`),
always with a time-out and a bounded retry count. It speaks REST v2 on Cloud and
Data Center alike, so descriptions and comments are plain text on both; only the
assignee differs (`accountId` on Cloud, user `name` on Data Center), decided by the
setting or by `serverInfo.deploymentType`.

Every ticket carries the label `credwatch-incident-<id>`. Before opening one the
desk searches for that label, so a retry after a crash between "Jira created the
issue" and "credwatch recorded it" finds the ticket instead of opening a second.

A field Jira refuses (not on the create screen, an unknown priority or assignee)
does not lose the ticket: the field is left out, the ticket is opened, and a
comment says what was left out and why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import SecretStr

from integrations.errors import ServiceError

logger = logging.getLogger(__name__)

Deployment = Literal["auto", "cloud", "datacenter"]
PriorityLevel = Literal["normal", "urgent", "critical"]

DEFAULT_PRIORITY_NAMES: dict[str, str] = {
    "normal": "Medium",
    "urgent": "High",
    "critical": "Highest",
}
# Fields a ticket can do without; Jira refusing one of these does not stop it.
OPTIONAL_FIELDS = ("priority", "assignee", "labels")


class JiraError(ServiceError):
    """A Jira call that failed, with Jira's own error messages."""


@dataclass(frozen=True)
class TicketDraft:
    """Everything a new ticket holds."""

    summary: str
    description: str
    priority: PriorityLevel
    label: str
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None


@dataclass(frozen=True)
class TicketRef:
    key: str
    url: str
    # Fields left out because Jira refused them, with Jira's reason.
    dropped: dict[str, str] = field(default_factory=dict)


class TicketDesk(Protocol):
    """Where incident tickets are opened and kept up to date."""

    @property
    def configured(self) -> bool:
        """False for the embedded default, which keeps incidents local."""
        ...

    def find_ticket(self, label: str) -> TicketRef | None: ...

    def open_ticket(self, draft: TicketDraft) -> TicketRef: ...

    def add_comment(self, key: str, text: str) -> None: ...

    def set_priority(self, key: str, level: PriorityLevel) -> None: ...


class LocalDesk:
    """No Jira configured: incidents stay in the local database (API and CLI)."""

    configured = False

    def find_ticket(self, label: str) -> TicketRef | None:
        return None

    def open_ticket(self, draft: TicketDraft) -> TicketRef:
        raise ServiceError("no ticket system is configured")

    def add_comment(self, key: str, text: str) -> None:
        raise ServiceError("no ticket system is configured")

    def set_priority(self, key: str, level: PriorityLevel) -> None:
        raise ServiceError("no ticket system is configured")


class JiraTicketDesk:
    """Tickets in one Jira project, Cloud or Data Center."""

    configured = True

    def __init__(
        self,
        *,
        url: str,
        user: str | None,
        token: SecretStr,
        project: str,
        issue_type: str,
        deployment: Deployment = "auto",
        timeout: float = 15.0,
        max_retries: int = 3,
        priority_names: dict[str, str] | None = None,
        client_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._user = user
        self._token = token
        self._project = project
        self._issue_type = issue_type
        self._deployment = deployment
        self._timeout = timeout
        self._max_retries = max_retries
        self._priority_names = {**DEFAULT_PRIORITY_NAMES, **(priority_names or {})}
        self._client_factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JiraTicketDesk(url={self.url!r}, project={self._project!r})"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    @property
    def is_cloud(self) -> bool:
        if self._deployment != "auto":
            return self._deployment == "cloud"
        return getattr(self._jira(), "deploymentType", None) == "Cloud"

    def find_ticket(self, label: str) -> TicketRef | None:
        jql = f'project = "{self._project}" AND labels = "{label}" ORDER BY created ASC'
        found = self._call(
            "search", lambda jira: jira.search_issues(jql, maxResults=1, fields="key")
        )
        for issue in found:
            return TicketRef(key=issue.key, url=self.browse_url(issue.key))
        return None

    def open_ticket(self, draft: TicketDraft) -> TicketRef:
        fields = self._fields(draft)
        dropped: dict[str, str] = {}
        while True:
            try:
                issue = self._call(
                    "create issue",
                    lambda jira: jira.create_issue(fields=dict(fields), prefetch=False),
                )
                break
            except JiraError as error:
                refused = [
                    name
                    for name in getattr(error, "field_errors", {})
                    if name in OPTIONAL_FIELDS and name in fields
                ]
                if error.status != 400 or not refused:
                    raise
                for name in refused:
                    dropped[name] = error.field_errors[name]
                    fields.pop(name)
                logger.warning(
                    "Jira refused %s on the new ticket; opening it without",
                    ", ".join(refused),
                )
        ref = TicketRef(key=issue.key, url=self.browse_url(issue.key), dropped=dropped)
        if dropped:
            note = "; ".join(f"{name}: {reason}" for name, reason in dropped.items())
            self.add_comment(
                ref.key,
                "credwatch could not set these fields, Jira refused them "
                f"(set them by hand): {note}",
            )
        return ref

    def add_comment(self, key: str, text: str) -> None:
        self._call("add comment", lambda jira: jira.add_comment(key, text))

    def set_priority(self, key: str, level: PriorityLevel) -> None:
        name = self._priority_names[level]

        def update(jira: Any) -> None:
            issue = jira.issue(key, fields="priority")
            issue.update(fields={"priority": {"name": name}}, notify=False)

        self._call("set priority", update)

    def _fields(self, draft: TicketDraft) -> dict[str, Any]:
        fields: dict[str, Any] = {
            # Dicts, not bare names, so `jira` sends one POST without lookups.
            "project": {"key": self._project},
            "issuetype": {"name": self._issue_type},
            "summary": draft.summary[:250],
            "description": draft.description,
            "labels": [draft.label, *draft.labels],
            "priority": {"name": self._priority_names[draft.priority]},
        }
        if draft.assignee:
            fields["assignee"] = (
                {"accountId": draft.assignee}
                if self.is_cloud
                else {"name": draft.assignee}
            )
        return fields

    def _jira(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        return connect_jira(
            url=self.url, user=self._user, token=self._token, timeout=self._timeout,
            max_retries=self._max_retries, factory=self._client_factory,
        )

    def _call(self, what: str, work: Callable[[Any], Any]) -> Any:
        jira = self._jira()
        try:
            return work(jira)
        except Exception as exc:
            raise as_jira_error(what, exc) from None


def connect_jira(
    *,
    url: str,
    user: str | None,
    token: SecretStr,
    timeout: float,
    max_retries: int,
    factory: Callable[..., Any] | None = None,
) -> Any:
    """A `jira.JIRA` client: Basic auth with a user (Cloud), a PAT without one (Data
    Center). The constructor asks `serverInfo`, whose `deploymentType` decides
    which search endpoint the client uses."""
    if factory is None:
        from jira import JIRA

        factory = JIRA
    secret = token.get_secret_value()
    auth: dict[str, Any] = (
        {"basic_auth": (user, secret)} if user else {"token_auth": secret}
    )
    try:
        return factory(
            server=url,
            timeout=timeout,
            max_retries=max_retries,
            get_server_info=True,
            **auth,
        )
    except Exception as exc:  # the constructor's own call to serverInfo
        raise as_jira_error("connect", exc) from None


def as_jira_error(what: str, exc: Exception) -> JiraError:
    """A `JiraError` naming what failed and Jira's messages, never credentials."""
    import requests
    from jira.exceptions import JIRAError

    if isinstance(exc, JIRAError):
        status = exc.status_code
        messages, field_errors = _messages(exc)
        said = "; ".join(messages) or "no message"
        error = JiraError(
            f"Jira {what} failed: HTTP {status}: {said}"[:600],
            status=status,
            retryable=status is None or status == 429 or status >= 500,
        )
        error.field_errors = field_errors  # type: ignore[attr-defined]
        return error
    if isinstance(exc, requests.Timeout):
        return JiraError(f"Jira {what} timed out", retryable=True)
    if isinstance(exc, requests.RequestException):
        return JiraError(f"Jira {what} failed: {type(exc).__name__}", retryable=True)
    if isinstance(exc, JiraError):
        return exc
    return JiraError(f"Jira {what} failed: {type(exc).__name__}", retryable=False)


def _messages(exc: Any) -> tuple[list[str], dict[str, str]]:
    field_errors: dict[str, str] = {}
    messages: list[str] = []
    response = getattr(exc, "response", None)
    body: Any = None
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, dict):
        messages.extend(str(item) for item in body.get("errorMessages") or [])
        errors = body.get("errors") or {}
        if isinstance(errors, dict):
            field_errors = {str(k): str(v) for k, v in errors.items()}
            messages.extend(f"{k}: {v}" for k, v in field_errors.items())
    if not messages and getattr(exc, "text", None):
        messages.append(str(exc.text)[:300])
    return messages, field_errors
