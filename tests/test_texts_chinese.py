"""The shared words (tray rows, tooltip, notifications, CLI) in Chinese, and English plurals that stay right."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tray_app import i18n, texts
from tray_app.model import AccountResult, AccountState, Alert, AlertKind, ErrorKind, FetchError, Reading, Usage

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def chinese() -> Iterator[None]:
    assert i18n.set_language("zh"), "the compiled catalogue is missing: run scripts/translations.py compile"
    yield
    i18n.set_language("en")


def _ok(remaining: str, usage: Usage | None = None, state: AccountState = AccountState.OK,
        threshold: str | None = None) -> AccountResult:
    reading = Reading(remaining=Decimal(remaining), unit="credits", fetched_at=NOW)
    return AccountResult("m", "meowload", "Work", "credits", state, reading, None,
                         Decimal(threshold) if threshold else None, NOW, usage)


@pytest.mark.parametrize(("value", "shown"), [
    ("950", "950"), ("9800", "9800"), ("9999", "9999"), ("10000", "1.0万"), ("28253", "2.8万"),
    ("2825390", "283万"), ("9994999", "999万"), ("9995000", "0.1亿"), ("120000000", "1.2亿"),
    ("30000000000", "300亿"), ("1200000000000", "1.2万亿"), ("0.04", "<0.1"), ("-12000", "-1.2万"),
])
def test_the_icon_counts_in_ten_thousands_in_chinese(value: str, shown: str, chinese: None) -> None:
    assert texts.compact_number(Decimal(value)) == shown


def test_the_icon_keeps_thousands_in_english() -> None:
    assert texts.compact_number(Decimal("9800")) == "9.8K"
    assert texts.compact_number(Decimal("10") ** 16) == "huge"


def test_a_menu_row_and_its_submenu_lines_read_in_chinese(chinese: None) -> None:
    usage = Usage(per_day=1234.0, runs_out_at=NOW + timedelta(days=3))
    low = _ok("9999", usage, AccountState.LOW, "10000")
    assert texts.row_text(low, "MeowLoad", NOW) == "MeowLoad — 9,999 积分（低于 10,000） · 约剩 3 天"
    assert texts.pace_line(low, NOW) == "每天约用 1,234 积分；约 3 天后用完（11月24日周二前后）"
    assert texts.fetched_line(NOW - timedelta(minutes=5), NOW) == "余额更新时间：5 分钟前"
    assert texts.row_text(None, "MeowLoad", NOW) == "MeowLoad — 正在查询…"
    assert texts.tooltip([]) == "Credit Tray — 还没有账户：请打开设置添加账户"


def test_errors_read_in_chinese_with_the_provider_and_status_in_place(chinese: None) -> None:
    refused = FetchError(ErrorKind.BAD_RESPONSE, "not JSON", 404)
    assert texts.error_words(refused, "meowload") == "这不是 MeowLoad 的响应（HTTP 404）：请检查基础 URL"
    assert texts.error_words(FetchError(ErrorKind.RATE_LIMITED, "x", 429, 60.0), "meowload") == \
        "请求过于频繁：请在 60 秒后重试"
    assert texts.STATE_WORDS[AccountState.EXHAUSTED] == "已用完"
    assert texts.ERROR_KIND_WORDS[ErrorKind.NETWORK] == "无法连接"


def test_notifications_read_in_chinese(chinese: None) -> None:
    titles, units = {"a": "SociaVault · Main"}, {"a": "credits"}
    low = texts.notice_for([Alert("a", AlertKind.THRESHOLD, remaining=Decimal(9999), threshold=Decimal(10000))],
                           titles, units)
    assert low == texts.Notice("SociaVault · Main：剩余 9,999 积分", "已低于你设置的提醒阈值 10,000。", "a")
    out = texts.notice_for([Alert("a", AlertKind.EXHAUSTED, remaining=Decimal(0))], titles, units)
    assert out is not None
    assert out.title == "SociaVault · Main：积分已用完"
    many = [Alert(f"a{i}", AlertKind.THRESHOLD, remaining=Decimal(i), threshold=Decimal(100)) for i in range(7)]
    summary = texts.notice_for(many, {}, {})
    assert summary is not None
    assert summary.title == "7 个账户需要注意"
    assert summary.body.splitlines()[-1] == "另有 2 条"


def test_switching_back_to_english_changes_the_next_text_at_once(chinese: None) -> None:
    assert texts.ago(NOW - timedelta(days=3), NOW) == "3 天前"
    i18n.set_language("en")
    assert texts.ago(NOW - timedelta(days=3), NOW) == "3 days ago"


@pytest.mark.parametrize(("hours", "left"), [(1, "~1 hour left"), (5, "~5 hours left"), (48, "~2 days left"),
                                             (0.5, "less than an hour left")])
def test_english_counts_take_the_right_plural(hours: float, left: str) -> None:
    assert texts.time_left(NOW + timedelta(hours=hours), NOW) == left


def test_english_summary_and_ages_are_singular_for_one() -> None:
    two = [Alert(f"a{i}", AlertKind.THRESHOLD, remaining=Decimal(i), threshold=Decimal(100)) for i in range(6)]
    notice = texts.notice_for(two, {}, {})
    assert notice is not None
    assert notice.body.splitlines()[-1] == "and 1 more"
    usage = Usage(per_day=480.0, runs_out_at=NOW + timedelta(hours=1))
    assert texts.pace_line(_ok("20", usage), NOW).startswith("Uses about 480 credits a day; runs out in about 1 hour,")


def test_a_refused_key_notice_ends_its_reason_with_a_chinese_full_stop(chinese: None) -> None:
    notice = texts.notice_for([Alert("a", AlertKind.AUTH, message="Invalid or expired API Key")], {"a": "MeowLoad"},
                              {"a": "credits"})
    assert notice is not None
    assert notice.body == "Invalid or expired API Key。请在设置中更新密钥。"
    assert texts.sentence("不存在。") == "不存在。"  # the provider's own full stop is not doubled


def test_used_up_reads_right_for_a_word_unit_and_a_currency_code(chinese: None) -> None:
    out = [Alert("a", AlertKind.EXHAUSTED, remaining=Decimal(0))]
    credits = texts.notice_for(out, {"a": "MeowLoad"}, {"a": "credits"})
    usd = texts.notice_for(out, {"a": "OpenRouter"}, {"a": "USD"})
    assert credits is not None
    assert (credits.title, credits.body) == ("MeowLoad：积分已用完", "积分已用完。")
    assert usd is not None
    assert (usd.title, usd.body) == ("OpenRouter：USD 已用完", "USD 已用完。")
