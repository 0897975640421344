"""Words shown to people: balances, ages, errors with what to do, notification texts.

Pure functions, no Qt: the tray, the fallback window and the tests share them.
Numbers come pre-formatted through ``fmt`` so the UI can use QLocale while the
command line uses the C library locale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tray_app.model import KEY_UNUSABLE, AccountResult, AccountState, Alert, AlertKind, ErrorKind, FetchError

NumberFormat = Callable[[Decimal], str]


#: Amounts are shown in fixed point with at most this many decimals ...
MAX_PLACES = 8
SMALLEST = Decimal(1).scaleb(-MAX_PLACES)
#: ... and up to this size; beyond either end the text says "<" or ">" instead of an endless row of digits.
LARGEST = Decimal(10) ** 18


def readable_number(value: Decimal, group: str = ",", point: str = ".") -> str:
    """An amount in full, digits grouped, never in scientific notation and never "0" when it is not zero.

    1E-7 is "0.0000001", 1E+15 "1,000,000,000,000,000"; past 8 decimals or 10^18 it is
    "<0.00000001" or ">1,000,000,000,000,000,000".
    """
    if not value.is_finite():
        return "?"
    negative = value < 0
    amount = abs(value)
    bound = ""
    if amount >= LARGEST:
        amount, bound = LARGEST, "<" if negative else ">"
    elif 0 < amount < SMALLEST:
        amount, bound = SMALLEST, ">" if negative else "<"
    elif int(amount.as_tuple().exponent) < -MAX_PLACES:
        amount = amount.quantize(SMALLEST, ROUND_HALF_UP)
    separators: dict[str, str | int | None] = {",": group, ".": point}
    text = format(amount, ",f").translate(str.maketrans(separators))
    return f"{bound}{'-' if negative else ''}{text}"


def plain_number(value: Decimal) -> str:
    return readable_number(value)


def _places(amount: Decimal, places: int) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


#: The icon's number: at most this many characters, and a minus sign.
COMPACT_BUDGET = 4


def compact_number(value: Decimal) -> str:
    """At most four characters (and a sign) for the icon: <0.1, 0.5, 950, 9.8K, 282K, 1.2M, 3.0B, 999T, huge.

    Never "0" for an amount that is not zero (a balance of 0.3 is not used up), never
    scientific notation, never wider than the icon's band.
    """
    if value.is_nan():
        return "?"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == 0:
        return "0"
    if amount < Decimal("0.05"):
        return ">-0.1" if sign else "<0.1"
    if amount < 1:
        return sign + _places(amount, 1)
    if amount < Decimal("999.5"):
        return sign + _places(amount, 0)
    for scale, suffix in ((3, "K"), (6, "M"), (9, "B"), (12, "T")):
        scaled = amount.scaleb(-scale)
        if scaled < Decimal("9.95"):
            return f"{sign}{_places(scaled, 1)}{suffix}"
        if scaled < Decimal("999.5"):
            return f"{sign}{_places(scaled, 0)}{suffix}"
    return f"{sign}huge"  # a thousand trillion or more: no provider sells that much, the menu has the digits


def provider_name(provider_id: str) -> str:
    # Here, not at the top: the tray's first icon and menu need these words but not the providers.
    from tray_app.providers import get_provider

    provider = get_provider(provider_id)
    if provider is None and provider_id == "custom":
        return "Custom"
    return provider.name if provider else (provider_id or "Unknown provider")


def account_title(result: AccountResult) -> str:
    """'MeowLoad · Work', or just 'MeowLoad' when the label is the provider's name."""
    name = provider_name(result.provider_id)
    return name if result.label in ("", name) else f"{name} · {result.label}"


#: A reading stamped more than this after "now" was taken while the clock was wrong.
CLOCK_SLACK = timedelta(minutes=2)
UNKNOWN_AGE = "age unknown"


def reading_age(moment: datetime, now: datetime) -> timedelta | None:
    """How old a reading is; None when it is stamped in the future (a clock that was wrong then or is now).

    Such a reading must not look fresh for ever: its age is unknown until a new reading replaces it.
    """
    age = now - moment
    if age < -CLOCK_SLACK:
        return None
    return max(age, timedelta(0))


#: How states and error kinds read on screen (the enum values are for JSON and code only).
STATE_WORDS = {AccountState.OK: "OK", AccountState.LOW: "Low", AccountState.EXHAUSTED: "Used up",
               AccountState.ERROR: "Error"}
