"""``credit-tray history ID``: an account's recorded balances, usage per day and forecast.

A table of days for people; every recorded reading as JSON or CSV for scripts and
spreadsheets. Kept apart from ``cli.py`` so that module stays about the commands' plumbing.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tray_app import texts
from tray_app.columns import table
from tray_app.history import HistoryStore
from tray_app.i18n import _, ngettext
from tray_app.model import AccountResult, AccountState, utc_now
from tray_app.texts import json_number
from tray_app.texts import json_time as iso
from tray_app.usage import analyse, daily_usage, top_ups

_SPAN = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta | None:
    """'7d', '24h', '90m', '2w' → a span; 'all' → None. Raises ValueError with a readable message."""
    if text == "all":
        return None
    found = _SPAN.match(text.strip().lower())
    if not found:
        raise ValueError(_("--since {value!r}: use a number and m, h, d or w (e.g. 24h, 7d) or 'all'").format(
            value=text))
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def add_parser(commands: Any, **options: Any) -> None:
    history = commands.add_parser("history", help=_("an account's recorded balances, usage per day and forecast"),
                                  **options)
    history.add_argument("id", metavar="ID")
    history.add_argument("--since", default="7d", metavar="SPAN",
                         help=_("how far back: 24h, 7d, 30d, ... or all (default: %(default)s)"))
    output = history.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=_("every reading, usage and forecast as JSON"))
    output.add_argument("--csv", action="store_true", help=_("every reading as CSV"))


def run(args: argparse.Namespace, store: HistoryStore, *, title: str, unit: str,
        fmt: Callable[[Decimal], str]) -> int:
    """Print the history of ``args.id``; the caller has checked the account exists."""
    span = parse_since(args.since)
    now = utc_now()
    since = now - span if span is not None else None
    points = store.readings(args.id, since=since)
    errors = store.errors(args.id, since=since)
    series = store.series(args.id, since=since)
    latest = points[-1].reading if points else None
    unlimited = bool(latest and latest.unlimited)
    usage = analyse(store.series(args.id, since=now - timedelta(days=7)), unlimited=unlimited,
                    remaining=float(latest.remaining) if latest and latest.remaining is not None else None)
    local_zone = now.astimezone().tzinfo
    days = daily_usage(series, unlimited=unlimited, tz=local_zone if local_zone is not None else now.tzinfo or UTC)
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["from", "until", "remaining", "used", "total", "unlimited", "unit"])
        for point in points:
            r = point.reading
            writer.writerow([iso(point.first_seen), iso(point.last_seen), _text(r.remaining), _text(r.used),
                             _text(r.total), "true" if r.unlimited else "false", r.unit])
        return 0
    if args.json:
        payload = {
            "id": args.id,
            "since": iso(since),
            "unit": unit,
            "usage_per_day": round(usage.per_day, 2) if usage.per_day is not None else None,
            "runs_out_at": iso(usage.runs_out_at),
            "readings": [{"from": iso(p.first_seen), "until": iso(p.last_seen),
                          "remaining": json_number(p.reading.remaining), "used": json_number(p.reading.used),
                          "total": json_number(p.reading.total), "unlimited": p.reading.unlimited,
                          "unit": p.reading.unit} for p in points],
            "daily_usage": [{"date": day.isoformat(), "used": round(amount, 2)} for day, amount in days],
            "top_ups": [{"at": iso(t.at), "amount": round(t.amount, 2)}
                        for t in top_ups(series, unlimited=unlimited)],
            "errors": [{"from": iso(e.first_at), "until": iso(e.last_at), "count": e.count, "kind": str(e.kind),
                        "http_status": e.http_status} for e in errors],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if span is None:
        heading = ngettext("{title}: {count} balance recorded, all recorded",
                           "{title}: {count} balances recorded, all recorded", len(points))
    else:
        heading = ngettext("{title}: {count} balance recorded, since {moment}",
                           "{title}: {count} balances recorded, since {moment}", len(points))
    print(heading.format(title=title, count=len(points), moment=_local(since)))
    if not points:
        print(_("Nothing recorded yet: the tray and '{program} check' record every balance they read.").format(
            program="credit-tray"))  # untranslated: the command's name
        return 0
    rows = []
    for day, amount in days[-31:]:
        rows.append([day.isoformat(), fmt(Decimal(round(amount))), ""])
    ends = {p.last_seen.astimezone().date(): p.reading for p in points}
    for row in rows:
        reading = ends.get(datetime.fromisoformat(row[0]).date())
        if reading is not None:
            row[2] = texts.balance(_as_result(reading, args.id, unit), fmt)
    if rows:
        print(table([_("DAY"), _("USED"), _("BALANCE AT THE END")], rows, right=(1,)))
    for top_up in top_ups(series, unlimited=unlimited):
        print(_("Top-up: +{amount} {unit} at {moment}").format(amount=fmt(Decimal(round(top_up.amount))),
                                                              unit=texts.unit_name(unit), moment=_local(top_up.at)))
    pace = texts.pace_line(_as_result(latest, args.id, unit, usage), now, fmt) if latest else ""
    if pace:
        print(texts.sentence(pace))
    if errors:
        failed = sum(e.count for e in errors)
        print(ngettext("{count} failed check in this span (the last: {kind} at {moment})",
                       "{count} failed checks in this span (the last: {kind} at {moment})", failed).format(
            count=failed, kind=texts.ERROR_KIND_WORDS[errors[-1].kind], moment=_local(errors[-1].last_at)))
    return 0


def _as_result(reading: Any, account_id: str, unit: str, usage: Any = None) -> AccountResult:
    return AccountResult(account_id=account_id, provider_id="", label="", unit=unit, state=AccountState.OK,
                         reading=reading, error=None, threshold=None, checked_at=utc_now(), usage=usage)


def _local(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.astimezone():%Y-%m-%d %H:%M}"


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)

