"""Every documented response of the four seed providers, through the shared ``interpret``.

Expected values are copied from the providers' documents in ``../shared/provider-docs/``
and from the foundation issue (#2), never computed by the code under test.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tray_app.model import ErrorKind, FetchError, Reading
from tray_app.providers import BUILT_INS, PROVIDERS, get_provider
from tray_app.providers.base import HttpAnswer, Provider, interpret

NOW = datetime(2025, 6, 30, 12, 0, 0, tzinfo=UTC)
KEY = "sk-test-KEY-0123456789"

MEOW = PROVIDERS["meowload"]
SMARTER = PROVIDERS["smarterbot"]
SOCIA = PROVIDERS["sociavault"]
UNWM = PROVIDERS["unwatermark"]
ALL = [MEOW, SMARTER, SOCIA, UNWM]

JSON_HEADERS = {"content-type": "application/json"}
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)

# The documents' own examples, verbatim.
MEOW_OK = b'{\n"availableCredits": 282539\n}'
MEOW_ZH_ERROR = '{\n"message": "API Key 错误,请检查 API Key 是否正确"\n}'.encode()
SMARTER_UNLIMITED = b"""{
"Data": {
"Total": -1,
"Used": 243,
"Remain": -1
},
"Version": "1.0.0",
"Success": true,
"Code": 200,
"Message": ""
}"""
SOCIA_OK = b"""{
  "credits": 950,
  "subscriptionStatus": "active",
  "subscriptionId": "sub_1234567890"
}"""
UNWM_OK = b"""{
"code": 100000,
"message": {},
"result": {
"user_credits": "1234"
}
}"""
UNWM_ZH = "用户api key不存在"
UNWM_EN = "User api key not exist."


def answer(status: int, body: bytes | str | object, headers: dict[str, str] | None = None) -> HttpAnswer:
    if isinstance(body, str):
        raw = body.encode()
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body, ensure_ascii=False).encode()
    return HttpAnswer(status, headers if headers is not None else JSON_HEADERS, raw)


def run(
    provider: Provider,
    status: int,
    body: bytes | str | object,
    language: str = "en",
    headers: dict[str, str] | None = None,
) -> Reading | FetchError:
    return interpret(provider, answer(status, body, headers), language, NOW)


def assert_error(
    outcome: object, kind: ErrorKind, status: int | None, message: str | None = None
) -> FetchError:
    assert isinstance(outcome, FetchError), f"expected a {kind} error, got {outcome!r}"
    assert outcome.kind is kind, outcome
    assert outcome.http_status == status
    assert isinstance(outcome.message, str)
    assert outcome.message.strip()
    if message is not None:
        assert outcome.message == message
    return outcome


def assert_bad(outcome: object, status: int = 200) -> FetchError:
    """A broken answer is ``bad_response``: never a reading, above all never a balance of 0."""
    assert not isinstance(outcome, Reading), f"a broken answer became a reading: {outcome!r}"
    return assert_error(outcome, ErrorKind.BAD_RESPONSE, status)


# --------------------------------------------------------------------------- registry / metadata


def test_registry_has_the_four_seed_providers_and_the_presets() -> None:
    assert set(BUILT_INS) == {"meowload", "smarterbot", "sociavault", "unwatermark"}
    assert set(PROVIDERS) == set(BUILT_INS) | {"openrouter", "deepseek", "moonshot", "siliconflow", "elevenlabs",
                                               "tavily", "firecrawl"}
    for provider_id, provider in PROVIDERS.items():
        assert provider.id == provider_id
        assert get_provider(provider_id) is provider
    assert get_provider("nope") is None


@pytest.mark.parametrize(
    ("provider_id", "name", "url", "unit"),
    [
        ("meowload", "MeowLoad", "https://api.meowload.net/openapi/available-credits", "credits"),
        (
            "smarterbot",
            "SmarterBot",
            "https://chat.smarterbot.ai/chat/Chatbot/GetMessageCreditsUsage",
            "message credits",
        ),
        ("sociavault", "SociaVault", "https://api.sociavault.com/v1/credits", "credits"),
        (
            "unwatermark",
            "Unwatermark",
            "https://api.unwatermark.ai/api/unwatermark/api/v1/get-credits-balance",
            "credits",
        ),
    ],
)
def test_provider_metadata(provider_id: str, name: str, url: str, unit: str) -> None:
    provider = PROVIDERS[provider_id]
    assert provider.name == name
    assert provider.url == url
    assert provider.unit == unit
    assert provider.top_up_url.startswith("https://")
    assert provider.thresholds, "every provider declares default thresholds"
    assert all(isinstance(t, Decimal) and t >= 0 for t in provider.thresholds)


def test_meowload_default_thresholds_are_its_documented_alert_levels() -> None:
    assert sorted(MEOW.thresholds, reverse=True) == [
        Decimal(10000),
        Decimal(2000),
        Decimal(300),
        Decimal(100),
        Decimal(0),
    ]


# --------------------------------------------------------------------------- requests


def test_meowload_request() -> None:
    for language in ("en", "zh"):
        request = MEOW.build_request(KEY, language)
        assert request.method == "GET"
        assert dict(request.headers) == {"x-api-key": KEY, "accept-language": language}
        assert not request.content


def test_smarterbot_request_is_a_get_with_bare_key_and_empty_json_object() -> None:
    request = SMARTER.build_request(KEY, "en")
    assert request.method == "GET"
    assert request.headers["Authorization"] == KEY  # no "Bearer " scheme
    assert request.content == b"{}"
    # The key goes only in Authorization.
    others = {k: v for k, v in request.headers.items() if k != "Authorization"}
    assert all(KEY not in value for value in others.values())
    assert {k.lower() for k in others} <= {"content-type"}
    if "Content-Type" in request.headers:
        assert request.headers["Content-Type"] == "application/json"


def test_sociavault_request() -> None:
    request = SOCIA.build_request(KEY, "zh")
    assert request.method == "GET"
    assert dict(request.headers) == {"X-API-Key": KEY}
    assert not request.content


def test_unwatermark_request_is_an_empty_post() -> None:
    request = UNWM.build_request(KEY, "en")
    assert request.method == "POST"
    assert dict(request.headers) == {"ZF-API-KEY": KEY}
    assert request.content in (None, b"")


# --------------------------------------------------------------------------- MeowLoad


def test_meowload_documented_success() -> None:
    outcome = run(MEOW, 200, MEOW_OK)
    assert outcome == Reading(remaining=Decimal(282539), unit="credits", fetched_at=NOW)
    assert isinstance(outcome.remaining, Decimal)
    assert outcome.used is None
    assert outcome.total is None
    assert outcome.unlimited is False
    assert outcome.subscription_status is None
    assert outcome.subscription_id is None


def test_meowload_zero_balance_is_a_reading_of_zero() -> None:
    assert run(MEOW, 200, {"availableCredits": 0}) == Reading(
        remaining=Decimal(0), unit="credits", fetched_at=NOW
    )


def test_meowload_fractional_balance_is_exact() -> None:
    outcome = run(MEOW, 200, b'{"availableCredits": 0.1}')
    assert isinstance(outcome, Reading)
    assert outcome.remaining == Decimal("0.1")


def test_meowload_documented_chinese_error_message_kept() -> None:
    outcome = run(MEOW, 401, MEOW_ZH_ERROR, language="zh")
    assert_error(outcome, ErrorKind.AUTH, 401, "API Key 错误,请检查 API Key 是否正确")


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (400, ErrorKind.REQUEST, "Extraction failed, link contains no valid media"),
        (401, ErrorKind.AUTH, "Invalid or expired API Key"),
        (403, ErrorKind.AUTH, "Forbidden"),
        (422, ErrorKind.REQUEST, "Incorrect link format"),
        (500, ErrorKind.SERVER, "Internal server error"),
    ],
)
def test_meowload_error_statuses(status: int, kind: ErrorKind, message: str) -> None:
    assert_error(run(MEOW, status, {"message": message}), kind, status, message)


@pytest.mark.parametrize("status", [400, 401, 422, 500, 503])
def test_meowload_error_without_message_still_typed(status: int) -> None:
    kinds = {
        400: ErrorKind.REQUEST,
        401: ErrorKind.AUTH,
        422: ErrorKind.REQUEST,
        500: ErrorKind.SERVER,
        503: ErrorKind.SERVER,
    }
    for body in (b"", b"{}", b"not json", b'{"message": 5}', b"[]"):
        # A 401 is MeowLoad's verdict on the key only in its own shape, {"message": ...}.
        kind = ErrorKind.BAD_RESPONSE if status == 401 else kinds[status]
        assert_error(run(MEOW, status, body), kind, status)
    if status == 401:
        assert_error(run(MEOW, status, {"message": ""}), ErrorKind.AUTH, status)


def test_meowload_402_is_exhausted_reading_not_error() -> None:
    outcome = run(MEOW, 402, {"message": "Credits exhausted"})
    assert outcome == Reading(remaining=Decimal(0), unit="credits", fetched_at=NOW)
    assert outcome.exhausted


def test_402_is_exhausted_for_every_provider_whatever_the_body() -> None:
    for provider in ALL:
        for body in (b"", b"<html>Payment Required</html>", b'{"error": "Payment Required"}'):
            outcome = run(provider, 402, body)
            assert isinstance(outcome, Reading), (provider.id, outcome)
            assert outcome.remaining == Decimal(0)
            assert outcome.unlimited is False
            assert outcome.unit == provider.unit
            assert outcome.fetched_at == NOW


# --------------------------------------------------------------------------- SmarterBot


def test_smarterbot_documented_unlimited_response() -> None:
    outcome = run(SMARTER, 200, SMARTER_UNLIMITED)
    assert isinstance(outcome, Reading)
    assert outcome.unlimited is True
    assert outcome.remaining is None
    assert outcome.total is None
    assert outcome.used == Decimal(243)
    assert isinstance(outcome.used, Decimal)
    assert outcome.unit == "message credits"
    assert outcome.fetched_at == NOW
    assert not outcome.exhausted


def test_smarterbot_limited_reading() -> None:
    body = {
        "Data": {"Total": 1000, "Used": 243, "Remain": 757},
        "Version": "1.0.0",
        "Success": True,
        "Code": 200,
        "Message": "",
    }
    assert run(SMARTER, 200, body) == Reading(
        remaining=Decimal(757),
        used=Decimal(243),
        total=Decimal(1000),
        unlimited=False,
        unit="message credits",
        fetched_at=NOW,
    )


def test_smarterbot_limited_reading_at_zero() -> None:
    body = {
        "Data": {"Total": 500, "Used": 500, "Remain": 0},
        "Version": "1.0.0",
        "Success": True,
        "Code": 200,
        "Message": "",
    }
    outcome = run(SMARTER, 200, body)
    assert isinstance(outcome, Reading)
    assert outcome.remaining == Decimal(0)
    assert outcome.exhausted


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
        (429, ErrorKind.RATE_LIMITED),
        (500, ErrorKind.SERVER),
        (503, ErrorKind.SERVER),
    ],
)
def test_smarterbot_envelope_errors_in_http_200(code: int, kind: ErrorKind) -> None:
    body = {
        "Data": None,
        "Version": "1.0.0",
        "Success": False,
        "Code": code,
        "Message": "Something failed here",
    }
    # http_status is the status of the response that carried the error: 200 for an envelope error.
    assert_error(run(SMARTER, 200, body), kind, 200, "Something failed here")


def test_smarterbot_envelope_unauthorized_message_kept() -> None:
    body = {"Data": None, "Version": "1.0.0", "Success": False, "Code": 401, "Message": "Invalid secret key"}
    outcome = assert_error(run(SMARTER, 200, body), ErrorKind.AUTH, 200, "Invalid secret key")
    assert outcome.retry_after is None


def test_smarterbot_envelope_other_code_is_an_error_with_message() -> None:
    body = {"Data": None, "Version": "1.0.0", "Success": False, "Code": 1001, "Message": "Chatbot not found"}
    outcome = run(SMARTER, 200, body)
    assert not isinstance(outcome, Reading)
    assert_error(outcome, ErrorKind.REQUEST, 200, "Chatbot not found")


def test_smarterbot_envelope_code_402_is_exhausted() -> None:
    # "A 402 from a balance endpoint is not an error: the account is exhausted, remaining 0."
    body = {"Data": None, "Version": "1.0.0", "Success": False, "Code": 402, "Message": "Out of credits"}
    outcome = run(SMARTER, 200, body)
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal(0)
    assert outcome.unlimited is False
    assert outcome.unit == "message credits"


def test_smarterbot_envelope_failure_is_never_a_reading_even_with_data() -> None:
    body = {
        "Data": {"Total": 1000, "Used": 1, "Remain": 999},
        "Version": "1.0.0",
        "Success": False,
        "Code": 401,
        "Message": "Unauthorized",
    }
    assert_error(run(SMARTER, 200, body), ErrorKind.AUTH, 200, "Unauthorized")


def test_smarterbot_envelope_error_without_message_has_a_message() -> None:
    body = {"Data": None, "Version": "1.0.0", "Success": False, "Code": 401, "Message": ""}
    assert_error(run(SMARTER, 200, body), ErrorKind.AUTH, 200)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, ErrorKind.AUTH), (500, ErrorKind.SERVER), (429, ErrorKind.RATE_LIMITED)]
)
def test_smarterbot_http_errors_with_envelope(status: int, kind: ErrorKind) -> None:
    body = {"Data": None, "Version": "1.0.0", "Success": False, "Code": status, "Message": "Nope"}
    assert_error(run(SMARTER, status, body), kind, status, "Nope")


def test_smarterbot_total_minus_one_with_a_real_remain_is_that_balance() -> None:
    body = {"Data": {"Total": -1, "Used": 243, "Remain": 757}, "Version": "1.0.0", "Success": True, "Code": 200,
            "Message": ""}
    assert run(SMARTER, 200, body) == Reading(remaining=Decimal(757), used=Decimal(243), total=None,
                                              unlimited=False, unit="message credits", fetched_at=NOW)


def test_smarterbot_remain_minus_one_is_unlimited_whatever_the_total() -> None:
    body = {"Data": {"Total": 1000, "Used": 243, "Remain": -1}, "Success": True, "Code": 200, "Message": ""}
    outcome = run(SMARTER, 200, body)
    assert isinstance(outcome, Reading)
    assert (outcome.unlimited, outcome.remaining, outcome.total, outcome.used) == (True, None, None, Decimal(243))


@pytest.mark.parametrize(
    ("code", "kind"),
    [(401, ErrorKind.AUTH), (403, ErrorKind.AUTH), (429, ErrorKind.RATE_LIMITED), (500, ErrorKind.SERVER),
     (400, ErrorKind.REQUEST), (0, ErrorKind.REQUEST)],
)
def test_smarterbot_success_true_with_another_code_is_judged_by_its_code(code: int, kind: ErrorKind) -> None:
    body = {"Data": {"Total": 1000, "Used": 1, "Remain": 999}, "Version": "1.0.0", "Success": True, "Code": code,
            "Message": "refused"}
    assert_error(run(SMARTER, 200, body), kind, 200, "refused")


def test_smarterbot_success_true_with_code_402_is_exhausted() -> None:
    body = {"Data": {"Total": 1000, "Used": 1, "Remain": 999}, "Success": True, "Code": 402, "Message": ""}
    assert run(SMARTER, 200, body) == Reading(remaining=Decimal(0), unit="message credits", fetched_at=NOW)


def test_smarterbot_success_envelope_on_non_2xx_is_not_a_reading() -> None:
    assert_bad(run(SMARTER, 404, SMARTER_UNLIMITED), 404)


@pytest.mark.parametrize(
    "data",
    [
        {"Total": 1000, "Used": -1, "Remain": 999},  # only Total/Remain may be -1
        {"Total": -5, "Used": 1, "Remain": 10},
        {"Total": 1000, "Used": 1},
        {"Total": 1000, "Remain": 999},
        {"Used": 1, "Remain": 999},
        {"Total": "1000", "Used": 1, "Remain": 999},
        {"Total": 1000, "Used": 1, "Remain": "999"},
        {"Total": 1000, "Used": True, "Remain": 999},
        {"Total": 1000, "Used": 1, "Remain": None},
        {"Total": 1000, "Used": 1, "Remain": {"value": 999}},
        {"Total": 1000, "Used": 1, "Remain": [999]},
    ],
)
def test_smarterbot_wrong_data_is_bad_response(data: dict[str, object]) -> None:
    body = {"Data": data, "Version": "1.0.0", "Success": True, "Code": 200, "Message": ""}
    assert_bad(run(SMARTER, 200, body))


@pytest.mark.parametrize(
    "body",
    [
        {"Version": "1.0.0", "Success": True, "Code": 200, "Message": ""},  # no Data
        {"Data": None, "Version": "1.0.0", "Success": True, "Code": 200, "Message": ""},
        {"Data": [1, 2, 3], "Success": True},
        {"Data": {"Total": 10, "Used": 1, "Remain": 9}},  # no Success
        {"Data": {"Total": 10, "Used": 1, "Remain": 9}, "Success": "true"},
        {"Data": {"Total": 10, "Used": 1, "Remain": 9}, "Success": 1},
    ],
)
def test_smarterbot_wrong_envelope_is_bad_response(body: dict[str, object]) -> None:
    assert_bad(run(SMARTER, 200, body))


# --------------------------------------------------------------------------- SociaVault


def test_sociavault_documented_success() -> None:
    assert run(SOCIA, 200, SOCIA_OK) == Reading(
        remaining=Decimal(950),
        unit="credits",
        fetched_at=NOW,
        subscription_status="active",
        subscription_id="sub_1234567890",
    )


@pytest.mark.parametrize("status", ["active", "inactive", "cancelled", "past_due"])
def test_sociavault_subscription_statuses_without_id(status: str) -> None:
    outcome = run(SOCIA, 200, {"credits": 12, "subscriptionStatus": status})
    assert outcome == Reading(
        remaining=Decimal(12),
        unit="credits",
        fetched_at=NOW,
        subscription_status=status,
        subscription_id=None,
    )


def test_sociavault_null_subscription_id() -> None:
    outcome = run(SOCIA, 200, {"credits": 0, "subscriptionStatus": "inactive", "subscriptionId": None})
    assert outcome == Reading(
        remaining=Decimal(0),
        unit="credits",
        fetched_at=NOW,
        subscription_status="inactive",
        subscription_id=None,
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, ErrorKind.AUTH), (404, ErrorKind.AUTH), (500, ErrorKind.SERVER)],
)
def test_sociavault_documented_errors(status: int, kind: ErrorKind) -> None:
    messages = {401: "Unauthorized - Invalid or missing API key", 404: "User not found", 500: "Server error"}
    assert_error(run(SOCIA, status, {"error": messages[status]}), kind, status, messages[status])


def test_sociavault_errors_without_its_error_shape_are_not_a_bad_key() -> None:
    # A 401/404 without SociaVault's {"error": ...} comes from something else (a proxy, a wrong base URL).
    assert_bad(run(SOCIA, 401, b""), 401)
    assert_bad(run(SOCIA, 404, b"Not Found", {"content-type": "text/plain"}), 404)
    assert_bad(run(SOCIA, 404, {"message": "no Route matched with those values"}), 404)  # an API gateway's
    assert_error(run(SOCIA, 401, {"error": {"message": "Invalid key"}}), ErrorKind.AUTH, 401, "Invalid key")
    assert_error(run(SOCIA, 500, HTML_PAGE, {"content-type": "text/html"}), ErrorKind.SERVER, 500)


@pytest.mark.parametrize(("body", "subscription_id"), [
    ({"credits": 950}, None),
    ({"credits": 950, "subscriptionStatus": None}, None),
    ({"credits": 950, "subscriptionStatus": None, "subscriptionId": "sub_1"}, "sub_1"),
])
def test_sociavault_without_a_subscription_status_shows_the_credits_status_unknown(
        body: dict[str, object], subscription_id: str | None) -> None:
    assert run(SOCIA, 200, body) == Reading(remaining=Decimal(950), unit="credits", fetched_at=NOW,
                                            subscription_status=None, subscription_id=subscription_id)


def test_sociavault_402_is_exhausted() -> None:
    outcome = run(SOCIA, 402, {"error": "Payment Required"})
    assert outcome == Reading(remaining=Decimal(0), unit="credits", fetched_at=NOW)


@pytest.mark.parametrize(
    "body",
    [
        {"credits": 950.5, "subscriptionStatus": "active"},
        {"credits": 0.25, "subscriptionStatus": "active"},
        {"credits": "950", "subscriptionStatus": "active"},
        {"credits": 950, "subscriptionStatus": 1},
        {"credits": 950, "subscriptionStatus": "active", "subscriptionId": 1234567890},
        {"subscriptionStatus": "active"},
        {"credits": {"amount": 950}, "subscriptionStatus": "active"},
    ],
)
def test_sociavault_wrong_shapes_are_bad_response(body: dict[str, object]) -> None:
    assert_bad(run(SOCIA, 200, body))


# --------------------------------------------------------------------------- Unwatermark


def test_unwatermark_documented_success_string_balance() -> None:
    outcome = run(UNWM, 200, UNWM_OK)
    assert outcome == Reading(remaining=Decimal(1234), unit="credits", fetched_at=NOW)
    assert isinstance(outcome.remaining, Decimal)


def test_unwatermark_zero_string_balance() -> None:
    outcome = run(UNWM, 200, {"code": 100000, "message": {}, "result": {"user_credits": "0"}})
    assert outcome == Reading(remaining=Decimal(0), unit="credits", fetched_at=NOW)


def test_unwatermark_decimal_string_balance() -> None:
    outcome = run(UNWM, 200, {"code": 100000, "message": {}, "result": {"user_credits": "12.5"}})
    assert isinstance(outcome, Reading)
    assert outcome.remaining == Decimal("12.5")


@pytest.mark.parametrize(("language", "message"), [("en", UNWM_EN), ("zh", UNWM_ZH)])
def test_unwatermark_key_not_found_in_users_language(language: str, message: str) -> None:
    body = {"code": 800002, "message": {"en": UNWM_EN, "zh": UNWM_ZH}, "result": None}
    assert_error(run(UNWM, 200, body, language=language), ErrorKind.AUTH, 200, message)


def test_unwatermark_key_not_found_other_language_falls_back_to_english() -> None:
    body = {"code": 800002, "message": {"en": UNWM_EN, "zh": UNWM_ZH}, "result": None}
    assert_error(run(UNWM, 200, body, language="ja"), ErrorKind.AUTH, 200, UNWM_EN)


def test_unwatermark_key_not_found_verbatim_document_body() -> None:
    # The document's own (mis-encoded) body: still an auth error, and English reads cleanly.
    body = (
        '{\n"code": 800002,\n"message": {\n"en": "User api key not exist.",\n'
        '"zh": "çšæ·api keyäžććš"\n},\n"result": null\n}'
    )
    assert_error(run(UNWM, 200, body, language="en"), ErrorKind.AUTH, 200, UNWM_EN)
    # Its Chinese text lost bytes on the way and cannot be repaired: the English one, not mojibake.
    assert_error(run(UNWM, 200, body, language="zh"), ErrorKind.AUTH, 200, UNWM_EN)


def test_unwatermark_repairable_chinese_message_is_repaired() -> None:
    # 用户api key不存在 as UTF-8 bytes read as Windows-1252, every byte still there.
    garbled = "ç”¨æˆ·api keyä¸\x8då­˜åœ¨"
    body = {"code": 800002, "message": {"en": UNWM_EN, "zh": garbled}, "result": None}
    assert_error(run(UNWM, 200, body, language="zh"), ErrorKind.AUTH, 200, UNWM_ZH)


def test_unwatermark_unrepairable_chinese_without_english_gives_a_plain_message() -> None:
    body = {"code": 800002, "message": {"zh": "çšæ·api keyäžććš"}, "result": None}
    outcome = assert_error(run(UNWM, 200, body, language="zh"), ErrorKind.AUTH, 200)
    assert "ç" not in outcome.message


def test_unwatermark_key_not_found_without_message() -> None:
    assert_error(run(UNWM, 200, {"code": 800002, "message": {}, "result": None}), ErrorKind.AUTH, 200)


@pytest.mark.parametrize("text", ["\u200b", "\x00\x01", "\ud7fc", "\u2028\u200b"])
def test_unwatermark_unprintable_message_still_gives_a_message(text: str) -> None:
    # Every typed error carries a readable message: an unprintable provider text must fall back
    # to a default, not to an empty string (the CLI would print "auth: " with nothing after it).
    for code, kind in ((800002, ErrorKind.AUTH), (800100, ErrorKind.REQUEST)):
        body = {"code": code, "message": {"en": text, "zh": text}, "result": None}
        assert_error(run(UNWM, 200, body), kind, 200)


def test_unwatermark_other_code_is_an_error_with_its_message() -> None:
    body = {"code": 800100, "message": {"en": "Service busy.", "zh": "服务繁忙"}, "result": None}
    outcome = run(UNWM, 200, body, language="en")
    assert not isinstance(outcome, Reading)
    assert_error(outcome, ErrorKind.REQUEST, 200, "Service busy.")
    assert_error(run(UNWM, 200, body, language="zh"), ErrorKind.REQUEST, 200, "服务繁忙")


def test_unwatermark_http_errors() -> None:
    assert_error(
        run(
            UNWM,
            401,
            {"code": 800002, "message": {"en": UNWM_EN, "zh": UNWM_ZH}, "result": None},
            language="zh",
        ),
        ErrorKind.AUTH,
        401,
        UNWM_ZH,
    )
    assert_error(run(UNWM, 500, HTML_PAGE, {"content-type": "text/html"}), ErrorKind.SERVER, 500)


@pytest.mark.parametrize(
    "credits",
    [
        "",
        " ",
        "abc",
        "- 5",
        "--1",
        "+5",
        "1e3",
        "NaN",
        "Infinity",
        "0x10",
        "1,234",
        "12..5",
        "1234abc",
        None,
        True,
        [],
        {},
        {"value": "1234"},
    ],
)
def test_unwatermark_unparseable_balance_is_bad_response(credits: object) -> None:
    body = {"code": 100000, "message": {}, "result": {"user_credits": credits}}
    assert_bad(run(UNWM, 200, body))


@pytest.mark.parametrize(
    "body",
    [
        {"code": 100000, "message": {}, "result": None},
        {"code": 100000, "message": {}, "result": {}},
        {"code": 100000, "message": {}},
        {"message": {}, "result": {"user_credits": "1234"}},  # no code
        {"code": "100000", "message": {}, "result": {"user_credits": "1234"}},
        {"code": True, "message": {}, "result": {"user_credits": "1234"}},
        {"code": 100000, "message": {}, "result": ["1234"]},
    ],
)
def test_unwatermark_wrong_shapes_are_bad_response(body: dict[str, object]) -> None:
    assert_bad(run(UNWM, 200, body))


# --------------------------------------------------------------------------- wrong shapes, all providers


def _success_body(provider: Provider, value: object) -> object:
    """The provider's documented success body with its balance field set to ``value``."""
    if provider is MEOW:
        return {"availableCredits": value}
    if provider is SMARTER:
        return {
            "Data": {"Total": 5000, "Used": 100, "Remain": value},
            "Version": "1.0.0",
            "Success": True,
            "Code": 200,
            "Message": "",
        }
    if provider is SOCIA:
        return {"credits": value, "subscriptionStatus": "active", "subscriptionId": "sub_1"}
    return {"code": 100000, "message": {}, "result": {"user_credits": value}}


