"""Retention: events and what was derived from them go once older than the setting."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from credwatch.retention import RetentionSchedule, purge
from credwatch.settings import Settings
from response.evidence import EvidenceEvent
from response.flows import dispose_databases, session_factory
from response.records import Incident
from serving.records import HookDelivery

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=45)
RECENT = NOW - timedelta(days=3)


@pytest.fixture
def settings(tmp_path, database):
    value = Settings(
        home=tmp_path / "home",
        database_url=database.url,
        retention_days=30,
        _env_file=None,
    )
    yield value
    dispose_databases()


def _file(path, when: datetime, content: bytes = b"{}\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content))
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def _fill(settings: Settings) -> None:
    store = settings.events_dir
    for moment in (OLD, OLD + timedelta(days=1), RECENT, NOW - timedelta(days=30)):
        _file(store / f"{moment:%Y-%m-%d}" / "part-1.jsonl.gz", NOW)
    _file(store / "undated" / "old.jsonl.gz", OLD)
    _file(store / "undated" / "new.jsonl.gz", RECENT)
    _file(settings.quarantine_dir / "old.jsonl", OLD)
    _file(settings.quarantine_dir / "new.jsonl", RECENT)
    with session_factory(settings)() as session:
        session.add(
            Incident(
                identity_id="00uOPEN",
                identity_kind="human",
                tier="high",
                risk=80.0,
                status="open",
                opened_at=OLD,
                updated_at=OLD,
                first_detected_at=OLD,
                last_detected_at=OLD,
                rules=[],
                reasons=[],
                event_ids=["e-open"],
                detection_keys=[],
                detection_count=1,
            )
        )
        for uuid, identity, published in (
            ("e-old", "00uCLOSED", OLD),
            ("e-open", "00uOPEN", OLD),
            ("e-new", "00uCLOSED", RECENT),
            ("e-undated", "00uCLOSED", None),
        ):
            session.add(
                EvidenceEvent(
                    uuid=uuid,
                    identity_id=identity,
                    published=published,
                    event_type="user.session.start",
                    summary={},
                )
            )
        for status, processed in (("done", OLD), ("done", RECENT), ("failed", OLD)):
            session.add(
                HookDelivery(
                    received_at=OLD,
                    status=status,
                    body=None,
                    size=0,
                    processed_at=processed,
                    attempts=1,
                    events=0,
                    duplicates=0,
                    quarantined=0,
                )
            )
        session.commit()


def _remaining(settings: Settings) -> dict:
    with session_factory(settings)() as session:
        evidence = set(session.scalars(select(EvidenceEvent.uuid)))
        deliveries = session.scalar(select(func.count()).select_from(HookDelivery))
    return {
        "days": sorted(p.name for p in settings.events_dir.iterdir()),
        "undated": sorted(p.name for p in (settings.events_dir / "undated").iterdir()),
        "quarantine": sorted(p.name for p in settings.quarantine_dir.iterdir()),
        "evidence": evidence,
        "deliveries": deliveries,
    }


def test_a_purge_deletes_only_what_is_older_than_the_retention(settings):
    _fill(settings)
    before = _remaining(settings)

    counted = purge(settings, now=NOW, dry_run=True)
    assert _remaining(settings) == before
    report = purge(settings, now=NOW)
    assert report.as_dict() | {"dry_run": True} == counted.as_dict()

    left = _remaining(settings)
    # Day folders go once the whole day is past the cutoff (30 days ago, noon).
    assert left["days"] == sorted(
        [f"{NOW - timedelta(days=30):%Y-%m-%d}", f"{RECENT:%Y-%m-%d}", "undated"]
    )
    assert left["undated"] == ["new.jsonl.gz"]
    assert left["quarantine"] == ["new.jsonl"]
    # The open incident's evidence stays for its ticket; undated evidence stays.
    assert left["evidence"] == {"e-open", "e-new", "e-undated"}
    # The old scored delivery goes; the failed one is kept for a person to look at.
    assert left["deliveries"] == 2
    assert (
        report.event_days == 2
        and report.event_files == 1
        and report.quarantine_files == 1
    )
    assert report.rows["evidence_events"] == 1 and report.rows["hook_deliveries"] == 1

    again = purge(settings, now=NOW)
    assert again.event_days == again.event_files == 0 and not any(again.rows.values())


def test_retention_zero_keeps_everything(settings):
    _fill(settings)
    before = _remaining(settings)
    report = purge(settings.model_copy(update={"retention_days": 0}), now=NOW)
    assert report.cutoff is None and _remaining(settings) == before


def test_the_schedule_purges_at_start_and_then_each_interval(settings):
    ticks = iter([0.0, 10.0, 3599.0, 3601.0, 3700.0])
    schedule = RetentionSchedule(
        settings.model_copy(update={"retention_check_s": 3600}),
        clock=lambda: next(ticks),
    )
    ran = [schedule.maybe_run() is not None for _ in range(5)]
    assert ran == [True, False, False, True, False]


def test_a_failing_purge_never_stops_the_caller(settings, monkeypatch, caplog):
    import credwatch.retention as retention

    def broken(*_args, **_kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(retention, "purge", broken)
    assert RetentionSchedule(settings).maybe_run() is None
    assert "retention purge failed" in caplog.text


def test_the_command_reports_what_it_deleted(settings, monkeypatch):
    from credwatch import cli
    from credwatch.settings import get_settings

    _fill(settings)
    for name, value in (
        ("CREDWATCH_HOME", settings.home),
        ("CREDWATCH_DATABASE_URL", settings.database_url),
        ("CREDWATCH_RETENTION_DAYS", "30"),
    ):
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["purge", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # The real clock: everything of 2026-10-17 and before is past 30 days.
    assert report["rows"]["evidence_events"] >= 1 and report["event_days"] >= 2
