"""MeowLoad: ``GET /openapi/available-credits`` with ``x-api-key``.

Errors are ``{"message": ...}`` in the language asked for with ``accept-language``
(zh, en, ja, es, de, ...). Default thresholds are MeowLoad's own alert levels from its
document: 10,000 / 2,000 / 300 / 100 / 0.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tray_app.i18n import N_
from tray_app.model import Outcome, Reading
from tray_app.providers.base import (
    HttpAnswer,
    Provider,
    ProviderRequest,
    ShapeError,
    amount,
    expect_success_status,
    json_object,
    missing,
)

UNIT = "credits"


def build_request(key: str, language: str) -> ProviderRequest:
    return ProviderRequest("GET", {"x-api-key": key, "accept-language": language})


def parse(answer: HttpAnswer, language: str, now: datetime) -> Outcome:
    expect_success_status(answer)
    data = json_object(answer)
    if "availableCredits" not in data:
        raise ShapeError(missing("availableCredits"))
    return Reading(remaining=amount(data["availableCredits"], "availableCredits", balance=True), unit=UNIT,
                   fetched_at=now)


def error_message(answer: HttpAnswer, language: str) -> str | None:
    message = json_object(answer).get("message")
    return message if isinstance(message, str) else None


def is_own_error(answer: HttpAnswer) -> bool:
    """MeowLoad's errors are ``{"message": "..."}``."""
    return isinstance(json_object(answer).get("message"), str)


PROVIDER = Provider(
    id="meowload",
    name="MeowLoad",  # untranslated: product name
    url="https://api.meowload.net/openapi/available-credits",
    unit=UNIT,
    thresholds=tuple(Decimal(t) for t in (10000, 2000, 300, 100, 0)),
    top_up_url="https://www.meowload.net/",
    key_hint=N_("Developer Management Center → API key"),
    build_request=build_request,
    parse=parse,
    error_message=error_message,
    is_own_error=is_own_error,
)