def _success_text(provider: Provider, literal: str) -> bytes:
    """The documented success body with a raw JSON literal as its balance."""
    marker = "__BALANCE__"
    text = json.dumps(_success_body(provider, marker))
    return text.replace(f'"{marker}"', literal).encode()


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (HTML_PAGE, {"content-type": "text/html"}),
        (b"<html><body>Maintenance</body></html>", {"content-type": "application/json"}),
        (b"OK", {"content-type": "text/plain"}),
        (b"", JSON_HEADERS),
        (b"   ", JSON_HEADERS),
        (b"\xff\xfe\x00garbage", JSON_HEADERS),
        (b"[]", JSON_HEADERS),
        (b"[282539]", JSON_HEADERS),
        (b'"282539"', JSON_HEADERS),
        (b"282539", JSON_HEADERS),
        (b"null", JSON_HEADERS),
        (b"true", JSON_HEADERS),
        (b"{}", JSON_HEADERS),
        (b'{"availableCredits": 1', JSON_HEADERS),  # truncated
        (b"[" * 100_000, JSON_HEADERS),  # nesting deeper than any parser's stack
        (b'{"message": "ok"}', JSON_HEADERS),
    ],
    ids=[
        "html",
        "html-as-json",
        "text",
        "empty",
        "blank",
        "binary",
        "array",
        "array-num",
        "string",
        "number",
        "null",
        "true",
        "empty-object",
        "truncated",
        "deep",
        "message-only",
    ],
)
def test_not_the_documented_shape_is_bad_response(
    provider: Provider, body: bytes, headers: dict[str, str]
) -> None:
    assert_bad(run(provider, 200, body, headers=headers))


