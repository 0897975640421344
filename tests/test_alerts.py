"""The pure alert rule (tray_app/alerts.py): each alert level armed or fired.

A good reading below an armed level fires it; a good reading at or above a fired level
re-arms it. Several levels fired at once give one alert naming the lowest; level 0 is
"exhausted" (at or below 0) and its own alert; failed fetches neither fire nor re-arm; an
auth failure alerts once until a success; unlimited is never low or exhausted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tray_app.alerts import AlertMemory, account_state, decide, low_threshold
from tray_app.model import AccountState, Alert, AlertKind, ErrorKind, FetchError, Reading
from tray_app.providers import PROVIDERS
from tray_app.providers.base import HttpAnswer, interpret

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
ACCOUNT = "meow-main"
# MeowLoad's documented alert levels.
MEOW_T = tuple(Decimal(t) for t in (10000, 2000, 300, 100, 0))

Event = int | str | None  # an int balance, "unlimited", "auth"/"server"/... error kinds


def good(remaining: int | str) -> Reading:
    return Reading(remaining=Decimal(remaining), unit="credits", fetched_at=NOW)


def unlimited() -> Reading:
    return Reading(remaining=None, unit="message credits", fetched_at=NOW, used=Decimal(243), unlimited=True)


def failed(kind: ErrorKind = ErrorKind.SERVER, message: str = "boom") -> FetchError:
    return FetchError(kind, message, 500 if kind is ErrorKind.SERVER else 401)


def outcome_of(event: Event) -> Reading | FetchError:
    if isinstance(event, int):
        return good(event)
    if event == "unlimited":
        return unlimited()
    assert isinstance(event, str)
    return failed(ErrorKind(event))


def feed(
    events: Sequence[Event], thresholds: Sequence[Decimal] = MEOW_T, memory: AlertMemory | None = None
) -> list[Alert | None]:
    memory = memory or AlertMemory()
    alerts: list[Alert | None] = []
    for event in events:
        memory, alert = decide(ACCOUNT, memory, outcome_of(event), thresholds)
        alerts.append(alert)
    return alerts


def summary(alerts: Sequence[Alert | None]) -> list[tuple[str, int | None] | None]:
    """(kind, threshold) per step, for readable comparisons."""
    out: list[tuple[str, int | None] | None] = []
    for alert in alerts:
        if alert is None:
            out.append(None)
        else:
            out.append((str(alert.kind), None if alert.threshold is None else int(alert.threshold)))
    return out


# --------------------------------------------------------------------------- low_threshold / account_state


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (282539, None),
        (10000, None),  # not below 10,000
        (9999, 10000),
        (2000, 10000),
        (1999, 2000),
        (300, 2000),
        (299, 300),
        (150, 300),
        (100, 300),
        (99, 100),
        (1, 100),
        ("0.5", 100),
    ],
)
def test_low_threshold_is_lowest_positive_threshold_below(remaining: int | str, expected: int | None) -> None:
    result = low_threshold(Decimal(remaining), MEOW_T)
    assert result == (None if expected is None else Decimal(expected))


def test_low_threshold_ignores_zero_and_order() -> None:
    shuffled = (Decimal(100), Decimal(0), Decimal(10000), Decimal(300), Decimal(2000))
    assert low_threshold(Decimal(50), shuffled) == Decimal(100)
    assert low_threshold(Decimal(5), (Decimal(0),)) is None
    assert low_threshold(Decimal(5), ()) is None


@pytest.mark.parametrize(
    ("remaining", "state", "threshold"),
    [
        (282539, AccountState.OK, None),
        (10000, AccountState.OK, None),
        (9999, AccountState.LOW, 10000),
        (1500, AccountState.LOW, 2000),
        (250, AccountState.LOW, 300),
        (50, AccountState.LOW, 100),
        (1, AccountState.LOW, 100),
        (0, AccountState.EXHAUSTED, None),
    ],
)
def test_account_state_of_readings(remaining: int, state: AccountState, threshold: int | None) -> None:
    assert account_state(good(remaining), MEOW_T) == (
        state,
        None if threshold is None else Decimal(threshold),
    )


def test_account_state_negative_is_exhausted() -> None:
    assert account_state(good(-3), MEOW_T) == (AccountState.EXHAUSTED, None)


def test_account_state_402_reading_is_exhausted() -> None:
    reading = interpret(PROVIDERS["meowload"], HttpAnswer(402, {}, b'{"message": "no credits"}'), "en", NOW)
    assert account_state(reading, MEOW_T) == (AccountState.EXHAUSTED, None)


def test_account_state_unlimited_is_ok_never_low_or_exhausted() -> None:
    assert account_state(unlimited(), MEOW_T) == (AccountState.OK, None)
    assert account_state(unlimited(), (Decimal(10**12), Decimal(0))) == (AccountState.OK, None)


def test_account_state_errors() -> None:
    for kind in ErrorKind:
        assert account_state(FetchError(kind, "x"), MEOW_T) == (AccountState.ERROR, None)
    assert account_state(None, MEOW_T) == (AccountState.ERROR, None)


def test_account_state_without_positive_thresholds() -> None:
    assert account_state(good(1), (Decimal(0),)) == (AccountState.OK, None)
    assert account_state(good(0), (Decimal(0),)) == (AccountState.EXHAUSTED, None)
    assert account_state(good(1), ()) == (AccountState.OK, None)


# --------------------------------------------------------------------------- decide: the threshold rule


def test_first_reading_above_all_thresholds_is_silent() -> None:
    assert feed([282539]) == [None]


def test_first_reading_counts_previous_as_infinite() -> None:
    # No previous reading is +inf: a first reading of 1,500 has crossed 10,000 and 2,000;
    # one alert, naming the lowest.
    [alert] = feed([1500])
    assert alert == Alert(ACCOUNT, AlertKind.THRESHOLD, remaining=Decimal(1500), threshold=Decimal(2000))


def test_single_crossing() -> None:
    assert summary(feed([12000, 9000])) == [None, ("threshold", 10000)]
    [_, alert] = feed([12000, 9000])
    assert alert is not None
    assert alert.account_id == ACCOUNT
    assert alert.remaining == Decimal(9000)
    assert alert.threshold == Decimal(10000)


def test_several_thresholds_in_one_step_give_one_alert_naming_the_lowest() -> None:
    assert summary(feed([12000, 50])) == [None, ("threshold", 100)]
    assert summary(feed([12000, 250])) == [None, ("threshold", 300)]
    assert summary(feed([5000, 150])) == [("threshold", 10000), ("threshold", 300)]


def test_descending_sequence_alerts_at_each_threshold_once() -> None:
    events = [282539, 15000, 9999, 9000, 5000, 1999, 1000, 299, 250, 99, 50, 1]
    assert summary(feed(events)) == [
        None,
        None,
        ("threshold", 10000),
        None,
        None,
        ("threshold", 2000),
        None,
        ("threshold", 300),
        None,
        ("threshold", 100),
        None,
        None,
    ]


def test_staying_below_never_repeats() -> None:
    assert summary(feed([12000, 9000, 9000, 8999, 9500, 9000])) == [
        None,
        ("threshold", 10000),
        None,
        None,
        None,
        None,
    ]


def test_exact_threshold_is_not_below_it() -> None:
    # credits < threshold: landing exactly on 10,000 is not a crossing.
    assert feed([12000, 10000]) == [None, None]


def test_landing_on_a_threshold_then_going_below_alerts_once() -> None:
    # An exact 10,000-credit pack, then one credit used: the account turns low and says so, once.
    # (The document's literal rule `credits < t < last` missed this: 10,000 is not above 10,000.)
    assert summary(feed([12000, 10000, 9999, 9998])) == [None, None, ("threshold", 10000), None]
    assert summary(feed([10000, 9999])) == [None, ("threshold", 10000)]
    # And from exactly 0 nothing is left to cross.
    assert summary(feed([20000, 100, 0, -5])) == [None, ("threshold", 300), ("exhausted", None), None]


def test_reading_at_a_fired_threshold_rearms_it() -> None:
    # 10,000 is not below 10,000: a top-up to exactly the level re-arms it.
    assert summary(feed([12000, 9000, 10000, 9999])) == [None, ("threshold", 10000), None, ("threshold", 10000)]


def test_rearm_only_after_good_reading_back_above() -> None:
    # 12000 -> 9000 alerts; 9500 stays below (no re-arm); 10001 is above (re-arms); 9000 alerts again.
    assert summary(feed([12000, 9000, 9500, 9000, 10001, 9000])) == [
        None,
        ("threshold", 10000),
        None,
        None,
        None,
        ("threshold", 10000),
    ]


def test_rearm_is_per_threshold() -> None:
    # Top-up to 500 re-arms 300 and 100 but not 2,000 or 10,000.
    assert summary(feed([12000, 50, 500, 50])) == [None, ("threshold", 100), None, ("threshold", 100)]
    assert summary(feed([12000, 50, 500, 250])) == [None, ("threshold", 100), None, ("threshold", 300)]


def test_rising_never_alerts() -> None:
    assert feed([50, 150, 500, 5000, 50000])[1:] == [None, None, None, None]


@pytest.mark.parametrize("kind", [k for k in ErrorKind if k is not ErrorKind.AUTH])
def test_failed_fetch_neither_alerts_nor_rearms(kind: ErrorKind) -> None:
    # The failure between 9,000 and 9,000 must not make the second 9,000 look like a new crossing.
    assert summary(feed([12000, 9000, kind.value, 9000])) == [None, ("threshold", 10000), None, None]
    # And a failure does not forget the last good reading either: 12,000 -> error -> 9,000 still alerts.
    assert summary(feed([12000, kind.value, 9000])) == [None, None, ("threshold", 10000)]


def test_failure_as_first_outcome_then_reading() -> None:
    assert summary(feed(["server", "timeout", 1500])) == [None, None, ("threshold", 2000)]


def test_failed_fetch_keeps_memory_unchanged() -> None:
    memory = AlertMemory(fired=frozenset({Decimal(10000)}), auth_alerted=False)
    new_memory, alert = decide(ACCOUNT, memory, failed(ErrorKind.NETWORK), MEOW_T)
    assert alert is None
    assert new_memory == memory


# --------------------------------------------------------------------------- exhausted


def test_exhausted_is_its_own_alert() -> None:
    [_, alert] = feed([500, 0])
    assert alert is not None
    assert alert.kind is AlertKind.EXHAUSTED
    assert alert.remaining == Decimal(0)


def test_exhausted_from_high_gives_one_exhausted_alert_not_threshold() -> None:
    assert summary(feed([282539, 0])) == [None, ("exhausted", None)]
    assert summary(feed([0])) == [("exhausted", None)]


def test_exhausted_fires_once() -> None:
    assert summary(feed([20000, 0, 0, "server", 0, "timeout", 0])) == [
        None,
        ("exhausted", None),
        None,
        None,
        None,
        None,
        None,
    ]


def test_exhausted_rearms_after_top_up() -> None:
    assert summary(feed([20000, 0, 20000, 0])) == [None, ("exhausted", None), None, ("exhausted", None)]
    # A small top-up that stays low re-arms exhaustion but not the thresholds it is still below.
    assert summary(feed([20000, 0, 50, 0])) == [None, ("exhausted", None), None, ("exhausted", None)]


def test_exhausted_after_threshold_alerts() -> None:
    assert summary(feed([12000, 50, 0])) == [None, ("threshold", 100), ("exhausted", None)]


def test_402_reading_is_exhausted_alert_once() -> None:
    meow = PROVIDERS["meowload"]
    reading = interpret(meow, HttpAnswer(402, {}, b'{"message": "Credits Exhausted"}'), "en", NOW)
    memory, alert = decide(ACCOUNT, AlertMemory(fired=frozenset(MEOW_T[:-1])), reading, MEOW_T)
    assert alert is not None
    assert alert.kind is AlertKind.EXHAUSTED
    assert alert.remaining == Decimal(0)
    memory, alert = decide(ACCOUNT, memory, reading, MEOW_T)
    assert alert is None


def test_exhausted_is_governed_by_the_zero_level() -> None:
    assert summary(feed([5, 0], thresholds=(Decimal(0),))) == [None, ("exhausted", None)]
    # A user who removed 0 from the levels asked for no "exhausted" alert.
    assert summary(feed([5, 0], thresholds=())) == [None, None]
    assert summary(feed([500, 0], thresholds=(Decimal(100),))) == [None, ("threshold", 100)]


def test_overdrawn_balance_is_exhausted_once() -> None:
    assert summary(feed([20000, -20, -40, 10, -1])) == [None, ("exhausted", None), None, None, ("exhausted", None)]


def test_imported_last_balance_counts_as_fired_levels() -> None:
    """The old state file knew only the last balance: the levels it was below stay quiet."""
    memory = AlertMemory(imported_level=Decimal(9000))
    assert summary(feed([8000, 1500], memory=memory)) == [None, ("threshold", 2000)]
    memory = AlertMemory(imported_level=Decimal(12000))
    assert summary(feed([9000], memory=memory)) == [("threshold", 10000)]


# --------------------------------------------------------------------------- auth


def test_auth_alerts_once_until_success() -> None:
    alerts = feed(["auth", "auth", "auth"])
    assert summary(alerts) == [("auth", None), None, None]
    first = alerts[0]
    assert first is not None
    assert first.account_id == ACCOUNT


def test_auth_alert_carries_provider_message() -> None:
    _, alert = decide(
        ACCOUNT, AlertMemory(), FetchError(ErrorKind.AUTH, "Invalid or expired API Key", 401), MEOW_T
    )
    assert alert is not None
    assert alert.kind is AlertKind.AUTH
    assert alert.message == "Invalid or expired API Key"


def test_auth_rearms_after_success() -> None:
    assert summary(feed(["auth", "auth", 282539, "auth", "auth"])) == [
        ("auth", None),
        None,
        None,
        ("auth", None),
        None,
    ]


def test_auth_not_rearmed_by_other_failures() -> None:
    assert summary(feed(["auth", "server", "network", "auth"])) == [("auth", None), None, None, None]


def test_auth_does_not_disturb_threshold_memory() -> None:
    assert summary(feed([12000, "auth", 9000])) == [None, ("auth", None), ("threshold", 10000)]
    assert summary(feed([12000, 9000, "auth", 9000])) == [None, ("threshold", 10000), ("auth", None), None]


# --------------------------------------------------------------------------- unlimited


def test_unlimited_never_alerts() -> None:
    assert feed(["unlimited", "unlimited", "unlimited"]) == [None, None, None]
    assert feed([12000, "unlimited"]) == [None, None]
    assert feed([0, "unlimited", "unlimited"])[1:] == [None, None]


def test_unlimited_then_limited_counts_as_coming_from_above() -> None:
    # Unlimited is infinitely high: dropping from it to 50 crosses every threshold once.
    assert summary(feed(["unlimited", 50])) == [None, ("threshold", 100)]


# --------------------------------------------------------------------------- thresholds


def test_custom_thresholds_order_does_not_matter() -> None:
    thresholds = (Decimal(100), Decimal(1000), Decimal(0), Decimal(500))
    assert summary(feed([2000, 400, 50], thresholds)) == [None, ("threshold", 500), ("threshold", 100)]


def test_fractional_thresholds_and_balances() -> None:
    thresholds = (Decimal("2.5"), Decimal(0))
    memory, first = decide(ACCOUNT, AlertMemory(), good("3"), thresholds)
    assert first is None
    memory, second = decide(ACCOUNT, memory, good("2.4"), thresholds)
    assert second == Alert(ACCOUNT, AlertKind.THRESHOLD, remaining=Decimal("2.4"), threshold=Decimal("2.5"))
    _, third = decide(ACCOUNT, memory, good("2.5"), thresholds)
    assert third is None


def test_no_thresholds_no_alerts() -> None:
    assert summary(feed([5000, 50, 0], thresholds=())) == [None, None, None]


# --------------------------------------------------------------------------- property: one alert per crossing


def model_alerts(events: Sequence[Event], thresholds: Sequence[int]) -> list[tuple[str, int | None] | None]:
    """An independent model, written per threshold rather than per reading.

    Each positive threshold, and "exhausted" when 0 is among the thresholds, has an *armed* flag,
    initially armed. A good reading r: a threshold t fires if armed and r < t, and is armed
    afterwards exactly when r >= t. Exhaustion fires when armed and r <= 0 and is armed afterwards
    exactly when r > 0. When exhaustion fires it is the only alert; otherwise the lowest fired
    threshold is. Failures change nothing, except that the first auth failure since the last good
    reading alerts. Unlimited readings arm everything.
    """
    positive = sorted({t for t in thresholds if t > 0})
    watch_zero = 0 in thresholds
    armed = dict.fromkeys(positive, True)
    exhaust_armed = True
    auth_armed = True
    out: list[tuple[str, int | None] | None] = []
    for event in events:
        if isinstance(event, str) and event != "unlimited":
            if event == "auth" and auth_armed:
                auth_armed = False
                out.append(("auth", None))
            else:
                out.append(None)
            continue
        auth_armed = True
        if event == "unlimited":
            armed = dict.fromkeys(positive, True)
            exhaust_armed = True
            out.append(None)
            continue
        assert isinstance(event, int)
        fired = [t for t in positive if armed[t] and event < t]
        exhausted = watch_zero and exhaust_armed and event <= 0
        for t in positive:
            armed[t] = event >= t
        exhaust_armed = event > 0
        if exhausted:
            out.append(("exhausted", None))
        elif fired:
            out.append(("threshold", min(fired)))
        else:
            out.append(None)
    return out


events_strategy = st.lists(
    st.one_of(
        st.integers(min_value=-50, max_value=12000),
        st.sampled_from([0, 99, 100, 101, 299, 300, 301, 1999, 2000, 2001, 9999, 10000, 10001]),
        st.sampled_from(
            ["auth", "server", "network", "timeout", "rate_limited", "bad_response", "unlimited"]
        ),
    ),
    max_size=40,
)


@settings(max_examples=400, database=None)
@given(events=events_strategy)
def test_property_meowload_thresholds_match_model(events: list[Event]) -> None:
    assert summary(feed(events)) == model_alerts(events, [10000, 2000, 300, 100, 0])


@settings(max_examples=400, database=None)
@given(events=events_strategy, thresholds=st.lists(st.integers(min_value=0, max_value=12000), max_size=6))
def test_property_random_thresholds_match_model(events: list[Event], thresholds: list[int]) -> None:
    decimals = tuple(Decimal(t) for t in thresholds)
    assert summary(feed(events, decimals)) == model_alerts(events, thresholds)


@settings(max_examples=300, database=None)
@given(balances=st.lists(st.integers(min_value=-10, max_value=12000), min_size=1, max_size=40))
def test_property_one_alert_per_step_and_per_crossing(balances: list[int]) -> None:
    """Without failures: a step alerts iff some threshold (or zero) was crossed downwards in it,
    where "crossed" compares with the previous balance only: below now, at or above before."""
    alerts = feed(balances)
    last: float = float("inf")
    for balance, alert in zip(balances, alerts, strict=True):
        crossed = [t for t in (10000, 2000, 300, 100) if balance < t <= last]
        exhausted_now = balance <= 0 < last
        if exhausted_now:
            assert alert is not None
            assert alert.kind is AlertKind.EXHAUSTED
        elif crossed:
            assert alert is not None
            assert alert.kind is AlertKind.THRESHOLD
            assert alert.threshold == Decimal(min(crossed))
            assert alert.remaining == Decimal(balance)
        else:
            assert alert is None
        last = balance


@settings(max_examples=400, database=None)
@given(events=events_strategy)
def test_property_every_crossing_notifies_exactly_once(events: list[Event]) -> None:
    """For any sequence of readings and failures: each downward crossing of an armed level is
    covered by exactly one alert, in the step where it happens, and no level alerts twice
    without a reading at or above it in between."""
    alerts = feed(events)
    levels = [10000, 2000, 300, 100, 0]
    armed = dict.fromkeys(levels, True)
    for event, alert in zip(events, alerts, strict=True):
        if not isinstance(event, int) and event != "unlimited":
            assert alert is None or alert.kind is AlertKind.AUTH
            continue
        if event == "unlimited":
            assert alert is None
            armed = dict.fromkeys(levels, True)
            continue
        assert isinstance(event, int)
        newly = [t for t in levels if armed[t] and (event <= 0 if t == 0 else event < t)]
        for t in levels:
            armed[t] = not (event <= 0 if t == 0 else event < t)
        if not newly:
            assert alert is None
        elif 0 in newly:
            assert alert is not None
            assert alert.kind is AlertKind.EXHAUSTED
        else:
            assert alert is not None
            assert alert.kind is AlertKind.THRESHOLD
            assert alert.threshold == min(newly)  # the one alert covers every level crossed with it
