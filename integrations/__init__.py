"""Clients of the outside services credwatch talks to, each behind a small interface.

- `integrations.okta`: the Okta Management API over httpx (actions, System Log).
- `integrations.okta_auth`: how those requests authenticate (SSWS or OAuth service app).
- `integrations.jira_tickets`: incident tickets through the `jira` package.
- `integrations.webhook`: owner notifications to a Slack, Teams or PagerDuty webhook.
- `integrations.factory`: the real client when a service is configured, else the
  embedded default.

Nothing is imported here, so using one client does not load the others.
"""
