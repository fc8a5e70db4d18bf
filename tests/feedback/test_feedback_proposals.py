"""Map changes proposed from expected verdicts, stored, and accepted into the map."""

from __future__ import annotations

import yaml

from features.deployment import load_deployment_map
from feedback import flows
from feedback.proposals import (
    SeenEvent,
    SpanEvidence,
    apply_to_map,
    propose,
    store_proposals,
)

MAP = {
    "agents": [
        {
            "name": "report-bot",
            "match": {"client_ids": ["0oaREPORT"]},
            "networks": ["10.0.0.0/24"],
        }
    ],
    "known_networks": [{"name": "office", "cidrs": ["192.0.2.0/24"]}],
}


def seen(ip: str, asn: int | None, rules=("agent_outside_declared",)) -> SeenEvent:
    return SeenEvent(
        ip=ip,
        asn=asn,
        network=f"AS{asn}",
        country="DE",
        client="python",
        rules=tuple(rules),
    )


def spans() -> list[SpanEvidence]:
    return [
        SpanEvidence(
            1,
            "0oaREPORT",
            "ai_agent",
            "report-bot",
            "expected",
            ["agent_outside_declared"],
            [seen("34.78.242.10", 396982), seen("34.78.242.77", 396982)],
        ),
        # The same new VPN, expected for two people: the organisation's network.
        SpanEvidence(
            2,
            "00uALICE",
            "human",
            None,
            "expected",
            ["impossible_travel"],
            [seen("162.250.17.9", 64500, ("impossible_travel",))],
        ),
        SpanEvidence(
            3,
            "00uBOB",
            "human",
            None,
            "expected",
            ["impossible_travel"],
            [seen("162.250.17.30", 64500, ("impossible_travel",))],
        ),
        # An assistant in an executive's account.
        SpanEvidence(
            4,
            "00uEXEC",
            "human",
            None,
            "expected",
            ["session_context_change"],
            [seen("203.0.113.5", 7922, ("session_context_change",))],
        ),
        # Not expected: nothing to propose from it.
        SpanEvidence(
            5,
            "0oaOTHER",
            "ai_agent",
            "other",
            "true-positive",
            ["agent_outside_declared"],
            [seen("185.220.101.4", 60729)],
        ),
    ]


def test_expected_verdicts_propose_agent_networks_known_networks_and_shared_access():
    found = {(p.kind, p.identity_id, p.value) for p in propose(spans())}
    assert found == {
        ("agent_network", "0oaREPORT", "34.78.242.0/24"),
        ("known_network", "", "AS64500"),
        ("shared_access", "00uEXEC", "00uEXEC"),
    }
    changed = apply_to_map(MAP, propose(spans()))
    assert changed["agents"][0]["networks"] == ["10.0.0.0/24", "34.78.242.0/24"]
    assert {"name": "learned-AS64500", "asns": [64500]} in changed["known_networks"]
    assert changed["shared_access_expected"]["actor_ids"] == ["00uEXEC"]
    assert MAP["agents"][0]["networks"] == ["10.0.0.0/24"]  # the input is untouched


def test_accepting_writes_the_map_and_rejected_ones_stay_rejected(
    settings, tmp_path, db
):
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(MAP))
    with db() as session:
        stored = store_proposals(session, propose(spans()))
        session.commit()
        ids = {row.kind: row.id for row in stored}

    accepted = flows.decide_proposal(
        settings=settings,
        proposal_id=ids["agent_network"],
        accept=True,
        actor="lead",
        map_path=path,
    )
    assert accepted["status"] == "accepted" and accepted["written_to"] == str(path)
    assert (tmp_path / "deployment.yaml.bak").exists()
    assert "34.78.242.0/24" in load_deployment_map(path).agents[0].networks

    flows.decide_proposal(
        settings=settings, proposal_id=ids["shared_access"], accept=False, actor="lead"
    )
    with db() as session:
        store_proposals(session, propose(spans()))
        session.commit()
    pending = flows.list_proposals(settings=settings, status="proposed")
    assert [p["kind"] for p in pending] == ["known_network"]
