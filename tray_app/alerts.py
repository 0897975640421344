"""Pure decisions: an account's state, and whether a new outcome deserves an alert.

Each alert level of each account is *armed* or *fired* (the rule CodexBar and Stats use).
A good reading below an armed level fires it; a good reading at or above a fired level
re-arms it (a top-up). So 12,000 → 10,000 → 9,999 alerts once, at 9,999, and nothing
repeats while the balance stays below. Level 0 stands for running out: it fires at a
balance of 0 or less and gives its own "exhausted" alert; a user who removes 0 from an
account's levels asked for no such alert. Several levels fired by one reading give one
alert naming the lowest. A failed fetch neither fires nor re-arms; a key that starts being
refused alerts once, until a good reading clears it. The very first reading of an account
counts as coming from above, so it fires every level it is below.

The memory belongs to whoever shows the alerts (the tray), not to every process that
reads a balance: ``credit-tray check`` records readings but never consumes an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tray_app.model import (
    AccountState,
    Alert,
    AlertKind,
    ErrorKind,
    FetchError,
    Outcome,
    Reading,
    Usage,
    is_top_up,
)


@dataclass(frozen=True)
class AlertMemory:
    """One notifier's memory of one account: the levels that have fired and not re-armed since."""

    fired: frozenset[Decimal] = field(default_factory=frozenset)
    auth_alerted: bool = False
    #: The last balance known before alert levels were remembered one by one (imported from
    #: the old state file): the levels it is below count as fired until the next reading.
    imported_level: Decimal | None = None
    #: The run-out forecast has been told; a top-up re-arms it.
    forecast_alerted: bool = False


def is_below(remaining: Decimal, level: Decimal) -> bool:
    """Whether a balance is past an alert level: below it, or for level 0 (running out) at or below it."""
    return remaining <= 0 if level == 0 else remaining < level


def levels_below(remaining: Decimal, levels: Iterable[Decimal]) -> frozenset[Decimal]:
    return frozenset(level for level in levels if is_below(remaining, level))


def low_threshold(remaining: Decimal, thresholds: Sequence[Decimal]) -> Decimal | None:
    """The lowest positive threshold the balance is below, if any."""
    below = [t for t in thresholds if t > 0 and remaining < t]
    return min(below) if below else None


def account_state(outcome: Outcome | None, thresholds: Sequence[Decimal]) -> tuple[AccountState, Decimal | None]:
    """State shown for an account, and the threshold it is below when low."""
    if outcome is None or isinstance(outcome, FetchError):
        return AccountState.ERROR, None
    if outcome.unlimited or outcome.remaining is None:
        return AccountState.OK, None
    if outcome.remaining <= 0:
        return AccountState.EXHAUSTED, None
    threshold = low_threshold(outcome.remaining, thresholds)
    return (AccountState.LOW, threshold) if threshold is not None else (AccountState.OK, None)


def fired_levels(memory: AlertMemory, thresholds: Sequence[Decimal]) -> frozenset[Decimal]:
    """The levels that are fired now, resolving an imported balance against today's levels."""
    if memory.imported_level is not None:
        return levels_below(memory.imported_level, thresholds)
    return memory.fired


def decide(
    account_id: str, memory: AlertMemory, outcome: Outcome, thresholds: Sequence[Decimal]
) -> tuple[AlertMemory, Alert | None]:
    """The new memory and at most one alert for this account's new outcome."""
    if isinstance(outcome, FetchError):
        if outcome.kind is ErrorKind.AUTH and not memory.auth_alerted:
            alert = Alert(account_id, AlertKind.AUTH, message=outcome.message)
            return replace(memory, auth_alerted=True), alert
        return memory, None
    if outcome.unlimited or outcome.remaining is None:
        return AlertMemory(), None  # no limit: every level re-armed
    credits = outcome.remaining
    below = levels_below(credits, thresholds)
    newly = below - fired_levels(memory, thresholds)
    new_memory = AlertMemory(fired=below, forecast_alerted=memory.forecast_alerted)
    if Decimal(0) in newly:
        return new_memory, Alert(account_id, AlertKind.EXHAUSTED, remaining=credits)
    if newly:
        return new_memory, Alert(account_id, AlertKind.THRESHOLD, remaining=credits, threshold=min(newly))
    return new_memory, None


def top_up_amount(previous: Reading | None, reading: Reading) -> Decimal | None:
    """How much the balance rose since the previous good reading, when it did (1 % or more)."""
    if previous is None or previous.remaining is None or reading.remaining is None \
            or previous.unlimited or reading.unlimited:
        return None
    rise = reading.remaining - previous.remaining
    return rise if is_top_up(rise, previous.remaining) else None


def decide_pace(
    account_id: str,
    memory: AlertMemory,
    alert: Alert | None,
    *,
    previous: Reading | None,
    outcome: Outcome,
    usage: Usage | None,
    horizon: timedelta | None,
    notify_top_ups: bool,
    now: datetime,
) -> tuple[AlertMemory, Alert | None]:
    """The forecast and top-up alerts, after ``decide`` gave its ``alert`` for this outcome.

    The forecast alert comes once, when the run-out first falls within ``horizon`` (None: off),
    so a fast burner hears before the first level; a top-up re-arms it. A level's alert in the
    same refresh says enough: the forecast then counts as told. A top-up itself is an alert
    only when asked for, and only when nothing more urgent is said.
    """
    if not isinstance(outcome, Reading):
        return memory, alert
    added = top_up_amount(previous, outcome)
    if added is not None:
        memory = replace(memory, forecast_alerted=False)
    runs_out = usage.runs_out_at if usage is not None else None
    if horizon is not None and runs_out is not None and runs_out - now <= horizon and not memory.forecast_alerted:
        memory = replace(memory, forecast_alerted=True)
        if alert is None:
            alert = Alert(account_id, AlertKind.FORECAST, remaining=outcome.remaining, runs_out_at=runs_out)
    if alert is None and added is not None and notify_top_ups:
        alert = Alert(account_id, AlertKind.TOP_UP, remaining=outcome.remaining, added=added)
    return memory, alert
