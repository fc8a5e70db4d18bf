"""Text from events cannot become links, images, macros or mentions in tickets and
notices: whoever acts in Okta shapes user agents, names and app labels."""

from __future__ import annotations

from hostile_tally import count
from pydantic import SecretStr

from integrations.webhook import Notice, WebhookNotifier
from response.tickets import draft_ticket, evidence_comment

HOSTILE = "curl [Reset your password|https://evil.example] !https://evil.example/x.png! {html}<b>x</b>{html}"


def test_ticket_text_from_events_is_inert():
    incident = {
        "id": 7,
        "identity_id": "00uX",
        "identity_kind": "human",
        "identity_name": "Mallory [x|https://e]",
        "tier": "high",
        "risk": 80.0,
        "rules": ["r"],
        "reasons": [f"agent credential used from {HOSTILE}"],
        "event_ids": ["e1"],
        "opened_at": "2026-03-02T09:00:00Z",
        "first_detected_at": "2026-03-02T09:00:00Z",
        "last_detected_at": "2026-03-02T09:00:00Z",
        "model_version": "1",
    }
    evidence = [
        {
            "uuid": "e1",
            "published": "2026-03-02T09:00:00Z",
            "eventType": "user.session.start",
            "userAgent": HOSTILE,
            "place": "Denver\nh1. Click here",
            "apps": ["App [a|https://e]"],
            "ip": "45.9.1.2",
            "outcome": "SUCCESS",
        }
    ]
    draft = draft_ticket(
        incident=incident,
        actions=[],
        evidence=evidence,
        requested_priority=None,
        target={},
        owner=None,
        assignee=None,
    )
    for text in (
        draft.description,
        evidence_comment(
            incident={**incident, "detection_count": 2}, new_reasons=[HOSTILE]
        ),
    ):
        assert (
            "[Reset your password|" not in text and "\\[Reset your password\\|" in text
        )
        assert "!https://evil" not in text.replace("\\!https://evil", "")
        assert "{html}" not in text.replace("\\{html\\}", "")
        assert "\nh1. Click here" not in text
    count("tickets and notices: markup in event text", "neutralised")


def test_slack_notices_quote_events_without_links_or_mentions():
    notifier = WebhookNotifier(
        url=SecretStr("https://hooks.example.com/x"), style="slack"
    )
    try:
        payload = notifier._payload(
            Notice(
                title="credwatch: high incident on <!channel>",
                text="used from <https://evil.example|Okta login> & more",
                severity="high",
                dedup_key="k",
            )
        )
    finally:
        notifier.close()
    assert (
        "<!channel>" not in payload["text"] and "<https://evil" not in payload["text"]
    )
    assert "&lt;!channel&gt;" in payload["text"] and "&amp; more" in payload["text"]
    count("tickets and notices: markup in event text", "neutralised")
