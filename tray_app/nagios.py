"""``check --format nagios``: one status line with performance data, by the monitoring-plugins guidelines.

Threshold ranges are the guidelines' ``[@]start:end`` (``2000:`` alerts below 2000, ``@~:0``
at 0 or less). Without ``-w``/``-c`` each account's own levels decide, as in the tray: below its
highest positive level is WARNING, 0 or less is CRITICAL. The exit status is the one
``check`` always had: 2 if any account is critical, else 3 if any could not be checked,
else 1 if any is a warning, else 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tray_app import texts
from tray_app.model import AccountResult

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
WORDS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
SERVICE = "CREDITS"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Range:
    """A threshold range: alert when the value is outside ``start..end`` (inside it, with ``@``)."""

    text: str
    start: Decimal | None  # None: minus infinity
    end: Decimal | None  # None: infinity
    inside: bool = False

    def alerts(self, value: Decimal) -> bool:
        within = (self.start is None or value >= self.start) and (self.end is None or value <= self.end)
        return within if self.inside else not within


def parse_range(text: str) -> Range:
    """The guidelines' range syntax (``10``, ``10:``, ``~:10``, ``10:20``, ``@10:20``); ValueError otherwise."""
    raw = text.strip()
    inside = raw.startswith("@")
    body = raw[1:] if inside else raw
    start_text, end_text = body.split(":", 1) if ":" in body else ("", body)
    if not body or (":" not in body and not end_text):
        raise ValueError(f"{text!r} is not a threshold range (e.g. 2000: or @~:0 or 10:20)")

    def number(part: str) -> Decimal:
        if not _NUMBER.fullmatch(part):
            raise ValueError(f"{text!r} is not a threshold range (e.g. 2000: or @~:0 or 10:20)")
        return Decimal(part)

    start = None if start_text == "~" else Decimal(0) if start_text == "" else number(start_text)
    end = None if end_text == "" else number(end_text)
    if start is not None and end is not None and start > end:
        raise ValueError(f"{text!r}: the start of a range may not be above its end")
    return Range(raw, start, end, inside=inside)


#: Running out: 0 or less, as the tray counts it.
EXHAUSTED_RANGE = Range("@~:0", None, Decimal(0), inside=True)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _clean(text: str) -> str:
    """Text safe inside plugin output: no pipe (it starts the perfdata), no line breaks."""
    return " ".join(text.replace("|", "/").split())


def _warning_range(result: AccountResult, thresholds: Sequence[Decimal]) -> Range | None:
    positive = [t for t in thresholds if t > 0]
    if not positive:
        return None
    top = max(positive)
    return Range(f"{_decimal_text(top)}:", top, None)


def _status(result: AccountResult, warning: Range | None, critical: Range) -> int:
    reading = result.reading
    if result.error is not None or reading is None:
        return UNKNOWN
    if reading.unlimited or reading.remaining is None:
        return OK
    if critical.alerts(reading.remaining):
        return CRITICAL
    if warning is not None and warning.alerts(reading.remaining):
        return WARNING
    return OK


def _describe(result: AccountResult, status: int, warning: Range | None, critical: Range, overridden: bool) -> str:
    """The account's words: the error as the command line says it, or the balance and why it alerts."""
    if result.error is not None:
        stale = " (last known balance)" if result.reading else ""
        return f"{result.error.kind}: {result.error.message}{stale}"
    if not overridden:
        return texts.status_line(result)
    text = texts.balance(result)
    if status == CRITICAL:
        text += f" (critical range {critical.text})"
    elif status == WARNING and warning is not None:
        text += f" (warning range {warning.text})"
    return text


def _perfdata(result: AccountResult, warning: Range | None, critical: Range) -> str | None:
    label = "'" + result.account_id.replace("'", "''") + "'"
    reading = result.reading
    if result.error is not None or reading is None:
        return f"{label}=U"
    if reading.unlimited or reading.remaining is None:
        return None
    low = "0" if reading.remaining >= 0 else ""
    high = _decimal_text(reading.total) if reading.total is not None else ""
    return (f"{label}={_decimal_text(reading.remaining)};{warning.text if warning else ''};{critical.text};"
            f"{low};{high}")


def output(results: Sequence[AccountResult], thresholds: Callable[[str], Sequence[Decimal]],
           warning: Range | None = None, critical: Range | None = None) -> tuple[str, int]:
    """The plugin's output (status line with perfdata, then one line per account) and its exit status.

    ``thresholds`` gives an account's alert levels; ``warning``/``critical`` replace them for this run.
    """
    statuses: list[tuple[AccountResult, int]] = []
    texts_by_id: dict[int, str] = {}
    perf: list[str] = []
    for result in results:
        warn = warning or _warning_range(result, thresholds(result.account_id))
        crit = critical or EXHAUSTED_RANGE
        status = _status(result, warn, crit)
        statuses.append((result, status))
        texts_by_id[id(result)] = _describe(result, status, warn, crit, warning is not None or critical is not None)
        if (data := _perfdata(result, warn, crit)) is not None:
            perf.append(data)
    codes = {code for _, code in statuses}
    code = next((c for c in (CRITICAL, UNKNOWN, WARNING) if c in codes), OK)

    def line(result: AccountResult) -> str:
        return _clean(f"{texts.account_title(result)}: {texts_by_id[id(result)]}")

    if not results:
        summary = "no accounts to check"
    elif code == OK:
        summary = f"{len(results)} account{'s' if len(results) != 1 else ''} ok"
    else:
        summary = "; ".join(f"{WORDS[c]}: {line(r)}" for r, c in statuses if c != OK)
    first = f"{SERVICE} {WORDS[code]} - {summary}"
    if perf:
        first += " | " + " ".join(perf)
    details = [f"[{WORDS[c]}] {line(r)}" for r, c in statuses]
    return "\n".join([first, *details]), code