@pytest.mark.parametrize("provider", [MEOW, SMARTER, SOCIA], ids=lambda p: p.id)
@pytest.mark.parametrize(
    "value",
    ["950", "0", "", True, False, None, [950], {"value": 950}, {"credits": 950}],
    ids=[
        "str",
        "str0",
        "empty-str",
        "true",
        "false",
        "null",
        "list",
        "obj",
        "nested",
    ],
)
def test_wrong_balance_types_are_bad_response(provider: Provider, value: object) -> None:
    assert_bad(run(provider, 200, _success_body(provider, value)))


@pytest.mark.parametrize(
    ("provider", "value"),
    [(p, v) for p in ALL for v in ("-7", "-2", "-0.5", "-123456") if not (p is SOCIA and "." in v)],  # whole credits
    ids=lambda v: v.id if isinstance(v, Provider) else v,
)
def test_negative_balance_is_an_overdrawn_reading_shown_as_it_is(provider: Provider, value: str) -> None:
    """Some providers report an overdrawn account below zero: a reading (exhausted), not a broken answer."""
    outcome = run(provider, 200, _success_text(provider, f'"{value}"' if provider is UNWM else value))
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal(value)
    assert outcome.exhausted
    assert not outcome.unlimited


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize(
    "literal",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e308",
        "1E400",
        "-1e308",
        "100000000000000000000000000000000000000000",
    ],
)
def test_non_finite_or_absurd_numbers_are_bad_response(provider: Provider, literal: str) -> None:
    assert_bad(run(provider, 200, _success_text(provider, literal)))


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_missing_balance_field_is_bad_response(provider: Provider) -> None:
    body = _success_body(provider, 1)
    assert isinstance(body, dict)
    if provider is MEOW:
        body.pop("availableCredits")
    elif provider is SMARTER:
        body["Data"].pop("Remain")
    elif provider is SOCIA:
        body.pop("credits")
    else:
        body["result"].pop("user_credits")
    assert_bad(run(provider, 200, body))


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_large_but_plausible_balance_is_exact(provider: Provider) -> None:
    value: object = "123456789012" if provider is UNWM else 123456789012
    outcome = run(provider, 200, _success_body(provider, value))
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal("123456789012")


