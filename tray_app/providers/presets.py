"""Ready-made definitions for well-known providers, on the same mechanism as a user's custom provider.

Each preset is the data a user would write in ``[accounts.custom]``, taken from the
provider's public API documentation (``documentation`` names the page); the tests speak
exactly the documented response on a loopback server. A preset's id is the provider's
name in lower case, and ``base_url`` works for it as for the built-ins.
"""

from __future__ import annotations

from typing import Any

from tray_app.providers.custom import CustomSpec, spec_from_table

PRESET_TABLES: dict[str, dict[str, Any]] = {
    # GET /api/v1/key works with an ordinary key (/api/v1/credits needs a management key).
    # A key without a limit has "limit": null and "limit_remaining": null.
    "openrouter": {
        "name": "OpenRouter",  # untranslated: product name
        "url": "https://openrouter.ai/api/v1/key",
        "remaining": "data.limit_remaining",
        "used": "data.usage",
        "limit": "data.limit",
        "unlimited": ["null"],
        "error_path": "error.message",
        "unit": "USD",
        "thresholds": [5, 1, 0],
        "top_up_url": "https://openrouter.ai/settings/credits",
        "key_hint": "openrouter.ai → Keys",  # untranslated: the site's own menu labels
        "documentation": "https://openrouter.ai/docs/api-reference/api-keys/get-current-api-key",
    },
    # One balance per currency in balance_infos[], amounts as strings ("110.00").
    "deepseek": {
        "name": "DeepSeek",  # untranslated: product name
        "url": "https://api.deepseek.com/user/balance",
        "balances": "balance_infos",
        "balance_remaining": "total_balance",
        "balance_unit": "currency",
        "error_path": "error.message",
        "unit": "CNY",
        "thresholds": [10, 2, 0],
        "top_up_url": "https://platform.deepseek.com/top_up",
        "key_hint": "platform.deepseek.com → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://api-docs.deepseek.com/api/get-user-balance",
    },
    # available_balance = cash + voucher; cash_balance below 0 means the account owes money, and then
    # available_balance is the voucher balance (never below 0 itself, but a negative one is read as overdrawn).
    "moonshot": {
        "name": "Moonshot (Kimi)",  # untranslated: product name
        "url": "https://api.moonshot.cn/v1/users/me/balance",
        "remaining": "data.available_balance",
        "success_path": "code",
        "success_value": "0",
        "error_path": "error.message",
        "unit": "CNY",
        "units_by_host": {"api.moonshot.ai": "USD"},
        "thresholds": [10, 2, 0],
        "top_up_url": "https://platform.moonshot.cn/console/pay",
        "key_hint": "platform.moonshot.cn (or .ai) → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://platform.moonshot.cn/docs/api/balance",
    },
    # An envelope with code 20000 on success; balances are strings. (A third-party page says the China
    # endpoint was retired in August 2026 and the international host answers in USD: not verified here.)
    "siliconflow": {
        "name": "SiliconFlow",  # untranslated: product name
        "url": "https://api.siliconflow.cn/v1/user/info",
        "remaining": "data.totalBalance",
        "success_path": "code",
        "success_value": "20000",
        "error_path": "message",
        "unit": "CNY",
        "thresholds": [10, 2, 0],
        "top_up_url": "https://cloud.siliconflow.cn/expensebill",
        "key_hint": "cloud.siliconflow.cn → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://docs.siliconflow.cn/cn/api-reference/userinfo/get-user-info",
    },
    # The key in xi-api-key; a character quota (limit − count) that resets at next_character_count_reset_unix.
    "elevenlabs": {
        "name": "ElevenLabs",  # untranslated: product name
        "url": "https://api.elevenlabs.io/v1/user/subscription",
        "key_header": "xi-api-key",
        "key_format": "{key}",
        "used": "character_count",
        "limit": "character_limit",
        "resets_at": "next_character_count_reset_unix",
        "error_path": "detail.message",
        "unit": "characters",
        "thresholds": [10000, 1000, 0],
        "top_up_url": "https://elevenlabs.io/app/subscription",
        "key_hint": "elevenlabs.io → Developers → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://elevenlabs.io/docs/api-reference/user/subscription/get",
    },
    # The account plan's credits: account.plan_limit − account.plan_usage.
    "tavily": {
        "name": "Tavily",  # untranslated: product name
        "url": "https://api.tavily.com/usage",
        "used": "account.plan_usage",
        "limit": "account.plan_limit",
        "unlimited": ["null"],
        "error_path": "detail.error",
        "unit": "credits",
        "thresholds": [100, 10, 0],
        "top_up_url": "https://app.tavily.com/billing",
        "key_hint": "app.tavily.com → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://docs.tavily.com/documentation/api-reference/endpoint/usage",
    },
    # {"success": true, "data": {"remainingCredits", "planCredits", "billingPeriodEnd"}}.
    "firecrawl": {
        "name": "Firecrawl",  # untranslated: product name
        "url": "https://api.firecrawl.dev/v2/team/credit-usage",
        "remaining": "data.remainingCredits",
        "limit": "data.planCredits",
        "resets_at": "data.billingPeriodEnd",
        "success_path": "success",
        "success_value": "true",
        "error_path": "error",
        "unit": "credits",
        "thresholds": [500, 100, 0],
        "top_up_url": "https://www.firecrawl.dev/app/billing",
        "key_hint": "firecrawl.dev → API keys",  # untranslated: the site's own menu labels
        "documentation": "https://docs.firecrawl.dev/api-reference/endpoint/credit-usage",
    },
}

PRESETS: dict[str, CustomSpec] = {preset_id: spec_from_table(table) for preset_id, table in PRESET_TABLES.items()}
