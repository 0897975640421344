"""Money in the tray: amounts in different currencies are never compared, each currency is shown.

A real tray controller (offscreen) reading real loopback servers through the presets and a
custom provider; assertions on the menu rows and the icon the user sees.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import store_keys
from tests.reliability_tray import MakeTray, rows, start
from tests.reliability_tray import make_tray as make_tray  # the fixture
from tray_app.ui.icons import IconFactory, IconState

DEEPSEEK = {"is_available": True, "balance_infos": [
    {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"},
    {"currency": "USD", "total_balance": "5.20", "granted_balance": "0.00", "topped_up_balance": "5.20"}]}


def test_several_currencies_are_each_shown_in_the_menu(qtbot, make_tray: MakeTray, tmp_path: Path,
                                                       server: FakeServer) -> None:
    server.route("/ds/user/balance", Reply(200, DEEPSEEK))
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "ds"\nprovider = "deepseek"\nbase_url = "{server.url}/ds"\n',
                      encoding="utf-8")
    store_keys({"ds": "sk-money-0001"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert rows(controller) == ["DeepSeek — 110 CNY · 5.2 USD"]


def test_the_icon_never_compares_amounts_in_different_units(qtbot, make_tray: MakeTray, tmp_path: Path,
                                                            server: FakeServer) -> None:
    # 500 credits is low (below its 1,000); 5 USD is fine (above its 1). "5" would be the smaller
    # number, but 5 dollars are not fewer than 500 credits: the icon shows the account that is low.
    server.route("/credits", Reply(200, {"left": 500}))
    server.route("/dollars", Reply(200, {"left": 5}))
    config = tmp_path / "config.toml"
    config.write_text(
        "icon_number = true\n"
        f'[[accounts]]\nid = "usd"\nprovider = "custom"\nthresholds = [1]\n[accounts.custom]\n'
        f'url = "{server.url}/dollars"\nremaining = "left"\nunit = "USD"\n'
        f'[[accounts]]\nid = "cr"\nprovider = "custom"\nthresholds = [1000]\n[accounts.custom]\n'
        f'url = "{server.url}/credits"\nremaining = "left"\nunit = "credits"\n', encoding="utf-8")
    store_keys({"usd": "sk-money-0002", "cr": "sk-money-0003"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert controller.icon_state() is IconState.LOW
    drawn = controller.tray.icon().pixmap(32, 32).toImage()
    assert drawn == IconFactory().pixmap(IconState.LOW, 32, "500").toImage()
    assert drawn != IconFactory().pixmap(IconState.LOW, 32, "5").toImage()  # the number tells them apart


def test_a_quota_shows_when_it_resets(qtbot, make_tray: MakeTray, tmp_path: Path, server: FakeServer) -> None:
    server.route("/el/v1/user/subscription", Reply(200, {
        "tier": "starter", "character_count": 1200, "character_limit": 10000, "status": "active",
        "next_character_count_reset_unix": 1768478400}))  # Thu 15 Jan 2026, 12:00 UTC
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "el"\nprovider = "elevenlabs"\nbase_url = "{server.url}/el"\n'
                      "thresholds = [100]\n", encoding="utf-8")
    store_keys({"el": "sk-money-0004"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert rows(controller) == ["ElevenLabs — 8,800 characters · resets Thu 15 Jan"]
    assert server.requests_to("/el/v1/user/subscription")[0].headers["xi-api-key"] == "sk-money-0004"


class _Browser(QObject):
    """Where Qt sends https URLs during the test (QDesktopServices' own hook), instead of a real browser."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def test_top_up_opens_a_custom_providers_page(qtbot, make_tray: MakeTray, tmp_path: Path, server: FakeServer) -> None:
    server.route("/b", Reply(200, {"left": 5}))
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "acme"\nprovider = "custom"\n[accounts.custom]\nurl = "{server.url}/b"\n'
                      'remaining = "left"\ntop_up_url = "https://acme.example/billing"\n', encoding="utf-8")
    store_keys({"acme": "sk-money-0005"})
    controller = make_tray(config)
    start(qtbot, controller)
    browser = _Browser()
    QDesktopServices.setUrlHandler("https", browser, "open")
    try:
        controller.open_top_up("acme")
    finally:
        QDesktopServices.unsetUrlHandler("https")
    assert browser.opened == ["https://acme.example/billing"]
