"""Every setting of credwatch, read from `CREDWATCH_*` environment variables.

Settings are built where they are needed (`get_settings()`), never at import time,
so tests and commands can point `CREDWATCH_HOME` anywhere before the first use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from credwatch.errors import SettingsError
from credwatch.secret_files import SecretFileSource


def _is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """credwatch configuration; see README "Settings" for each variable."""

    model_config = SettingsConfigDict(
        env_prefix="CREDWATCH_", env_file=".env", extra="ignore"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Secrets may also come from files named by CREDWATCH_<NAME>_FILE.
        return (
            init_settings,
            env_settings,
            SecretFileSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    home: Path = Field(default_factory=lambda: Path.home() / ".credwatch")
    map: Path | None = None
    database_url: str | None = None
    mlflow_uri: str | None = None
    response_mode: Literal["dry-run", "enforce"] = "dry-run"
    response_policy: Path | None = None
    model_name: str = "credwatch"

    okta_org_url: str | None = None
    okta_token: SecretStr | None = None
    okta_hook_secret: SecretStr | None = None
    okta_hook_header: str = "Authorization"
    # Okta auth: an API token (`ssws`), or an OAuth 2.0 service app (`oauth`)
    # signing private_key_jwt assertions; DPoP is used when the org demands it.
    okta_auth: Literal["ssws", "oauth"] = "ssws"
    okta_client_id: str | None = None
    okta_private_key_path: Path | None = None
    okta_private_key_id: str | None = None
    okta_scopes: str = (
        "okta.users.manage okta.groups.manage okta.apps.manage "
        "okta.apiTokens.manage okta.logs.read"
    )
    okta_dpop: Literal["auto", "always", "never"] = "auto"
    okta_timeout_s: float = Field(default=10.0, gt=0)
    okta_max_attempts: int = Field(default=5, ge=1)
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    jira_project: str = "SEC"
    jira_issue_type: str = "Task"
    jira_default_assignee: str | None = None
    # `auto` asks the server (serverInfo `deploymentType`).
    jira_deployment: Literal["auto", "cloud", "datacenter"] = "auto"
    jira_timeout_s: float = Field(default=15.0, gt=0)
    jira_max_retries: int = Field(default=3, ge=0)
    # Incoming webhook of the owners' channel; the URL itself is the secret.
    notify_webhook_url: SecretStr | None = None
    notify_style: Literal["slack", "teams", "pagerduty"] = "slack"
    notify_routing_key: SecretStr | None = None
    notify_timeout_s: float = Field(default=5.0, gt=0)
    # Circuit breaker: automated suspensions and revocations per hour, org-wide.
    breaker_max_per_hour: int = Field(default=20, ge=0)
    outbox_max_attempts: int = Field(default=10, ge=1)
    outbox_retry_base_s: float = Field(default=5.0, ge=0)
    outbox_retry_max_s: float = Field(default=900.0, ge=0)
    # How long a worker's claim on outside work holds; a process that died holding
    # one leaves it to others once it runs out.
    outbox_lease_s: float = Field(default=300.0, gt=0)
    watch_poll_interval_s: float = Field(default=10.0, ge=0)
    watch_page_limit: int = Field(default=1000, ge=1, le=1000)
    # Events and what was derived from them are purged once older than this many
    # days (credwatch/retention.py); 0 keeps everything.
    retention_days: float = Field(default=90.0, ge=0)
    retention_check_s: float = Field(default=3600.0, gt=0)
    # Processes `train` learns in; 0 picks one per core (up to four) for inputs of
    # 64 MB and more, and one for smaller ones (training/parallel.py).
    train_workers: int = Field(default=0, ge=0)
    # Analysts' verdicts from resolved Jira tickets (`credwatch feedback`): read from
    # the resolution's name, a label (`<prefix><verdict>`), or a custom field.
    jira_verdict_source: Literal["resolution", "label", "field"] = "resolution"
    jira_verdict_field: str | None = None
    jira_verdict_label_prefix: str = "verdict-"
    # Extra value -> verdict names (JSON), on top of the built-in ones.
    jira_verdict_values: dict[str, str] = Field(default_factory=dict)
    jira_feedback_page_size: int = Field(default=50, ge=1, le=100)
    # An "expected" verdict silences its pattern for this long; 0 turns that off.
    suppress_expected_hours: float = Field(default=168.0, ge=0)
    # Rules switched off or re-weighted in every model trained from now on.
    disabled_rules: str = ""
    rule_weights: dict[str, float] = Field(default_factory=dict)
    # Retraining: days of events read, of which the latest are "recent".
    retrain_days: int = Field(default=28, ge=2)
    retrain_recent_days: int = Field(default=7, ge=1)
    notion_token: SecretStr | None = None
    notion_database_id: str | None = None
    notion_url: str = "https://api.notion.com"
    notion_version: str = "2025-09-03"

    # The scoring service (serving/, docs/deploy.md).
    public_url: str | None = None
    api_max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    api_max_events: int = Field(default=1_000, ge=1)
    api_rate_per_minute: int = Field(default=600, ge=1)
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    hook_max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1_000)
    # A delivery claimed by a server that died is taken over after this long.
    hook_claim_timeout_s: float = Field(default=600.0, gt=0)
    idempotency_ttl_hours: float = Field(default=48.0, gt=0)
    model_check_seconds: float = Field(default=60.0, ge=0)

    @field_validator("home", mode="before")
    @classmethod
    def _home_given(cls, value: object) -> object:
        # An empty CREDWATCH_HOME would put the data in the working directory.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; unset it to use ~/.credwatch, or name a folder")
        return value

    @field_validator("home", "map", "okta_private_key_path")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        # A relative data folder would move with the working directory.
        return path.expanduser().resolve() if path is not None else None

    @field_validator("disabled_rules")
    @classmethod
    def _known_disabled_rules(cls, value: str) -> str:
        _check_rule_ids(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("rule_weights")
    @classmethod
    def _known_weighted_rules(cls, value: dict[str, float]) -> dict[str, float]:
        _check_rule_ids(value)
        return value

    @field_validator("okta_org_url", "jira_url", "notion_url")
    @classmethod
    def _https_unless_loopback(cls, url: str | None) -> str | None:
        if url and urlparse(url).scheme != "https" and not _is_loopback_url(url):
            raise ValueError(
                "the URL must use https:// (plain http is accepted only for loopback)"
            )
        return url

    @field_validator("notify_webhook_url")
    @classmethod
    def _secret_https_unless_loopback(cls, url: SecretStr | None) -> SecretStr | None:
        value = url.get_secret_value() if url else ""
        if value and urlparse(value).scheme != "https" and not _is_loopback_url(value):
            # The URL is a secret: the message must not repeat it.
            raise ValueError(
                "the notify webhook URL must use https:// (plain http is accepted "
                "only for loopback)"
            )
        return url

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'credwatch.db'}"

    @property
    def resolved_mlflow_uri(self) -> str:
        return self.mlflow_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def events_dir(self) -> Path:
        return self.home / "events"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def disabled_rule_set(self) -> frozenset[str]:
        return frozenset(
            name.strip() for name in self.disabled_rules.split(",") if name.strip()
        )

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def _check_rule_ids(names: Iterable[str]) -> None:
    # A misspelt rule id would otherwise switch nothing off, silently.
    wanted = set(names)
    if not wanted:
        return
    from models.rules import RULES_BY_ID

    unknown = sorted(wanted - RULES_BY_ID.keys())
    if unknown:
        raise ValueError(
            f"unknown rule ids {', '.join(unknown)}; the rules are "
            f"{', '.join(sorted(RULES_BY_ID))}"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from None
    except SourceError as exc:
        # A value meant as JSON (a mapping or list setting) that does not parse.
        field = _FIELD_IN_MESSAGE.search(str(exc))
        name = f"CREDWATCH_{field.group(1).upper()}" if field else "a variable"
        raise SettingsError(f"{name}: not valid JSON") from None


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad variable, named as the user set it.

    The value given is repeated to help find the typo, except for secrets.
    """
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"CREDWATCH_{field.upper()}"
        if field in _SECRET_FIELDS:
            lines.append(f"{variable}: {error['msg']}")
        else:
            given = redact_passwords(repr(error.get("input")))
            lines.append(f"{variable}={given}: {error['msg']}")
    return "; ".join(lines)


_FIELD_IN_MESSAGE = re.compile(r'field "(\w+)"')
# The password of a URL's user info: `scheme://user:password@host`.
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^/\s@]+@")


def redact_passwords(text: str) -> str:
    """The text with passwords written into URLs replaced by `***`."""
    return _URL_PASSWORD.sub(r"\1***@", text)


_SECRET_FIELDS = frozenset(
    name
    for name, info in Settings.model_fields.items()
    if "SecretStr" in str(info.annotation)
)