ERROR_KIND_WORDS = {
    ErrorKind.AUTH: "Key refused", ErrorKind.RATE_LIMITED: "Rate limited", ErrorKind.SERVER: "Server trouble",
    ErrorKind.NETWORK: "Can't connect", ErrorKind.TIMEOUT: "No answer in time",
    ErrorKind.BAD_RESPONSE: "Unexpected answer", ErrorKind.NO_KEY: "No key", ErrorKind.CONFIG: "Config error",
    ErrorKind.REQUEST: "Request refused",
}


def error_detail(error: FetchError) -> str:
    """The error's own message as a sentence, for a detail line under the plain-words status."""
    message = error.message.strip()
    text = message[:1].upper() + message[1:]
    if error.http_status and error.http_status >= 400:
        text += f" (HTTP {error.http_status})"
    return text


def titles(accounts: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Menu titles by account id from (id, provider id, label): 'MeowLoad · Work', or 'MeowLoad' when
    the label is the provider's name; titles that would read the same get the id added, so two
    accounts never look alike."""
    out: dict[str, str] = {}
    for account_id, provider_id, label in accounts:
        name = provider_name(provider_id)
        out[account_id] = name if label in ("", name) else f"{name} · {label}"
    counts: dict[str, int] = {}
    for title in out.values():
        counts[title] = counts.get(title, 0) + 1
    return {i: f"{t} ({i})" if counts[t] > 1 else t for i, t in out.items()}


def labels(accounts: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Labels by account id from (id, label), with the id added where two labels are the same."""
    counts: dict[str, int] = {}
    for _, label in accounts:
        counts[label] = counts.get(label, 0) + 1
    return {i: f"{label} ({i})" if counts[label] > 1 else label for i, label in accounts}


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    age = reading_age(moment, now)
    if age is None:
        return UNKNOWN_AGE
    seconds = int(age.total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "yesterday" if days == 1 else f"{days} days ago"


def balance(result: AccountResult, fmt: NumberFormat = plain_number) -> str:
    reading = result.reading
    if reading is None:
        return "no balance yet"
    if reading.unlimited:
        return f"{fmt(reading.used)} used · no limit" if reading.used is not None else "no limit"
    if reading.remaining is None:
        return "no balance yet"
    # Each currency on its own: amounts in different units are never added or compared.
    amounts = [(b.remaining, b.unit) for b in reading.balances] or [(reading.remaining, reading.unit)]
    text = " · ".join(f"{fmt(value)} {unit}" for value, unit in amounts)
    if reading.resets_at is not None:
        text += f" · resets {day_name(reading.resets_at)}"
    if reading.subscription_status and reading.subscription_status != "active":
        text += f" · subscription {reading.subscription_status.replace('_', ' ')}"
    return text


#: Which account the icon speaks for when units differ: the worst state first.
_WORST_FIRST = {AccountState.EXHAUSTED: 0, AccountState.LOW: 1, AccountState.ERROR: 2, AccountState.OK: 3}


def icon_amount(results: Sequence[AccountResult]) -> Decimal | None:
    """The balance the icon shows: the lowest when all are in one unit.

    Amounts in different units (CNY, USD, credits) are never compared: then it is the balance
    of the account in the worst state (the first such, in menu order).
    """
    shown = [r for r in results if r.reading and not r.reading.unlimited and r.reading.remaining is not None]
    amounts = [r.reading.remaining for r in shown if r.reading and r.reading.remaining is not None]
    if not amounts:
        return None
    if len({r.reading.unit for r in shown if r.reading}) == 1:
        return min(amounts)
    worst = min(shown, key=lambda r: _WORST_FIRST.get(r.state, 3))
    return worst.reading.remaining if worst.reading else None


def rate_limited_until(error: FetchError) -> str | None:
    """'rate limited until 14:05' (local time) when the provider said how long to wait."""
    if error.kind is not ErrorKind.RATE_LIMITED or error.retry_at is None:
        return None
    return f"rate limited until {error.retry_at.astimezone():%H:%M}"


def error_words(error: FetchError, provider_id: str) -> str:
    """The error in plain words with what to do about it."""
    name = provider_name(provider_id)
    kind = error.kind
    if kind is ErrorKind.AUTH:
        return "Invalid API key: update it in Settings"
    if kind is ErrorKind.RATE_LIMITED:
        if (until := rate_limited_until(error)) is not None:
            return until[0].upper() + until[1:]
        if error.retry_after:  # a one-off fetch (Settings' Test): nothing retries by itself
            seconds = math.ceil(error.retry_after)
            wait = f"{seconds} s" if seconds <= 90 else f"{math.ceil(seconds / 60)} min"
            return f"Rate limited: try again in {wait}"
        return "Rate limited: retrying at the next refresh"
    if kind is ErrorKind.SERVER:
        return f"{name} is having server trouble: retrying at the next refresh"
    if kind is ErrorKind.NETWORK:
        return f"Can't reach {name}: check your connection"
    if kind is ErrorKind.TIMEOUT:
        return f"{name} didn't answer in time: retrying at the next refresh"
    if kind is ErrorKind.BAD_RESPONSE:
        if error.http_status in (401, 403, 404):  # a refusal, but not in the provider's own words
            return f"Not {name}'s answer (HTTP {error.http_status}): check the base URL"
        return f"Unexpected answer from {name}: retrying at the next refresh"
    if kind is ErrorKind.NO_KEY:
        if error.message.startswith("key unavailable"):
            return error.message[0].upper() + error.message[1:]
        if error.message.startswith(KEY_UNUSABLE):
            return "Stored API key unusable: replace it in Settings"
        return "No API key: add it in Settings"
    if kind is ErrorKind.CONFIG:
        return f"Config error: {error.message}"
    return f"Request refused: {error.message}"


def status_line(result: AccountResult, fmt: NumberFormat = plain_number) -> str:
    """The short status after the account's name in a menu row or tooltip."""
    if result.error is not None:
        return error_words(result.error, result.provider_id)
    text = balance(result, fmt)
    if result.state is AccountState.LOW and result.threshold is not None:
        text += f" (below {fmt(result.threshold)})"
    elif result.state is AccountState.EXHAUSTED:
        text += " (used up)"
    return text


def fetched_line(moment: datetime, now: datetime) -> str:
    """When the balance shown was read, for the account's submenu."""
    if reading_age(moment, now) is None:
        return "Balance of unknown age (its time stamp is in the future)"
    return f"Balance from {ago(moment, now)}"


def is_stale(result: AccountResult | None, now: datetime, stale_after: timedelta | None) -> bool:
    """A balance old enough that its age matters (older than ``stale_after``)."""
    reading = result.reading if result else None
    return bool(reading and stale_after is not None and now - reading.fetched_at > stale_after)


def row_text(result: AccountResult | None, title: str, now: datetime, fmt: NumberFormat = plain_number,
             stale_after: timedelta | None = None) -> str:
    """The account's menu row; the balance's age only when it matters (older than ``stale_after``)."""
    if result is None:
        return f"{title} — checking…"
    text = f"{title} — {status_line(result, fmt)}"
    if result.error is None and result.reading is not None and is_stale(result, now, stale_after):
        text += f" · {ago(result.reading.fetched_at, now)}"
    if result.error is None and result.usage is not None and result.usage.runs_out_at is not None:
        text += f" · {time_left(result.usage.runs_out_at, now)}"
    return text


def time_left(runs_out_at: datetime, now: datetime) -> str:
    """'~3 days left', rounded as a forecast deserves."""
    hours = max(0.0, (runs_out_at - now).total_seconds() / 3600)
    if hours < 1:
        return "less than an hour left"
    if hours < 36:
        count = round(hours)
        return f"~{count} hour left" if count == 1 else f"~{count} hours left"
    days = round(hours / 24)
    return f"~{days} days left"


def day_name(moment: datetime) -> str:
    """'Tue 2 Dec', in local time."""
    local = moment.astimezone()
    return f"{local:%a} {local.day} {local:%b}"


def pace_line(result: AccountResult, now: datetime, fmt: NumberFormat = plain_number) -> str:
    """How fast the credits go and, when the history supports it, when they run out."""
    usage = result.usage
    if usage is None or usage.per_day is None:
        return ""
    unit = result.reading.unit if result.reading is not None else result.unit
    rate = Decimal(round(usage.per_day)) if usage.per_day >= 10 else Decimal(str(round(usage.per_day, 1)))
    text = f"Uses about {fmt(rate)} {unit} a day"
    if usage.runs_out_at is not None:
        text += f"; runs out in about {time_left(usage.runs_out_at, now).removeprefix('~').removesuffix(' left')}," \
                f" around {day_name(usage.runs_out_at)}"
    return text


def tooltip(results: Sequence[tuple[str, AccountResult | None]], fmt: NumberFormat = plain_number) -> str:
    if not results:
        return "Credit Tray — no accounts yet: open Settings to add one"
    lines = []
    for title, result in results:
        if result is None:
            lines.append(f"{title}: checking…")
        else:
            lines.append(f"{title}: {status_line(result, fmt)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    #: The account the notice is about.
    account_id: str
    #: What a click does: "top-up" (the account's top-up page), "settings" (fix the key) or "summary"
    #: (show all balances). The text never promises a click: not every desktop delivers one.
    action: str = "top-up"


_SEVERITY = {AlertKind.EXHAUSTED: 0, AlertKind.AUTH: 1, AlertKind.THRESHOLD: 2, AlertKind.FORECAST: 3,
             AlertKind.TOP_UP: 4}


def _runs_out_words(alert: Alert) -> str:
    when = alert.runs_out_at
    if when is None:
        return "soon"
    return f"in about {time_left(when, datetime.now(when.tzinfo)).removeprefix('~').removesuffix(' left')}"


def _alert_line(alert: Alert, title: str, unit: str, fmt: NumberFormat) -> str:
    if alert.kind is AlertKind.EXHAUSTED:
        return f"{title}: out of {unit}"
    if alert.kind is AlertKind.AUTH:
        return f"{title}: API key refused"
    if alert.kind is AlertKind.FORECAST:
        return f"{title}: runs out {_runs_out_words(alert)}"
    if alert.kind is AlertKind.TOP_UP:
        return f"{title}: +{fmt(alert.added) if alert.added is not None else '?'} {unit} added"
    remaining = fmt(alert.remaining) if alert.remaining is not None else "?"
    threshold = fmt(alert.threshold) if alert.threshold is not None else "?"
    return f"{title}: {remaining} {unit} left, below {threshold}"


def _sentence(text: str) -> str:
    """``text`` ending in a full stop, without doubling the provider's own ("not exist." or "不存在。")."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "。", "！", "？", "…")) else text + "."


def notice_for(alerts: Sequence[Alert], titles: dict[str, str], units: dict[str, str],
               fmt: NumberFormat = plain_number) -> Notice | None:
    """One notification for everything one refresh raised: a single alert, or a summary."""
    if not alerts:
        return None
    ordered = sorted(alerts, key=lambda a: _SEVERITY[a.kind])
    first = ordered[0]
    if len(ordered) == 1:
        title = titles.get(first.account_id, first.account_id)
        unit = units.get(first.account_id, "credits")
        if first.kind is AlertKind.EXHAUSTED:
            return Notice(f"{title}: out of {unit}", f"No {unit} left.", first.account_id)
        if first.kind is AlertKind.AUTH:
            return Notice(f"{title}: API key refused",
                          f"{_sentence(first.message or 'The key was rejected')} Update the key in Settings.",
                          first.account_id, "settings")
        remaining = fmt(first.remaining) if first.remaining is not None else "?"
        if first.kind is AlertKind.FORECAST:
            until = f"until around {day_name(first.runs_out_at)}" if first.runs_out_at else "for a short while"
            return Notice(f"{title}: runs out {_runs_out_words(first)}",
                          f"{remaining} {unit} left last {until} at the current pace. Click to top up.",
                          first.account_id)
        if first.kind is AlertKind.TOP_UP:
            added = fmt(first.added) if first.added is not None else "?"
            return Notice(f"{title}: +{added} {unit} added", f"The balance is now {remaining} {unit}.",
                          first.account_id)
        threshold = fmt(first.threshold) if first.threshold is not None else "?"
        return Notice(f"{title}: {remaining} {unit} left",
                      f"Below your alert at {threshold}.", first.account_id)
    lines = [_alert_line(a, titles.get(a.account_id, a.account_id), units.get(a.account_id, "credits"), fmt)
             for a in ordered[:5]]
    if len(ordered) > 5:
        lines.append(f"and {len(ordered) - 5} more")
    return Notice(f"{len(ordered)} accounts need attention", "\n".join(lines), first.account_id, "summary")
