"""Verdicts from resolved Jira tickets, through the real `jira` client, against the
loopback Jira in Cloud (`search/jql`, `nextPageToken`) and Data Center (`search`,
`startAt`/`total`) modes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from feedbackhelpers import T0
from pydantic import SecretStr
from standins.jira import JiraStandIn

from feedback.flows import pull_jira_verdicts
from feedback.jira_source import JiraVerdictSource
from feedback.labels import current_labels
from response.queries import get_incident


@pytest.fixture(params=["Cloud", "Server"])
def jira(request):
    standin = JiraStandIn(deployment=request.param).start()
    standin.now = T0 + timedelta(days=1)
    # Small pages, so every search takes several requests.
    standin.page_cap = 2
    yield standin
    standin.stop()


SOURCES: list[JiraVerdictSource] = []


@pytest.fixture(autouse=True)
def close_sources():
    yield
    while SOURCES:
        SOURCES.pop().close()


def source_for(standin: JiraStandIn) -> JiraVerdictSource:
    source = JiraVerdictSource(
        url=standin.url,
        user=standin.user if standin.cloud else None,
        token=SecretStr(standin.token),
        project="SEC",
        timeout=2.0,
        max_retries=2,
        page_size=2,
    )
    SOURCES.append(source)
    return source


def ticket(standin: JiraStandIn, incident_id: int | None, *extra_labels: str):
    labels = ["credwatch", *extra_labels]
    if incident_id is not None:
        labels.append(f"credwatch-incident-{incident_id}")
    return standin.add_ticket(labels=labels)


def test_resolved_tickets_become_verdicts_across_pages(
    jira, settings, open_incident, db
):
    agent = open_incident("0oaAGENT1")
    person = open_incident("00uALICE", kind="human", rules=("impossible_travel",))
    other = open_incident("00uBOB", kind="human", rules=("okta_threat_signal",))
    open_incident("00uCAROL", kind="human")  # its ticket stays unresolved
    jira.resolve(ticket(jira, agent).key, resolution="Expected")
    jira.resolve(ticket(jira, person).key, resolution="True Positive")
    jira.resolve(ticket(jira, other).key, resolution="False Positive")
    ticket(jira, 4)
    # Not credwatch's: another team's ticket in the same project.
    jira.resolve(jira.add_ticket(labels=["infra"]).key, resolution="Done")

    report = pull_jira_verdicts(
        settings=settings, source=source_for(jira), now=jira.now
    )

    assert report["tickets"] == 3
    assert sorted((a["incident_id"], a["verdict"]) for a in report["applied"]) == [
        (agent, "expected"),
        (person, "true-positive"),
        (other, "false-positive"),
    ]
    assert report["problems"] == []
    with db() as session:
        assert get_incident(session, person).verdict == "true-positive"
        labels = {row.incident_id: row for row in current_labels(session)}
    assert labels[agent].source == "jira" and labels[agent].source_ref.startswith(
        "SEC-"
    )
    assert labels[person].identity_id == "00uALICE"
    assert labels[person].start == T0.replace(minute=0)
    search = "/rest/api/2/search/jql" if jira.cloud else "/rest/api/2/search"
    pages = [path for method, path in jira.requests if path == search]
    assert len(pages) == 2  # three tickets, two per page

    # Read again: nothing new, nothing applied twice.
    again = pull_jira_verdicts(settings=settings, source=source_for(jira), now=jira.now)
    assert again["applied"] == [] and again["unchanged"] <= 3


def test_tickets_without_verdict_or_known_incident_are_reported_not_guessed(
    jira, settings, open_incident, db
):
    known = open_incident("0oaAGENT1")
    jira.resolve(ticket(jira, known).key, resolution="Done")  # no verdict in it
    jira.resolve(ticket(jira, 999).key, resolution="False Positive")  # unknown incident
    jira.resolve(
        ticket(jira, None).key, resolution="False Positive"
    )  # no incident label

    report = pull_jira_verdicts(
        settings=settings, source=source_for(jira), now=jira.now
    )

    problems = {item["ticket"]: item["problem"] for item in report["problems"]}
    assert report["applied"] == []
    assert len(problems) == 3
    assert any("'Done', which names no verdict" in p for p in problems.values())
    assert any(
        "incident 999, which credwatch does not know" in p for p in problems.values()
    )
    assert any("names no credwatch incident" in p for p in problems.values())
    with db() as session:
        assert get_incident(session, known).verdict is None


def test_verdict_from_a_label_or_a_custom_field(jira, settings, open_incident, db):
    first = open_incident("0oaAGENT1")
    second = open_incident("0oaAGENT2")
    jira.resolve(ticket(jira, first).key, add_labels=("verdict-expected",))
    jira.resolve(
        ticket(jira, second).key,
        fields={"customfield_10050": {"value": "True positive"}},
    )

    by_label = settings.model_copy(update={"jira_verdict_source": "label"})
    report = pull_jira_verdicts(
        settings=by_label, source=source_for(jira), now=jira.now
    )
    assert [(a["incident_id"], a["verdict"]) for a in report["applied"]] == [
        (first, "expected")
    ]

    by_field = settings.model_copy(
        update={
            "jira_verdict_source": "field",
            "jira_verdict_field": "customfield_10050",
        }
    )
    # The same tickets read again: only the field's verdict is new.
    report = pull_jira_verdicts(
        settings=by_field, source=source_for(jira), now=jira.now
    )
    applied = [(a["incident_id"], a["verdict"]) for a in report["applied"]]
    assert applied == [(second, "true-positive")]


def test_cursor_moves_and_rate_limits_are_waited_out(jira, settings, open_incident):
    early = open_incident("0oaAGENT1")
    jira.resolve(ticket(jira, early).key, resolution="Expected", at=T0)
    jira.now = T0 + timedelta(hours=1)
    pull_jira_verdicts(settings=settings, source=source_for(jira), now=jira.now)

    later = open_incident("0oaAGENT2")
    jira.now = T0 + timedelta(days=3)
    jira.resolve(ticket(jira, later).key, resolution="False Positive")
    jira.rate_limited = 1  # one 429 with Retry-After: 0, then the answer
    report = pull_jira_verdicts(
        settings=settings, source=source_for(jira), now=jira.now
    )

    # Tickets updated since the cursor are read; the one at the cursor again,
    # which changes nothing.
    assert [a["incident_id"] for a in report["applied"]] == [later]
    assert report["tickets"] == 2 and report["unchanged"] == 1
    assert report["cursor"].startswith((T0 + timedelta(days=3)).strftime("%Y-%m-%d"))
