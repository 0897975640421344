"""Burn rate and run-out forecast from an account's reading history: pure functions, no Qt, no I/O.

Balances are turned into a "consumed" counter (minus the balance, or the ``used`` count of an
unlimited plan), so usage is its rises and top-ups are its falls. A top-up is never negative
usage: it is marked, and the burn window restarts after it. Between two readings nobody knows
when the credits went, so the drop is spread evenly over the gap (a machine that slept for two
days shows two days of usage, not one day with all of it). The forecast is a least-squares line
through the consumed counter, sampled evenly over the window so a burst of readings does not
outweigh a quiet day; it is given only when the data supports it: enough span, enough changes,
both halves of the window burning at a similar pace, and a run-out no further ahead than ten
times the span observed. Otherwise there is no forecast rather than a wild guess.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from tray_app.history import Series, to_us
from tray_app.model import Reading, TopUp, Usage, is_top_up

#: How far back the burn rate looks.
WINDOW = timedelta(days=7)
#: The least data a forecast is made from.
MIN_SPAN = timedelta(hours=2)
MIN_CHANGES = 3
#: The two halves of the window may burn at most this many times faster than each other.
MAX_PACE_RATIO = 3.0
#: A forecast reaches at most this many times the span of data it is drawn from.
MAX_EXTRAPOLATION = 10.0
SAMPLES = 96


def points_of(series: Series, unlimited: bool) -> list[tuple[float, float]]:
    """(seconds since the epoch, consumed so far) at the start and end of every row."""
    column = series.used if unlimited else series.remaining
    points: list[tuple[float, float]] = []
    for first, last, value in zip(series.first_seen_us, series.last_seen_us, column, strict=True):
        if value is None:
            continue
        consumed = value if unlimited else -value
        points.append((first / 1e6, consumed))
        if last > first:
            points.append((last / 1e6, consumed))
    points.sort(key=lambda p: p[0])
    return points


def top_ups(series: Series, *, unlimited: bool = False, points: list[tuple[float, float]] | None = None
            ) -> tuple[TopUp, ...]:
    """Rises of the balance (or resets of an unlimited plan's counter) big enough not to be noise."""
    found = []
    points = points_of(series, unlimited) if points is None else points
    for (_, before), (at, after) in itertools.pairwise(points):
        drop = before - after  # of the consumed counter: the balance rose
        if drop > 0 and (unlimited or is_top_up(drop, before)):
            found.append(TopUp(datetime.fromtimestamp(at, UTC), drop))
    return tuple(found)


def daily_usage(series: Series, *, unlimited: bool = False, tz: tzinfo = UTC,
                points: list[tuple[float, float]] | None = None) -> list[tuple[date, float]]:
    """Credits used per calendar day in ``tz``, each drop spread evenly over the time it took."""
    totals: dict[date, float] = {}
    points = points_of(series, unlimited) if points is None else points
    # A fixed offset (what the CLI and the window pass): day numbers by arithmetic, since a
    # month of one-minute readings is tens of thousands of segments.
    offset = tz.utcoffset(None) if isinstance(tz, timezone) else None
    shift = offset.total_seconds() if offset is not None else 0.0
    day_of: dict[int, date] = {}
    for (start, before), (end, after) in itertools.pairwise(points):
        used = after - before
        if used <= 0:
            continue
        if offset is not None and (start + shift) // 86400 == (end + shift) // 86400:
            number = int((end + shift) // 86400)
            day = day_of.get(number)
            if day is None:
                day = day_of[number] = datetime.fromtimestamp(end, tz).date()
            totals[day] = totals.get(day, 0.0) + used
            continue
        if end <= start:
            day = datetime.fromtimestamp(end, tz).date()
            totals[day] = totals.get(day, 0.0) + used
            continue
        cursor = start
        while cursor < end:
            moment = datetime.fromtimestamp(cursor, tz)
            next_midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), tz).timestamp()
            stop = min(end, next_midnight)
            totals[moment.date()] = totals.get(moment.date(), 0.0) + used * (stop - cursor) / (end - start)
            cursor = stop
    if not totals:
        return []
    first, last = min(totals), max(totals)
    return [(first + timedelta(days=i), totals.get(first + timedelta(days=i), 0.0))
            for i in range((last - first).days + 1)]


