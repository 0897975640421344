"""The engine's vocabulary: readings, typed fetch errors, account states and alerts.

Plain frozen dataclasses so results cross threads safely and compare in tests.
Amounts are ``Decimal``: balances are counts, and a float would misprint them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum


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


#: Kinds worth another attempt within the same refresh.
TRANSIENT_KINDS = frozenset({ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.RATE_LIMITED})


class AccountState(StrEnum):
    OK = "ok"
    LOW = "low"
    EXHAUSTED = "exhausted"
    ERROR = "error"


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

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


Outcome = Reading | FetchError


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


class AlertKind(StrEnum):
    THRESHOLD = "threshold"
    EXHAUSTED = "exhausted"
    AUTH = "auth"


@dataclass(frozen=True)
class Alert:
    account_id: str
    kind: AlertKind
    remaining: Decimal | None = None
    threshold: Decimal | None = None
    message: str = ""


def whole_seconds(seconds: float) -> int:
    """A duration as people read it in a message: whole seconds, never "8.6624 s", never "0 s"."""
    return max(1, round(seconds))


def utc_now() -> datetime:
    return datetime.now(UTC)
