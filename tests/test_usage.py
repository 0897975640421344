"""Burn rate and run-out forecast (tray_app/usage.py) on synthetic histories recorded through the real store."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tray_app.history import Entry, HistoryStore, Series
from tray_app.model import Reading
from tray_app.usage import analyse, daily_usage, top_ups

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def recorded(readings: Iterable[tuple[datetime, float | None]], *, used: bool = False) -> Series:
    """The readings as the app records them (unchanged balances extend a row), read back as a series."""
    store = HistoryStore(":memory:")
    for at, value in readings:
        if used:
            reading = Reading(remaining=None, used=Decimal(str(value)), unlimited=True, unit="credits", fetched_at=at)
        else:
            reading = Reading(remaining=Decimal(str(value)), unit="credits", fetched_at=at)
        store.record([Entry("a", reading, at)])
    return store.series("a")


def every(step: timedelta, count: int, start: datetime = T0) -> list[datetime]:
    return [start + step * i for i in range(count)]


def steady(per_day: float, days: float, start_balance: float, step: timedelta = timedelta(minutes=10)
           ) -> list[tuple[datetime, float]]:
    count = int(timedelta(days=days) / step) + 1
    return [(at, round(start_balance - per_day * (at - T0).total_seconds() / 86400)) for at in every(step, count)]


def test_steady_burn_forecast_is_within_ten_percent_of_the_truth() -> None:
    readings = steady(per_day=1000, days=4, start_balance=10_000)  # 6,000 left after 4 days: 6 more days
    last_at, left = readings[-1]
    usage = analyse(recorded(readings), remaining=left)
    assert usage.per_day == pytest.approx(1000, rel=0.02)
    assert usage.runs_out_at is not None
    truth = last_at + timedelta(days=6)
    assert abs((usage.runs_out_at - truth).total_seconds()) <= 0.1 * 6 * 86400
    assert usage.top_ups == ()


def test_a_top_up_is_marked_and_the_window_restarts_after_it() -> None:
    before = steady(per_day=5000, days=2, start_balance=12_000)  # a fast burn, then a top-up of 50,000
    top_up_at = before[-1][0] + timedelta(minutes=10)
    after = [(at + (top_up_at - T0), value + 50_000) for at, value in steady(per_day=500, days=2,
                                                                              start_balance=12_000)]
    series = recorded(before + after)
    usage = analyse(series, remaining=after[-1][1])
    [found] = usage.top_ups
    assert found.at == top_up_at
    assert found.amount == pytest.approx(50_000 + 10_000, rel=0.01)  # from 2,000 up to 62,000
    assert usage.per_day == pytest.approx(500, rel=0.05)  # the pace since the top-up, not before it
    # Never negative usage: the day of the top-up counts only what was used.
    assert all(amount >= 0 for _, amount in daily_usage(series))


def test_gaps_of_days_spread_the_drop_over_the_gap() -> None:
    readings = [(T0, 10_000.0), (T0 + timedelta(hours=1), 9_900.0),
                (T0 + timedelta(days=3, hours=1), 6_900.0)]  # asleep for three days
    days = daily_usage(recorded(readings))
    assert [d for d, _ in days] == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
    assert sum(amount for _, amount in days) == pytest.approx(3100)
    assert days[1][1] == pytest.approx(1000)  # a whole day inside the gap: a third of its 3,000
    usage = analyse(recorded(readings), remaining=6900)
    assert usage.per_day == pytest.approx(1000, rel=0.02)


def test_noisy_readings_still_give_a_close_forecast() -> None:
    rng = random.Random(3)
    readings = [(at, value + rng.uniform(-40, 40)) for at, value in steady(per_day=800, days=3, start_balance=9000)]
    readings = [(at, round(max(value, 0))) for at, value in readings]
    left = readings[-1][1]
    usage = analyse(recorded(readings), remaining=left)
    assert usage.runs_out_at is not None
    truth = readings[-1][0] + timedelta(days=left / 800)
    assert abs((usage.runs_out_at - truth).total_seconds()) <= 0.1 * (truth - readings[-1][0]).total_seconds()


def test_a_flat_balance_has_no_usage_and_no_forecast() -> None:
    usage = analyse(recorded([(at, 5000) for at in every(timedelta(minutes=10), 500)]), remaining=5000)
    assert usage.per_day == 0
    assert usage.runs_out_at is None


def test_an_unlimited_plan_has_usage_but_no_forecast() -> None:
    readings = [(at, 100 + 10 * i) for i, at in enumerate(every(timedelta(hours=1), 49))]  # 240 a day
    usage = analyse(recorded(readings, used=True), unlimited=True)
    assert usage.per_day == pytest.approx(240, rel=0.01)
    assert usage.runs_out_at is None


def test_a_single_point_or_nothing_says_nothing() -> None:
    assert analyse(recorded([(T0, 100)]), remaining=100) == analyse(Series(), remaining=100)
    assert analyse(Series(), remaining=100).per_day is None
    assert analyse(recorded([(T0, 100)]), remaining=100).runs_out_at is None


def test_too_little_data_or_an_unsteady_burn_gives_no_forecast() -> None:
    # An hour of data: a burn rate, but a forecast from it would be a guess.
    short = steady(per_day=2000, days=1 / 24, start_balance=1000, step=timedelta(minutes=5))
    assert analyse(recorded(short), remaining=short[-1][1]).runs_out_at is None
    # Nothing for two days, then everything at once: not steady.
    lumpy = [(at, 10_000) for at in every(timedelta(hours=1), 48)]
    lumpy += [(lumpy[-1][0] + timedelta(hours=i + 1), 10_000 - 1500 * (i + 1)) for i in range(4)]
    assert analyse(recorded(lumpy), remaining=4000).runs_out_at is None
    # A slow burn whose run-out is far beyond ten times the data: no forecast.
    slow = steady(per_day=10, days=1, start_balance=100_000, step=timedelta(hours=1))
    assert analyse(recorded(slow), remaining=slow[-1][1]).runs_out_at is None


def test_an_exhausted_balance_has_no_forecast() -> None:
    readings = steady(per_day=1000, days=3, start_balance=3000)
    assert analyse(recorded(readings), remaining=0).runs_out_at is None


def test_small_rises_are_noise_not_top_ups() -> None:
    readings = [(T0, 10_000.0), (T0 + timedelta(hours=1), 9_000.0), (T0 + timedelta(hours=2), 9_005.0),
                (T0 + timedelta(hours=3), 8_000.0), (T0 + timedelta(hours=4), 9_500.0)]
    assert [round(t.amount) for t in top_ups(recorded(readings))] == [1500]
