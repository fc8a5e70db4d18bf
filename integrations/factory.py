"""Each outside service from the settings: the real client when configured, else the
embedded default (design.md "Outside services: real clients, local defaults")."""

from __future__ import annotations

import logging

import httpx

from credwatch.settings import Settings
from integrations.errors import NotConfigured
from integrations.jira_tickets import JiraTicketDesk, LocalDesk, TicketDesk
from integrations.okta import OktaClient, RetryPolicy, make_http_client
from integrations.okta_auth import OktaAuth, ServiceAppAuth, SswsAuth, load_private_key
from integrations.webhook import LocalNotifier, Notifier, WebhookNotifier

logger = logging.getLogger(__name__)


def okta_configured(settings: Settings) -> bool:
    return bool(settings.okta_org_url)


def okta_from_settings(
    settings: Settings, *, retry: RetryPolicy | None = None
) -> OktaClient | None:
    """The Okta client, or None when no org is configured."""
    if not settings.okta_org_url:
        return None
    http = make_http_client(timeout=settings.okta_timeout_s)
    auth = _okta_auth(settings, http)
    return OktaClient(
        org_url=settings.okta_org_url,
        auth=auth,
        http=http,
        retry=retry or RetryPolicy(attempts=settings.okta_max_attempts),
    )


def _okta_auth(settings: Settings, http: httpx.Client) -> OktaAuth:
    if settings.okta_auth == "ssws":
        if settings.okta_token is None:
            raise NotConfigured(
                "CREDWATCH_OKTA_ORG_URL is set but CREDWATCH_OKTA_TOKEN is not "
                "(or set CREDWATCH_OKTA_AUTH=oauth for a service app)"
            )
        return SswsAuth(token=settings.okta_token)
    if not settings.okta_client_id or not settings.okta_private_key_path:
        raise NotConfigured(
            "CREDWATCH_OKTA_AUTH=oauth needs CREDWATCH_OKTA_CLIENT_ID and "
            "CREDWATCH_OKTA_PRIVATE_KEY_PATH"
        )
    return ServiceAppAuth(
        org_url=str(settings.okta_org_url),
        client_id=settings.okta_client_id,
        private_key=load_private_key(settings.okta_private_key_path),
        key_id=settings.okta_private_key_id,
        scopes=settings.okta_scopes.split(),
        http=http,
        dpop=settings.okta_dpop,
    )


def desk_from_settings(settings: Settings) -> TicketDesk:
    """Jira when its URL and token are set; otherwise incidents stay local."""
    if not settings.jira_url:
        return LocalDesk()
    if settings.jira_token is None:
        raise NotConfigured("CREDWATCH_JIRA_URL is set but CREDWATCH_JIRA_TOKEN is not")
    return JiraTicketDesk(
        url=settings.jira_url,
        user=settings.jira_user,
        token=settings.jira_token,
        project=settings.jira_project,
        issue_type=settings.jira_issue_type,
        deployment=settings.jira_deployment,
        timeout=settings.jira_timeout_s,
        max_retries=settings.jira_max_retries,
    )


def notifier_from_settings(settings: Settings) -> Notifier:
    if settings.notify_webhook_url is None:
        return LocalNotifier()
    return WebhookNotifier(
        url=settings.notify_webhook_url,
        style=settings.notify_style,
        routing_key=settings.notify_routing_key,
        timeout=settings.notify_timeout_s,
    )
