"""Words shown to people: balances, ages, errors with what to do, notification texts.

Pure functions, no Qt: the tray, the fallback window and the tests share them.
Numbers come pre-formatted through ``fmt`` so the UI can use QLocale while the
command line uses the C library locale. Every sentence is looked up in the catalogue
(``tray_app.i18n``) when it is made, so the words follow the language setting at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from tray_app import i18n
from tray_app.i18n import N_, _, ngettext
from tray_app.model import AccountResult, AccountState, Alert, AlertKind, ErrorDetail, ErrorKind, FetchError

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


def json_number(value: Decimal | None) -> int | float | None:
    """An amount as a JSON number: exact integers stay integers."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def json_time(moment: datetime | None) -> str | None:
    """A moment as JSON gives it: UTC, to the second, with a Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plain_number(value: Decimal) -> str:
    return readable_number(value)


def _places(amount: Decimal, places: int) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


#: The icon's number: at most this many characters, and a minus sign.
COMPACT_BUDGET = 4

#: How each language counts big numbers on the icon: thousands (K, M, B, T) in English, ten-thousands
#: in Chinese (万 = 10⁴, 亿 = 10⁸, 万亿 = 10¹²), as a Chinese reader would say the amount.
_SCALES = {"en": ((3, "K"), (6, "M"), (9, "B"), (12, "T")),
           "zh": ((4, "万"), (8, "亿"), (12, "万亿"))}  # untranslated: number scale suffixes, per language
#: Below this, the plain digits fit: 9,800 is "9800" in Chinese (4 digits), "9.8K" in English.
_PLAIN_BELOW = {"en": Decimal("999.5"), "zh": Decimal("9999.5")}


def compact_number(value: Decimal, language: str | None = None) -> str:
    """At most four characters (and a sign) for the icon: <0.1, 0.5, 950, 9.8K, 282K, 1.2M, 3.0B, 999T, huge;
    in Chinese 9800, 1.2万, 282万, 3.0亿, 999万亿.

    Never "0" for an amount that is not zero (a balance of 0.3 is not used up), never
    scientific notation, never wider than the icon's band.
    """
    if value.is_nan():
        return "?"
    language = language or i18n.current_language()
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == 0:
        return "0"
    if amount < Decimal("0.05"):
        return ">-0.1" if sign else "<0.1"
    if amount < 1:
        return sign + _places(amount, 1)
    if amount < _PLAIN_BELOW.get(language, _PLAIN_BELOW["en"]):
        return sign + _places(amount, 0)
    for scale, suffix in _SCALES.get(language, _SCALES["en"]):
        scaled = amount.scaleb(-scale)
        if scaled < Decimal("9.95"):
            return f"{sign}{_places(scaled, 1)}{suffix}"
        if scaled < Decimal("999.5"):
            return f"{sign}{_places(scaled, 0)}{suffix}"
    # A thousand trillion or more: no provider sells that much, the menu has the digits.
    # TRANSLATORS: the icon's number for an amount too big to show; at most 4 characters.
    return sign + _("huge")


def provider_name(provider_id: str) -> str:
    # Here, not at the top: the tray's first icon and menu need these words but not the providers.
    from tray_app.providers import get_provider

    provider = get_provider(provider_id)
    if provider is None and provider_id == "custom":
        return _("Custom")
    return provider.name if provider else (provider_id or _("Unknown provider"))


#: Units the app names itself (providers' own, and the default); currency codes stay as they are.
UNIT_WORDS = {"credits": N_("credits"), "message credits": N_("message credits"), "characters": N_("characters")}


def unit_name(unit: str) -> str:
    """A unit as the reader says it: 'credits' is 积分 in Chinese; USD stays USD."""
    return _(UNIT_WORDS[unit]) if unit in UNIT_WORDS else unit


def amount_text(value: Decimal, unit: str, fmt: NumberFormat) -> str:
    # TRANSLATORS: an amount and its unit, e.g. "9,999 credits", "12.50 USD".
    return _("{amount} {unit}").format(amount=fmt(value), unit=unit_name(unit))


def account_title(result: AccountResult) -> str:
    """'MeowLoad · Work', or just 'MeowLoad' when the label is the provider's name."""
    name = provider_name(result.provider_id)
    return name if result.label in ("", name) else f"{name} · {result.label}"


#: A reading stamped more than this after "now" was taken while the clock was wrong.
CLOCK_SLACK = timedelta(minutes=2)
UNKNOWN_AGE = N_("age unknown")


def reading_age(moment: datetime, now: datetime) -> timedelta | None:
    """How old a reading is; None when it is stamped in the future (a clock that was wrong then or is now).

    Such a reading must not look fresh for ever: its age is unknown until a new reading replaces it.
    """
    age = now - moment
    if age < -CLOCK_SLACK:
        return None
    return max(age, timedelta(0))


