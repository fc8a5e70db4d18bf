"""The held-action flows the CLI and the API call: list, approve, drop, release."""

from __future__ import annotations

import pytest
from standins.okta import OktaStandIn

from credwatch.settings import Settings
from response import flows
from response.held import UnknownAction


@pytest.fixture
def okta():
    standin = OktaStandIn().start()
    standin.add_user("00uALICE")
    yield standin
    standin.stop()


@pytest.fixture
def settings(tmp_path, okta):
    yield Settings(
        home=tmp_path, response_mode="enforce", okta_org_url=okta.url, okta_token=okta.token,
        breaker_max_per_hour=0, okta_max_attempts=1, _env_file=None,
    )
    flows.dispose_databases()


def test_held_actions_are_listed_approved_dropped_and_released(settings, okta, make_detection):
    flows.respond_to_detections([make_detection(tier="high", risk=80)], settings=settings, deployment=None)
    flows.run_outbox(settings=settings)
    waiting = flows.waiting_actions_as_dicts(settings=settings)
    assert {row["kind"] for row in waiting} == {"revoke_tokens", "clear_sessions", "suspend"}
    assert all(row["status"] == "held" for row in waiting)
    assert okta.calls() == []

    suspend = next(row for row in waiting if row["kind"] == "suspend")
    done = flows.approve_action(settings=settings, action_id=suspend["id"], actor="ana")
    assert done["status"] == "done" and okta.users["00uALICE"]["status"] == "SUSPENDED"
    dropped = flows.drop_action(settings=settings, action_id=waiting[0]["id"], actor="ana")
    assert dropped["status"] == "skipped"
    with pytest.raises(UnknownAction):
        flows.drop_action(settings=settings, action_id=suspend["id"])

    released = flows.release(settings=settings, identity_id="00uALICE", actor="ana")
    assert [(row["kind"], row["status"]) for row in released] == [("unsuspend", "done")]
    assert okta.users["00uALICE"]["status"] == "ACTIVE"
