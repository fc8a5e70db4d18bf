"""Who may call what: API keys with scopes and rate limits, and Okta's hook secret.

Every refusal for missing, unknown or revoked credentials is the same bare 401, so
a caller learns nothing about which part was wrong. A valid key used outside its
scope gets 403, and a key over its rate limit 429 with `Retry-After`.

Checked keys are cached for `CREDWATCH_API_KEY_CACHE_SECONDS` (default 5 s), so a
revocation reaches running servers within that time; unknown keys are never cached,
so a key created a moment ago works at once.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from credwatch.keys import KeyInfo, check_key, hash_key
from credwatch.settings import Settings
from serving.ratelimit import RateLimiter, retry_after

CLIENT_OKTA = "okta-event-hook"
MAX_CACHED_KEYS = 10_000

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerKey",
    description="An API key from `credwatch keys create`, sent as "
    "`Authorization: Bearer <key>`.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="The same API key, sent as `X-API-Key: <key>` (handy in Zapier's "
    "Headers field).",
)


def unauthorized() -> HTTPException:
    return HTTPException(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})


class Authenticator:
    """Checks keys against the database, with a short cache, and applies rate limits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = RateLimiter()
        self._cache: dict[str, tuple[KeyInfo, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, presented: str) -> KeyInfo | None:
        ttl = self.settings.api_key_cache_seconds
        digest = hash_key(presented)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        info = check_key(self.settings, presented)
        with self._lock:
            if info is None or ttl <= 0:
                self._cache.pop(digest, None)
            else:
                if len(self._cache) >= MAX_CACHED_KEYS:
                    self._cache.clear()
                self._cache[digest] = (info, now + ttl)
        return info

    def hook_secret_matches(self, presented: str | None) -> bool:
        secret = self.settings.okta_hook_secret
        if secret is None or not presented:
            return False
        return hmac.compare_digest(
            presented.encode("utf-8"), secret.get_secret_value().encode("utf-8")
        )


def authorize(request: Request, scope: str) -> KeyInfo:
    """The caller's key if it may call `scope` now; raises 401, 403 or 429.

    The scoring route calls this directly, which spares it the dependency
    machinery on its hot path; the other routes use `require_key`.
    """
    headers = request.headers
    presented = headers.get("x-api-key")
    if not presented:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            presented = credentials.strip()
    auth: Authenticator = request.app.state.auth
    info = auth.lookup(presented) if presented else None
    if info is None:
        raise unauthorized()
    request.state.client = info.name
    if not info.allows(scope):
        raise HTTPException(
            403, f"key {info.name!r} has scope {info.scope!r}; this needs {scope!r}"
        )
    limit = info.rate_per_minute or auth.settings.api_rate_per_minute
    wait = auth.limiter.acquire(info.id, limit)
    if wait > 0:
        raise HTTPException(
            429,
            f"key {info.name!r} is over its limit of {limit} requests a minute",
            headers={"Retry-After": retry_after(wait)},
        )
    return info


# How the routes that call `authorize` themselves declare it in the OpenAPI document.
KEY_SECURITY = [{"BearerKey": []}, {"ApiKeyHeader": []}]


def require_key(scope: str) -> Callable[..., Awaitable[KeyInfo]]:
    """A dependency admitting API keys whose scope covers `scope`."""

    async def dependency(
        request: Request,
        # Declared for the OpenAPI document; `authorize` reads the headers itself.
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header_key: Annotated[str | None, Security(_api_key_header)],
    ) -> KeyInfo:
        return authorize(request, scope)

    return dependency


def require_hook_secret(header_name: str) -> Callable[..., Awaitable[None]]:
    """A dependency admitting Okta's Event Hook by its secret header."""
    scheme = APIKeyHeader(
        name=header_name,
        auto_error=False,
        scheme_name="OktaHookSecret",
        description=f"The secret configured in the Okta Event Hook, sent verbatim in "
        f"`{header_name}` and compared with CREDWATCH_OKTA_HOOK_SECRET.",
    )

    # A default rather than Annotated: the scheme is local to this function, and
    # FastAPI evaluates string annotations in the module's namespace.
    async def dependency(
        request: Request,
        presented: str | None = Security(scheme),  # noqa: B008
    ) -> None:
        auth: Authenticator = request.app.state.auth
        if not auth.hook_secret_matches(presented):
            raise unauthorized()
        request.state.client = CLIENT_OKTA

    return dependency
