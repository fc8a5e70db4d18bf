"""The Okta Management API over httpx: containment actions and the System Log.

Every call:

- has a time-out (connect, read, write and pool, from the settings);
- on HTTP 429 waits until `X-Rate-Limit-Reset` (measured against the response's
  own `Date`, so a skewed local clock does not matter) and tries again;
- on 5xx, time-outs and dropped connections backs off exponentially (tenacity)
  and tries again, a bounded number of times;
- on failure raises `OktaError` carrying Okta's `errorCode`, `errorSummary` and
  request id, and whether a later retry may succeed.

`OktaActions` is the interface the response executor needs; `OktaClient` is the
real implementation. Without an Okta org configured the executor records actions
instead (see `response.executor`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from integrations.errors import OktaError
from integrations.okta_auth import OktaAuth

logger = logging.getLogger(__name__)

USER_AGENT = "credwatch/0.1"
# Okta's largest System Log page.
MAX_LOG_PAGE = 1000

_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([A-Za-z]+)"?')


@dataclass(frozen=True)
class CallResult:
    """One successful Okta call: enough for the audit trail."""

    method: str
    path: str
    status: int
    request_id: str | None
    body: Any = None

    def as_audit(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "okta_request_id": self.request_id,
        }


@dataclass(frozen=True)
class LogPage:
    """One page of the System Log and the link to the page after it."""

    events: list[dict[str, Any]]
    raw: bytes
    url: str
    next_url: str | None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, back-off bounds, the longest 429 wait."""

    attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    rate_limit_max_wait: float = 60.0


class OktaActions(Protocol):
    """What the response executor asks of Okta."""

    def call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> CallResult:
        """Send one Management API request (path below the org URL)."""
        ...

    def user_status(self, user_id: str) -> str | None:
        """The user's lifecycle status (`ACTIVE`, `SUSPENDED`, ...)."""
        ...


class LogSource(Protocol):
    """What the System Log poller asks of Okta."""

    def logs_page(
        self, *, url: str | None = None, since: datetime | None = None, limit: int
    ) -> LogPage:
        """One polling page: from `since` when `url` is None, else the given link."""
        ...


@dataclass
class _Sleeper:
    sleep: Callable[[float], None] = time.sleep
    waited: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)
        self.sleep(seconds)


