"""API keys, scopes, rate limits and the Okta hook secret, through the real app."""

from __future__ import annotations

import json

import pytest
from conftest import HOOK_SECRET, agent_event, as_json
from typer.testing import CliRunner

from credwatch import cli
from credwatch.keys import check_key, create_key, hash_key, list_keys, revoke_key
from credwatch.settings import get_settings

PROTECTED = [
    ("post", "/v1/score"),
    ("get", "/v1/identities/00uSYNC"),
    ("get", "/v1/incidents"),
    ("get", "/v1/incidents/1"),
    ("get", "/v1/okta/events"),
    ("post", "/v1/okta/events"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cwk_not-a-real-key"},
        {"X-API-Key": "wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["missing", "unknown-bearer", "unknown-header", "basic"],
)
def test_wrong_or_missing_credentials_get_a_bare_401(
    module_served, method, path, headers
):
    served = module_served
    response = served.client.request(
        method, path, headers=headers, json={"eventType": "x"}
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "unauthorized"}


def test_a_key_works_as_bearer_or_x_api_key(served):
    body = as_json(agent_event(1))
    key = served.keys["score"]

    bearer = served.client.post(
        "/v1/score", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    header = served.client.post("/v1/score", json=body, headers={"X-API-Key": key})

    assert bearer.status_code == header.status_code == 200


def test_scopes_decide_what_a_key_may_call(served):
    event = as_json(agent_event(1))

    assert (
        served.client.post(
            "/v1/score", json=event, headers=served.headers("read")
        ).status_code
        == 403
    )
    assert (
        served.client.get("/v1/incidents", headers=served.headers("score")).status_code
        == 403
    )
    assert (
        served.client.get("/v1/incidents", headers=served.headers("read")).status_code
        == 200
    )
    assert (
        served.client.get("/v1/incidents", headers=served.headers("admin")).status_code
        == 200
    )
    assert (
        served.client.post(
            "/v1/score", json=event, headers=served.headers("admin")
        ).status_code
        == 200
    )


def test_an_api_key_is_not_the_hook_secret_and_the_other_way_round(served):
    assert (
        served.client.get(
            "/v1/okta/events",
            headers={**served.headers("admin"), "x-okta-verification-challenge": "c"},
        ).status_code
        == 401
    )
    assert (
        served.client.get(
            "/v1/incidents", headers={"Authorization": HOOK_SECRET}
        ).status_code
        == 401
    )


def test_a_revoked_key_is_refused(served):
    key, _ = create_key(served.settings, "short-lived", scope="read")
    assert (
        served.client.get("/v1/incidents", headers={"X-API-Key": key}).status_code
        == 200
    )

    revoke_key(served.settings, "short-lived")

    assert (
        served.client.get("/v1/incidents", headers={"X-API-Key": key}).status_code
        == 401
    )


def test_over_the_rate_limit_is_429_with_retry_after(served):
    key, _ = create_key(served.settings, "slow", scope="read", rate_per_minute=3)
    codes = [
        served.client.get("/v1/incidents", headers={"X-API-Key": key}) for _ in range(4)
    ]

    assert [item.status_code for item in codes] == [200, 200, 200, 429]
    assert int(codes[-1].headers["Retry-After"]) >= 1
    # Other keys keep their own budget.
    assert (
        served.client.get("/v1/incidents", headers=served.headers("read")).status_code
        == 200
    )


def test_without_a_configured_hook_secret_the_hook_refuses_everything(serve):
    served = serve(okta_hook_secret=None)

    response = served.client.post(
        "/v1/okta/events", headers={"Authorization": ""}, json={}
    )

    assert response.status_code == 401


def test_keys_are_random_stored_as_hashes_and_never_listed(served):
    key, info = create_key(served.settings, "zapier-prod")
    again, _ = create_key(served.settings, "zapier-prod-2")

    assert key != again and key.startswith("cwk_") and len(key) > 40
    listed = json.dumps(list_keys(served.settings))
    assert key not in listed and hash_key(key) not in listed
    assert info["key_starts"] in listed
    assert check_key(served.settings, key).name == "zapier-prod"
    assert check_key(served.settings, key + "x") is None


def test_the_keys_commands(make_settings, monkeypatch):
    settings = make_settings()
    monkeypatch.setenv("CREDWATCH_HOME", str(settings.home))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        created = runner.invoke(
            cli.app, ["keys", "create", "zap", "--scope", "read", "--json"]
        )
        listed = runner.invoke(cli.app, ["keys", "list", "--json"])
        revoked = runner.invoke(cli.app, ["keys", "revoke", "zap"])
        bad_scope = runner.invoke(
            cli.app, ["keys", "create", "other", "--scope", "root"]
        )
        listed_after = runner.invoke(cli.app, ["keys", "list", "--json"])
    finally:
        get_settings.cache_clear()

    assert created.exit_code == 0, created.output
    made = json.loads(created.stdout)
    assert made["scope"] == "read" and made["key"].startswith("cwk_")
    assert [row["name"] for row in json.loads(listed.stdout)] == ["zap"]
    assert made["key"] not in listed.stdout
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert bad_scope.exit_code != 0
    assert json.loads(listed_after.stdout)[0]["revoked_at"] is not None
