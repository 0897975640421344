"""The tray controller through pytest-qt: rows, tooltip, icon, notifications, worker thread, quit.

Runs on the offscreen platform against real loopback servers and a real file keyring;
the end-to-end test (test_e2e.py) covers a real tray host and notification daemon.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_tray import dispose_tray, tray_controller
from tray_app.engine import Engine
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryError, HistoryStore
from tray_app.keys import KeyStore
from tray_app.texts import Notice
from tray_app.ui.icons import SIZES, IconFactory, IconState, strip_name
from tray_app.ui.resources import resource_bytes
from tray_app.ui.single_instance import SingleInstance
from tray_app.ui.tray import TrayController

KEY = "sk-tray-test-0001"

MEOW_OK = Reply(200, {"availableCredits": 282539})
SOCIA_LOW = Reply(200, {"credits": 950, "subscriptionStatus": "active", "subscriptionId": "sub_1"})
SOCIA_PAST_DUE = Reply(200, {"credits": 5000, "subscriptionStatus": "past_due", "subscriptionId": None})
SMARTER_UNLIMITED = Reply(200, {"Data": {"Total": -1, "Used": 243, "Remain": -1}, "Version": "1.0.0",
                                "Success": True, "Code": 200, "Message": ""})
UNWATERMARK_BAD_KEY = Reply(200, {"code": 800002, "result": None,
                                  "message": {"en": "User api key not exist.", "zh": "用户api key不存在"}})
MEOW_EXHAUSTED = Reply(402, {"message": "Credits exhausted"})


pytestmark = pytest.mark.usefixtures("english_gui")


def write_config(path: Path, server: FakeServer, accounts: list[tuple[str, str]], extra: str = "") -> None:
    """accounts: (id, provider); each gets its own path prefix on the server."""
    lines = [extra]
    for account_id, provider in accounts:
        lines += ["[[accounts]]", f'id = "{account_id}"', f'provider = "{provider}"', 'label = "Main"',
                  f'base_url = "{server.url}/{account_id}"', ""]
    path.write_text("\n".join(lines), "utf-8")


def route(server: FakeServer, account_id: str, provider: str, *replies: Reply) -> None:
    server.route(f"/{account_id}{PATHS[provider]}", *replies)


@pytest.fixture
def make_controller(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication) -> Iterator:
    made: list[TrayController] = []

    def make(accounts: list[tuple[str, str]], server: FakeServer, *, extra: str = "",
             policy: FetchPolicy | None = None, keys: bool = True) -> TrayController:
        config = tmp_path / "config.toml"
        write_config(config, server, accounts, extra)
        store = KeyStore()
        if keys:
            for account_id, _ in accounts:
                store.set(account_id, KEY)
        controller = tray_controller(config, tmp_path / "history.sqlite3", policy=policy)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        dispose_tray(controller)


def rows(controller: TrayController) -> list[str]:
    return [a.text() for a in controller.menu.actions()
            if a.menu() is not None and a.menu() is not controller.snooze_menu]


def submenu_lines(controller: TrayController, index: int) -> list[str]:
    menus = [a.menu() for a in controller.menu.actions() if a.menu() is not None
             and a.menu() is not controller.snooze_menu]
    return [a.text() for a in menus[index].actions() if a.text() and a.isVisible()]


def start(qtbot, controller: TrayController, timeout: int = 10_000) -> None:
    """Start the controller and wait until the refresh it runs at start is applied."""
    with qtbot.waitSignal(controller.refreshed, timeout=timeout):
        controller.start()


def run_refresh(qtbot, controller: TrayController, timeout: int = 10_000) -> None:
    assert not controller.refreshing
    with qtbot.waitSignal(controller.refreshed, timeout=timeout):
        controller.refresh(manual=True)


def test_rows_tooltip_and_icon_for_every_state(qtbot, server: FakeServer, make_controller) -> None:
    accounts = [("meow", "meowload"), ("socia", "sociavault"), ("smarter", "smarterbot"),
                ("unwater", "unwatermark"), ("meow-empty", "meowload"), ("socia-due", "sociavault")]
    route(server, "meow", "meowload", MEOW_OK)
    route(server, "socia", "sociavault", SOCIA_LOW)
    route(server, "smarter", "smarterbot", SMARTER_UNLIMITED)
    route(server, "unwater", "unwatermark", UNWATERMARK_BAD_KEY)
    route(server, "meow-empty", "meowload", MEOW_EXHAUSTED)
    route(server, "socia-due", "sociavault", SOCIA_PAST_DUE)
    controller = make_controller(accounts, server)
    start(qtbot, controller)

    assert rows(controller) == [
        # Two accounts of one provider with one label would look alike: their ids tell them apart.
        "MeowLoad · Main (meow) — 282,539 credits",
        "SociaVault · Main (socia) — 950 credits (below 1,000)",
        "SmarterBot · Main — 243 used · no limit",
        "Unwatermark · Main — Invalid API key: update it in Settings",
        "MeowLoad · Main (meow-empty) — 0 credits (used up)",
        "SociaVault · Main (socia-due) — 5,000 credits · subscription past due",
    ]
    assert submenu_lines(controller, 3) == [
        "Invalid API key: update it in Settings",
        "No balance fetched yet",
        "User api key not exist.",
        "Open &top-up page", "&Copy balance", "&Refresh this account", "&History…",
    ]
    tooltip = controller.tray.toolTip().splitlines()
    assert tooltip[0] == "MeowLoad · Main (meow): 282,539 credits"
    assert tooltip[1] == "SociaVault · Main (socia): 950 credits (below 1,000)"
    assert tooltip[4] == "MeowLoad · Main (meow-empty): 0 credits (used up)"
    assert controller.icon_state() is IconState.EXHAUSTED
    assert controller.tray.icon().cacheKey() == controller.icons.icon(IconState.EXHAUSTED).cacheKey()


def test_numbers_follow_the_users_locale_at_every_update(qtbot, server: FakeServer, make_controller) -> None:
    """The locale's separators are read once per update of the menu, and again at the next one."""
    route(server, "meow", "meowload", MEOW_OK)
    controller = make_controller([("meow", "meowload")], server)
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))
    start(qtbot, controller)
    assert rows(controller) == ["MeowLoad · Main — 282.539 credits"]
    assert "282.539 credits" in controller.tray.toolTip()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    run_refresh(qtbot, controller)
    assert rows(controller) == ["MeowLoad · Main — 282,539 credits"]
    assert "282,539 credits" in controller.tray.toolTip()


