"""Simulated events must look like the real public samples: same fields, same formats."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from simhelpers import SimRun

from events.normalise import normalise_keys
from events.readers import list_input_files, read_events

# Real exports of real tenants, scrubbed; the Panther fixtures are hand-written.
REAL_SOURCES = ("elastic-beats", "elastic-integrations", "sekoia-intake-formats", "ocsf-examples")
# Okta sometimes writes these and sometimes not, in the samples as in life.
OPTIONAL = {"debugContext.debugData.behaviors", "debugContext.debugData.risk",
            "debugContext.debugData.logOnlySecurityData", "securityContext.asNumber",
            "securityContext.asOrg", "securityContext.isp", "securityContext.domain"}
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def shared_okta() -> Path:
    override = os.environ.get("CREDWATCH_SHARED_DIR")
    shared = Path(override) if override else Path(__file__).parents[2] / ".." / "shared"
    okta = (shared / "data" / "okta").resolve()
    if not okta.is_dir():
        pytest.fail(f"the shared data folder is missing: looked for {okta}")
    return okta


def paths_with_values(document: Any, prefix: str = "", depth: int = 0) -> set[str]:
    """Dotted paths of the fields holding a value, three levels deep."""
    found: set[str] = set()
    if isinstance(document, dict) and depth < 3:
        for key, value in document.items():
            path = f"{prefix}{key}"
            if value not in (None, "", [], {}):
                found.add(path)
                found |= paths_with_values(value, path + ".", depth + 1)
    return found


def presence(events: list[dict[str, Any]], *, at_least: int = 1) -> dict[str, dict[str, float]]:
    """Per event type seen `at_least` times, the share of events in which each
    field holds a value."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for event in events:
        kind = event["eventType"]
        totals[kind] += 1
        for path in paths_with_values(event):
            counts[kind][path] += 1
    return {
        kind: {path: n / totals[kind] for path, n in paths.items()}
        for kind, paths in counts.items()
        if totals[kind] >= at_least
    }


@pytest.fixture(scope="module")
def real_presence() -> dict[str, dict[str, float]]:
    okta = shared_okta()
    files = [path for name in REAL_SOURCES for path in list_input_files([okta / name])]
    events = [normalise_keys(e.model_dump(mode="json", exclude_unset=True))
              for e in read_events(files, quarantine=None)]
    # A single sample says nothing of what Okta writes usually.
    return presence(events, at_least=2)


def test_simulated_events_carry_the_fields_real_ones_do(small_run: SimRun, real_presence):
    simulated = presence(small_run.history + small_run.test)
    shared_types = sorted(set(real_presence) & set(simulated))
    assert len(shared_types) >= 5, f"too few event types in common: {shared_types}"

    drift = []
    for kind in shared_types:
        for path, share in real_presence[kind].items():
            if share >= 0.8 and path not in OPTIONAL and simulated[kind].get(path, 0.0) < 0.5:
                drift.append(f"{kind}: {path} in {share:.0%} of real events, "
                             f"{simulated[kind].get(path, 0.0):.0%} of simulated")
    assert not drift, "simulated events lack fields real ones carry:\n" + "\n".join(drift)


def test_simulated_values_use_okta_formats(small_run: SimRun):
    for event in small_run.history[:2000] + small_run.test[:2000]:
        assert ISO_MILLIS.match(event["published"]), event["published"]
        assert event["severity"] in {"DEBUG", "INFO", "WARN", "ERROR"}
        assert event["actor"]["type"] in {"User", "PublicClientApp", "SystemPrincipal", "IP address"}
        for hop in (event.get("request") or {}).get("ipChain") or []:
            assert hop["version"] in {"V4", "V6"}
            assert hop["ip"] == event["client"]["ipAddress"] or len(event["request"]["ipChain"]) > 1
        outcome = event["outcome"]["result"]
        assert outcome in {"SUCCESS", "FAILURE", "SKIPPED", "ALLOW", "DENY", "CHALLENGE", "UNKNOWN"}
