"""Interactive Okta sessions: sign-in flows, app single sign-on, sign-out.

People, service accounts that sign in, and attackers holding a password or a
stolen session all produce the same event shapes; this module writes them once.
A sign-in is the Identity Engine sequence: sign-on policy evaluation, an optional
failed password, an Okta Verify push and its answer, then the session start.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from simulator.catalog import DASHBOARD, App
from simulator.clock import SECOND
from simulator.events import (
    ALLOW,
    BAD_PASSWORD,
    PUSH_TIMEOUT,
    SUCCESS,
    Event,
    EventFactory,
    factor_context,
    session_context,
)
from simulator.networks import Network
from simulator.profile import Assessment, SignInProfile
from simulator.world import Device, World

_OKTA_VERIFY = {
    "methodTypeUsed": "Get a push notification",
    "methodUsedVerifiedProperties": "[DEVICE_BOUND, HARDWARE_PROTECTED]",
}


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One sign-in attempt: where from, and what Okta made of it."""

    ip: str
    network: Network
    device: Device
    day: int
    session_id: str
    assessment: Assessment
    threat: bool


@dataclass(slots=True)
class Session:
    """A session as it was started: who can replay it learns its id."""

    id: str
    start: int
    ip: str
    network: Network
    device: Device


class SessionClient:
    """Writes the session events of one identity into `events`."""

    def __init__(
        self,
        *,
        factory: EventFactory,
        actor: dict[str, Any],
        profile: SignInProfile,
        world: World,
        rng: random.Random,
        classic: bool = False,
    ) -> None:
        self.factory = factory
        self.actor = actor
        self.profile = profile
        self.world = world
        self.rng = rng
        self.events: list[Event] = []
        self.sessions: list[Session] = []
        # Service accounts sign in through the classic authn API from SDKs;
        # people through the Identity Engine widget.
        self._uris = (
            ("/api/v1/authn", "/api/v1/authn", "/api/v1/authn/factors/verify")
            if classic
            else (
                "/idp/idx/identify",
                "/idp/idx/challenge/answer",
                "/idp/idx/challenge",
            )
        )
        policy_id, rule_id = world.sign_on_policy
        self._policy_target = [
            {
                "id": policy_id,
                "type": "PolicyEntity",
                "alternateId": "unknown",
                "displayName": "Default Policy",
                "detailEntry": {"policyType": "OktaSignOn"},
            },
            {
                "id": rule_id,
                "type": "PolicyRule",
                "alternateId": policy_id,
                "displayName": "Default Rule",
                "detailEntry": None,
            },
        ]
        self._user_target = {
            "id": actor["id"],
            "type": "User",
            "alternateId": actor["alternateId"],
            "displayName": actor["displayName"],
            "detailEntry": None,
        }
        self._factor_target = {
            "id": factory.ids.okta_id("pfd"),
            "type": "AuthenticatorEnrollment",
            "alternateId": "unknown",
            "displayName": "Okta Verify",
            "detailEntry": _OKTA_VERIFY,
        }
        self._app_users: dict[str, dict[str, Any]] = {}

    def sign_in(
        self,
        *,
        ts: int,
        ip: str,
        network: Network,
        device: Device,
        day: int,
        mfa: bool = True,
        fail_first: bool = False,
        push_timeout: bool = False,
        threat: bool = False,
        unanswered: list[dict[str, Any]] | None = None,
    ) -> Session:
        """A successful sign-in from `device`; returns the new session.

        `unanswered` lists the verdicts of pushes that fail before one is accepted
        (rejected or timed out), as in push-fatigue attacks.
        """
        rng = self.rng
        attempt = self._attempt(
            ip=ip, network=network, device=device, day=day, ts=ts, threat=threat
        )

        if fail_first:
            self._sign_in_event(ts, "policy.evaluate_sign_on", attempt, ALLOW)
            ts += rng.randint(3, 8) * SECOND
            self._sign_in_event(ts, "user.session.start", attempt, BAD_PASSWORD)
            ts += rng.randint(10, 40) * SECOND
        self._sign_in_event(ts, "policy.evaluate_sign_on", attempt, ALLOW)
        if mfa:
            where = (ip, network, device, day, attempt.session_id)
            ts += rng.randint(2, 6) * SECOND
            failures = list(unanswered or [])
            if push_timeout:
                failures.append(PUSH_TIMEOUT)
            for verdict in failures:
                self.push(ts, *where)
                ts += (60 if verdict is PUSH_TIMEOUT else rng.randint(5, 40)) * SECOND
                self.push_answer(ts, *where, verdict)
                ts += rng.randint(5, 90) * SECOND
            self.push(ts, *where)
            ts += rng.randint(4, 20) * SECOND
            self.push_answer(ts, *where, SUCCESS, attempt.assessment)
        ts += rng.randint(1, 3) * SECOND
        self._sign_in_event(ts, "user.session.start", attempt, SUCCESS)
        self.profile.remember(ip=ip, place=network.place, device=device.dt_hash, ts=ts)

        session = Session(attempt.session_id, ts, ip, network, device)
        self.sessions.append(session)
        self.sso(ts + rng.randint(2, 5) * SECOND, session, DASHBOARD, day=day)
        return session

    def failed_sign_in(
        self,
        *,
        ts: int,
        ip: str,
        network: Network,
        device: Device,
        day: int,
        threat: bool = False,
    ) -> None:
        """A wrong password: policy evaluation, then a failed session start."""
        attempt = self._attempt(
            ip=ip, network=network, device=device, day=day, ts=ts, threat=threat
        )
        self._sign_in_event(ts, "policy.evaluate_sign_on", attempt, ALLOW)
        ts += self.rng.randint(3, 8) * SECOND
        self._sign_in_event(ts, "user.session.start", attempt, BAD_PASSWORD)

    def _attempt(
        self,
        *,
        ip: str,
        network: Network,
        device: Device,
        day: int,
        ts: int,
        threat: bool,
    ) -> _Attempt:
        """A new sign-in attempt, with Okta's assessment of it against the history."""
        return _Attempt(
            ip=ip,
            network=network,
            device=device,
            day=day,
            session_id=self.factory.ids.session_id(),
            assessment=self.profile.assess(
                ip=ip, place=network.place, device=device.dt_hash, ts=ts, threat=threat
            ),
            threat=threat,
        )

    def _sign_in_event(
        self, ts: int, event_type: str, attempt: _Attempt, outcome: dict[str, Any]
    ) -> None:
        uri = self._uris[0 if event_type == "policy.evaluate_sign_on" else 1]
        device = attempt.device
        self.events.append(
            self.factory.make(
                ts=ts,
                event_type=event_type,
                actor=self.actor,
                ip=attempt.ip,
                network=attempt.network,
                agent=device.agent_on(attempt.day),
                auth=session_context(attempt.session_id),
                debug={
                    "requestUri": uri,
                    "dtHash": device.dt_hash,
                    "deviceFingerprint": device.fingerprint,
                    "behaviors": attempt.assessment.behaviors,
                    "risk": attempt.assessment.risk,
                    "threatSuspected": "true" if attempt.threat else "false",
                },
                outcome=outcome,
                target=self._policy_target if outcome is ALLOW else None,
            )
        )

    def push(
        self,
        ts: int,
        ip: str,
        network: Network,
        device: Device,
        day: int,
        session_id: str,
    ) -> None:
        """Okta sends a push to the user's phone on behalf of this client."""
        self.events.append(
            self.factory.make(
                ts=ts,
                event_type="system.push.send_factor_verify_push",
                actor=self.actor,
                ip=ip,
                network=network,
                agent=device.agent_on(day),
                auth=session_context(session_id),
                debug={
                    "requestUri": self._uris[2],
                    "factor": "OKTA_VERIFY_PUSH",
                    "dtHash": device.dt_hash,
                    "threatSuspected": "false",
                },
                target=[self._user_target],
            )
        )

    def push_answer(
        self,
        ts: int,
        ip: str,
        network: Network,
        device: Device,
        day: int,
        session_id: str,
        outcome: dict[str, Any],
        assessment: Assessment | None = None,
    ) -> None:
        """The verdict on a push (accepted, rejected or timed out)."""
        debug: dict[str, Any] = {
            "requestUri": "/idp/idx/authenticators/poll",
            "factor": "OKTA_VERIFY_PUSH",
            "dtHash": device.dt_hash,
            "threatSuspected": "false",
        }
        if assessment is not None:
            debug["behaviors"] = assessment.behaviors
            debug["risk"] = assessment.risk
        self.events.append(
            self.factory.make(
                ts=ts,
                event_type="user.authentication.auth_via_mfa",
                actor=self.actor,
                ip=ip,
                network=network,
                agent=device.agent_on(day),
                auth=factor_context(session_id),
                debug=debug,
                outcome=outcome,
                target=[self._user_target, self._factor_target],
            )
        )

    def _app_user(self, app: App) -> dict[str, Any]:
        target = self._app_users.get(app.key)
        if target is None:
            target = self._app_users[app.key] = {
                "id": self.factory.ids.okta_id("0ua"),
                "type": "AppUser",
                "alternateId": self.actor["alternateId"],
                "displayName": self.actor["displayName"],
                "detailEntry": None,
            }
        return target

    def sso(
        self,
        ts: int,
        session: Session,
        app: App,
        *,
        day: int,
        ip: str | None = None,
        network: Network | None = None,
        device: Device | None = None,
    ) -> None:
        """Single sign-on into `app` within `session` (from wherever it is used)."""
        ip = ip or session.ip
        network = network or session.network
        device = device or session.device
        app_id = self.world.app_ids[app.key]
        if app.sign_on_mode == "SAML_2_0":
            uri, mode = f"/app/{app.key}/{app_id}/sso/saml", "SAML 2.0"
        else:
            uri, mode = "/oauth2/v1/authorize", "OpenID Connect"
        self.events.append(
            self.factory.make(
                ts=ts,
                event_type="user.authentication.sso",
                actor=self.actor,
                ip=ip,
                network=network,
                agent=device.agent_on(day),
                # Okta names the app signed into as the client of an SSO event.
                client_id=app_id,
                auth=session_context(session.id),
                debug={
                    "requestUri": uri,
                    "initiationType": "IDP_INITIATED",
                    "signOnMode": mode,
                    "dtHash": device.dt_hash,
                    "threatSuspected": "false",
                },
                target=[
                    {
                        "id": app_id,
                        "type": "AppInstance",
                        "alternateId": app.label,
                        "displayName": app.label,
                        "detailEntry": {"signOnModeType": app.sign_on_mode},
                    },
                    self._app_user(app),
                ],
            )
        )

    def sign_out(self, ts: int, session: Session, *, day: int) -> None:
        self.events.append(
            self.factory.make(
                ts=ts,
                event_type="user.session.end",
                actor=self.actor,
                ip=session.ip,
                network=session.network,
                agent=session.device.agent_on(day),
                auth=session_context(session.id),
                debug={"requestUri": "/login/signout", "threatSuspected": "false"},
            )
        )