def test_icon_follows_the_worst_state_and_can_show_the_lowest_number(qtbot, server: FakeServer,
                                                                     make_controller) -> None:
    route(server, "meow", "meowload", MEOW_OK)
    route(server, "socia", "sociavault", Reply(200, {"credits": 9800, "subscriptionStatus": "active"}))
    controller = make_controller([("meow", "meowload"), ("socia", "sociavault")], server, extra="icon_number = true")
    assert controller.icon_state() is IconState.UNKNOWN
    start(qtbot, controller)
    assert controller.icon_state() is IconState.OK
    assert controller.tray.icon().cacheKey() == controller.icons.icon(IconState.OK, "9.8K").cacheKey()

    route(server, "socia", "sociavault", SOCIA_LOW)
    run_refresh(qtbot, controller)
    assert controller.icon_state() is IconState.LOW
    assert controller.tray.icon().cacheKey() == controller.icons.icon(IconState.LOW, "950").cacheKey()

    # Less than one credit left is not "0": that number means nothing is left.
    route(server, "meow", "meowload", Reply(200, {"availableCredits": 0.4}))
    run_refresh(qtbot, controller)
    assert controller.icon_state() is IconState.LOW
    assert controller.tray.icon().cacheKey() == controller.icons.icon(IconState.LOW, "0.4").cacheKey()


def test_a_hanging_provider_does_not_hold_back_the_other_rows(qtbot, server: FakeServer, make_controller) -> None:
    accounts = [("slow", "meowload"), ("fast", "sociavault"), ("broken", "smarterbot")]
    route(server, "slow", "meowload", Reply(200, {"availableCredits": 5}, delay=6))
    route(server, "fast", "sociavault", SOCIA_LOW)
    route(server, "broken", "smarterbot", Reply(503, "<html><body>Service Unavailable</body></html>",
                                                {"Content-Type": "text/html"}))
    policy = FetchPolicy(attempt_timeout=8, total_timeout=10, max_attempts=1)
    controller = make_controller(accounts, server, policy=policy)
    controller.start()
    qtbot.waitUntil(lambda: len(rows(controller)) == 3 and "checking" not in "".join(rows(controller)[1:]),
                    timeout=5000)
    # The slow provider is still answering, yet the other rows are already up to date.
    assert controller.refreshing
    assert "slow" not in controller.results
    assert rows(controller) == [
        "MeowLoad · Main — checking…",
        "SociaVault · Main — 950 credits (below 1,000)",
        "SmarterBot · Main — SmarterBot is having server trouble: retrying at the next refresh",
    ]
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        pass
    assert rows(controller)[0] == "MeowLoad · Main — 5 credits (below 100)"


