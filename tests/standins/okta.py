"""A loopback Okta org: the Management API endpoints credwatch uses, per contract.

Follows api-contracts section 1 and the stand-in checklist (section 5): SSWS and
OAuth (private_key_jwt, optional DPoP with nonce) auth with per-endpoint scopes;
users with a status machine; groups, apps and API tokens; the System Log with
polling and bounded semantics, separate `link` headers and opaque cursors;
`X-Rate-Limit-*`, `Date` and `X-Okta-Request-Id` on every answer; Okta's error
body on every failure; and faults the tests switch on.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt

from .http import LoopbackServer, Request, Response

ALL_SCOPES = frozenset(
    {
        "okta.logs.read",
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.manage",
        "okta.apps.manage",
        "okta.apiTokens.manage",
    }
)


@dataclass
class Fault:
    """Answer the next `times` matching requests with this instead."""

    status: int | None = 429
    times: int = 1
    path_prefix: str = "/"
    delay: float = 0.0
    drop: bool = False
    reset_after: int = 0


@dataclass
class _Issued:
    scopes: frozenset[str]
    scheme: str
    jkt: str | None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


class OktaStandIn:
    """One fake Okta org served on 127.0.0.1."""

    def __init__(
        self,
        *,
        token: str = "ssws-test-token",
        service_apps: dict[str, Any] | None = None,
        granted_scopes: frozenset[str] = ALL_SCOPES,
        require_dpop: bool = False,
    ) -> None:
        self.token = token
        # client_id -> public key of its private_key_jwt key pair
        self.service_apps = dict(service_apps or {})
        self.granted_scopes = granted_scopes
        self.require_dpop = require_dpop
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, set[str]] = {}
        self.apps: dict[str, str] = {}
        self.api_tokens: set[str] = set()
        self.requests: list[Seen] = []
        self.faults: deque[Fault] = deque()
        self._issued: dict[str, _Issued] = {}
        self._nonce = uuid.uuid4().hex
        self._log: list[tuple[int, int, dict[str, Any]]] = []
        self._seq = itertools.count(1)
        self._lock = threading.RLock()
        self._server = LoopbackServer(self.handle)
        # Call this on each arrival of a request (the bench times with it).
        self.on_request: Any = None

    # Running.

    def start(self, port: int = 0) -> OktaStandIn:
        self._server.start(port)
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def token_url(self) -> str:
        return self.url + "/oauth2/v1/token"

    # Test set-up.

    def add_user(self, user_id: str, status: str = "ACTIVE") -> None:
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "status": status,
                "profile": {"login": f"{user_id}@example.com"},
            }

    def add_log_events(self, events: list[dict[str, Any]]) -> None:
        """Persist events in the order given (Okta's persistence order)."""
        with self._lock:
            for event in events:
                seq = next(self._seq)
                self._log.append((int(time.time() * 1000), seq, event))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def calls(self, method: str | None = None, prefix: str = "/api/v1/") -> list[Seen]:
        with self._lock:
            return [
                seen
                for seen in self.requests
                if seen.path.startswith(prefix) and (method is None or seen.method == method)
            ]

    # Serving.

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(
                Seen(request.method, request.path, request.query, request.headers, time.time())
            )
            fault = self._take_fault(request.path)
        if self.on_request is not None:
            self.on_request(request)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return Response(0, drop=True)
            if fault.status is not None:
                return self._fault_response(fault)
        if request.path == "/oauth2/v1/token" and request.method == "POST":
            return self._token(request)
        refused = self._authorise(request)
        if refused is not None:
            return refused
        with self._lock:
            return self._route(request)

    def _take_fault(self, path: str) -> Fault | None:
        for fault in list(self.faults):
            if path.startswith(fault.path_prefix):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: Fault) -> Response:
        status = int(fault.status or 500)
        if status == 429:
            headers = self._rate_headers(remaining=0, reset_after=fault.reset_after)
            return self._error(429, "E0000047", "API call exceeded rate limit due to too many requests.", headers)
        return self._error(status, "E0000009", "Internal Server Error")

    # Auth.

    def _authorise(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "SSWS" and value == self.token:
            scopes = ALL_SCOPES
        elif scheme in ("Bearer", "DPoP") and value in self._issued:
            issued = self._issued[value]
            if issued.scheme != scheme:
                return self._error(401, "E0000011", "Invalid token provided")
            if scheme == "DPoP":
                problem = self._check_resource_proof(request, value, issued)
                if problem is not None:
                    return problem
            scopes = issued.scopes
        else:
            return self._error(401, "E0000011", "Invalid token provided")
        needed = _scope_for(request.method, request.path)
        if needed is not None and needed not in scopes and not (
            needed == "okta.users.read" and "okta.users.manage" in scopes
        ):
            return self._error(403, "E0000006", "You do not have permission to perform the requested action")
        return None

    def _check_resource_proof(self, request: Request, token: str, issued: _Issued) -> Response | None:
        proof = request.headers.get("dpop")
        claims = _verify_proof(proof, method=request.method, url=self.url + request.path) if proof else None
        ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
        if claims is None or claims.get("ath") != ath or _thumbprint(proof) != issued.jkt:
            return self._error(401, "E0000011", "Invalid token provided")
        return None

    def _token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return _oauth_error(401, "invalid_client", "client assertion required")
        assertion = form.get("client_assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            client_id = unverified.get("iss")
            key = self.service_apps[client_id]
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256", "ES256"],
                audience=self.token_url,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except (jwt.PyJWTError, KeyError):
            return _oauth_error(401, "invalid_client", "The client_assertion token is invalid.")
        if claims["iss"] != claims["sub"]:
            return _oauth_error(401, "invalid_client", "iss and sub must be the client id")
        scopes = frozenset(form.get("scope", "").split())
        if not scopes or not scopes <= self.granted_scopes:
            return _oauth_error(400, "invalid_scope", "The requested scope is invalid.")
        proof = request.headers.get("dpop")
        jkt = None
        if self.require_dpop:
            if not proof:
                return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
            proof_claims = _verify_proof(proof, method="POST", url=self.token_url)
            if proof_claims is None:
                return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof is invalid.")
            if proof_claims.get("nonce") != self._nonce:
                return _oauth_error(
                    400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.",
                    headers=[("dpop-nonce", self._nonce)],
                )
            jkt = _thumbprint(proof)
        value = uuid.uuid4().hex
        scheme = "DPoP" if jkt else "Bearer"
        self._issued[value] = _Issued(scopes=scopes, scheme=scheme, jkt=jkt)
        return Response.json(
            200,
            {"token_type": scheme, "expires_in": 3600, "access_token": value, "scope": " ".join(sorted(scopes))},
        )

    # Routes.

    def _route(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path == "/api/v1/logs" and method == "GET":
            return self._logs(request)
        match = re.fullmatch(r"/api/v1/users/([^/]+)(/.*)?", path)
        if match:
            return self._user(method, match.group(1), match.group(2) or "")
        match = re.fullmatch(r"/api/v1/groups/([^/]+)/users/([^/]+)", path)
        if match and method in ("PUT", "DELETE"):
            group, user = match.groups()
            if group not in self.groups:
                return self._error(404, "E0000007", f"Not found: Resource not found: {group} (UserGroup)")
            if user not in self.users:
                return self._error(404, "E0000007", f"Not found: Resource not found: {user} (User)")
            (self.groups[group].add if method == "PUT" else self.groups[group].discard)(user)
            return self._empty(204)
        match = re.fullmatch(r"/api/v1/apps/([^/]+)/(lifecycle/(activate|deactivate)|tokens)", path)
        if match:
            app = match.group(1)
            if app not in self.apps:
                return self._error(404, "E0000007", f"Not found: Resource not found: {app} (App)")
            if match.group(2) == "tokens" and method == "DELETE":
                return self._empty(204)
            if method == "POST" and match.group(3):
                self.apps[app] = "ACTIVE" if match.group(3) == "activate" else "INACTIVE"
                return self._ok({})
        match = re.fullmatch(r"/api/v1/api-tokens/([^/]+)", path)
        if match and method == "DELETE":
            if match.group(1) not in self.api_tokens:
                return self._error(404, "E0000007", "Not found: Resource not found: token (ApiToken)")
            self.api_tokens.discard(match.group(1))
            return self._empty(204)
        return self._error(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def _user(self, method: str, user_id: str, rest: str) -> Response:
        user = self.users.get(user_id)
        if user is None:
            return self._error(404, "E0000007", f"Not found: Resource not found: {user_id} (User)")
        if rest == "" and method == "GET":
            return self._ok(user)
        if rest in ("/sessions", "/grants") and method == "DELETE":
            return self._empty(204)
        transitions = {
            "/lifecycle/suspend": ("ACTIVE", "SUSPENDED", "Cannot suspend a user that is not active"),
            "/lifecycle/unsuspend": ("SUSPENDED", "ACTIVE", "Cannot unsuspend a user that is not suspended"),
        }
        if rest in transitions and method == "POST":
            before, after, complaint = transitions[rest]
            if user["status"] != before:
                return self._error(400, "E0000001", f"Api validation failed: {complaint}")
            user["status"] = after
            return self._ok({})
        if rest == "/lifecycle/reset_factors" and method == "POST":
            return self._ok({})
        if rest == "/lifecycle/expire_password" and method == "POST":
            user["status"] = "PASSWORD_EXPIRED"
            return self._ok(user)
        return self._error(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def _logs(self, request: Request) -> Response:
        since, until, after = request.param("since"), request.param("until"), request.param("after")
        if since and after:
            return self._error(400, "E0000001", "Api validation failed: since and after cannot be used together")
        limit = int(request.param("limit") or 100)
        if not 0 <= limit <= 1000:
            return self._error(400, "E0000001", "Api validation failed: limit")
        predicate = _parse_filter(request.param("filter"))
        if predicate is None:
            return self._error(400, "E0000053", "Invalid filter")
        polling = until is None and (request.param("sortOrder") or "ASCENDING") == "ASCENDING"
        start_seq = int(after.split("_", 1)[1]) if after else 0
        since_at = _parse_time(since) if since else None
        until_at = _parse_time(until) if until else None
        chosen = [
            (ms, seq, event)
            for ms, seq, event in self._log
            if seq > start_seq
            and predicate(event)
            and (since_at is None or _parse_time(event["published"]) >= since_at)
            and (until_at is None or _parse_time(event["published"]) < until_at)
        ]
        page = chosen[:limit]
        base = {key: values[0] for key, values in request.query.items() if key not in ("after", "since")}
        headers = [("link", f'<{self.url}/api/v1/logs?{urlencode({**base, **({"after": after} if after else {})})}>; rel="self"')]
        if page:
            cursor = f"{page[-1][0]}_{page[-1][1]}"
        else:
            # Nothing new yet: the next link waits at the end of the log.
            cursor = after or f"0_{self._log[-1][1] if self._log else 0}"
        if polling or len(chosen) > limit:
            headers.append(("link", f'<{self.url}/api/v1/logs?{urlencode({**base, "after": cursor})}>; rel="next"'))
        return self._ok([event for _ms, _seq, event in page], extra=headers)

    # Answers.

    def _rate_headers(self, *, remaining: int = 599, reset_after: int = 60) -> list[tuple[str, str]]:
        return [
            ("X-Rate-Limit-Limit", "600"),
            ("X-Rate-Limit-Remaining", str(remaining)),
            ("X-Rate-Limit-Reset", str(int(time.time()) + reset_after)),
            ("X-Okta-Request-Id", uuid.uuid4().hex[:20]),
        ]

    def _ok(self, document: Any, extra: list[tuple[str, str]] | None = None) -> Response:
        return Response.json(200, document, [*self._rate_headers(), *(extra or [])])

    def _empty(self, status: int) -> Response:
        return Response(status, b"", self._rate_headers())

    def _error(
        self, status: int, code: str, summary: str, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae" + uuid.uuid4().hex[:22],
            "errorCauses": [],
        }
        return Response.json(status, body, headers or self._rate_headers())


def _scope_for(method: str, path: str) -> str | None:
    if path.startswith("/api/v1/logs"):
        return "okta.logs.read"
    if path.startswith("/api/v1/users"):
        return "okta.users.read" if method == "GET" else "okta.users.manage"
    if path.startswith("/api/v1/groups"):
        return "okta.groups.manage"
    if path.startswith("/api/v1/apps"):
        return "okta.apps.manage"
    if path.startswith("/api/v1/api-tokens"):
        return "okta.apiTokens.manage"
    return None


def _oauth_error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response.json(status, {"error": error, "error_description": description}, headers)


def _verify_proof(proof: str, *, method: str, url: str) -> dict[str, Any] | None:
    try:
        header = jwt.get_unverified_header(proof)
        if header.get("typ") != "dpop+jwt":
            return None
        key = jwt.PyJWK(header["jwk"]).key
        claims = jwt.decode(proof, key, algorithms=["ES256"])
    except (jwt.PyJWTError, KeyError):
        return None
    if claims.get("htm") != method or claims.get("htu") != url:
        return None
    if abs(time.time() - float(claims.get("iat", 0))) > 300:
        return None
    return claims


def _thumbprint(proof: str | None) -> str | None:
    if not proof:
        return None
    jwk = jwt.get_unverified_header(proof)["jwk"]
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


_CLAUSE = re.compile(r'^\s*([A-Za-z.]+)\s+eq\s+"([^"]*)"\s*$')


def _parse_filter(text: str | None):
    """A SCIM filter subset: `field eq "value"` joined by `and`; None if unparsable."""
    if not text:
        return lambda event: True
    clauses = []
    for part in re.split(r"\s+and\s+", text):
        match = _CLAUSE.match(part)
        if not match:
            return None
        clauses.append(match.groups())

    def predicate(event: dict[str, Any]) -> bool:
        for path, value in clauses:
            current: Any = event
            for key in path.split("."):
                current = current.get(key) if isinstance(current, dict) else None
            if isinstance(current, list):
                if not any(isinstance(item, dict) and item.get("id") == value for item in current):
                    return False
            elif current != value:
                return False
        return True

    return predicate
