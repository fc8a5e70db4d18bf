"""Fixed vocabulary of the simulation: event types, applications, user agents.

Display messages and legacy event types follow what Okta writes (the public samples
and the event-type catalogue); where Okta writes no legacy type, or it is not known
for certain, it is left null, as Identity Engine orgs often leave it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EventKind:
    """How Okta labels one event type: message, and legacy type by outcome."""

    display: str
    legacy_success: str | None = None
    legacy_failure: str | None = None


EVENT_KINDS: dict[str, EventKind] = {
    "policy.evaluate_sign_on": EventKind("Evaluation of sign-on policy"),
    "user.session.start": EventKind(
        "User login to Okta",
        "core.user_auth.login_success",
        "core.user_auth.login_failed",
    ),
    "user.session.end": EventKind(
        "User logout from Okta", "core.user_auth.logout_success"
    ),
    "user.authentication.auth_via_mfa": EventKind(
        "Authentication of user via MFA",
        "core.user.factor.attempt_success",
        "core.user.factor.attempt_fail",
    ),
    "system.push.send_factor_verify_push": EventKind(
        "A push was sent to a user for verification"
    ),
    "user.authentication.sso": EventKind(
        "User single sign on to app", "app.auth.sso", "app.auth.sso"
    ),
    "app.oauth2.as.token.grant.access_token": EventKind(
        "OAuth 2.0 access token is granted",
        "app.oauth2.as.token.grant.access_token_success",
    ),
    "user.lifecycle.create": EventKind(
        "Create Okta user", "core.user.config.user_creation.success"
    ),
    "user.lifecycle.activate": EventKind(
        "Activate Okta user", "core.user.config.user_activated"
    ),
    "user.lifecycle.deactivate": EventKind(
        "Deactivate Okta user", "core.user.config.user_deactivated"
    ),
    "user.account.update_profile": EventKind(
        "Update user profile for Okta", "core.user.config.profile_update.success"
    ),
    "group.user_membership.add": EventKind(
        "Add user to group membership", "core.user_group_member.user_add"
    ),
    "group.user_membership.remove": EventKind(
        "Remove user from group membership", "core.user_group_member.user_remove"
    ),
    "application.user_membership.add": EventKind("Add user to application membership"),
    "user.account.reset_password": EventKind("Reset password for Okta user"),
    "user.account.unlock_by_admin": EventKind("User account unlock by admin"),
    "system.org.rate_limit.warning": EventKind(
        "Rate limit warning", "core.framework.ratelimit.warning"
    ),
    "system.org.rate_limit.violation": EventKind(
        "Rate limit violation", "core.framework.ratelimit.exceeded"
    ),
    "app.oauth2.client.read_client_secret": EventKind("Read OAuth client secret"),
    "security.threat.detected": EventKind(
        "Request from suspicious actor", "security.threat.detected"
    ),
}


@dataclass(frozen=True, slots=True)
class App:
    """An application people sign in to through Okta."""

    key: str  # the app name in SSO URLs, e.g. /app/slack/<id>/sso/saml
    label: str
    sign_on_mode: str  # SAML_2_0 or OPENID_CONNECT
    weight: float  # how often a typical person opens it


APPS: tuple[App, ...] = (
    App("slack", "Slack", "SAML_2_0", 5.0),
    App("google", "Google Workspace", "SAML_2_0", 5.0),
    App("atlassian", "Atlassian Cloud", "SAML_2_0", 3.0),
    App("zoomus", "Zoom", "SAML_2_0", 2.0),
    App("githubent", "GitHub Enterprise Cloud", "SAML_2_0", 3.0),
    App("salesforce", "Salesforce", "SAML_2_0", 3.0),
    App("workday", "Workday", "SAML_2_0", 0.7),
    App("amazon_aws_sso", "AWS IAM Identity Center", "SAML_2_0", 2.0),
    App("boxnet", "Box", "SAML_2_0", 1.0),
    App("figma", "Figma", "SAML_2_0", 1.0),
    App("datadog", "Datadog", "SAML_2_0", 1.5),
    App("snowflake", "Snowflake", "SAML_2_0", 1.0),
    App("zendesk", "Zendesk", "SAML_2_0", 1.5),
    App("servicenow_ud", "ServiceNow", "SAML_2_0", 1.0),
    App("oidc_client", "Expense Portal", "OPENID_CONNECT", 0.5),
)
DASHBOARD = App("okta_enduser", "Okta Dashboard", "OPENID_CONNECT", 0.0)


@dataclass(frozen=True, slots=True)
class UserAgent:
    """A client as Okta parses it into `client.userAgent` and `client.device`."""

    raw: str
    os: str = "Unknown"
    browser: str = "UNKNOWN"
    device: str = "Unknown"
    _dict: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        if not self._dict:
            self._dict.update(rawUserAgent=self.raw, os=self.os, browser=self.browser)
        return self._dict


_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_WIN = "Windows NT 10.0; Win64; x64"


def chrome(platform: str, version: int) -> UserAgent:
    os_name = {"mac": "Mac OS X", "win": "Windows 10", "linux": "Linux"}[platform]
    host = {"mac": _MAC, "win": _WIN, "linux": "X11; Linux x86_64"}[platform]
    raw = (
        f"Mozilla/5.0 ({host}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version}.0.0.0 Safari/537.36"
    )
    return UserAgent(raw, os_name, "CHROME", "Computer")


def firefox(platform: str, version: int) -> UserAgent:
    os_name = {"mac": "Mac OS X", "win": "Windows 10", "linux": "Linux"}[platform]
    host = {
        "mac": "Macintosh; Intel Mac OS X 10.15",
        "win": _WIN,
        "linux": "X11; Ubuntu; Linux x86_64",
    }[platform]
    raw = f"Mozilla/5.0 ({host}; rv:{version}.0) Gecko/20100101 Firefox/{version}.0"
    return UserAgent(raw, os_name, "FIREFOX", "Computer")


def safari(version: str) -> UserAgent:
    raw = (
        f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/{version} Safari/605.1.15"
    )
    return UserAgent(raw, "Mac OS X", "SAFARI", "Computer")


def iphone(version: str) -> UserAgent:
    ios = version.replace(".", "_")
    raw = (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
    )
    return UserAgent(raw, "iOS", "SAFARI", "Mobile")


def android(model: str, version: int) -> UserAgent:
    raw = (
        f"Mozilla/5.0 (Linux; Android 14; {model}) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{version}.0.0.0 Mobile Safari/537.36"
    )
    return UserAgent(raw, "Android", "CHROME", "Mobile")


# Current browser versions at the default start date (early 2026).
CHROME_VERSION = 145
FIREFOX_VERSION = 147
SAFARI_VERSION = "18.3"

# Automation clients agents run, each with the version an upgrade moves it to.
AGENT_CLIENTS: tuple[tuple[str, str], ...] = (
    ("python-requests/2.31.0", "python-requests/2.32.3"),
    (
        "okta-sdk-python/2.9.2 python/3.11.6 Linux/6.1.0-1019-aws",
        "okta-sdk-python/2.9.8 python/3.12.3 Linux/6.1.0-1025-aws",
    ),
    ("Go-http-client/2.0", "Go-http-client/2.0 okta-agent/1.4.0"),
    (
        "okta-sdk-golang/2.20.0 golang/go1.21.5 linux/amd64",
        "okta-sdk-golang/5.0.2 golang/go1.22.4 linux/amd64",
    ),
    (
        "okta-sdk-nodejs/7.0.1 node/20.10.0 linux/x64",
        "okta-sdk-nodejs/7.1.1 node/22.11.0 linux/x64",
    ),
    ("axios/1.6.2", "axios/1.7.9"),
    ("python-httpx/0.27.0", "python-httpx/0.28.1"),
    ("Python/3.11 aiohttp/3.9.1", "Python/3.12 aiohttp/3.10.5"),
    (
        "okta-sdk-java/8.2.3 java/17.0.9 Linux/5.15.0-1051-azure",
        "okta-sdk-java/16.0.0 java/21.0.2 Linux/5.15.0-1064-azure",
    ),
)
# Interactive service accounts drive a headless browser or an HTTP client.
HEADLESS = UserAgent(
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.6778.33 Safari/537.36",
    "Linux",
    "CHROME",
    "Computer",
)

# What a person pokes an API with when they borrow an agent's credential.
HUMAN_TOOLS: tuple[UserAgent, ...] = (
    UserAgent("curl/8.5.0"),
    UserAgent("PostmanRuntime/7.36.3"),
    UserAgent("insomnia/8.6.1"),
    chrome("mac", CHROME_VERSION),
    firefox("win", FIREFOX_VERSION),
)

# Clients seen from stolen credentials.
ATTACKER_TOOLS: tuple[UserAgent, ...] = (
    UserAgent("python-requests/2.28.1"),
    UserAgent("Go-http-client/1.1"),
    UserAgent("curl/7.88.1"),
    UserAgent("Python/3.10 aiohttp/3.8.4"),
)
ATTACKER_BROWSERS: tuple[UserAgent, ...] = (
    chrome("win", 120),
    firefox("linux", 115),
    chrome("linux", 122),
    firefox("win", 121),
)

# Okta API routes and the event each management call writes, for API-token agents.
# Okta logs writes; plain reads (GET) leave no System Log event.
MANAGEMENT_OPS: dict[str, tuple[str, str]] = {
    "create_user": ("user.lifecycle.create", "/api/v1/users"),
    "activate_user": (
        "user.lifecycle.activate",
        "/api/v1/users/{user}/lifecycle/activate",
    ),
    "deactivate_user": (
        "user.lifecycle.deactivate",
        "/api/v1/users/{user}/lifecycle/deactivate",
    ),
    "update_profile": ("user.account.update_profile", "/api/v1/users/{user}"),
    "add_to_group": (
        "group.user_membership.add",
        "/api/v1/groups/{group}/users/{user}",
    ),
    "remove_from_group": (
        "group.user_membership.remove",
        "/api/v1/groups/{group}/users/{user}",
    ),
    "assign_app": ("application.user_membership.add", "/api/v1/apps/{app}/users"),
    "reset_password": (
        "user.account.reset_password",
        "/api/v1/users/{user}/lifecycle/reset_password",
    ),
    "unlock_user": (
        "user.account.unlock_by_admin",
        "/api/v1/users/{user}/lifecycle/unlock",
    ),
}

# Jobs API-token agents do: operation weights, and the endpoint globs declared.
AGENT_JOBS: dict[str, tuple[dict[str, float], tuple[str, ...]]] = {
    "provisioning": (
        {
            "create_user": 0.08,
            "activate_user": 0.07,
            "update_profile": 0.5,
            "add_to_group": 0.2,
            "remove_from_group": 0.1,
            "deactivate_user": 0.05,
        },
        ("/api/v1/users*", "/api/v1/groups/*/users/*"),
    ),
    "access-sync": (
        {"add_to_group": 0.45, "remove_from_group": 0.35, "assign_app": 0.2},
        ("/api/v1/groups/*/users/*", "/api/v1/apps/*/users"),
    ),
    "helpdesk": (
        {"reset_password": 0.3, "unlock_user": 0.3, "update_profile": 0.4},
        ("/api/v1/users/*",),
    ),
}

GROUPS: tuple[str, ...] = (
    "Engineering",
    "Sales",
    "Finance",
    "People Ops",
    "Support",
    "Contractors",
    "AWS-ReadOnly",
    "Github-Org-Members",
    "VPN-Users",
    "Marketing",
)
