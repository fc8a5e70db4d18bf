"""Owner notifications through an incoming webhook (Slack, Teams or PagerDuty style).

The webhook URL is a secret (whoever has it can post to the channel), so it is a
`SecretStr` in the settings and never appears in a log line or an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
from pydantic import SecretStr

from integrations.errors import ServiceError

logger = logging.getLogger(__name__)

Style = Literal["slack", "teams", "pagerduty"]


@dataclass(frozen=True)
class Notice:
    """One notification: what happened, to whom, and where the ticket is."""

    title: str
    text: str
    severity: str
    dedup_key: str
    link: str | None = None
    owner: str | None = None


class Notifier(Protocol):
    @property
    def configured(self) -> bool: ...

    def notify(self, notice: Notice) -> str:
        """Send the notice; returns a short description of what was done."""
        ...


def _slack_text(text: str) -> str:
    """Slack's escaping of text: &, < and > as entities (its links and mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _HideUrl(logging.Filter):
    """Replaces a secret URL in the log records of the HTTP client.

    httpx logs every request's URL at INFO; for an incoming webhook the URL is
    the secret itself.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.url in message:
            record.msg = message.replace(self.url, "<owner webhook URL>")
            record.args = ()
        return True


_hidden_urls: set[str] = set()


def hide_in_http_logs(url: str) -> None:
    """Keep `url` out of what httpx and httpcore log, from now on."""
    if not url or url in _hidden_urls:
        return
    _hidden_urls.add(url)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).addFilter(_HideUrl(url))


class LocalNotifier:
    """No webhook configured: the notice is logged and kept in the audit trail only."""

    configured = False

    def notify(self, notice: Notice) -> str:
        logger.warning("no owner webhook configured: %s", notice.title)
        return "no owner webhook configured: notice kept in the audit trail only"


class WebhookNotifier:
    """Posts to an incoming webhook in the payload shape its service expects."""

    configured = True

    def __init__(
        self,
        *,
        url: SecretStr,
        style: Style = "slack",
        routing_key: SecretStr | None = None,
        timeout: float = 5.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._url = url
        self._style = style
        self._routing_key = routing_key
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        hide_in_http_logs(url.get_secret_value())

    def __repr__(self) -> str:
        return f"WebhookNotifier(style={self._style!r}, url=***)"

    def close(self) -> None:
        self._http.close()

    def notify(self, notice: Notice) -> str:
        payload = self._payload(notice)
        try:
            response = self._http.post(self._url.get_secret_value(), json=payload)
        except httpx.TimeoutException:
            raise ServiceError(
                f"{self._style} webhook timed out", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise ServiceError(
                f"{self._style} webhook failed: {type(exc).__name__}", retryable=True
            ) from None
        if not response.is_success:
            status = response.status_code
            raise ServiceError(
                f"{self._style} webhook refused the notice: HTTP {status}",
                status=status,
                retryable=status == 429 or status >= 500,
            )
        return (
            f"notified through the {self._style} webhook (HTTP {response.status_code})"
        )

    def _payload(self, notice: Notice) -> dict[str, Any]:
        link = (
            f"\n{notice.link}"
            if notice.link
            else "\n(no ticket link: Jira is not configured)"
        )
        if self._style == "slack":
            # The notice quotes events; escaped, nothing in them becomes a link
            # or an @channel mention in the owners' channel.
            return {"text": f"*{_slack_text(notice.title)}*\n{_slack_text(notice.text)}{link}"}
        if self._style == "teams":
            card: dict[str, Any] = {
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": notice.title,
                "themeColor": "D70000",
                "title": notice.title,
                "text": notice.text,
            }
            if notice.link:
                card["potentialAction"] = [
                    {
                        "@type": "OpenUri",
                        "name": "Open the ticket",
                        "targets": [{"os": "default", "uri": notice.link}],
                    }
                ]
            return card
        event: dict[str, Any] = {
            "routing_key": self._routing_key.get_secret_value()
            if self._routing_key
            else "",
            "event_action": "trigger",
            "dedup_key": notice.dedup_key,
            "payload": {
                "summary": notice.title[:1024],
                "source": "credwatch",
                "severity": "critical" if notice.severity == "critical" else "error",
                "custom_details": {"text": notice.text, "owner": notice.owner},
            },
        }
        if notice.link:
            event["links"] = [{"href": notice.link, "text": "Incident ticket"}]
        return event
