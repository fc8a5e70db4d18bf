"""How requests to the Okta Management API authenticate.

Two ways, chosen by setting:

- `SswsAuth`: an API token, sent as `Authorization: SSWS <token>`.
- `ServiceAppAuth`: an OAuth 2.0 service app. It signs a `private_key_jwt` client
  assertion, trades it at the org authorization server (`/oauth2/v1/token`) for an
  access token with Okta scopes, and caches the token until shortly before it
  expires. When the app requires DPoP (the token endpoint answers
  `invalid_dpop_proof`, or the setting says so), every token request and API call
  also carries a DPoP proof signed with a key pair made for this process, and the
  server's `dpop-nonce` is echoed back when it asks for one.

Neither ever logs or raises with a token, an assertion or a key in the message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from integrations.errors import NotConfigured, OktaError

logger = logging.getLogger(__name__)

DpopMode = Literal["auto", "always", "never"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Okta accepts assertions valid for up to an hour; a short one limits replay.
ASSERTION_LIFETIME_S = 300
# Renew the access token this long before Okta says it expires, so a request
# never leaves with a token that expires in flight.
TOKEN_EARLY_RENEWAL_S = 60


class OktaAuth(Protocol):
    """Adds credentials to one request, and recovers from an auth challenge."""

    def headers(self, *, method: str, url: str) -> dict[str, str]:
        """The headers that authenticate `method url`."""
        ...

    def recover(self, response: httpx.Response) -> bool:
        """True when `response` was an auth challenge now answered: send again."""
        ...


class SswsAuth:
    """An Okta API token (`Authorization: SSWS ...`)."""

    def __init__(self, *, token: SecretStr) -> None:
        self._token = token

    def headers(self, *, method: str, url: str) -> dict[str, str]:
        return {"Authorization": f"SSWS {self._token.get_secret_value()}"}

    def recover(self, response: httpx.Response) -> bool:
        return False

    def __repr__(self) -> str:
        return "SswsAuth(token=***)"


@dataclass
class _Token:
    value: str
    scheme: Literal["Bearer", "DPoP"]
    expires_at: float


class ServiceAppAuth:
    """An OAuth 2.0 service app authenticating with `private_key_jwt` (and DPoP)."""

    def __init__(
        self,
        *,
        org_url: str,
        client_id: str,
        private_key: Any,
        key_id: str | None,
        scopes: list[str],
        http: httpx.Client,
        dpop: DpopMode = "auto",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = org_url.rstrip("/") + "/oauth2/v1/token"
        self._client_id = client_id
        self._private_key = private_key
        self._key_id = key_id
        self._algorithm = _algorithm_for(private_key)
        self._scopes = " ".join(scopes)
        self._http = http
        self._use_dpop = dpop == "always"
        self._dpop_mode = dpop
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        # The DPoP key pair is made per process: it only binds tokens this process
        # asked for, so it never needs storing.
        self._dpop_key = ec.generate_private_key(ec.SECP256R1())
        self._dpop_jwk = _public_jwk(self._dpop_key)
        self._token_nonce: str | None = None
        self._resource_nonce: str | None = None

    def __repr__(self) -> str:
        return f"ServiceAppAuth(client_id={self._client_id!r}, dpop={self._use_dpop})"

    @property
    def uses_dpop(self) -> bool:
        return self._use_dpop

    def headers(self, *, method: str, url: str) -> dict[str, str]:
        token = self._current_token()
        if token.scheme == "Bearer":
            return {"Authorization": f"Bearer {token.value}"}
        proof = self._proof(
            method=method,
            url=url,
            nonce=self._resource_nonce,
            access_token=token.value,
        )
        return {"Authorization": f"DPoP {token.value}", "DPoP": proof}

    def recover(self, response: httpx.Response) -> bool:
        if response.status_code != 401:
            return False
        challenge = response.headers.get("www-authenticate", "")
        nonce = response.headers.get("dpop-nonce")
        if "use_dpop_nonce" in challenge and nonce and nonce != self._resource_nonce:
            self._resource_nonce = nonce
            return True
        with self._lock:
            had_token = self._token is not None
            # A revoked or expired token: forget it, and ask for a new one once.
            self._token = None
        return had_token

    def _current_token(self) -> _Token:
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._token.expires_at:
                self._token = self._request_token(now)
            return self._token

    def _request_token(self, now: float) -> _Token:
        # A few rounds at most: learn that DPoP is required, then learn its nonce.
        for _round in range(3):
            response = self._post_token(now)
            if response.status_code == 200:
                return self._read_token(response, now)
            error = _oauth_error(response)
            if error == "use_dpop_nonce" and response.headers.get("dpop-nonce"):
                self._token_nonce = response.headers["dpop-nonce"]
                self._use_dpop = True
                continue
            if (
                error == "invalid_dpop_proof"
                and not self._use_dpop
                and self._dpop_mode == "auto"
            ):
                logger.info(
                    "Okta requires DPoP for client %s; using it", self._client_id
                )
                self._use_dpop = True
                continue
            raise _token_failure(response, error)
        raise OktaError(
            "Okta token request: the DPoP nonce exchange did not settle",
            status=400,
            retryable=True,
        )

    def _post_token(self, now: float) -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "scope": self._scopes,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self._assertion(now),
        }
        headers = {"Accept": "application/json"}
        if self._use_dpop:
            headers["DPoP"] = self._proof(
                method="POST", url=self._token_url, nonce=self._token_nonce
            )
        try:
            return self._http.post(self._token_url, data=form, headers=headers)
        except httpx.TimeoutException:
            raise OktaError("Okta token request timed out", retryable=True) from None
        except httpx.TransportError as exc:
            raise OktaError(
                f"Okta token request failed: {type(exc).__name__}", retryable=True
            ) from None

    def _read_token(self, response: httpx.Response, now: float) -> _Token:
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
            kind = str(body.get("token_type", "Bearer"))
        except (ValueError, KeyError, TypeError):
            raise OktaError(
                "Okta token response is not an OAuth token", status=200
            ) from None
        scheme: Literal["Bearer", "DPoP"] = (
            "DPoP" if kind.lower() == "dpop" else "Bearer"
        )
        logger.debug("Okta access token for %s (%s)", self._client_id, scheme)
        return _Token(
            value=value,
            scheme=scheme,
            expires_at=now + max(0.0, lifetime - TOKEN_EARLY_RENEWAL_S),
        )

    def _assertion(self, now: float) -> str:
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME_S,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(
            claims, self._private_key, algorithm=self._algorithm, headers=headers
        )

    def _proof(
        self,
        *,
        method: str,
        url: str,
        nonce: str | None,
        access_token: str | None = None,
    ) -> str:
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": _without_query(url),
            "iat": int(self._clock()),
            "jti": uuid.uuid4().hex,
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            claims["ath"] = _b64url(digest)
        return jwt.encode(
            claims,
            self._dpop_key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": self._dpop_jwk},
        )


def load_private_key(path: Path) -> Any:
    """The service app's private key from a PEM file or a JWK (JSON) file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotConfigured(
            f"cannot read the Okta private key file {path}: {exc.strerror}"
        ) from None
    try:
        if data.lstrip().startswith(b"{"):
            return jwt.PyJWK(json.loads(data)).key
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, jwt.PyJWKError):
        # The parser's message could quote key material; say only what failed.
        raise NotConfigured(
            f"{path} holds no usable private key (PEM or JWK expected)"
        ) from None


def _algorithm_for(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}.get(
            key.curve.key_size, "ES256"
        )
    raise NotConfigured("the Okta private key must be an RSA or EC key")


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return (
        str(body.get("error")) if isinstance(body, dict) and body.get("error") else None
    )


def _token_failure(response: httpx.Response, error: str | None) -> OktaError:
    description = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            description = str(body.get("error_description") or "")[:200]
    except ValueError:
        pass
    status = response.status_code
    return OktaError(
        f"Okta token request refused: HTTP {status} {error or 'error'}"
        + (f": {description}" if description else ""),
        status=status,
        retryable=status >= 500 or status == 429,
    )
