"""Unwatermark: ``POST /api/unwatermark/api/v1/get-credits-balance`` with ``ZF-API-KEY``.

An empty-bodied POST. Business results come in ``code``: 100000 is success with the
balance as a *string* in ``result.user_credits``; 800002 is an unknown key (``auth``);
any other code is a refusal explained in ``message``, an object keyed by language.

Default thresholds 500 / 100 / 20 / 0: credits are spent per processed file, a handful
at a time, so 20 is the last few jobs and 500 a comfortable warning.
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
    amount_from_text,
    clean_message,
    default_message,
    expect_success_status,
    json_object,
    missing,
)

UNIT = "credits"
SUCCESS = 100000
KEY_NOT_FOUND = 800002


def build_request(key: str, language: str) -> ProviderRequest:
    return ProviderRequest("POST", {"ZF-API-KEY": key}, b"")


def _repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Windows-1252 on the way (seen in the document).

    The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) come through such
    a decoder as the control characters of the same number, so they are taken back as those bytes
    (不 is E4 B8 8D in UTF-8).
    """
    try:
        raw = b"".join(ch.encode("cp1252") if not "\x80" <= ch <= "\x9f" else bytes([ord(ch)]) for ch in text)
        return raw.decode("utf-8")
    except UnicodeError:
        return text


def _garbled_chinese(text: str) -> bool:
    """Mis-decoded text that repair could not undo: Western accented letters and symbols where
    Chinese characters should be, and not one Chinese character."""
    return (any("\u0080" <= ch <= "\u024f" for ch in text)
            and not any("\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text))


def _localized(message: Any, language: str) -> str | None:
    if isinstance(message, str):
        return message.strip() or None
    if not isinstance(message, dict):
        return None
    preferred = "zh" if language.lower().startswith("zh") else "en"
    candidates = [(preferred, message.get(preferred)), ("en", message.get("en")), *message.items()]
    for name, value in candidates:
        if isinstance(value, str) and value.strip():
            text = _repair_mojibake(value)
            if name == "zh" and _garbled_chinese(text):
                continue  # the English one (or another) reads better than mojibake
            return text
    return None


def parse(answer: HttpAnswer, language: str, now: datetime) -> Outcome:
    data = json_object(answer)
    code = data.get("code")
    if isinstance(code, bool) or not isinstance(code, Decimal):
        raise ShapeError(missing("code"))
    if code != SUCCESS:
        kind = ErrorKind.AUTH if code == KEY_NOT_FOUND else ErrorKind.REQUEST
        text = clean_message(_localized(data.get("message"), language) or "")
        return FetchError(kind, text or default_message(kind, None), answer.status)
    expect_success_status(answer)
    result = data.get("result")
    if not isinstance(result, dict) or "user_credits" not in result:
        raise ShapeError(missing("result.user_credits"))
    return Reading(remaining=amount_from_text(result["user_credits"], "result.user_credits"), unit=UNIT,
                   fetched_at=now)


def is_own_error(answer: HttpAnswer) -> bool:
    """Unwatermark's answers, errors included, carry a numeric ``code``."""
    code = json_object(answer).get("code")
    return isinstance(code, Decimal) and not isinstance(code, bool)


def error_message(answer: HttpAnswer, language: str) -> str | None:
    return _localized(json_object(answer).get("message"), language)


PROVIDER = Provider(
    id="unwatermark",
    name="Unwatermark",  # untranslated: product name
    url="https://api.unwatermark.ai/api/unwatermark/api/v1/get-credits-balance",
    unit=UNIT,
    thresholds=tuple(Decimal(t) for t in (500, 100, 20, 0)),
    top_up_url="https://unwatermark.ai/",
    key_hint=N_("API Key Settings"),
    build_request=build_request,
    parse=parse,
    error_message=error_message,
    is_own_error=is_own_error,
)