def test_a_failed_fetch_keeps_the_last_known_balance(qtbot, server: FakeServer, make_controller) -> None:
    route(server, "meow", "meowload", MEOW_OK)
    controller = make_controller([("meow", "meowload")], server)
    start(qtbot, controller)
    route(server, "meow", "meowload", Reply(401, {"message": "API Key 错误,请检查 API Key 是否正确"}))
    run_refresh(qtbot, controller)
    assert rows(controller) == ["MeowLoad · Main — Invalid API key: update it in Settings"]
    assert submenu_lines(controller, 0)[:3] == [
        "Invalid API key: update it in Settings",
        "Balance from just now: 282,539 credits",
        "API Key 错误,请检查 API Key 是否正确 (HTTP 401)",
    ]
    assert controller.icon_state() is IconState.ERROR


def test_several_alerts_in_one_refresh_make_one_summary_notification(qtbot, server: FakeServer,
                                                                     make_controller) -> None:
    accounts = [("a", "meowload"), ("b", "sociavault"), ("c", "unwatermark")]
    route(server, "a", "meowload", Reply(200, {"availableCredits": 1500}))
    route(server, "b", "sociavault", Reply(200, {"credits": 0, "subscriptionStatus": "active"}))
    route(server, "c", "unwatermark", Reply(200, {"code": 100000, "message": {}, "result": {"user_credits": "50"}}))
    controller = make_controller(accounts, server)
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    start(qtbot, controller)
    assert len(notices) == 1
    assert notices[0].title == "3 accounts need attention"
    assert notices[0].body.splitlines() == [
        "SociaVault · Main: out of credits",
        "MeowLoad · Main: 1,500 credits left, below 2,000",
        "Unwatermark · Main: 50 credits left, below 100",
    ]
    assert notices[0].account_id == "b"

    run_refresh(qtbot, controller)  # same balances: no new crossing, no new notification
    assert len(notices) == 1

    route(server, "a", "meowload", Reply(200, {"availableCredits": 250}))
    run_refresh(qtbot, controller)
    assert [n.title for n in notices[1:]] == ["MeowLoad · Main: 250 credits left"]
    assert notices[1].body == "Below your alert at 300."


def test_snooze_and_the_notifications_setting_silence_alerts(qtbot, server: FakeServer, make_controller) -> None:
    route(server, "a", "meowload", Reply(200, {"availableCredits": 1500}))
    controller = make_controller([("a", "meowload")], server)
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    snooze_actions = {a.text(): a for a in controller.snooze_menu.actions()}
    snooze_actions["For 1 hour"].trigger()
    start(qtbot, controller)
    assert notices == []
    assert controller.icon_state() is IconState.LOW  # the icon still tells
    snooze_actions["Resume notifications"].trigger()
    route(server, "a", "meowload", Reply(200, {"availableCredits": 50}))
    run_refresh(qtbot, controller)
    assert [n.title for n in notices] == ["MeowLoad · Main: 50 credits left"]


def test_notifications_off_in_config(qtbot, server: FakeServer, make_controller) -> None:
    route(server, "a", "meowload", Reply(200, {"availableCredits": 50}))
    controller = make_controller([("a", "meowload")], server, extra="notifications = false")
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    start(qtbot, controller)
    assert notices == []
    assert rows(controller) == ["MeowLoad · Main — 50 credits (below 100)"]


def test_a_broken_config_is_an_error_in_the_menu_and_is_left_alone(qtbot, server: FakeServer, make_controller,
                                                                   tmp_path: Path) -> None:
    controller = make_controller([], server)
    config = tmp_path / "config.toml"
    broken = b'refresh_minutes = 10\n[[accounts]]\nid = "x\n'
    config.write_bytes(broken)
    start(qtbot, controller)
    texts = [a.text() for a in controller.menu.actions() if a.isVisible()]
    assert texts[0].startswith(f"Config error: {config}:3: invalid TOML")
    assert controller.icon_state() is IconState.ERROR
    assert config.read_bytes() == broken