Key = TypeVar("Key")


class TranslatedWords(Mapping[Key, str]):
    """A table of words declared once (marked with ``N_``) and read in the current language each time."""

    def __init__(self, words: dict[Key, str]) -> None:
        self._words = words

    def __getitem__(self, key: Key) -> str:
        return _(self._words[key])

    def __iter__(self) -> Iterator[Key]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)


#: How states and error kinds read on screen (the enum values are for JSON and code only).
STATE_WORDS = TranslatedWords({AccountState.OK: N_("OK"), AccountState.LOW: N_("Low"),
                               AccountState.EXHAUSTED: N_("Used up"), AccountState.ERROR: N_("Error")})
ERROR_KIND_WORDS = TranslatedWords({
    ErrorKind.AUTH: N_("Key refused"), ErrorKind.RATE_LIMITED: N_("Rate limited"),
    ErrorKind.SERVER: N_("Server trouble"), ErrorKind.NETWORK: N_("Can't connect"),
    ErrorKind.TIMEOUT: N_("No answer in time"), ErrorKind.BAD_RESPONSE: N_("Unexpected answer"),
    ErrorKind.NO_KEY: N_("No key"), ErrorKind.CONFIG: N_("Config error"), ErrorKind.REQUEST: N_("Request refused"),
})


