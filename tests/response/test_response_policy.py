"""The graduated response policy: tiers, agent equivalents, protected identities."""

from __future__ import annotations

import pytest

from response.errors import PolicyError
from response.policy import DEFAULT_POLICY, load_policy, parse_policy, plan_actions


def _kinds(planned) -> list[str]:
    return [action.kind for action in planned]


def _by_kind(planned) -> dict:
    return {action.kind: action for action in planned}


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("none", []),
        ("low", ["record"]),
        ("medium", ["clear_sessions", "require_mfa", "open_ticket"]),
        ("high", ["revoke_tokens", "clear_sessions", "suspend", "open_ticket"]),
        (
            "critical",
            [
                "revoke_tokens",
                "clear_sessions",
                "suspend",
                "open_ticket",
                "notify_owner",
            ],
        ),
    ],
)
def test_human_tiers_follow_the_design_table(
    make_detection, deployment_map, tier, expected
):
    planned = plan_actions(
        detection=make_detection(tier=tier), deployment_map=deployment_map
    )
    assert _kinds(planned) == expected


def test_ticket_priority_rises_with_the_tier(make_detection, deployment_map):
    medium = _by_kind(plan_actions(detection=make_detection(), deployment_map=None))
    high = _by_kind(
        plan_actions(
            detection=make_detection(tier="high"), deployment_map=deployment_map
        )
    )
    assert medium["open_ticket"].request["priority"] == "normal"
    assert high["open_ticket"].request["priority"] == "urgent"


def test_requests_name_the_okta_calls(make_detection):
    planned = _by_kind(
        plan_actions(detection=make_detection(tier="high"), deployment_map=None)
    )
    suspend = planned["suspend"].request
    assert suspend["service"] == "okta"
    assert suspend["target"] == {"type": "user", "id": "00uALICE", "name": None}
    assert suspend["calls"] == [
        {"method": "POST", "path": "/api/v1/users/00uALICE/lifecycle/suspend"}
    ]
    assert "concurrent_networks" in planned["suspend"].reason


def test_service_account_agent_gets_no_mfa_and_its_api_token_revoked(
    make_detection, deployment_map
):
    medium = plan_actions(
        detection=make_detection("00uAGENT1", kind="ai_agent"),
        deployment_map=deployment_map,
    )
    assert _kinds(medium) == ["clear_sessions", "open_ticket"]

    high = _by_kind(
        plan_actions(
            detection=make_detection("00uAGENT1", kind="ai_agent", tier="high"),
            deployment_map=deployment_map,
        )
    )
    assert set(high) == {"revoke_tokens", "clear_sessions", "suspend", "open_ticket"}
    paths = [call["path"] for call in high["revoke_tokens"].request["calls"]]
    assert "/api/v1/api-tokens/00TTOKEN1" in paths
    ticket = high["open_ticket"].request
    assert ticket["assignee"] == "5b10ac8d82e05b22cc7d4ef5"
    assert ticket["owner"] == "finance-ml"
    assert ticket["target"]["name"] == "invoice-summarizer"


def test_oauth_app_agent_gets_token_revocation_and_deactivation(
    make_detection, deployment_map
):
    medium = plan_actions(
        detection=make_detection("0oaCLIENT1", kind="ai_agent"),
        deployment_map=deployment_map,
    )
    assert _kinds(medium) == ["revoke_tokens", "open_ticket"]

    critical = _by_kind(
        plan_actions(
            detection=make_detection("0oaCLIENT1", kind="ai_agent", tier="critical"),
            deployment_map=deployment_map,
        )
    )
    assert list(critical) == [
        "revoke_tokens",
        "deactivate_app",
        "open_ticket",
        "notify_owner",
    ]
    assert critical["revoke_tokens"].request["calls"] == [
        {"method": "DELETE", "path": "/api/v1/apps/0oaCLIENT1/tokens"}
    ]
    assert critical["deactivate_app"].request["calls"] == [
        {"method": "POST", "path": "/api/v1/apps/0oaCLIENT1/lifecycle/deactivate"}
    ]
    assert critical["notify_owner"].request["owner"] == "analytics"


def test_protected_identity_is_never_suspended_and_gets_an_urgent_ticket(
    make_detection, deployment_map
):
    for tier in ("medium", "high", "critical"):
        planned = _by_kind(
            plan_actions(
                detection=make_detection("00uBREAKGLASS", tier=tier),
                deployment_map=deployment_map,
            )
        )
        assert not {"suspend", "require_mfa", "revoke_tokens", "clear_sessions"} & set(
            planned
        )
        ticket = planned["open_ticket"]
        assert ticket.request["priority"] == "urgent"
        assert ticket.request["withheld_actions"]
        assert "protected identity" in ticket.reason
        assert "withheld" in ticket.reason
    assert "notify_owner" in planned  # critical still tells the owner


def test_policy_file_overrides_only_what_it_names(tmp_path, make_detection):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "ai_agent:\n  medium: [open_ticket]\nquarantine_group_id: 00gQUARANTINE\n",
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert policy.ai_agent.medium == ["open_ticket"]
    assert policy.ai_agent.high == DEFAULT_POLICY.ai_agent.high
    assert policy.human == DEFAULT_POLICY.human

    planned = _by_kind(
        plan_actions(detection=make_detection(), deployment_map=None, policy=policy)
    )
    assert planned["require_mfa"].request["calls"] == [
        {"method": "PUT", "path": "/api/v1/groups/00gQUARANTINE/users/00uALICE"}
    ]


def test_no_policy_file_means_the_default():
    assert load_policy(None) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"human": {"high": ["explode"]}}, "human.high.0"),
        ({"humans": {}}, "humans"),
        ({"ticket_priority": {"high": "whenever"}}, "ticket_priority.high"),
    ],
)
def test_bad_policy_is_rejected_with_its_location(document, fragment):
    with pytest.raises(PolicyError, match=fragment):
        parse_policy(document, source="policy.yaml")


def test_unreadable_policy_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("human: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)