def test_quit_stops_the_worker_within_a_second_while_a_provider_hangs(qtbot, server: FakeServer,
                                                                      make_controller) -> None:
    route(server, "hang", "meowload", Reply(200, {"availableCredits": 1}, delay=30))
    policy = FetchPolicy(attempt_timeout=25, total_timeout=30, max_attempts=1)
    controller = make_controller([("hang", "meowload")], server, policy=policy)
    controller.start()
    qtbot.waitUntil(lambda: len(server.requests) == 1, timeout=5000)
    started = time.monotonic()
    controller.shutdown()
    assert time.monotonic() - started < 1.0
    assert controller.worker.thread.isFinished()
    assert not [t for t in threading.enumerate() if t.name == "credit-tray-refresh"]


def test_a_full_disk_is_said_in_the_menu_and_the_balances_still_show(qtbot, server: FakeServer, make_controller,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    route(server, "meow", "meowload", MEOW_OK)
    controller = make_controller([("meow", "meowload")], server)

    full = [True]
    record = controller.engine.history.record

    def disk_full(*args: object, **kwargs: object) -> None:
        if full[0]:  # what HistoryStore raises when SQLite finds the disk full (tested for real on a tmpfs)
            raise HistoryError(controller.engine.history.path, "No space left on device")
        record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(controller.engine.history, "record", disk_full)
    start(qtbot, controller)
    visible = [a.text() for a in controller.menu.actions() if a.isVisible() and a.text()]
    assert rows(controller) == ["MeowLoad · Main — 282,539 credits"]
    assert any(t.startswith("Can't save balances: could not save the balances to ") and
               t.endswith("No space left on device") for t in visible), visible
    full[0] = False  # space again: the next save works and the line goes away
    run_refresh(qtbot, controller)
    assert not [t for t in (a.text() for a in controller.menu.actions() if a.isVisible())
                if t.startswith("Can't save")]


def test_a_long_retry_after_is_honoured_by_timed_refreshes_and_shown_until_when(qtbot, server: FakeServer,
                                                                                 make_controller) -> None:
    """Retry-After: two hours, refresh interval: an hour. The timer's refresh does not ask again."""
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    route(server, "meow", "meowload", Reply(429, {"message": "quota"}, {"Retry-After": format_datetime(until, True)}),
          MEOW_OK)
    route(server, "socia", "sociavault", SOCIA_LOW)
    controller = make_controller([("meow", "meowload"), ("socia", "sociavault")], server,
                                 policy=FetchPolicy(attempt_timeout=2, total_timeout=4, max_retry_wait=1))
    start(qtbot, controller)
    expected = f"MeowLoad · Main — Rate limited until {until.astimezone():%H:%M}"
    assert rows(controller)[0] == expected
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        controller.scheduler.due.emit("timer")
    assert len(server.requests_to(f"/socia{PATHS['sociavault']}")) == 2  # the timer did refresh
    assert len(server.requests_to(f"/meow{PATHS['meowload']}")) == 1  # but did not ask MeowLoad again
    assert rows(controller)[0] == expected


def test_a_stored_key_that_cannot_be_sent_says_so_in_its_row(qtbot, server: FakeServer, make_controller) -> None:
    route(server, "meow", "meowload", MEOW_OK)
    controller = make_controller([("meow", "meowload")], server, keys=False)
    KeyStore().set("meow", "sk-tray-tést-0001")
    start(qtbot, controller)
    assert rows(controller) == ["MeowLoad · Main — Stored API key unusable: replace it in Settings"]
    assert server.requests == []


def test_a_refused_key_notification_does_not_double_the_providers_full_stop(qtbot, server: FakeServer,
                                                                           make_controller) -> None:
    route(server, "unwater", "unwatermark", UNWATERMARK_BAD_KEY)
    controller = make_controller([("unwater", "unwatermark")], server)
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    start(qtbot, controller)
    assert [(n.title, n.body) for n in notices] == [
        ("Unwatermark · Main: API key refused", "User api key not exist. Update the key in Settings.")]


def test_a_proxys_404_page_is_not_taken_for_a_bad_key(qtbot, server: FakeServer, make_controller) -> None:
    page = "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nginx</body></html>"
    route(server, "socia", "sociavault", Reply(404, page, {"Content-Type": "text/html"}))
    controller = make_controller([("socia", "sociavault")], server)
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    start(qtbot, controller)
    assert rows(controller) == ["SociaVault · Main — Not SociaVault's answer (HTTP 404): check the base URL"]
    assert notices == []  # no "API key refused" alert for a key nobody refused


def test_results_that_arrive_together_update_the_menu_once(qtbot, server: FakeServer, make_controller) -> None:
    """Results queue up while the GUI thread is busy (200 accounts answering at once): they are applied
    in one pass, not one rebuild of the menu, tooltip and icon per account (which grew as N²)."""
    accounts = [(f"acct-{n}", "meowload") for n in range(30)]
    for account_id, provider in accounts:
        route(server, account_id, provider, MEOW_OK)
    controller = make_controller(accounts, server)
    start(qtbot, controller)
    finished = threading.Event()
    controller.worker.worker.refreshFinished.connect(lambda _: finished.set(), Qt.ConnectionType.DirectConnection)
    updates: list[None] = []
    controller.rowsChanged.connect(lambda: updates.append(None))

    controller.refresh(manual=True)
    # The GUI thread does not turn while the worker delivers every result (as when it is busy drawing).
    assert finished.wait(20)
    with qtbot.waitSignal(controller.refreshed, timeout=10_000):
        pass

    assert len(rows(controller)) == 30
    assert all("282,539 credits" in row for row in rows(controller))
    # The config read at the refresh's start, the stand-in window for the missing tray (offscreen) and the
    # 30 results in one pass: a handful, where one update per result made it more than 30.
    assert len(updates) <= 5, len(updates)


FIRST_ICON = """
import json, os, sys
from PySide6.QtWidgets import QSystemTrayIcon

def show(icon):
    later = ("PySide6.QtSvg", "PySide6.QtNetwork", "tray_app.providers", "tray_app.ui.notifications")
    loaded = sorted(m for m in sys.modules if m.startswith(later))
    sizes = [icon.icon().pixmap(size).width() for size in (16, 22, 32, 64)]
    import linecache, httpx, tray_app.engine  # what loads after the icon
    from PySide6.support import feature
    kept = sorted(name for name in linecache.cache if "httpx" in name or "engine" in name)
    uses = [feature.pyside_feature_dict.get(name) for name in ("tray_app.ui.tray", "httpx")]
    print(json.dumps({"loaded": loaded, "icon": sizes, "kept": kept, "uses": uses}))
    sys.stdout.flush()
    os._exit(0)

QSystemTrayIcon.show = show
from tray_app.launch import main
main(sys.argv[1:])
"""


def first_icon(tmp_path: Path, env: dict[str, str]) -> dict[str, list]:
    """Start the tray offscreen up to its first icon; what was loaded then, and after loading the engine."""
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nid = "meow"\nprovider = "meowload"\n', "utf-8")
    done = subprocess.run([sys.executable, "-c", FIRST_ICON, "--config", str(config)], capture_output=True,
                          text=True, timeout=60, check=False, env={**env, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(shown, dict)
    return shown


def test_the_first_icon_is_drawn_without_svgs_or_providers(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    """At login the first icon comes from ready-drawn PNGs: QtSvg, the SVGs and the provider registry
    load later, when a balance changes the icon or names an account; QtNetwork and the desktop
    notifications right after the icon."""
    shown = first_icon(tmp_path, isolated_env)
    assert (shown["loaded"], shown["icon"]) == ([], [16, 22, 32, 64])


def test_what_loads_after_the_icon_leaves_no_copy_of_its_source(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    """PySide6's import hook reads the source of every module imported after it, and ``linecache`` kept
    it all: 12 MiB of the tray's memory for the engine's libraries. PySide6's answers stay the same."""
    shown = first_icon(tmp_path, isolated_env)
    assert shown["kept"] == []
    assert shown["uses"] == [0, -1]  # the tray's module uses PySide6, httpx does not


SECOND_START = ("import sys\nfrom tray_app.ui.single_instance import SingleInstance\n"
                "print('claimed' if SingleInstance(sys.argv[1]).claim() else 'handed over')\n")


def test_a_second_start_while_the_first_shows_its_icon_waits_and_hands_over(qtbot, tmp_path: Path) -> None:
    """The name is claimed before the icon shows and answered once the icon is up: a second start in
    between waits in the socket's queue, hands over, and shows no second icon."""
    name = str(tmp_path / "credit-tray.sock")
    first = SingleInstance(name)
    try:
        assert first.claim()  # not answering yet
        second = subprocess.Popen([sys.executable, "-c", SECOND_START, name], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert second.poll() is None  # waiting for an answer
        with qtbot.waitSignal(first.activated, timeout=10_000):
            first.serve()
        out, err = second.communicate(timeout=10)
        assert second.returncode == 0, err
        assert out.strip() == "handed over"
    finally:
        first.close()
        shiboken6.delete(first)
    assert not Path(name).exists()  # no stale socket left behind


@pytest.mark.parametrize("state", list(IconState))
def test_the_ready_drawn_icons_are_the_svgs(qapp: QApplication, state: IconState) -> None:
    """resources/icon-<state>.png is what the SVGs draw (``python -m tray_app.ui.icons`` redraws them)."""
    assert resource_bytes(strip_name(state)).size() > 0  # shipped, not drawn as a fallback
    factory = IconFactory(template=False)
    for size in SIZES:
        shipped = factory.pixmap(state, size).toImage().convertToFormat(QImage.Format.Format_ARGB32)
        drawn = factory.drawn(state, size).toImage().convertToFormat(QImage.Format.Format_ARGB32)
        assert (shipped.width(), shipped.height()) == (size, size)
        worst = max(abs(a - b) for y in range(size) for x in range(size)
                    for a, b in zip(shipped.pixelColor(x, y).getRgb(), drawn.pixelColor(x, y).getRgb(), strict=True))
        assert worst <= 2, f"{state} at {size} px differs by {worst}"


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_quitting_while_the_engine_loads_leaves_no_traceback(qtbot, tmp_path: Path, qapp: QApplication) -> None:
    """A quit right after the start (a second start's hand-over, a logout) comes before the engine is
    loaded; the loading thread then has nobody to tell, and says nothing."""
    release = threading.Event()

    def load_engine() -> tuple[Engine, Path | None]:
        assert release.wait(20)
        return Engine(tmp_path / "config.toml", keys=KeyStore(), history=HistoryStore(":memory:")), None

    controller = TrayController(None, load_engine=load_engine, refresh_seconds=3600)
    controller.start()
    dispose_tray(controller)
    loading = [t for t in threading.enumerate() if t.name == "credit-tray-start"]
    assert loading
    release.set()
    for thread in loading:
        thread.join(10)
    qtbot.wait(50)


def test_the_icon_shows_before_the_engine_is_loaded(qtbot, server: FakeServer, isolated_env: dict[str, str],
                                                    tmp_path: Path, qapp: QApplication) -> None:
    """At login the icon comes first: the engine (its imports, the keyring) loads after, off the GUI thread."""
    route(server, "meow", "meowload", MEOW_OK)
    config = tmp_path / "config.toml"
    write_config(config, server, [("meow", "meowload")])
    KeyStore().set("meow", KEY)
    release = threading.Event()
    loader_threads: list[str] = []

    def load_engine() -> tuple[Engine, Path | None]:
        loader_threads.append(threading.current_thread().name)
        assert release.wait(20)
        return Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "history.sqlite3"),
                      notifier="tray"), None

    controller = TrayController(None, load_engine=load_engine, refresh_seconds=3600)
    try:
        controller.start()
        assert controller.tray.isVisible()
        qtbot.waitUntil(lambda: bool(loader_threads), timeout=5000)
        assert loader_threads != [threading.main_thread().name]
        controller.refresh(manual=True)  # asked for while the engine loads: it runs once it is there
        qtbot.wait(50)  # the GUI thread turns while the loader waits
        assert rows(controller) == []
        with qtbot.waitSignal(controller.refreshed, timeout=10_000):
            release.set()
        qtbot.waitUntil(lambda: rows(controller) == ["MeowLoad · Main — 282,539 credits"], timeout=10_000)
    finally:
        release.set()
        dispose_tray(controller)
