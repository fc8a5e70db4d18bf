"""Fixtures: loopback Okta and Jira stand-ins, and clients with tiny retry delays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from standins.okta import OktaStandIn

from integrations.okta import OktaClient, RetryPolicy
from integrations.okta_auth import SswsAuth

FAST_RETRY = RetryPolicy(attempts=4, backoff_initial=0.01, backoff_max=0.05, rate_limit_max_wait=2.0)


@pytest.fixture(scope="session")
def service_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def okta(service_key) -> Iterator[OktaStandIn]:
    standin = OktaStandIn(service_apps={"0oaCREDWATCH": service_key.public_key()}).start()
    for user in ("00uALICE", "00uAGENT1", "00uBOB"):
        standin.add_user(user)
    standin.groups["00gQUARANTINE"] = set()
    standin.apps["0oaCLIENT1"] = "ACTIVE"
    standin.api_tokens.add("00TTOKEN1")
    yield standin
    standin.stop()


@pytest.fixture
def okta_client(okta) -> Iterator[OktaClient]:
    client = OktaClient(
        org_url=okta.url, auth=SswsAuth(token=SecretStr(okta.token)), timeout=2.0, retry=FAST_RETRY
    )
    yield client
    client.close()
