"""Words people read (pure functions), the demo engine, and the wake-up detector."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication

from tray_app import texts
from tray_app.demo import DemoEngine
from tray_app.model import AccountResult, AccountState, Alert, AlertKind, ErrorDetail, ErrorKind, FetchError, Reading

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "shown"), [
    ("0", "0"), ("950", "950"), ("999", "999"), ("1000", "1.0K"), ("9800", "9.8K"), ("9960", "10K"),
    ("282539", "283K"), ("999499", "999K"), ("999500", "1.0M"), ("1200000", "1.2M"), ("-5", "-5"),
    ("3000000000", "3.0B"), ("0.4", "0.4"), ("0.04", "<0.1"), ("-0.4", "-0.4"),
])
def test_compact_number_fits_the_icon(value: str, shown: str) -> None:
    assert texts.compact_number(Decimal(value)) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "just now"), (59, "just now"), (60, "1 min ago"), (3599, "59 min ago"), (3600, "1 h ago"),
    (86399, "23 h ago"), (86400, "yesterday"), (3 * 86400, "3 days ago"), (-30, "just now"),
])
def test_ago(seconds: int, shown: str) -> None:
    assert texts.ago(NOW - timedelta(seconds=seconds), NOW) == shown


def _result(provider: str, error: FetchError) -> AccountResult:
    return AccountResult(provider, provider, "Main", "credits", AccountState.ERROR, None, error, None, NOW)


@pytest.mark.parametrize(("kind", "message", "retry", "words"), [
    (ErrorKind.AUTH, "User api key not exist.", None, "Invalid API key: update it in Settings"),
    (ErrorKind.RATE_LIMITED, "too many requests", 60.0, "Rate limited: try again in 60 s"),
    (ErrorKind.RATE_LIMITED, "too many requests", 3600.0, "Rate limited: try again in 60 min"),
    (ErrorKind.RATE_LIMITED, "too many requests", None, "Rate limited: retrying at the next refresh"),
    (ErrorKind.NETWORK, "x refused", None, "Can't reach MeowLoad: check your connection"),
    (ErrorKind.NO_KEY, "no API key stored: run 'credit-tray key set meowload'", None, "No API key: add it in Settings"),
    (ErrorKind.CONFIG, "unknown provider 'x'", None, "Config error: unknown provider 'x'"),
    (ErrorKind.REQUEST, "Parameter error", None, "Request refused: Parameter error"),
])
def test_errors_in_plain_words(kind: ErrorKind, message: str, retry: float | None, words: str) -> None:
    error = FetchError(kind, message, 401, retry)
    assert texts.error_words(error, "meowload") == words
    assert texts.row_text(_result("meowload", error), "MeowLoad", NOW) == f"MeowLoad — {words}"


def test_key_troubles_are_told_by_their_detail_not_by_their_words() -> None:
    """The message is in the user's language; which key trouble it is travels as ``detail``."""
    keyring = FetchError(ErrorKind.NO_KEY, "key unavailable: the keyring is locked: unlock it",
                         detail=ErrorDetail.KEY_UNAVAILABLE)
    assert texts.error_words(keyring, "meowload") == "Key unavailable: the keyring is locked: unlock it"
    unusable = FetchError(ErrorKind.NO_KEY, "钥匙不能用", detail=ErrorDetail.KEY_UNUSABLE)
    assert texts.error_words(unusable, "meowload") == "Stored API key unusable: replace it in Settings"
    locked_zh = FetchError(ErrorKind.NO_KEY, "无法读取密钥：系统密钥环已锁定", detail=ErrorDetail.KEY_UNAVAILABLE)
    assert texts.error_words(locked_zh, "meowload") == "无法读取密钥：系统密钥环已锁定"
    assert texts.error_words(FetchError(ErrorKind.NO_KEY, "x"), "meowload") == "No API key: add it in Settings"


def test_a_single_exhausted_alert_and_an_auth_alert() -> None:
    titles, units = {"a": "SociaVault · Main", "b": "MeowLoad"}, {"a": "credits", "b": "credits"}
    exhausted = texts.notice_for([Alert("a", AlertKind.EXHAUSTED, remaining=Decimal(0))], titles, units)
    assert exhausted == texts.Notice("SociaVault · Main: out of credits", "No credits left.", "a")
    auth = texts.notice_for([Alert("b", AlertKind.AUTH, message="API Key 错误")], titles, units)
    assert auth == texts.Notice("MeowLoad: API key refused", "API Key 错误. Update the key in Settings.", "b",
                                "settings")
    assert texts.notice_for([], titles, units) is None


def test_a_summary_lists_at_most_five_accounts() -> None:
    alerts = [Alert(f"a{i}", AlertKind.THRESHOLD, remaining=Decimal(i), threshold=Decimal(100)) for i in range(7)]
    notice = texts.notice_for(alerts, {}, {})
    assert notice is not None
    assert notice.title == "7 accounts need attention"
    assert notice.body.splitlines()[-1] == "and 2 more"
    assert len(notice.body.splitlines()) == 6


def test_demo_balances_drain_and_cross_thresholds_without_keys_or_network(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # any keyring use would fail
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable))  # where a real engine would write
    clock = [1000.0]
    engine = DemoEngine(clock=lambda: clock[0])
    config = engine.load_config()
    first = asyncio.run(engine.refresh(config, list(config.accounts)))
    by_id = {r.account_id: r for r in first.results}
    assert all(r.error is None for r in first.results)
    assert by_id["demo-meowload"].reading == Reading(
        remaining=Decimal(10450), unit="credits", fetched_at=by_id["demo-meowload"].reading.fetched_at)
    assert by_id["demo-smarterbot"].reading is not None
    assert by_id["demo-smarterbot"].reading.unlimited
    clock[0] += 30  # half a minute later MeowLoad has crossed 10,000
    second = asyncio.run(engine.refresh(config, list(config.accounts)))
    meow = next(r for r in second.results if r.account_id == "demo-meowload")
    assert meow.reading is not None
    assert meow.reading.remaining == Decimal(9550)
    assert meow.state is AccountState.LOW
    assert Alert("demo-meowload", AlertKind.THRESHOLD, remaining=Decimal(9550), threshold=Decimal(10000)) \
        in second.alerts
    clock[0] += 200  # SociaVault runs dry
    third = asyncio.run(engine.refresh(config, list(config.accounts)))
    socia = next(r for r in third.results if r.account_id == "demo-sociavault")
    assert socia.state is AccountState.EXHAUSTED
    assert not list(tmp_path.rglob("*"))  # no config, history or log written: the demo's history is in memory


def test_the_scheduler_notices_a_sleep(qapp: QCoreApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    from tray_app.ui import scheduler as scheduler_module

    wall, mono = [1_000_000.0], [500.0]
    monkeypatch.setattr(scheduler_module.time, "time", lambda: wall[0])
    monkeypatch.setattr(scheduler_module.time, "monotonic", lambda: mono[0])
    scheduler = scheduler_module.RefreshScheduler(600, heartbeat_ms=30_000)
    reasons: list[str] = []
    scheduler.due.connect(reasons.append)
    wall[0] += 30
    mono[0] += 30
    scheduler._beat()
    assert reasons == []
    wall[0] += 3600  # the laptop was closed for an hour: wall time ran, monotonic time did not
    mono[0] += 31
    scheduler._beat()
    assert reasons == ["wake"]
    wall[0] += 400  # the event loop itself was stopped (Windows keeps monotonic time in sleep)
    mono[0] += 400
    scheduler._beat()
    assert reasons == ["wake", "wake"]
