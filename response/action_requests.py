"""The requests each action would send, recorded in the audit trail.

In dry-run this is the whole point of the record: an analyst reads exactly which
Okta Management API calls, ticket and notification enforcement would have made.
Paths are those of the Okta Management API; `{...}` marks a value credwatch does
not know yet (for example a quarantine group that is not configured).
"""

from __future__ import annotations

from typing import Any

from response.targets import Target

UNCONFIGURED_GROUP = "{quarantine_group_id}"


def _call(method: str, path: str, **params: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"method": method, "path": path}
    if params:
        call["params"] = params
    return call


def okta_request(target: Target, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"service": "okta", "target": target.as_request(), "calls": calls}


def clear_sessions(target: Target) -> dict[str, Any]:
    """End the user's Okta sessions and revoke the OAuth tokens issued in them.

    A stolen refresh token outlives a cleared session, so clearing sessions
    without it would leave the thief signed in to the apps.
    """
    return okta_request(
        target,
        [_call("DELETE", f"/api/v1/users/{target.id}/sessions", oauthTokens="true")],
    )


def require_mfa(target: Target, *, quarantine_group_id: str | None) -> dict[str, Any]:
    """Put the user in the quarantine group, whose sign-on policy demands MFA."""
    group = quarantine_group_id or UNCONFIGURED_GROUP
    request = okta_request(
        target, [_call("PUT", f"/api/v1/groups/{group}/users/{target.id}")]
    )
    # Kept so the release undoes exactly this membership, even if the setting changes.
    request["group_id"] = group
    return request


def remove_quarantine(target: Target, *, group_id: str) -> dict[str, Any]:
    request = okta_request(
        target, [_call("DELETE", f"/api/v1/groups/{group_id}/users/{target.id}")]
    )
    request["group_id"] = group_id
    return request


def revoke_tokens(target: Target) -> dict[str, Any]:
    """Revoke what lets the credential act without signing in again."""
    if target.type == "oauth_app":
        calls = [_call("DELETE", f"/api/v1/apps/{target.id}/tokens")]
    else:
        calls = [
            _call("DELETE", f"/api/v1/users/{target.id}/grants"),
            _call("DELETE", f"/api/v1/users/{target.id}/sessions", oauthTokens="true"),
            *(
                _call("DELETE", f"/api/v1/api-tokens/{token}")
                for token in target.api_token_ids
            ),
        ]
    return okta_request(target, calls)


def suspend(target: Target) -> dict[str, Any]:
    return okta_request(
        target, [_call("POST", f"/api/v1/users/{target.id}/lifecycle/suspend")]
    )


def unsuspend(target: Target) -> dict[str, Any]:
    return okta_request(
        target, [_call("POST", f"/api/v1/users/{target.id}/lifecycle/unsuspend")]
    )


def deactivate_app(target: Target) -> dict[str, Any]:
    return okta_request(
        target, [_call("POST", f"/api/v1/apps/{target.id}/lifecycle/deactivate")]
    )


def activate_app(target: Target) -> dict[str, Any]:
    return okta_request(
        target, [_call("POST", f"/api/v1/apps/{target.id}/lifecycle/activate")]
    )


def open_ticket(
    target: Target,
    *,
    tier: str,
    priority: str,
    summary: str,
    withheld: list[str],
) -> dict[str, Any]:
    return {
        "service": "jira",
        "target": target.as_request(),
        "priority": priority,
        "summary": summary,
        "assignee": target.jira_assignee,
        "owner": target.owner,
        "labels": ["credwatch", f"tier-{tier}"],
        "withheld_actions": withheld,
    }


def escalate_ticket(target: Target, *, priority: str, previous: str) -> dict[str, Any]:
    return {
        "service": "jira",
        "target": target.as_request(),
        "priority": priority,
        "previous_priority": previous,
    }


def notify_owner(target: Target, *, tier: str, summary: str) -> dict[str, Any]:
    # The webhook URL is a secret of the settings; the record names only the channel.
    return {
        "service": "owner-webhook",
        "target": target.as_request(),
        "owner": target.owner,
        "tier": tier,
        "text": summary,
    }


def record(target: Target) -> dict[str, Any]:
    return {"service": "none", "target": target.as_request()}
