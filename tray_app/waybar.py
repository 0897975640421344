"""``check --format waybar``: one JSON object for Waybar's custom module (polybar and i3blocks read it too).

``text`` is the lowest balance, as short as the tray icon's number; ``tooltip`` is for people, in the
interface language (the keys and the ``class`` never change with it); ``class`` is ``critical``
(an account ran out), ``warning`` (one is low), ``stale`` (one could not be checked, so a
number shown may be old) or ``ok``; ``percentage`` is there only when an account reports its
plan's total, and is the lowest share left among those.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tray_app import texts
from tray_app.i18n import _
from tray_app.model import AccountResult, AccountState


def _css_class(results: Sequence[AccountResult]) -> str:
    states = {r.state for r in results}
    if AccountState.EXHAUSTED in states:
        return "critical"
    if AccountState.LOW in states:
        return "warning"
    if AccountState.ERROR in states:
        return "stale"
    return "ok"


def _lowest(results: Sequence[AccountResult]) -> Decimal | None:
    balances = [r.reading.remaining for r in results
                if r.reading is not None and not r.reading.unlimited and r.reading.remaining is not None]
    return min(balances) if balances else None


def _percentage(results: Sequence[AccountResult]) -> int | None:
    shares = [max(Decimal(0), min(Decimal(100), 100 * r.reading.remaining / r.reading.total))
              for r in results
              if r.reading is not None and not r.reading.unlimited and r.reading.remaining is not None
              and r.reading.total is not None and r.reading.total > 0]
    return int(min(shares).to_integral_value()) if shares else None


def payload(results: Sequence[AccountResult]) -> dict[str, Any]:
    lowest = _lowest(results)
    if not results:
        text = _("no accounts")
    elif lowest is None:
        text = "?"
    else:
        text = texts.compact_number(lowest)
    out: dict[str, Any] = {
        "text": text,
        "tooltip": texts.tooltip([(texts.account_title(r), r) for r in results]),
        "class": _css_class(results),
        "alt": _css_class(results),
    }
    percentage = _percentage(results)
    if percentage is not None:
        out["percentage"] = percentage
    return out
