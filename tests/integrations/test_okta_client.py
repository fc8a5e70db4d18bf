"""The httpx Okta client against the loopback Okta: actions, auth, retries, errors."""

from __future__ import annotations

import time

import httpx
import pytest

from pydantic import SecretStr
from standins.okta import Fault, OktaStandIn

from integrations.okta import OktaClient, OktaError, RetryPolicy
from integrations.okta_auth import ServiceAppAuth, SswsAuth

FAST_RETRY = RetryPolicy(attempts=4, backoff_initial=0.01, backoff_max=0.05, rate_limit_max_wait=2.0)


def test_actions_reach_okta_with_the_documented_requests(okta, okta_client):
    okta_client.clear_sessions("00uALICE")
    okta_client.revoke_grants("00uALICE")
    okta_client.reset_factors("00uALICE")
    okta_client.suspend("00uALICE")
    assert okta.users["00uALICE"]["status"] == "SUSPENDED"
    okta_client.unsuspend("00uALICE")
    okta_client.add_to_group("00gQUARANTINE", "00uALICE")
    assert okta.groups["00gQUARANTINE"] == {"00uALICE"}
    okta_client.remove_from_group("00gQUARANTINE", "00uALICE")
    okta_client.deactivate_app("0oaCLIENT1")
    assert okta.apps["0oaCLIENT1"] == "INACTIVE"
    okta_client.activate_app("0oaCLIENT1")
    okta_client.revoke_app_tokens("0oaCLIENT1")
    okta_client.revoke_api_token("00TTOKEN1")
    assert okta.api_tokens == set()
    expired = okta_client.expire_password("00uBOB")
    assert expired.body["status"] == "PASSWORD_EXPIRED"

    sessions = okta.calls("DELETE", "/api/v1/users/00uALICE/sessions")[0]
    assert sessions.query == {"oauthTokens": ["true"]}
    assert all(seen.headers["authorization"] == f"SSWS {okta.token}" for seen in okta.calls())
    assert all(seen.headers["accept"] == "application/json" for seen in okta.calls())


def test_okta_errors_carry_code_and_summary_but_no_secret(okta, okta_client):
    okta_client.suspend("00uBOB")
    with pytest.raises(OktaError) as caught:
        okta_client.suspend("00uBOB")
    error = caught.value
    assert error.status == 400 and error.error_code == "E0000001"
    assert "not active" in error.error_summary
    assert not error.retryable
    assert okta.token not in str(error)
    with pytest.raises(OktaError, match="E0000007"):
        okta_client.suspend("00uNOBODY")


def test_a_bad_token_is_refused_without_retry(okta):
    client = OktaClient(org_url=okta.url, auth=SswsAuth(token=SecretStr("wrong")), retry=FAST_RETRY)
    with client, pytest.raises(OktaError) as caught:
        client.clear_sessions("00uALICE")
    assert caught.value.error_code == "E0000011"
    assert "wrong" not in str(caught.value)
    assert len(okta.calls()) == 1


def test_429_waits_for_the_rate_limit_reset(okta, okta_client):
    okta.inject(Fault(status=429, times=1, reset_after=1))
    started = time.monotonic()
    okta_client.suspend("00uALICE")
    elapsed = time.monotonic() - started
    assert okta.users["00uALICE"]["status"] == "SUSPENDED"
    assert len(okta.calls("POST")) == 2
    # Reset is a whole second after the server's Date: the client waited for it.
    assert elapsed >= 0.5
    assert all(wait > 0.1 for wait in okta_client._sleep.waited)


def test_a_429_storm_gives_up_with_the_rate_limit_error(okta, okta_client):
    okta.inject(Fault(status=429, times=50))
    with pytest.raises(OktaError) as caught:
        okta_client.clear_sessions("00uALICE")
    assert caught.value.status == 429 and caught.value.error_code == "E0000047"
    assert caught.value.retryable
    assert len(okta.calls()) == FAST_RETRY.attempts


def test_5xx_is_retried_with_backoff(okta, okta_client):
    okta.inject(Fault(status=500, times=2))
    okta_client.revoke_grants("00uALICE")
    assert len(okta.calls()) == 3


def test_a_slow_okta_times_out_and_is_retried(okta):
    client = OktaClient(
        org_url=okta.url, auth=SswsAuth(token=SecretStr(okta.token)), timeout=0.2, retry=FAST_RETRY
    )
    okta.inject(Fault(status=None, delay=0.6, times=1))
    with client:
        client.clear_sessions("00uALICE")
    assert len(okta.calls()) == 2


def test_okta_down_is_a_retryable_error(okta):
    url = okta.url
    okta.stop()
    client = OktaClient(
        org_url=url, auth=SswsAuth(token=SecretStr("t")), timeout=0.5,
        retry=RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.01),
    )
    with client, pytest.raises(OktaError) as caught:
        client.suspend("00uALICE")
    assert caught.value.retryable and "ConnectError" in str(caught.value)


@pytest.mark.parametrize("dpop", [False, True])
def test_service_app_auth_with_private_key_jwt(okta, service_key, dpop):
    okta.require_dpop = dpop
    with httpx.Client(timeout=2.0) as http:
        auth = ServiceAppAuth(
            org_url=okta.url, client_id="0oaCREDWATCH", private_key=service_key, key_id="k1",
            scopes=["okta.users.manage", "okta.logs.read"], http=http,
        )
        client = OktaClient(org_url=okta.url, auth=auth, retry=FAST_RETRY, http=http)
        client.suspend("00uALICE")
        client.clear_sessions("00uALICE")
        assert auth.uses_dpop is dpop
    assert okta.users["00uALICE"]["status"] == "SUSPENDED"
    tokens = okta.calls("POST", "/oauth2/v1/token")
    # One token for both calls; with DPoP, two extra rounds learn DPoP and its nonce.
    assert len(tokens) == (3 if dpop else 1)
    scheme = "DPoP" if dpop else "Bearer"
    assert all(seen.headers["authorization"].startswith(scheme) for seen in okta.calls())


def test_service_app_without_the_scope_is_refused(okta, service_key):
    with httpx.Client(timeout=2.0) as http:
        auth = ServiceAppAuth(
            org_url=okta.url, client_id="0oaCREDWATCH", private_key=service_key, key_id=None,
            scopes=["okta.logs.read"], http=http,
        )
        client = OktaClient(org_url=okta.url, auth=auth, retry=FAST_RETRY, http=http)
        with pytest.raises(OktaError) as caught:
            client.suspend("00uALICE")
    assert caught.value.error_code == "E0000006"


def test_an_unknown_service_app_cannot_get_a_token(service_key):
    standin = OktaStandIn(service_apps={}).start()
    try:
        with httpx.Client(timeout=2.0) as http:
            auth = ServiceAppAuth(
                org_url=standin.url, client_id="0oaSTRANGER", private_key=service_key,
                key_id=None, scopes=["okta.users.manage"], http=http,
            )
            client = OktaClient(org_url=standin.url, auth=auth, retry=FAST_RETRY, http=http)
            with pytest.raises(OktaError, match="invalid_client"):
                client.suspend("00uALICE")
    finally:
        standin.stop()
