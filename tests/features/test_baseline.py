"""Baselines remember an identity's habits in bounded memory, and let old ones fade."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta

from builders import build_event

from features.baseline import (
    HABIT_HALF_LIFE_DAYS,
    HABIT_HOURS,
    LOOKBACK_DAYS,
    MATURE_EVENTS,
    MATURE_HOURS,
    BoundedCounter,
    IdentityBaseline,
)
from features.identity import IdentityResolver
from features.state import FeatureStream

DAY_ONE = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday


def learn(baseline: IdentityBaseline, moment: datetime, **values: str) -> None:
    known = {
        "network": "AS7922",
        "ip": "73.1.1.1",
        "country": "United States",
        "device": "laptop",
        "ua_family": "Chrome",
        "endpoint": None,
    }
    baseline.learn(moment=moment, **{**known, **values})


def busy_days(baseline: IdentityBaseline, first: int, last: int, per_hour: int = 3):
    """An identity at work 9:00-12:00 on each day from `first` to `last`."""
    for day in range(first, last + 1):
        for hour in range(3):
            start = DAY_ONE + timedelta(days=day, hours=hour)
            for minute in range(per_hour):
                learn(baseline, start + timedelta(minutes=minute))
            baseline.close_hour(per_hour)


def test_a_counter_holds_at_most_its_capacity_and_forgets_one_offs_first() -> None:
    counter = BoundedCounter(4)
    for _ in range(3):
        counter.add("home", 1)
    for number in range(100):
        counter.add(f"rotating-{number}", 1)

    assert len(counter) == len(counter.last_day) == 4
    assert "home" in counter
    assert "rotating-99" in counter and "rotating-0" not in counter


def test_a_counter_forgets_what_went_unused_since_a_day() -> None:
    counter = BoundedCounter(8)
    counter.add("old", 10)
    counter.add("recent", 10)
    counter.add("recent", 40)

    counter.forget_before(31)

    assert list(counter.counts) == ["recent"]
    assert counter.counts["recent"] == 2
    assert "old" not in counter.seen_once and "old" not in counter.last_day


def test_a_device_unused_past_its_lookback_is_forgotten_a_network_is_not() -> None:
    baseline = IdentityBaseline()
    learn(baseline, DAY_ONE, device="old-phone", network="AS64500")
    busy_days(baseline, 1, LOOKBACK_DAYS["devices"] + 1)

    assert "old-phone" not in baseline.devices
    assert "laptop" in baseline.devices
    assert "AS64500" in baseline.networks

    busy_days(baseline, LOOKBACK_DAYS["devices"] + 2, LOOKBACK_DAYS["networks"] + 1)
    assert "AS64500" not in baseline.networks


def test_a_value_used_now_and_then_is_kept() -> None:
    baseline = IdentityBaseline()
    for day in range(0, 120, 20):
        learn(baseline, DAY_ONE + timedelta(days=day), device="tablet")
        learn(baseline, DAY_ONE + timedelta(days=day, hours=1))

    assert "tablet" in baseline.devices


def test_the_usual_rate_follows_recent_months() -> None:
    baseline = IdentityBaseline()
    busy_days(baseline, 0, 59, per_hour=20)
    busy_days(baseline, 60, 119, per_hour=2)

    lifetime = baseline.events / baseline.active_hours
    assert lifetime == 11
    assert 2 < baseline.mean_hourly_events < 6


def test_usual_concurrency_takes_several_hours_and_fades() -> None:
    baseline = IdentityBaseline()
    for _ in range(HABIT_HOURS - 1):
        baseline.close_hour(10, concurrency=2)
    baseline.close_hour(10, concurrency=3)
    assert baseline.usual_concurrency == 2

    baseline.close_hour(10, concurrency=1)
    baseline.close_hour(10, concurrency=3)
    assert baseline.usual_concurrency == 2

    learn(baseline, DAY_ONE)
    learn(baseline, DAY_ONE + timedelta(days=HABIT_HALF_LIFE_DAYS))
    assert baseline.usual_concurrency == 0


def test_halving_keeps_the_shape_of_the_week() -> None:
    baseline = IdentityBaseline()
    busy_days(baseline, 0, HABIT_HALF_LIFE_DAYS - 1)
    at_work = DAY_ONE + timedelta(hours=1)
    share_before = baseline.hour_share(at_work)
    events_before = baseline.week_events

    learn(baseline, DAY_ONE + timedelta(days=HABIT_HALF_LIFE_DAYS, hours=1))

    assert baseline.week_events < events_before * 0.6
    assert abs(baseline.hour_share(at_work) - share_before) < 0.02
    assert baseline.hour_share(DAY_ONE + timedelta(hours=20)) == 0


def test_a_known_identity_stays_mature_after_a_long_silence() -> None:
    baseline = IdentityBaseline()
    busy_days(baseline, 0, 4)
    assert baseline.events >= MATURE_EVENTS and baseline.active_hours >= MATURE_HOURS

    learn(baseline, DAY_ONE + timedelta(days=400))

    assert baseline.mature
    assert "laptop" in baseline.devices  # used again just now
    assert list(baseline.ips.counts) == ["73.1.1.1"]


def test_a_late_event_does_not_date_its_values_back() -> None:
    baseline = IdentityBaseline()
    learn(baseline, DAY_ONE + timedelta(days=10))
    learn(baseline, DAY_ONE, device="spare")

    newest_day = (DAY_ONE + timedelta(days=10)).toordinal()
    assert baseline.devices.last_day["spare"] == newest_day


def test_baselines_keep_their_days_through_pickling_and_copies() -> None:
    baseline = IdentityBaseline()
    busy_days(baseline, 0, 40)

    for restored in (pickle.loads(pickle.dumps(baseline)), copy.deepcopy(baseline)):
        assert state(restored) == state(baseline)


def state(baseline: IdentityBaseline) -> dict:
    _, slots = baseline.__reduce_ex__(2)[2]
    for memory in LOOKBACK_DAYS:
        counter = slots[memory]
        slots[memory] = (counter.counts, counter.last_day, list(counter.seen_once))
    return slots


def test_a_baseline_stored_before_fading_existed_loads_and_fades() -> None:
    baseline = IdentityBaseline()
    busy_days(baseline, 0, 9)
    _, slots = baseline.__reduce_ex__(2)[2]
    added_with_fading = {
        "hours_by_concurrency",
        "week_events",
        "rate_events",
        "rate_hours",
        "today",
        "halved_on",
    }
    old_slots = {
        name: value for name, value in slots.items() if name not in added_with_fading
    }
    for memory in LOOKBACK_DAYS:
        counter = old_slots[memory]
        old_slots[memory] = BoundedCounter.__new__(BoundedCounter)
        old_slots[memory].__setstate__(
            (None, {"capacity": counter.capacity, "counts": counter.counts})
        )

    restored = IdentityBaseline.__new__(IdentityBaseline)
    restored.__setstate__((None, old_slots))

    assert restored.mean_hourly_events == baseline.mean_hourly_events
    assert restored.hour_share(DAY_ONE) == baseline.hour_share(DAY_ONE)
    last_day = (DAY_ONE + timedelta(days=9)).toordinal()
    assert restored.devices.last_day == {"laptop": last_day}
    later = DAY_ONE + timedelta(days=9 + LOOKBACK_DAYS["devices"] + 1)
    learn(restored, later, device="new")
    assert "laptop" not in restored.devices


def test_a_returning_device_reads_as_new_to_the_features() -> None:
    stream = FeatureStream(IdentityResolver())
    for day in range(5):
        for hour in range(4):
            at = DAY_ONE + timedelta(days=day, hours=hour)
            stream.push(build_event(at=at, device="work-laptop"))
    stream.push(build_event(at=DAY_ONE + timedelta(days=5), device="old-phone"))
    for day in range(6, 45):
        at = DAY_ONE + timedelta(days=day)
        stream.push(build_event(at=at, device="work-laptop"))

    back, _ = stream.push(
        build_event(at=DAY_ONE + timedelta(days=45), device="old-phone")
    )
    usual, _ = stream.push(
        build_event(at=DAY_ONE + timedelta(days=45, minutes=1), device="work-laptop")
    )

    assert back.baseline_mature
    assert back.new_device
    assert not usual.new_device


def test_a_value_back_after_a_long_silence_reads_as_new_on_its_first_event() -> None:
    stream = FeatureStream(IdentityResolver())
    old_place = {"device": "old-phone", "ip": "198.51.100.7", "asn": 64500}
    for day in range(5):
        for hour in range(4):
            at = DAY_ONE + timedelta(days=day, hours=hour)
            stream.push(build_event(at=at, device="work-laptop"))
    stream.push(build_event(at=DAY_ONE + timedelta(days=5), **old_place))

    back, _ = stream.push(build_event(at=DAY_ONE + timedelta(days=200), **old_place))

    assert back.baseline_mature
    assert back.new_device and back.new_network
