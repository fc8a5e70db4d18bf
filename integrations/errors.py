"""Errors of the outside-service clients.

Messages name the service, the call and what the service said (Okta's `errorCode`
and `errorSummary`, Jira's error collection); never a token, a key or a header.
"""

from __future__ import annotations

from credwatch.errors import IntegrationError


class ServiceError(IntegrationError):
    """A call to an outside service failed, after any retries.

    `retryable` says whether trying again later may succeed (time-outs, 5xx, rate
    limits) or whether a person must change something first (4xx).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class OktaError(ServiceError):
    """An Okta call that failed, with what Okta said about it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        error_code: str | None = None,
        error_summary: str | None = None,
        request_id: str | None = None,
        reset_in: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.error_code = error_code
        self.error_summary = error_summary
        self.request_id = request_id
        # Seconds until the rate-limit window resets (429 only).
        self.reset_in = reset_in


class NotConfigured(IntegrationError):
    """A service that is needed is not configured in the settings."""
