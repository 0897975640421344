"""Each preset against a loopback server speaking exactly its documented response.

The bodies below are the examples of the page each preset names in ``documentation``
(values copied from those pages, never computed by the code under test); the request is
checked as the server received it: the documented path and the documented key header.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.fakeserver import FakeServer, Reply
from tray_app.config import endpoint_url
from tray_app.fetch import Fetcher, FetchPolicy
from tray_app.model import Balance, ErrorKind, FetchError, Outcome, Reading
from tray_app.providers import PRESETS, provider_for
from tray_app.providers.base import HttpAnswer, interpret

KEY = "sk-preset-4Hc8Wn2Rq6Ty9Lm3"
POLICY = FetchPolicy(attempt_timeout=2.0, max_attempts=1, total_timeout=3.0)
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)

DOCUMENTED_PATH = {
    "openrouter": "/api/v1/key",
    "deepseek": "/user/balance",
    "moonshot": "/v1/users/me/balance",
    "siliconflow": "/v1/user/info",
    "elevenlabs": "/v1/user/subscription",
    "tavily": "/usage",
    "firecrawl": "/v2/team/credit-usage",
}
AUTH_HEADER = {
    "openrouter": ("authorization", f"Bearer {KEY}"),
    "deepseek": ("authorization", f"Bearer {KEY}"),
    "moonshot": ("authorization", f"Bearer {KEY}"),
    "siliconflow": ("authorization", f"Bearer {KEY}"),
    "elevenlabs": ("xi-api-key", KEY),
    "tavily": ("authorization", f"Bearer {KEY}"),
    "firecrawl": ("authorization", f"Bearer {KEY}"),
}
DOCUMENTED_BODY: dict[str, Any] = {
    "openrouter": {"data": {"label": "sk-or-v1-au78...", "limit": 100, "usage": 25.5, "limit_remaining": 74.5,
                            "is_free_tier": False, "limit_reset": "monthly", "include_byok_in_limit": False,
                            "usage_daily": 1.5, "usage_weekly": 10.2, "usage_monthly": 25.5}},
    "deepseek": {"is_available": True, "balance_infos": [
        {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]},
    "moonshot": {"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893,
                                     "cash_balance": 3.00001}, "scode": "0x0", "status": True},
    "siliconflow": {"code": 20000, "message": "OK", "status": True, "data": {
        "id": "userid", "name": "username", "image": "user_avatar_image_url", "email": "user_email_address",
        "isAdmin": False, "balance": "0.88", "status": "normal", "introduction": "user_introduction",
        "role": "user_role", "chargeBalance": "88.00", "totalBalance": "88.88"}},
    "elevenlabs": {"tier": "free", "character_count": 1200, "character_limit": 10000,
                   "can_extend_character_limit": False, "allowed_to_extend_character_limit": False,
                   "next_character_count_reset_unix": 1738356858, "voice_limit": 3, "max_voice_add_edits": 10,
                   "voice_add_edit_counter": 0, "professional_voice_limit": 0, "can_extend_voice_limit": False,
                   "can_use_instant_voice_cloning": False, "can_use_professional_voice_cloning": False,
                   "currency": "usd", "status": "free"},
    "tavily": {"key": {"usage": 150, "limit": 1000},
               "account": {"current_plan": "Bootstrap", "plan_usage": 500, "plan_limit": 15000,
                           "paygo_usage": 25, "paygo_limit": 100}},
    "firecrawl": {"success": True, "data": {"remainingCredits": 1000, "planCredits": 500000,
                                            "billingPeriodStart": "2025-01-01T00:00:00Z",
                                            "billingPeriodEnd": "2025-01-31T23:59:59Z"}},
}
# remaining, unit, used, total, resets_at
EXPECTED: dict[str, tuple[Any, ...]] = {
    "openrouter": (Decimal("74.5"), "USD", Decimal("25.5"), Decimal(100), None),
    "deepseek": (Decimal(110), "CNY", None, None, None),
    "moonshot": (Decimal("49.58894"), "CNY", None, None, None),
    "siliconflow": (Decimal("88.88"), "CNY", None, None, None),
    "elevenlabs": (Decimal(8800), "characters", Decimal(1200), Decimal(10000),
                   datetime.fromtimestamp(1738356858, UTC)),
    "tavily": (Decimal(14500), "credits", Decimal(500), Decimal(15000), None),
    "firecrawl": (Decimal(1000), "credits", None, Decimal(500000), datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)),
}


def fetch(server: FakeServer, preset_id: str, *replies: Reply) -> Outcome:
    provider = provider_for(preset_id, None, server.url)
    assert provider is not None
    server.route(DOCUMENTED_PATH[preset_id], *replies)
    url = endpoint_url(provider.url, server.url)

    async def run() -> Outcome:
        async with Fetcher(POLICY) as fetcher:
            return await fetcher.fetch(provider, url, KEY, "en")

    return asyncio.run(run())


def test_every_preset_names_its_documentation_and_has_a_test() -> None:
    assert set(PRESETS) == set(DOCUMENTED_PATH)
    for spec in PRESETS.values():
        assert spec.documentation.startswith("https://")


@pytest.mark.parametrize("preset_id", sorted(DOCUMENTED_PATH))
def test_documented_response(server: FakeServer, preset_id: str) -> None:
    outcome = fetch(server, preset_id, Reply(200, DOCUMENTED_BODY[preset_id]))
    assert isinstance(outcome, Reading), outcome
    assert (outcome.remaining, outcome.unit, outcome.used, outcome.total, outcome.resets_at) == EXPECTED[preset_id]
    assert not outcome.unlimited
    [request] = server.requests_to(DOCUMENTED_PATH[preset_id])
    assert request.method == "GET"
    name, value = AUTH_HEADER[preset_id]
    assert request.headers[name] == value


def test_openrouter_key_without_a_limit_is_unlimited(server: FakeServer) -> None:
    body = {"data": {"label": "sk-or-v1-0e6...", "limit": None, "usage": 0.0345, "limit_remaining": None,
                     "is_free_tier": False}}
    outcome = fetch(server, "openrouter", Reply(200, body))
    assert isinstance(outcome, Reading), outcome
    assert outcome.unlimited
    assert (outcome.remaining, outcome.used, outcome.total) == (None, Decimal("0.0345"), None)


def test_deepseek_with_several_currencies_keeps_each(server: FakeServer) -> None:
    body = {"is_available": True, "balance_infos": [
        {"currency": "USD", "total_balance": "5.20", "granted_balance": "0.00", "topped_up_balance": "5.20"},
        {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]}
    outcome = fetch(server, "deepseek", Reply(200, body))
    assert isinstance(outcome, Reading), outcome
    assert (outcome.remaining, outcome.unit) == (Decimal(110), "CNY")  # the preset's main currency
    assert outcome.balances == (Balance("CNY", Decimal(110)), Balance("USD", Decimal("5.2")))


def test_deepseek_usd_only_account_is_read_in_usd(server: FakeServer) -> None:
    body = {"is_available": False, "balance_infos": [
        {"currency": "USD", "total_balance": "0.00", "granted_balance": "0.00", "topped_up_balance": "0.00"}]}
    outcome = fetch(server, "deepseek", Reply(200, body))
    assert isinstance(outcome, Reading), outcome
    assert (outcome.remaining, outcome.unit, outcome.balances) == (0, "USD", ())
    assert outcome.exhausted


@pytest.mark.parametrize(("voucher", "exhausted"), [(3, False), (0, True)])
def test_moonshot_negative_cash_balance_leaves_the_voucher_balance(server: FakeServer, voucher: int,
                                                                  exhausted: bool) -> None:
    # The page: cash_balance may be negative (money owed); then available_balance is voucher_balance.
    body = {"code": 0, "data": {"available_balance": voucher, "voucher_balance": voucher, "cash_balance": -5.2},
            "scode": "0x0", "status": True}
    outcome = fetch(server, "moonshot", Reply(200, body))
    assert isinstance(outcome, Reading), outcome
    assert (outcome.remaining, outcome.unit) == (voucher, "CNY")
    assert outcome.exhausted is exhausted


def test_moonshot_is_usd_on_the_ai_host_and_cny_on_the_cn_host() -> None:
    body = HttpAnswer(200, {}, b'{"code": 0, "data": {"available_balance": 7}, "scode": "0x0", "status": true}')
    for base_url, unit in (("https://api.moonshot.ai", "USD"), ("https://api.moonshot.cn", "CNY"), (None, "CNY")):
        provider = provider_for("moonshot", None, base_url)
        assert provider is not None
        assert provider.unit == unit
        outcome = interpret(provider, body, "en", NOW)
        assert isinstance(outcome, Reading), outcome
        assert outcome.unit == unit


@pytest.mark.parametrize(("preset_id", "status", "body", "kind", "message"), [
    ("openrouter", 401, {"error": {"code": 401, "message": "No auth credentials found"}}, ErrorKind.AUTH,
     "No auth credentials found"),
    ("deepseek", 401, {"error": {"message": "Authentication Fails (no such user)", "type": "authentication_error",
                                 "param": None, "code": "invalid_request_error"}}, ErrorKind.AUTH,
     "Authentication Fails (no such user)"),
    ("moonshot", 401, {"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}},
     ErrorKind.AUTH, "Invalid Authentication"),
    ("elevenlabs", 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, ErrorKind.AUTH,
     "Invalid API key"),
    ("tavily", 401, {"detail": {"error": "Unauthorized: missing or invalid API key."}}, ErrorKind.AUTH,
     "Unauthorized: missing or invalid API key."),
    ("firecrawl", 401, {"success": False, "error": "Unauthorized: Invalid token"}, ErrorKind.AUTH,
     "Unauthorized: Invalid token"),
    ("siliconflow", 200, {"code": 50000, "message": "System error", "status": False, "data": None},
     ErrorKind.REQUEST, "System error"),
    ("firecrawl", 200, {"success": False, "error": "Team not found"}, ErrorKind.REQUEST, "Team not found"),
])
def test_documented_errors(server: FakeServer, preset_id: str, status: int, body: Any, kind: ErrorKind,
                           message: str) -> None:
    outcome = fetch(server, preset_id, Reply(status, body))
    assert isinstance(outcome, FetchError), outcome
    assert (outcome.kind, outcome.message) == (kind, message)


@pytest.mark.parametrize("preset_id", sorted(DOCUMENTED_PATH))
def test_a_changed_answer_is_bad_response_not_zero(server: FakeServer, preset_id: str) -> None:
    outcome = fetch(server, preset_id, Reply(200, {"data": {}}))
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind is ErrorKind.BAD_RESPONSE