def _value_at(points: Sequence[tuple[float, float]], times: Sequence[float], at: float) -> float:
    """The consumed counter at ``at``, linear between readings (``times`` are the points' times)."""
    index = bisect.bisect_left(times, at)
    if index == 0:
        return points[0][1]
    if index >= len(points):
        return points[-1][1]
    (t1, v1), (t2, v2) = points[index - 1], points[index]
    return v2 if t2 == t1 else v1 + (v2 - v1) * (at - t1) / (t2 - t1)


def _slope(samples: Sequence[tuple[float, float]]) -> float:
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return 0.0 if spread == 0 else sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread


def analyse(series: Series, *, unlimited: bool = False, remaining: float | None = None,
            min_span: timedelta = MIN_SPAN, points: list[tuple[float, float]] | None = None) -> Usage:
    """Burn rate and forecast from the history (the newest reading included).

    ``remaining`` is the balance now (the forecast counts down from it); unlimited plans and
    exhausted balances get a burn rate but never a forecast.
    """
    points = points_of(series, unlimited) if points is None else points
    if len(points) < 2:
        return Usage(None, None)
    found = top_ups(series, unlimited=unlimited, points=points)
    end = points[-1][0]
    start = end - WINDOW.total_seconds()
    if found:
        start = max(start, found[-1].at.timestamp())
    start = max(start, points[0][0])
    times = [t for t, _ in points]
    window = [p for p in points if p[0] >= start]
    if end - start < min(3600.0, min_span.total_seconds()) or len(window) < 2:
        return Usage(None, None, found)
    span = end - start
    consumed = _value_at(points, times, end) - _value_at(points, times, start)
    per_day = max(consumed, 0.0) / span * 86400
    forecast = None
    changes = sum(1 for a, b in itertools.pairwise(window) if b[1] > a[1])
    if not unlimited and remaining is not None and remaining > 0 and span >= min_span.total_seconds() \
            and changes >= MIN_CHANGES:
        step = span / SAMPLES
        samples = [(start + i * step, _value_at(points, times, start + i * step)) for i in range(SAMPLES + 1)]
        half = len(samples) // 2
        rate, early, late = _slope(samples), _slope(samples[:half + 1]), _slope(samples[half:])
        steady = early > 0 and late > 0 and max(early, late) / min(early, late) <= MAX_PACE_RATIO
        if rate > 0 and steady:
            seconds_left = remaining / rate
            if seconds_left <= MAX_EXTRAPOLATION * span:
                forecast = datetime.fromtimestamp(end + seconds_left, UTC)
    return Usage(per_day, forecast, found)


def with_reading(series: Series, reading: Reading) -> Series:
    """The series with a reading just taken (not yet recorded) at its end."""
    at = to_us(reading.fetched_at)
    return Series((*series.first_seen_us, at), (*series.last_seen_us, at),
                  (*series.remaining, None if reading.remaining is None else float(reading.remaining)),
                  (*series.used, None if reading.used is None else float(reading.used)),
                  (*series.unlimited, reading.unlimited))


def usage_of(series: Series, reading: Reading | None, *, min_span: timedelta = MIN_SPAN) -> Usage:
    """Usage of an account whose newest reading is ``reading`` (already in ``series`` or not)."""
    if reading is not None and (not series.last_seen_us
                                or series.last_seen_us[-1] < to_us(reading.fetched_at)):
        series = with_reading(series, reading)
    unlimited = reading.unlimited if reading is not None else bool(series.unlimited and series.unlimited[-1])
    remaining = float(reading.remaining) if reading is not None and reading.remaining is not None else None
    return analyse(series, unlimited=unlimited, remaining=remaining, min_span=min_span)