def test_sociavault_fractional_credits_not_an_integer() -> None:
    assert_bad(run(SOCIA, 200, b'{"credits": 950.5, "subscriptionStatus": "active"}'))


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_with_html_is_server_error(provider: Provider, status: int) -> None:
    outcome = assert_error(
        run(provider, status, HTML_PAGE, headers={"content-type": "text/html"}), ErrorKind.SERVER, status
    )
    assert "<" not in outcome.message, "an HTML page is not a message"
    assert "\n" not in outcome.message


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_5xx_even_with_a_success_shaped_body_is_server(provider: Provider) -> None:
    assert_error(
        run(provider, 503, _success_body(provider, "5" if provider is UNWM else 5)), ErrorKind.SERVER, 503
    )


#: Each provider's own way of saying "bad key", as its document shows it.
OWN_AUTH_ERROR: dict[str, object] = {
    "meowload": {"message": "API Key 错误,请检查 API Key 是否正确"},
    "smarterbot": {"Data": None, "Version": "1.0.0", "Success": False, "Code": 401, "Message": "Invalid key"},
    "sociavault": {"error": "Unauthorized - Invalid or missing API key"},
    "unwatermark": {"code": 800002, "message": {"en": "User api key not exist."}, "result": None},
}


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize("status", [401, 403])
def test_401_403_in_the_providers_own_error_shape_is_auth(provider: Provider, status: int) -> None:
    assert_error(run(provider, status, OWN_AUTH_ERROR[provider.id]), ErrorKind.AUTH, status)


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize("status", [401, 403, 404])
@pytest.mark.parametrize(
    ("body", "headers"),
    [(HTML_PAGE.replace(b"502 Bad Gateway", b"404 Not Found"), {"content-type": "text/html"}),
     (b"", {}), (b"Forbidden", {"content-type": "text/plain"}), (b'{"detail": "Not Found"}', JSON_HEADERS)],
    ids=["html", "empty", "text", "other-json"],
)
def test_401_403_404_from_a_proxy_or_wrong_base_url_is_bad_response(
    provider: Provider, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Not the provider's answer, so not its verdict on the key: "check the base URL", not "replace the key"."""
    outcome = assert_bad(run(provider, status, body, headers=headers), status)
    assert f"not {provider.name}'s answer" in outcome.message
    assert "<" not in outcome.message


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize("status", [400, 422])
def test_400_422_is_request(provider: Provider, status: int) -> None:
    assert_error(run(provider, status, b""), ErrorKind.REQUEST, status)


def _unexpected_status_cases() -> list[tuple[Provider, int]]:
    # SociaVault documents 404 as "user not found" (auth), tested above.
    return [(p, s) for p in ALL for s in (301, 302, 404, 418) if not (p is SOCIA and s == 404)]


@pytest.mark.parametrize(
    ("provider", "status"),
    _unexpected_status_cases(),
    ids=lambda v: v.id if isinstance(v, Provider) else str(v),
)
def test_unexpected_status_with_success_body_is_not_a_reading(provider: Provider, status: int) -> None:
    body = _success_body(provider, "5" if provider is UNWM else 5)
    assert_bad(run(provider, status, body), status)


# --------------------------------------------------------------------------- 429 / Retry-After


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_429_with_retry_after_seconds(provider: Provider) -> None:
    outcome = assert_error(
        run(provider, 429, b"", headers={"retry-after": "120"}), ErrorKind.RATE_LIMITED, 429
    )
    assert outcome.retry_after == 120.0


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_429_with_retry_after_http_date(provider: Provider) -> None:
    # NOW is 2025-06-30 12:00:00 UTC, a Monday; 90 seconds later.
    headers = {"retry-after": "Mon, 30 Jun 2025 12:01:30 GMT", "content-type": "application/json"}
    outcome = assert_error(
        run(provider, 429, b'{"message": "slow down"}', headers=headers), ErrorKind.RATE_LIMITED, 429
    )
    assert outcome.retry_after == pytest.approx(90.0)


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
def test_429_with_retry_after_date_in_the_past_is_zero(provider: Provider) -> None:
    headers = {"retry-after": "Mon, 30 Jun 2025 11:00:00 GMT"}
    outcome = assert_error(run(provider, 429, b"", headers=headers), ErrorKind.RATE_LIMITED, 429)
    assert outcome.retry_after == 0.0


@pytest.mark.parametrize("provider", ALL, ids=lambda p: p.id)
@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3", "12 seconds"])
def test_429_without_usable_retry_after(provider: Provider, value: str | None) -> None:
    headers = {} if value is None else {"retry-after": value}
    outcome = assert_error(run(provider, 429, b"", headers=headers), ErrorKind.RATE_LIMITED, 429)
    assert outcome.retry_after is None


@pytest.mark.parametrize("value", ["²", "³⁴", "\u0663"])
def test_429_with_non_ascii_digit_retry_after_does_not_crash(value: str) -> None:
    # RFC 9110: delta-seconds = 1*DIGIT (ASCII). A header byte like 0xB2 decodes (latin-1) to "²",
    # which str.isdigit() accepts but int() does not: interpret must still return a typed error.
    outcome = assert_error(run(MEOW, 429, b"", headers={"retry-after": value}), ErrorKind.RATE_LIMITED, 429)
    assert outcome.retry_after is None or outcome.retry_after >= 0


def test_429_message_kept() -> None:
    outcome = run(MEOW, 429, {"message": "请求过于频繁"}, language="zh", headers={"retry-after": "3"})
    assert_error(outcome, ErrorKind.RATE_LIMITED, 429, "请求过于频繁")
    assert isinstance(outcome, FetchError)
    assert outcome.retry_after == 3.0


# --------------------------------------------------------------------------- messages


def test_long_or_multiline_provider_message_is_one_bounded_line() -> None:
    message = "line one\nline two\r\n\tline three " + "x" * 5000
    outcome = assert_error(run(MEOW, 401, {"message": message}), ErrorKind.AUTH, 401)
    assert "\n" not in outcome.message
    assert "\r" not in outcome.message
    assert outcome.message.startswith("line one line two line three")
    assert len(outcome.message) < 1000


# --------------------------------------------------------------------------- property tests

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
statuses = st.integers(min_value=100, max_value=599) | st.sampled_from(
    [200, 400, 401, 402, 403, 404, 422, 429, 500, 503]
)
languages = st.sampled_from(["en", "zh", "ja", "zh-CN", "de", ""])
header_maps = st.dictionaries(
    st.sampled_from(["retry-after", "content-type", "content-length", "x-other"]),
    st.text(max_size=40) | st.sampled_from(["5", "Mon, 30 Jun 2025 12:01:30 GMT", "999999999999"]),
    max_size=3,
)


def _check_outcome(provider: Provider, outcome: object) -> None:
    assert isinstance(outcome, Reading | FetchError), outcome
    if isinstance(outcome, FetchError):
        assert outcome.kind in set(ErrorKind)
        assert isinstance(outcome.message, str)
        assert outcome.message
        assert outcome.http_status is None or isinstance(outcome.http_status, int)
        if outcome.retry_after is not None:
            assert math.isfinite(outcome.retry_after)
            assert outcome.retry_after >= 0
        return
    assert outcome.unit == provider.unit
    assert outcome.fetched_at == NOW
    if outcome.unlimited:
        assert outcome.remaining is None
    else:
        assert isinstance(outcome.remaining, Decimal)
        assert outcome.remaining.is_finite()
        assert abs(outcome.remaining) <= 10**15  # an overdrawn balance may be negative
    for value in (outcome.used, outcome.total):
        assert value is None or (isinstance(value, Decimal) and value.is_finite() and value >= 0)


@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(ALL),
    status=statuses,
    body=st.binary(max_size=300),
    headers=header_maps,
    language=languages,
)
@example(provider=MEOW, status=429, body=b"", headers={"retry-after": "\u00b2"}, language="en")
def test_property_arbitrary_bytes_never_raise(
    provider: Provider, status: int, body: bytes, headers: dict[str, str], language: str
) -> None:
    _check_outcome(provider, interpret(provider, HttpAnswer(status, headers, body), language, NOW))


