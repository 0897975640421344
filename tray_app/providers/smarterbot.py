"""SmarterBot: ``GET /chat/Chatbot/GetMessageCreditsUsage`` with ``Authorization: <key>``.

The key goes in the header as is, with no scheme. The documented request carries a
``{}`` JSON body even though it is a GET, so we send exactly that. Business errors
come inside the envelope (``Success``/``Code``/``Message``), often with HTTP 200,
so the envelope is read before the data: ``Success: false``, or a ``Code`` other than 200
even with ``Success: true``, is judged by its ``Code``. ``Remain: -1`` means no limit;
``Total: -1`` with a real ``Remain`` is a plan without a fixed total, and that balance is
shown. A ``Remain`` below zero other than -1 is an overdrawn balance.

Default thresholds 1,000 / 200 / 50 / 0 message credits: a chatbot answers one message
per credit, so 1,000 is a few days of a small bot's traffic, 50 is about an hour's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tray_app.i18n import N_
from tray_app.model import ErrorKind, FetchError, Outcome, Reading
from tray_app.providers.base import (
    HttpAnswer,
    Provider,
    ProviderRequest,
    ShapeError,
    amount,
    clean_message,
    default_message,
    expect_success_status,
    json_object,
    missing,
)

UNIT = "message credits"  # untranslated: a unit, stored in the history and JSON (texts words it)
UNLIMITED = Decimal(-1)


def build_request(key: str, language: str) -> ProviderRequest:
    return ProviderRequest("GET", {"Authorization": key, "Content-Type": "application/json"}, b"{}")


def _envelope_error(data: dict[str, Any], status: int, now: datetime) -> Outcome:
    code = data.get("Code")
    code = int(code) if isinstance(code, Decimal) and code == code.to_integral_value() else None
    message = data.get("Message")
    text = clean_message(message) if isinstance(message, str) and message.strip() else None
    if code == 402:
        return Reading(remaining=Decimal(0), unit=UNIT, fetched_at=now)
    if code in (401, 403):
        kind = ErrorKind.AUTH
    elif code == 429:
        kind = ErrorKind.RATE_LIMITED
    elif code is not None and 500 <= code <= 599:
        kind = ErrorKind.SERVER
    else:
        # Any other refusal the provider explains in words: the request, not the answer, is at fault.
        kind = ErrorKind.REQUEST
    return FetchError(kind, text or default_message(kind, code), status)


def parse(answer: HttpAnswer, language: str, now: datetime) -> Outcome:
    data = json_object(answer)
    success = data.get("Success")
    if not isinstance(success, bool):
        raise ShapeError(missing("Success"))  # untranslated: JSON field name
    code = data.get("Code")
    if not success or (isinstance(code, Decimal) and code != 200):
        return _envelope_error(data, answer.status, now)
    expect_success_status(answer)
    usage = data.get("Data")
    if not isinstance(usage, dict):
        raise ShapeError(missing("Data"))  # untranslated: JSON field name
    for name in ("Total", "Used", "Remain"):  # untranslated: JSON field names
        if name not in usage:
            raise ShapeError(missing(f"Data.{name}"))  # untranslated: JSON field name
    total = amount(usage["Total"], "Data.Total", negative_one=True)
    used = amount(usage["Used"], "Data.Used")
    remain = amount(usage["Remain"], "Data.Remain", balance=True)
    if remain == UNLIMITED:
        return Reading(remaining=None, unit=UNIT, fetched_at=now, used=used, total=None, unlimited=True)
    return Reading(remaining=remain, unit=UNIT, fetched_at=now, used=used,
                   total=None if total == UNLIMITED else total)


def error_message(answer: HttpAnswer, language: str) -> str | None:
    message = json_object(answer).get("Message")
    return message if isinstance(message, str) and message.strip() else None


def is_own_error(answer: HttpAnswer) -> bool:
    """SmarterBot answers in its envelope, errors included: a boolean ``Success``."""
    return isinstance(json_object(answer).get("Success"), bool)


PROVIDER = Provider(
    id="smarterbot",
    name="SmarterBot",  # untranslated: product name
    url="https://chat.smarterbot.ai/chat/Chatbot/GetMessageCreditsUsage",
    unit=UNIT,
    thresholds=tuple(Decimal(t) for t in (1000, 200, 50, 0)),
    top_up_url="https://chat.smarterbot.ai/",
    key_hint=N_("Account settings → API → secret key"),
    build_request=build_request,
    parse=parse,
    error_message=error_message,
    is_own_error=is_own_error,
)
