"""SociaVault: ``GET /v1/credits`` with ``X-API-Key``; the call itself costs nothing.

401 is a bad key and 404 "user not found" means the same to the user (the key names
nobody), so both are ``auth``. ``credits`` is documented as an integer and
``subscriptionStatus`` (active, inactive, cancelled, past_due) as required; an answer
without it (or with null) still gives the credits, with the status unknown.

Default thresholds 1,000 / 100 / 10 / 0: the document's own examples warn below 100
("Low credits!") and refuse work below 10; 1,000 gives an earlier heads-up.
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
    optional_text,
)

UNIT = "credits"


def build_request(key: str, language: str) -> ProviderRequest:
    return ProviderRequest("GET", {"X-API-Key": key})


def parse(answer: HttpAnswer, language: str, now: datetime) -> Outcome:
    expect_success_status(answer)
    data = json_object(answer)
    if "credits" not in data:
        raise ShapeError(missing("credits"))
    return Reading(
        remaining=amount(data["credits"], "credits", integer=True, balance=True),
        unit=UNIT,
        fetched_at=now,
        subscription_status=optional_text(data.get("subscriptionStatus"), "subscriptionStatus"),
        subscription_id=optional_text(data.get("subscriptionId"), "subscriptionId"),
    )


def error_message(answer: HttpAnswer, language: str) -> str | None:
    data = json_object(answer)
    for name in ("error", "message"):
        value = data.get(name)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value
    return None


def is_own_error(answer: HttpAnswer) -> bool:
    """SociaVault's documented errors carry ``error`` (a string, or an object with a message); a bare
    ``{"message": ...}`` is what many gateways answer for a path they do not know."""
    return isinstance(json_object(answer).get("error"), str | dict)


PROVIDER = Provider(
    id="sociavault",
    name="SociaVault",  # untranslated: product name
    url="https://api.sociavault.com/v1/credits",
    unit=UNIT,
    thresholds=tuple(Decimal(t) for t in (1000, 100, 10, 0)),
    top_up_url="https://sociavault.com/dashboard",
    key_hint=N_("Dashboard → API keys"),
    build_request=build_request,
    parse=parse,
    error_message=error_message,
    is_own_error=is_own_error,
    auth_statuses=frozenset({404}),
)