@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(ALL), status=statuses, value=json_values, headers=header_maps, language=languages
)
def test_property_arbitrary_json_never_raises(
    provider: Provider, status: int, value: object, headers: dict[str, str], language: str
) -> None:
    body = json.dumps(value).encode()
    _check_outcome(provider, interpret(provider, HttpAnswer(status, headers, body), language, NOW))


@settings(max_examples=400, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(provider=st.sampled_from(ALL), status=statuses, value=json_values, language=languages)
@example(provider=UNWM, status=200, value="\u200b", language="en")
def test_property_documented_shape_with_arbitrary_fields_never_raises(
    provider: Provider, status: int, value: object, language: str
) -> None:
    """Reach deeper into each parser: the documented envelope with arbitrary values inside."""
    bodies: list[object] = [_success_body(provider, value)]
    if provider is SMARTER:
        bodies += [
            {"Data": value, "Success": True, "Code": 200, "Message": ""},
            {"Data": None, "Success": False, "Code": value, "Message": value},
            {"Data": {"Total": value, "Used": value, "Remain": value}, "Success": True},
        ]
    if provider is UNWM:
        bodies += [
            {"code": value, "message": value, "result": value},
            {"code": 800002, "message": value, "result": None},
            {"code": 100000, "message": {}, "result": value},
        ]
    if provider is MEOW:
        bodies += [{"message": value}]
    if provider is SOCIA:
        bodies += [{"credits": 5, "subscriptionStatus": value, "subscriptionId": value}, {"error": value}]
    for body in bodies:
        raw = json.dumps(body).encode()
        _check_outcome(provider, interpret(provider, HttpAnswer(status, JSON_HEADERS, raw), language, NOW))


@settings(max_examples=300, database=None)
@given(value=json_values | st.integers(min_value=-(10**20), max_value=10**20))
def test_property_meowload_balance_oracle(value: object) -> None:
    """An independent oracle for availableCredits: a JSON number -10**15..10**15 is that exact balance
    (below zero: overdrawn), anything else is bad_response (never a reading)."""
    raw = json.dumps({"availableCredits": value}).encode()
    outcome = interpret(MEOW, HttpAnswer(200, JSON_HEADERS, raw), "en", NOW)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and -(10**15) <= value <= 10**15:
        assert isinstance(outcome, Reading), (value, outcome)
        expected = Decimal(json.dumps(value))
        assert outcome.remaining == expected
    elif not is_number or abs(value) > 10**18:
        assert_bad(outcome)
