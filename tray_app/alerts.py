"""Pure decisions: an account's state, and whether a new outcome deserves an alert.

The threshold rule is MeowLoad's documented one, ``credits < threshold < last_credits``,
where ``last_credits`` is the last *good* reading and no reading counts as infinitely
high. So a threshold fires once when crossed downwards and re-arms only when a good
reading is back above it; a failed fetch neither alerts nor re-arms. Several
thresholds crossed at once give one alert naming the lowest; reaching zero is its own
alert; a key that starts failing alerts once until a good reading clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tray_app.model import AccountState, Alert, AlertKind, ErrorKind, FetchError, Outcome, Reading

INFINITY = Decimal("Infinity")


@dataclass(frozen=True)
class AlertMemory:
    """What the rule must remember between refreshes (persisted with the state)."""

    last_good: Reading | None = None
    auth_alerted: bool = False


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


def _credits(reading: Reading | None) -> Decimal:
    if reading is None or reading.unlimited or reading.remaining is None:
        return INFINITY
    return reading.remaining


def decide(
    account_id: str, memory: AlertMemory, outcome: Outcome, thresholds: Sequence[Decimal]
) -> tuple[AlertMemory, Alert | None]:
    """The new memory and at most one alert for this account's new outcome."""
    if isinstance(outcome, FetchError):
        if outcome.kind is ErrorKind.AUTH and not memory.auth_alerted:
            alert = Alert(account_id, AlertKind.AUTH, message=outcome.message)
            return AlertMemory(memory.last_good, auth_alerted=True), alert
        return memory, None
    new_memory = AlertMemory(last_good=outcome, auth_alerted=False)
    credits, last = _credits(outcome), _credits(memory.last_good)
    if credits == INFINITY:
        return new_memory, None
    if credits <= 0 < last:
        return new_memory, Alert(account_id, AlertKind.EXHAUSTED, remaining=credits)
    crossed = [t for t in thresholds if credits < t < last]
    if crossed:
        return new_memory, Alert(account_id, AlertKind.THRESHOLD, remaining=credits, threshold=min(crossed))
    return new_memory, None
