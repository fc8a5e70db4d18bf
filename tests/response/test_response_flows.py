"""The settings-level entry points used by the commands and the API."""

from __future__ import annotations

import json

import pytest

from credwatch.settings import Settings
from response import flows
from response.errors import UnknownIncident
from response.policy import DEFAULT_POLICY, describe_action


@pytest.fixture
def settings(tmp_path):
    yield Settings(
        home=tmp_path / "home",
        database_url=None,
        response_mode="dry-run",
        _env_file=None,
    )
    flows.dispose_databases()


def test_a_whole_round_through_the_flows(settings, make_detection, deployment_map):
    incidents = flows.respond_to_detections(
        [
            make_detection("00uALICE", tier="high", risk=80),
            make_detection("00uBOB", tier="low", risk=20),
            make_detection("00uALICE", tier="critical", risk=95, minutes=2),
        ],
        settings=settings,
        deployment=deployment_map,
    )
    assert list(incidents) == ["00uALICE"]
    assert (settings.home / "credwatch.db").is_file()

    rows = flows.incidents_as_dicts(settings=settings, open_only=True)
    json.dumps(rows)
    assert [row["id"] for row in rows] == [incidents["00uALICE"]]
    assert rows[0]["tier"] == "critical"
    assert all(action["mode"] == "dry-run" for action in rows[0]["actions"])

    released = flows.release(settings=settings, identity_id="00uALICE", actor="ana")
    assert [row["kind"] for row in released] == ["unsuspend"]

    resolved = flows.give_verdict(
        settings=settings, incident_id=incidents["00uALICE"], verdict="true-positive"
    )
    assert resolved["status"] == "resolved"
    assert resolved["verdict"] == "true-positive"
    assert resolved["verdict_by"]  # the local user, never empty
    assert flows.incidents_as_dicts(settings=settings, open_only=True) == []

    with pytest.raises(UnknownIncident):
        flows.give_verdict(settings=settings, incident_id=999, verdict="expected")


def test_enforce_setting_reaches_the_audit_trail(tmp_path, make_detection):
    settings = Settings(
        home=tmp_path, database_url=None, response_mode="enforce", _env_file=None
    )
    try:
        flows.respond_to_detections(
            [make_detection(tier="high", risk=80)], settings=settings, deployment=None
        )
        (row,) = flows.incidents_as_dicts(settings=settings)
    finally:
        flows.dispose_databases()
    assert {action["status"] for action in row["actions"]} == {"planned"}


def test_without_a_policy_file_the_default_policy_applies(settings):
    assert flows.policy_for(settings) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("tier", "kind", "identity_id", "expected"),
    [
        ("none", "human", None, "none"),
        ("low", "human", None, "record"),
        ("medium", "human", None, "clear_sessions, require_mfa, open_ticket"),
        (
            "high",
            "ai_agent",
            "0oaCLIENT1",
            "revoke_tokens, deactivate_app, open_ticket",
        ),
        ("high", "human", "00uBREAKGLASS", "open_ticket"),
    ],
)
def test_describe_action_for_the_scoring_api(
    deployment_map, tier, kind, identity_id, expected
):
    described = describe_action(
        tier, kind, identity_id=identity_id, deployment_map=deployment_map
    )
    assert described == expected