def error_detail(error: FetchError) -> str:
    """The error's own message as a sentence, for a detail line under the plain-words status."""
    message = error.message.strip()
    text = message[:1].upper() + message[1:]
    if error.http_status and error.http_status >= 400:
        # TRANSLATORS: an error message followed by the HTTP status it came with.
        text = _("{message} (HTTP {status})").format(message=text, status=error.http_status)
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
    for _account_id, label in accounts:
        counts[label] = counts.get(label, 0) + 1
    return {i: f"{label} ({i})" if counts[label] > 1 else label for i, label in accounts}


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return _("never")
    age = reading_age(moment, now)
    if age is None:
        return _(UNKNOWN_AGE)
    seconds = int(age.total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("{count} min ago").format(count=seconds // 60)
    if seconds < 86400:
        return _("{count} h ago").format(count=seconds // 3600)
    days = seconds // 86400
    if days == 1:
        return _("yesterday")
    return ngettext("{count} day ago", "{count} days ago", days).format(count=days)


def balance(result: AccountResult, fmt: NumberFormat = plain_number) -> str:
    reading = result.reading
    if reading is None:
        return _("no balance yet")
    if reading.unlimited:
        if reading.used is None:
            return _("no limit")
        return _("{amount} used · no limit").format(amount=fmt(reading.used))
    if reading.remaining is None:
        return _("no balance yet")
    # Each currency on its own: amounts in different units are never added or compared.
    amounts = [(b.remaining, b.unit) for b in reading.balances] or [(reading.remaining, reading.unit)]
    parts = [amount_text(value, unit, fmt) for value, unit in amounts]
    if reading.resets_at is not None:
        parts.append(_("resets {day}").format(day=i18n.day_name(reading.resets_at)))
    if reading.subscription_status and reading.subscription_status != "active":
        # The provider's own status word (past_due, trialing...): shown as it says it.
        parts.append(_("subscription {status}").format(status=reading.subscription_status.replace("_", " ")))
    return " · ".join(parts)


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
    return _("rate limited until {time}").format(time=i18n.clock_time(error.retry_at))


def error_words(error: FetchError, provider_id: str) -> str:
    """The error in plain words with what to do about it."""
    name = provider_name(provider_id)
    kind = error.kind
    if kind is ErrorKind.AUTH:
        return _("Invalid API key: update it in Settings")
    if kind is ErrorKind.RATE_LIMITED:
        if error.retry_at is not None:
            return _("Rate limited until {time}").format(time=i18n.clock_time(error.retry_at))
        if error.retry_after:  # a one-off fetch (Settings' Test): nothing retries by itself
            seconds = math.ceil(error.retry_after)
            if seconds <= 90:
                return _("Rate limited: try again in {count} s").format(count=seconds)
            return _("Rate limited: try again in {count} min").format(count=math.ceil(seconds / 60))
        return _("Rate limited: retrying at the next refresh")
    if kind is ErrorKind.SERVER:
        return _("{provider} is having server trouble: retrying at the next refresh").format(provider=name)
    if kind is ErrorKind.NETWORK:
        return _("Can't reach {provider}: check your connection").format(provider=name)
    if kind is ErrorKind.TIMEOUT:
        return _("{provider} didn't answer in time: retrying at the next refresh").format(provider=name)
    if kind is ErrorKind.BAD_RESPONSE:
        if error.http_status in (401, 403, 404):  # a refusal, but not in the provider's own words
            return _("Not {provider}'s answer (HTTP {status}): check the base URL").format(
                provider=name, status=error.http_status)
        return _("Unexpected answer from {provider}: retrying at the next refresh").format(provider=name)
    if kind is ErrorKind.NO_KEY:
        if error.detail is ErrorDetail.KEY_UNAVAILABLE:  # the message says which keyring trouble, in words
            message = error.message
            return message[0].upper() + message[1:]
        if error.detail is ErrorDetail.KEY_UNUSABLE:
            return _("Stored API key unusable: replace it in Settings")
        return _("No API key: add it in Settings")
    if kind is ErrorKind.CONFIG:
        return _("Config error: {message}").format(message=error.message)
    return _("Request refused: {message}").format(message=error.message)


def status_line(result: AccountResult, fmt: NumberFormat = plain_number) -> str:
    """The short status after the account's name in a menu row or tooltip."""
    if result.error is not None:
        return error_words(result.error, result.provider_id)
    text = balance(result, fmt)
    if result.state is AccountState.LOW and result.threshold is not None:
        return _("{balance} (below {threshold})").format(balance=text, threshold=fmt(result.threshold))
    if result.state is AccountState.EXHAUSTED:
        return _("{balance} (used up)").format(balance=text)
    return text


def fetched_line(moment: datetime, now: datetime) -> str:
    """When the balance shown was read, for the account's submenu."""
    if reading_age(moment, now) is None:
        return _("Balance of unknown age (its time stamp is in the future)")
    return _("Balance from {age}").format(age=ago(moment, now))


def is_stale(result: AccountResult | None, now: datetime, stale_after: timedelta | None) -> bool:
    """A balance old enough that its age matters (older than ``stale_after``)."""
    reading = result.reading if result else None
    return bool(reading and stale_after is not None and now - reading.fetched_at > stale_after)


def row_text(result: AccountResult | None, title: str, now: datetime, fmt: NumberFormat = plain_number,
             stale_after: timedelta | None = None) -> str:
    """The account's menu row; the balance's age only when it matters (older than ``stale_after``)."""
    if result is None:
        return _("{title} — checking…").format(title=title)
    text = f"{title} — {status_line(result, fmt)}"
    if result.error is None and result.reading is not None and is_stale(result, now, stale_after):
        text += f" · {ago(result.reading.fetched_at, now)}"
    if result.error is None and result.usage is not None and result.usage.runs_out_at is not None:
        text += f" · {time_left(result.usage.runs_out_at, now)}"
    return text


def _time_to_go(runs_out_at: datetime, now: datetime) -> tuple[str, int]:
    """('hours' | 'days' | 'soon', count), rounded as a forecast deserves ('soon': within the hour)."""
    hours = max(0.0, (runs_out_at - now).total_seconds() / 3600)
    if hours < 1:
        return "soon", 0
    if hours < 36:
        return "hours", round(hours)
    return "days", round(hours / 24)


def time_left(runs_out_at: datetime, now: datetime) -> str:
    """'~3 days left', rounded as a forecast deserves."""
    unit, count = _time_to_go(runs_out_at, now)
    if unit == "soon":
        return _("less than an hour left")
    if unit == "hours":
        return ngettext("~{count} hour left", "~{count} hours left", count).format(count=count)
    return ngettext("~{count} day left", "~{count} days left", count).format(count=count)


def runs_out_in(runs_out_at: datetime, now: datetime) -> str:
    """'runs out in about 3 days' (a whole phrase: languages put 'in about' in different places)."""
    unit, count = _time_to_go(runs_out_at, now)
    if unit == "soon":
        return _("runs out in less than an hour")
    if unit == "hours":
        return ngettext("runs out in about {count} hour", "runs out in about {count} hours", count).format(
            count=count)
    return ngettext("runs out in about {count} day", "runs out in about {count} days", count).format(count=count)


def pace_line(result: AccountResult, now: datetime, fmt: NumberFormat = plain_number) -> str:
    """How fast the credits go and, when the history supports it, when they run out."""
    usage = result.usage
    if usage is None or usage.per_day is None:
        return ""
    unit = result.reading.unit if result.reading is not None else result.unit
    rate = Decimal(round(usage.per_day)) if usage.per_day >= 10 else Decimal(str(round(usage.per_day, 1)))
    uses = _("Uses about {amount} a day").format(amount=amount_text(rate, unit, fmt))
    if usage.runs_out_at is None:
        return uses
    # TRANSLATORS: "Uses about 1,200 credits a day; runs out in about 3 days, around Tue 2 Dec".
    return _("{uses}; {runs_out}, around {day}").format(uses=uses, runs_out=runs_out_in(usage.runs_out_at, now),
                                                         day=i18n.day_name(usage.runs_out_at))


def tooltip(results: Sequence[tuple[str, AccountResult | None]], fmt: NumberFormat = plain_number) -> str:
    if not results:
        return _("Credit Tray — no accounts yet: open Settings to add one")
    lines = []
    for title, result in results:
        status = _("checking…") if result is None else status_line(result, fmt)
        # TRANSLATORS: one line of the tray's tooltip: an account's title and its status.
        lines.append(_("{title}: {status}").format(title=title, status=status))
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
        return _("runs out soon")
    return runs_out_in(when, datetime.now(when.tzinfo))


def _maybe(value: Decimal | None, fmt: NumberFormat) -> str:
    return fmt(value) if value is not None else "?"


def _amount_or_unknown(value: Decimal | None, unit: str, fmt: NumberFormat) -> str:
    return amount_text(value, unit, fmt) if value is not None else _("{amount} {unit}").format(
        amount="?", unit=unit_name(unit))


def _out_of(title: str, unit: str) -> str:
    """'MeowLoad: out of credits'. A unit we name (积分) and a currency code (USD) are two entries: Chinese
    writes the code apart from the words around it and the word without a space."""
    if unit in UNIT_WORDS:
        return _("{title}: out of {unit}").format(title=title, unit=unit_name(unit))
    # TRANSLATORS: {currency} is a code such as USD or CNY.
    return _("{title}: out of {currency}").format(title=title, currency=unit)


def _no_left(unit: str) -> str:
    if unit in UNIT_WORDS:
        return _("No {unit} left.").format(unit=unit_name(unit))
    # TRANSLATORS: {currency} is a code such as USD or CNY.
    return _("No {currency} left.").format(currency=unit)


def _alert_line(alert: Alert, title: str, unit: str, fmt: NumberFormat) -> str:
    if alert.kind is AlertKind.EXHAUSTED:
        return _out_of(title, unit)
    if alert.kind is AlertKind.AUTH:
        return _("{title}: API key refused").format(title=title)
    if alert.kind is AlertKind.FORECAST:
        return _("{title}: {runs_out}").format(title=title, runs_out=_runs_out_words(alert))
    if alert.kind is AlertKind.TOP_UP:
        return _("{title}: +{amount} added").format(title=title, amount=_amount_or_unknown(alert.added, unit, fmt))
    return _("{title}: {amount} left, below {threshold}").format(
        title=title, amount=_amount_or_unknown(alert.remaining, unit, fmt), threshold=_maybe(alert.threshold, fmt))


def sentence(text: str) -> str:
    """``text`` ending in the language's full stop, without doubling one it has ("not exist." or "不存在。")."""
    text = text.rstrip()
    if text.endswith((".", "!", "?", "。", "！", "？", "…")):
        return text
    # TRANSLATORS: ends a sentence (an error message, a forecast line) with the language's full stop.
    return _("{text}.").format(text=text)


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
            return Notice(_out_of(title, unit), _no_left(unit), first.account_id)
        if first.kind is AlertKind.AUTH:
            reason = sentence(first.message or _("The key was rejected"))
            return Notice(_("{title}: API key refused").format(title=title),
                          _("{reason} Update the key in Settings.").format(reason=reason),
                          first.account_id, "settings")
        remaining = _amount_or_unknown(first.remaining, unit, fmt)
        if first.kind is AlertKind.FORECAST:
            headline = _("{title}: {runs_out}").format(title=title, runs_out=_runs_out_words(first))
            if first.runs_out_at is None:
                body = _("{amount} left last for a short while at the current pace. Click to top up.")
            else:
                body = _("{amount} left last until around {day} at the current pace. Click to top up.")
            day = i18n.day_name(first.runs_out_at) if first.runs_out_at else ""
            return Notice(headline, body.format(amount=remaining, day=day), first.account_id)
        if first.kind is AlertKind.TOP_UP:
            return Notice(_("{title}: +{amount} added").format(
                              title=title, amount=_amount_or_unknown(first.added, unit, fmt)),
                          _("The balance is now {amount}.").format(amount=remaining), first.account_id)
        return Notice(_("{title}: {amount} left").format(title=title, amount=remaining),
                      _("Below your alert at {threshold}.").format(threshold=_maybe(first.threshold, fmt)),
                      first.account_id)
    lines = [_alert_line(a, titles.get(a.account_id, a.account_id), units.get(a.account_id, "credits"), fmt)
             for a in ordered[:5]]
    if len(ordered) > 5:
        extra = len(ordered) - 5
        lines.append(ngettext("and {count} more", "and {count} more", extra).format(count=extra))
    return Notice(ngettext("{count} account needs attention", "{count} accounts need attention",
                           len(ordered)).format(count=len(ordered)),
                  "\n".join(lines), first.account_id, "summary")
