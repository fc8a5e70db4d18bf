"""Agreement with a peer's rule tests: the Panther Okta rules' expected verdicts.

Each Panther test event is scored on its own by a detector trained on a simulated
world (the events carry no history of their own), and credwatch "flags" it when
the event's window reaches the medium tier, where an incident opens. Agreement is
reported per category; tests whose verdict depends on mocked rule state (previous
logins, counters) are counted apart, since a single event cannot carry that state.

    .venv/bin/python -m bench.panther
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson

from credwatch.errors import InvalidEvent
from events.readers import parse_event
from events.schemas import LogEvent
from features.deployment import load_deployment_map
from features.identity import IdentityResolver
from events.readers import read_events
from models.detector import Detector
from models.schemas import tier_rank
from simulator import simulate
from training.fit import fit_detector

COMPROMISE_CATEGORIES = frozenset(
    {"session_hijack", "session_hijack/token_reuse", "impossible_travel", "brute_force",
     "mfa_push_phishing", "api_token", "threatinsight", "behavior_risk_signal"}
)


def shared_okta_dir() -> Path:
    override = os.environ.get("CREDWATCH_SHARED_DIR")
    shared = Path(override) if override else Path(__file__).parents[1] / ".." / "shared"
    return (shared / "data" / "okta").resolve()


def trained_detector(work: Path) -> tuple[Detector, IdentityResolver]:
    world = work / "world"
    simulate(people=60, agents=16, days=7, seed=11, out=world)
    resolver = IdentityResolver(load_deployment_map(world / "deployment.yaml"))
    history = read_events([world / "history.jsonl"], quarantine=None)
    detector, _frame, _fit = fit_detector(history, resolver=resolver)
    return detector, resolver


def flagged(detector: Detector, resolver: IdentityResolver, event: LogEvent) -> tuple[bool, list[str]]:
    scorer = detector.scorer(resolver)
    scored = scorer.score_event(event, when=event.published)
    if scored is None or scored.detection is None:
        return False, []
    return tier_rank(scored.tier) >= tier_rank("medium"), scored.detection.rules


def main(argv: list[str] | None = None) -> str:
    okta = shared_okta_dir()
    if not okta.is_dir():
        raise SystemExit(f"the shared data folder is missing: looked for {okta}")
    panther = okta / "panther-analysis"
    lines = (panther / "rule_tests.jsonl").read_bytes().splitlines()
    with (panther / "rule_tests.labels.csv").open(newline="") as handle:
        labels = list(csv.DictReader(handle))

    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    disagreements = []
    with tempfile.TemporaryDirectory(prefix="credwatch-panther-") as work:
        detector, resolver = trained_detector(Path(work))
        for label in labels:
            number = int(label["line_no"])
            category = label["category"]
            expected = label["expected_match"] == "true"
            row = rows[category]
            row["tests"] += 1
            try:
                event = parse_event(orjson.loads(lines[number - 1]))
            except InvalidEvent:
                row["not an event"] += 1
                continue
            if label["has_mocks"] == "true":
                row["needs mocked state"] += 1
                continue
            ours, rules = flagged(detector, resolver, event)
            row["agree"] += ours == expected
            row["panther flags"] += expected
            row["credwatch flags"] += ours
            if ours != expected and category in COMPROMISE_CATEGORIES:
                disagreements.append((number, label["rule_id"], label["test_name"], expected, ours, rules))

    columns = ["tests", "not an event", "needs mocked state", "agree", "panther flags", "credwatch flags"]
    table = [f"| category | {' | '.join(columns)} |", f"| --- | {' | '.join('---' for _ in columns)} |"]
    for category in sorted(rows):
        table.append(f"| {category} | {' | '.join(str(rows[category][c]) for c in columns)} |")
    totals = {c: sum(rows[k][c] for k in rows) for c in columns}
    table.append(f"| **all** | {' | '.join(str(totals[c]) for c in columns)} |")
    text = "\n".join(table)
    print(text)
    print("\nDisagreements on compromise categories (line, Panther rule, test, Panther, credwatch, rules fired):")
    for item in disagreements:
        print("  ", item)
    return text


if __name__ == "__main__":
    main()
