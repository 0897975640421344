"""Words shown to people: balances, ages, errors with what to do, notification texts.

Pure functions, no Qt: the tray, the fallback window and the tests share them.
Numbers come pre-formatted through ``fmt`` so the UI can use QLocale while the
command line uses the C library locale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tray_app.model import AccountResult, AccountState, Alert, AlertKind, ErrorKind, FetchError
from tray_app.providers import get_provider

NumberFormat = Callable[[Decimal], str]


def plain_number(value: Decimal) -> str:
    return format(value, ",")


def compact_number(value: Decimal) -> str:
    """At most four characters for the icon: 950, 9.8K, 282K, 1.2M."""
    n = float(value)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 999.5:
        return f"{sign}{n:.0f}"
    for scale, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        scaled = n / scale
        text = f"{scaled:.1f}" if scaled < 9.95 else f"{scaled:.0f}"
        if float(text) < 1000 or suffix == "T":
            return f"{sign}{text}{suffix}"
    raise AssertionError("unreachable")


def provider_name(provider_id: str) -> str:
    provider = get_provider(provider_id)
    return provider.name if provider else (provider_id or "Unknown provider")


def account_title(result: AccountResult) -> str:
    """'MeowLoad · Work', or just 'MeowLoad' when the label is the provider's name."""
    name = provider_name(result.provider_id)
    return name if result.label in ("", name) else f"{name} · {result.label}"


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
    seconds = max(0, int((now - moment).total_seconds()))
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
    text = f"{fmt(reading.remaining)} {reading.unit}"
    if reading.subscription_status and reading.subscription_status != "active":
        text += f" · subscription {reading.subscription_status.replace('_', ' ')}"
    return text


def error_words(error: FetchError, provider_id: str) -> str:
    """The error in plain words with what to do about it."""
    name = provider_name(provider_id)
    kind = error.kind
    if kind is ErrorKind.AUTH:
        return "Invalid API key: update it in Settings"
    if kind is ErrorKind.RATE_LIMITED:
        if error.retry_after:
            return f"Rate limited: retrying in {round(error.retry_after)} s"
        return "Rate limited: retrying at the next refresh"
    if kind is ErrorKind.SERVER:
        return f"{name} is having server trouble: retrying at the next refresh"
    if kind is ErrorKind.NETWORK:
        return f"Can't reach {name}: check your connection"
    if kind is ErrorKind.TIMEOUT:
        return f"{name} didn't answer in time: retrying at the next refresh"
    if kind is ErrorKind.BAD_RESPONSE:
        return f"Unexpected answer from {name}: retrying at the next refresh"
    if kind is ErrorKind.NO_KEY:
        if error.message.startswith("key unavailable"):
            return error.message[0].upper() + error.message[1:]
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


_SEVERITY = {AlertKind.EXHAUSTED: 0, AlertKind.AUTH: 1, AlertKind.THRESHOLD: 2}


def _alert_line(alert: Alert, title: str, unit: str, fmt: NumberFormat) -> str:
    if alert.kind is AlertKind.EXHAUSTED:
        return f"{title}: out of {unit}"
    if alert.kind is AlertKind.AUTH:
        return f"{title}: API key refused"
    remaining = fmt(alert.remaining) if alert.remaining is not None else "?"
    threshold = fmt(alert.threshold) if alert.threshold is not None else "?"
    return f"{title}: {remaining} {unit} left, below {threshold}"


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
                          f"{first.message or 'The key was rejected'}. Update the key in Settings.", first.account_id,
                          "settings")
        remaining = fmt(first.remaining) if first.remaining is not None else "?"
        threshold = fmt(first.threshold) if first.threshold is not None else "?"
        return Notice(f"{title}: {remaining} {unit} left",
                      f"Below your alert at {threshold}.", first.account_id)
    lines = [_alert_line(a, titles.get(a.account_id, a.account_id), units.get(a.account_id, "credits"), fmt)
             for a in ordered[:5]]
    if len(ordered) > 5:
        lines.append(f"and {len(ordered) - 5} more")
    return Notice(f"{len(ordered)} accounts need attention", "\n".join(lines), first.account_id, "summary")
