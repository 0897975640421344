"""The engine's vocabulary: readings, typed fetch errors, account states and alerts.

Plain frozen dataclasses so results cross threads safely and compare in tests.
Amounts are ``Decimal``: balances are counts, and a float would misprint them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from tray_app.i18n import N_


class ErrorKind(StrEnum):
    """The closed set of ways a balance check can fail."""

    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    NETWORK = "network"
    TIMEOUT = "timeout"
    BAD_RESPONSE = "bad_response"
    NO_KEY = "no_key"
    CONFIG = "config"
    REQUEST = "request"


#: How a ``no_key`` error about a stored key that cannot be sent begins in English (the menu words it
#: shorter); the message is in the user's language, so code tests ``FetchError.detail`` instead.
KEY_UNUSABLE = N_("the stored API key cannot be used")


class ErrorDetail(StrEnum):
    """A finer reason within an ``ErrorKind`` for code to test: the message is words in the user's language."""

    #: ``no_key``: a key is stored but cannot be sent (control characters, not Latin-1).
    KEY_UNUSABLE = "key_unusable"
    #: ``no_key``: the keyring could not be read (locked, missing, not answering).
    KEY_UNAVAILABLE = "key_unavailable"

Amount = TypeVar("Amount", float, Decimal)


def is_top_up(rise: Amount, before: Amount) -> bool:
    """A rise of the balance worth calling a top-up: at least 1 % of it and at least 1. Smaller rises are
    noise (a refund of a few credits). One rule for the top-up alert (exact) and the usage maths (float)."""
    return rise > 0 and rise >= 1 and rise >= abs(before) / 100


#: Kinds worth another attempt within the same refresh.
TRANSIENT_KINDS = frozenset({ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.RATE_LIMITED})


class AccountState(StrEnum):
    OK = "ok"
    LOW = "low"
    EXHAUSTED = "exhausted"
    ERROR = "error"


@dataclass(frozen=True)
class Balance:
    """One amount in one unit: an account holding CNY and USD has two, never added together."""

    unit: str
    remaining: Decimal


@dataclass(frozen=True)
class Reading:
    """One good answer from a provider."""

    remaining: Decimal | None
    unit: str
    fetched_at: datetime
    used: Decimal | None = None
    total: Decimal | None = None
    unlimited: bool = False
    subscription_status: str | None = None
    subscription_id: str | None = None
    #: Every balance the answer holds, the main one (``remaining``/``unit``) first; empty when there is one.
    balances: tuple[Balance, ...] = ()
    #: When a quota's usage counter starts again, if the provider says.
    resets_at: datetime | None = None

    @property
    def exhausted(self) -> bool:
        return not self.unlimited and self.remaining is not None and self.remaining <= 0


@dataclass(frozen=True)
class FetchError:
    """A typed failure; ``message`` is the provider's own words where it gave any."""

    kind: ErrorKind
    message: str
    http_status: int | None = None
    retry_after: float | None = None
    #: When a rate-limited account may be asked again (its Retry-After as a moment), once the engine knows it.
    retry_at: datetime | None = None
    #: What code may test about this error besides its kind (never its message, which is translated).
    detail: ErrorDetail | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


Outcome = Reading | FetchError


@dataclass(frozen=True)
class TopUp:
    """A rise of the balance (or a reset of an unlimited plan's usage counter)."""

    at: datetime
    amount: float


@dataclass(frozen=True)
class Usage:
    """What the history says about how fast an account's credits go (see ``tray_app.usage``)."""

    #: Credits used per day over the recent window (after the last top-up), None with too little data.
    per_day: float | None
    #: When the balance reaches zero at that pace, None when the data does not support a forecast.
    runs_out_at: datetime | None
    top_ups: tuple[TopUp, ...] = ()


@dataclass(frozen=True)
class AccountResult:
    """What one refresh says about one account, as the CLI and the tray show it.

    ``reading`` is the fresh reading, or after a failure the last good one (or None).
    """

    account_id: str
    provider_id: str
    label: str
    unit: str
    state: AccountState
    reading: Reading | None
    error: FetchError | None
    threshold: Decimal | None
    checked_at: datetime
    #: Burn rate and run-out forecast from the history, when there is one.
    usage: Usage | None = None


class AlertKind(StrEnum):
    THRESHOLD = "threshold"
    EXHAUSTED = "exhausted"
    AUTH = "auth"
    #: At the current pace the balance runs out within the forecast horizon.
    FORECAST = "forecast"
    #: The balance rose (only when the user asked to hear about top-ups).
    TOP_UP = "top_up"


@dataclass(frozen=True)
class Alert:
    account_id: str
    kind: AlertKind
    remaining: Decimal | None = None
    threshold: Decimal | None = None
    message: str = ""
    runs_out_at: datetime | None = None
    #: How much a top-up added.
    added: Decimal | None = None


def whole_seconds(seconds: float) -> int:
    """A duration as people read it in a message: whole seconds, never "8.6624 s", never "0 s"."""
    return max(1, round(seconds))


def utc_now() -> datetime:
    return datetime.now(UTC)