class OktaClient:
    """A client of one Okta org's Management API."""

    def __init__(
        self,
        *,
        org_url: str,
        auth: OktaAuth,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self._auth = auth
        self._retry = retry
        self._http = http or make_http_client(timeout=timeout)
        self._sleep = _Sleeper(sleep)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OktaClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # The actions, one Okta endpoint each (api-contracts section 1.4).

    def clear_sessions(self, user_id: str, *, oauth_tokens: bool = True) -> CallResult:
        """End the user's Okta sessions, and with `oauth_tokens` their OAuth tokens."""
        return self.call(
            "DELETE",
            f"/api/v1/users/{user_id}/sessions",
            params={"oauthTokens": _flag(oauth_tokens)},
        )

    def revoke_grants(self, user_id: str) -> CallResult:
        """Revoke every OAuth grant the user gave (and the tokens of those grants)."""
        return self.call("DELETE", f"/api/v1/users/{user_id}/grants")

    def reset_factors(self, user_id: str) -> CallResult:
        """Reset every MFA factor: the user must enrol again at the next sign-in."""
        return self.call("POST", f"/api/v1/users/{user_id}/lifecycle/reset_factors")

    def expire_password(self, user_id: str) -> CallResult:
        """Expire the password (Classic engine): it must be changed at next sign-in."""
        return self.call("POST", f"/api/v1/users/{user_id}/lifecycle/expire_password")

    def suspend(self, user_id: str) -> CallResult:
        return self.call("POST", f"/api/v1/users/{user_id}/lifecycle/suspend")

    def unsuspend(self, user_id: str) -> CallResult:
        return self.call("POST", f"/api/v1/users/{user_id}/lifecycle/unsuspend")

    def add_to_group(self, group_id: str, user_id: str) -> CallResult:
        return self.call("PUT", f"/api/v1/groups/{group_id}/users/{user_id}")

    def remove_from_group(self, group_id: str, user_id: str) -> CallResult:
        return self.call("DELETE", f"/api/v1/groups/{group_id}/users/{user_id}")

    def deactivate_app(self, app_id: str) -> CallResult:
        return self.call("POST", f"/api/v1/apps/{app_id}/lifecycle/deactivate")

    def activate_app(self, app_id: str) -> CallResult:
        return self.call("POST", f"/api/v1/apps/{app_id}/lifecycle/activate")

    def revoke_app_tokens(self, app_id: str) -> CallResult:
        """Revoke every OAuth token issued to the app."""
        return self.call("DELETE", f"/api/v1/apps/{app_id}/tokens")

    def revoke_api_token(self, token_id: str) -> CallResult:
        return self.call("DELETE", f"/api/v1/api-tokens/{token_id}")

    def user_status(self, user_id: str) -> str | None:
        body = self.call("GET", f"/api/v1/users/{user_id}").body
        return str(body.get("status")) if isinstance(body, dict) else None

    # The System Log (api-contracts section 1.2).

    def logs_page(
        self, *, url: str | None = None, since: datetime | None = None, limit: int
    ) -> LogPage:
        """One page of a polling query: no `until`, ascending order.

        The first request names `since`; every later one is the `next` link of the
        page before, which Okta always sends for polling queries, even after an
        empty page. Links are followed on this client's org URL only, so the
        credentials never go to a host the response named.
        """
        if url is None:
            params: dict[str, str] = {
                "sortOrder": "ASCENDING",
                "limit": str(min(max(limit, 1), MAX_LOG_PAGE)),
            }
            if since is not None:
                params["since"] = _iso(since)
            result, response = self._send("GET", "/api/v1/logs", params=params)
        else:
            result, response = self._send("GET", self._relative(url), params=None)
        events = result.body if isinstance(result.body, list) else []
        links = parse_links(response.headers.get_list("link"))
        next_link = links.get("next")
        return LogPage(
            events=[item for item in events if isinstance(item, dict)],
            raw=response.content,
            url=str(response.request.url),
            next_url=self.org_url + self._relative(next_link) if next_link else None,
        )

    # The one way every request goes out.

    def call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> CallResult:
        result, _response = self._send(method, path, params=params)
        return result

    def _send(
        self, method: str, path: str, *, params: Mapping[str, str] | None
    ) -> tuple[CallResult, httpx.Response]:
        if not path.startswith("/"):
            raise ValueError(f"Okta paths start with '/': {path!r}")
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self._retry.attempts)),
            wait=self._wait,
            retry=retry_if_exception(
                lambda exc: isinstance(exc, OktaError) and exc.retryable
            ),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._send_once(method, path, params=params)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _send_once(
        self, method: str, path: str, *, params: Mapping[str, str] | None
    ) -> tuple[CallResult, httpx.Response]:
        url = self.org_url + path
        response = self._exchange(method, url, params=params)
        if self._auth.recover(response):
            # An auth challenge answered (a DPoP nonce, a renewed token): once more.
            response = self._exchange(method, url, params=params)
        if response.is_success:
            body = _json_or_none(response)
            result = CallResult(
                method=method,
                path=path.split("?", 1)[0],
                status=response.status_code,
                request_id=response.headers.get("x-okta-request-id"),
                body=body,
            )
            logger.debug("Okta %s %s -> %s", method, result.path, response.status_code)
            return result, response
        raise _error_from(response, method=method, path=path.split("?", 1)[0])

    def _exchange(
        self, method: str, url: str, *, params: Mapping[str, str] | None
    ) -> httpx.Response:
        headers = {
            "Accept": "application/json",
            **self._auth.headers(method=method, url=url),
        }
        try:
            return self._http.request(method, url, params=params, headers=headers)
        except httpx.TimeoutException:
            raise OktaError(
                f"Okta {method} {_path_of(url)} timed out", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise OktaError(
                f"Okta {method} {_path_of(url)} failed: {type(exc).__name__} "
                "(is the org reachable?)",
                retryable=True,
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, OktaError) and error.reset_in is not None:
            return min(max(error.reset_in, 0.0), self._retry.rate_limit_max_wait)
        backoff = wait_exponential_jitter(
            initial=self._retry.backoff_initial, max=self._retry.backoff_max
        )
        return backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s; retry %d of %d in %.2fs",
            error,
            state.attempt_number,
            self._retry.attempts - 1,
            state.upcoming_sleep,
        )

    def _relative(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def make_http_client(*, timeout: float) -> httpx.Client:
    """The httpx client every Okta call goes through: time-outs on every phase."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def parse_links(values: list[str]) -> dict[str, str]:
    """`rel -> URL` from `Link` headers, whether sent as separate lines or joined."""
    links: dict[str, str] = {}
    for value in values:
        for url, rel in _LINK.findall(value):
            links.setdefault(rel.lower(), url)
    return links


def _error_from(response: httpx.Response, *, method: str, path: str) -> OktaError:
    status = response.status_code
    body = _json_or_none(response)
    code = summary = None
    if isinstance(body, dict):
        code = _text(body.get("errorCode"))
        summary = _text(body.get("errorSummary"))
        causes = body.get("errorCauses")
        if isinstance(causes, list) and causes and isinstance(causes[0], dict):
            cause = _text(causes[0].get("errorSummary"))
            if cause:
                summary = f"{summary}: {cause}" if summary else cause
    request_id = response.headers.get("x-okta-request-id")
    reset_in = _reset_in(response) if status == 429 else None
    said = f"{code}: {summary}" if code or summary else "no error body"
    message = f"Okta {method} {path} failed: HTTP {status} {said}"
    if request_id:
        message += f" (request {request_id})"
    return OktaError(
        message,
        status=status,
        retryable=status == 429 or status >= 500,
        error_code=code,
        error_summary=summary,
        request_id=request_id,
        reset_in=reset_in,
    )


def _reset_in(response: httpx.Response) -> float:
    """Seconds until the rate-limit window resets, by the server's own clock."""
    try:
        reset = float(response.headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return 1.0
    now = time.time()
    date = response.headers.get("date")
    if date:
        try:
            now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    # Okta's Reset is whole seconds: wait at least a beat past it.
    return max(reset - now, 0.0) + 0.1


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _text(value: Any) -> str | None:
    # Okta's texts are short; a runaway one is cut so logs stay readable.
    return str(value)[:300] if value not in (None, "") else None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _path_of(url: str) -> str:
    return urlsplit(url).path
