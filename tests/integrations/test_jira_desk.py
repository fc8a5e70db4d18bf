"""Tickets through the real `jira` package against the loopback Jira."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from standins.jira import JiraStandIn

from integrations.jira_tickets import JiraError, JiraTicketDesk, TicketDraft

DRAFT = TicketDraft(
    summary="credwatch: high risk on human alice",
    description="Identity\n- id: 00uALICE",
    priority="urgent",
    label="credwatch-incident-7",
    labels=["credwatch"],
    assignee="5b10ac8d82e05b22cc7d4ef5",
)


@pytest.fixture(params=["Cloud", "Server"])
def jira(request):
    standin = JiraStandIn(deployment=request.param).start()
    yield standin
    standin.stop()


def desk_for(standin: JiraStandIn, **overrides) -> JiraTicketDesk:
    options = dict(
        url=standin.url,
        user=standin.user if standin.cloud else None,
        token=SecretStr(standin.token),
        project="SEC",
        issue_type="Task",
        timeout=2.0,
        max_retries=1,
    )
    options.update(overrides)
    return JiraTicketDesk(**options)


def test_opens_finds_comments_and_escalates_on_cloud_and_data_center(jira):
    desk = desk_for(jira)
    assert desk.find_ticket(DRAFT.label) is None
    ref = desk.open_ticket(DRAFT)
    issue = jira.issues[ref.key]
    assert ref.url == f"{jira.url}/browse/{ref.key}"
    assert issue.fields["priority"] == {"name": "High"}
    assert issue.fields["labels"] == ["credwatch-incident-7", "credwatch"]
    assignee_key = "accountId" if jira.cloud else "name"
    assert issue.fields["assignee"] == {assignee_key: DRAFT.assignee}
    # The retry after a crash finds the same ticket by its label.
    assert desk.find_ticket(DRAFT.label).key == ref.key
    desk.add_comment(ref.key, "new evidence")
    desk.set_priority(ref.key, "critical")
    assert issue.comments[0]["body"] == "new evidence"
    assert issue.fields["priority"] == {"name": "Highest"}
    search = "/rest/api/2/search/jql" if jira.cloud else "/rest/api/2/search"
    assert ("GET", search) in jira.requests
    # serverInfo once, at construction.
    assert jira.requests.count(("GET", "/rest/api/2/serverInfo")) == 1


def test_a_refused_field_is_left_out_and_the_ticket_still_opens(jira):
    jira.refused_fields = {"priority": "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."}
    ref = desk_for(jira).open_ticket(DRAFT)
    issue = jira.issues[ref.key]
    assert "priority" not in issue.fields
    assert "priority" in ref.dropped
    assert "refused" in issue.comments[0]["body"] and "priority" in issue.comments[0]["body"]


def test_a_rejected_required_field_is_an_error_naming_it(jira):
    desk = desk_for(jira, project="NOPE")
    with pytest.raises(JiraError) as caught:
        desk.open_ticket(DRAFT)
    assert caught.value.status == 400 and "project" in str(caught.value)
    assert not caught.value.retryable
    assert jira.token not in str(caught.value)


def test_rate_limits_are_retried_with_retry_after():
    jira = JiraStandIn().start()
    jira.rate_limited = 1
    try:
        ref = desk_for(jira).open_ticket(DRAFT)
        assert ref.key in jira.issues
    finally:
        jira.stop()


def test_wrong_credentials_fail_at_connect_without_the_secret(jira):
    desk = desk_for(jira, token=SecretStr("wrong-secret"))
    with pytest.raises(JiraError) as caught:
        desk.open_ticket(DRAFT)
    assert caught.value.status == 401
    assert "wrong-secret" not in str(caught.value)


def test_jira_down_is_retryable():
    standin = JiraStandIn().start()
    desk = desk_for(standin, max_retries=0)
    standin.stop()
    with pytest.raises(JiraError) as caught:
        desk.open_ticket(DRAFT)
    assert caught.value.retryable
