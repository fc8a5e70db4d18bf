"""Every public Okta sample in the shared data folder reads as its provenance says.

The folder sits next to the repository (`../shared/data/okta/`) or wherever
`CREDWATCH_SHARED_DIR` points (the folder that holds `data/okta`). Its absence is a
failure, not a skip: these are the only real-world events the readers are held to.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from events.quarantine import QuarantineWriter
from events.readers import ReadReport, read_events
from events.schemas import LogEvent
from tests.reading_checks import shared_okta_dir

# file (relative to data/okta) -> (events, quarantined)
EXPECTED: dict[str, tuple[int, int]] = {
    "panther-analysis/rule_tests.jsonl": (86, 2),
    "panther-analysis/rule_tests.mocks.jsonl": (0, 14),
    "panther-analysis/scheduled_rule_rows.jsonl": (0, 34),
    "panther-analysis/scenario_compromised-root-creds.jsonl": (3, 0),
    "elastic-beats/okta-system-test.json.log": (7, 0),
    "elastic-integrations/test-okta-system-events.lines15-20.jsonl": (6, 0),
    "sekoia-intake-formats/okta-system-logs-tests.jsonl": (10, 0),
    "ocsf-examples/account_change.raw": (1, 0),
    "ocsf-examples/authentication.raw": (1, 0),
    "ocsf-examples/authorize_session.raw": (1, 0),
    "ocsf-examples/detection_finding.raw": (1, 0),
    "ocsf-examples/entity_management.raw": (1, 0),
    "ocsf-examples/generic_api_activity.raw": (1, 0),
    "ocsf-examples/group_management.raw": (1, 0),
}
# PROVENANCE.md and the five .csv label/index/catalogue files.
EXPECTED_SKIPPED = 6


@dataclass(frozen=True)
class SharedRead:
    events: list[LogEvent]
    report: ReadReport
    quarantine_lines: int


@lru_cache(maxsize=1)
def _read_all(okta_dir: Path) -> SharedRead:
    # Read once for the module; tests call shared_okta_dir() first so that a missing
    # folder fails each of them rather than erroring in a fixture.
    report = ReadReport()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "shared.quarantine.jsonl"
        with QuarantineWriter(target) as quarantine:
            events = list(read_events([okta_dir], quarantine=quarantine, report=report))
        lines = len(target.read_bytes().splitlines())
    return SharedRead(events, report, lines)


def test_every_file_gives_the_expected_counts() -> None:
    okta_dir = shared_okta_dir()
    report = _read_all(okta_dir).report

    counts = {
        Path(source).relative_to(okta_dir).as_posix(): (c.events, c.quarantined)
        for source, c in report.per_file.items()
    }

    assert counts == EXPECTED
    assert report.files_skipped == EXPECTED_SKIPPED
    assert report.events == sum(e for e, _ in EXPECTED.values()) == 119
    assert report.quarantined == sum(q for _, q in EXPECTED.values()) == 50


def test_quarantined_records_are_the_ones_that_are_not_events() -> None:
    shared = _read_all(shared_okta_dir())
    report = shared.report

    lines: Counter[str] = Counter()
    for entry in report.entries:
        lines[Path(entry.source).name] += 1
    rule_test_lines = [
        e.line for e in report.entries if e.source.endswith("rule_tests.jsonl")
    ]
    flattened = [e for e in report.entries if "flattened SIEM/query row" in e.reason]

    assert rule_test_lines == [71, 83]
    assert lines == {
        "rule_tests.jsonl": 2,
        "rule_tests.mocks.jsonl": 14,
        "scheduled_rule_rows.jsonl": 34,
    }
    # 8 scheduled-rule rows carry an eventType but are flattened rows; the other
    # 26 have no eventType at all.
    assert len(flattened) == 8
    assert shared.quarantine_lines == 50


def test_every_event_is_a_complete_okta_event() -> None:
    events = _read_all(shared_okta_dir()).events

    assert all(e.eventType and e.uuid for e in events)
    # Lower-cased keys were restored: nothing but vendor p_* keys is left over.
    leftovers = {k for e in events for k in (e.model_extra or {})}
    assert leftovers and all(k.startswith("p_") for k in leftovers)
    assert sum(1 for e in events if e.published is None) == 17
    assert Counter(e.eventType for e in events)["user.session.start"] == 33


def test_derived_uuids_are_the_same_on_every_read() -> None:
    okta_dir = shared_okta_dir()
    first = [e.uuid for e in read_events([okta_dir], quarantine=None)]
    second = [e.uuid for e in read_events([okta_dir], quarantine=None)]

    assert first == second


def test_ocsf_numeric_postal_code_is_read_as_text() -> None:
    okta_dir = shared_okta_dir()
    (event,) = read_events(
        [okta_dir / "ocsf-examples" / "detection_finding.raw"], quarantine=None
    )

    assert event.eventType == "security.threat.detected"
    assert event.threat_suspected is True
    chain = event.request.ipChain if event.request else None
    assert chain and chain[0].geographicalContext is not None
    assert chain[0].geographicalContext.postalCode == "10013"
