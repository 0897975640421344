"""The tray under stress: notification storms, every provider hanging, and crashes inside a refresh.

All through the real controller, worker thread and engine, against loopback servers.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer

from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import (
    ALL,
    SUCCESS_BODY,
    Blackhole,
    padded_success,
    route_for,
    store_keys,
    write_config,
)
from tests.reliability_tray import MakeTray, make_tray, refresh, row_lines, rows, start  # noqa: F401
from tray_app import engine as engine_module
from tray_app.engine import RefreshReport
from tray_app.fetch import FetchPolicy
from tray_app.logs import setup_file_logging
from tray_app.model import AlertKind
from tray_app.providers import PROVIDERS
from tray_app.texts import Notice
from tray_app.ui.icons import IconState

MEOW_THRESHOLDS = [Decimal(t) for t in (10000, 2000, 300, 100, 0)]  # MeowLoad's documented alert levels
QUICK = FetchPolicy(attempt_timeout=2, total_timeout=3, backoff_base=0.01)


# --------------------------------------------------------------------------- notification storm

def expected_alert(last_good: Decimal | None, outcome: Decimal | None) -> str | None:
    """The rule, independently, from the last good balance alone: a level fires when the balance is
    below it now and was at or above it before (no reading = infinitely high); reaching 0 is its own
    alert; a failure (None) neither alerts nor re-arms."""
    if outcome is None:
        return None
    last = Decimal("Infinity") if last_good is None else last_good
    if outcome <= 0 < last:
        return "exhausted"
    crossed = [t for t in MEOW_THRESHOLDS if t > 0 and outcome < t <= last]
    return f"threshold {min(crossed)}" if crossed else None


class Storm:
    """Many MeowLoad accounts on one server, each scripted refresh by refresh."""

    def __init__(self, server: FakeServer, count: int) -> None:
        self.server = server
        self.ids = [f"s{n:02d}" for n in range(count)]
        self.last_good: dict[str, Decimal | None] = dict.fromkeys(self.ids)

    def accounts(self) -> list[dict[str, Any]]:
        return [{"id": i, "provider": "meowload", "label": i, "base_url": f"{self.server.url}/{i}"}
                for i in self.ids]

    def script(self, balances: dict[str, Decimal | None]) -> dict[str, str]:
        """Serve these balances (None: a 500) and return the alerts the rule expects."""
        expected = {}
        for account_id, value in balances.items():
            reply = Reply(500, {"message": "down"}) if value is None else Reply(200, {"availableCredits": int(value)})
            self.server.route(route_for(account_id, "meowload"), reply)
            alert = expected_alert(self.last_good[account_id], value)
            if alert:
                expected[account_id] = alert
            if value is not None:
                self.last_good[account_id] = value
        return expected


def _alerts_of(report: RefreshReport) -> dict[str, str]:
    return {a.account_id: ("exhausted" if a.kind is AlertKind.EXHAUSTED else f"threshold {a.threshold}")
            for a in report.alerts}


def test_notification_storm_and_flapping_make_one_notice_per_refresh_and_one_alert_per_crossing(
        qtbot, make_tray: MakeTray, server: FakeServer, tmp_path: Path, isolated_env: dict[str, str]) -> None:  # noqa: F811
    storm = Storm(server, 50)
    config = write_config(tmp_path / "config.toml", storm.accounts())
    store_keys({i: f"sk-storm-{i}" for i in storm.ids})
    # Generous budgets: on a loaded machine a slow answer must not pass for a scripted failure.
    controller = make_tray(config, policy=FetchPolicy(attempt_timeout=10, total_timeout=20, backoff_base=0.01))
    notices: list[Notice] = []
    reports: list[RefreshReport] = []
    controller.notified.connect(notices.append)
    # Direct: recorded on the worker thread as it finishes (a queued slot could run after the check).
    controller.worker.worker.refreshFinished.connect(lambda r: reports.append(r) if r is not None else None,
                                                     Qt.ConnectionType.DirectConnection)

    rng = random.Random(50)
    plan: list[dict[str, Decimal | None]] = [
        dict.fromkeys(storm.ids, Decimal(50000)),  # all fine
        dict.fromkeys(storm.ids, Decimal(1500)),  # all 50 cross 10,000 and 2,000 at once
        dict.fromkeys(storm.ids, Decimal(1500)),  # nothing new
    ]
    for step in range(12):  # everybody flapping around 2,000, with failures in between
        plan.append({i: (None if rng.random() < 0.15 else Decimal(1900 if (step + n) % 2 else 2100))
                     for n, i in enumerate(storm.ids)})
    plan.append(dict.fromkeys(storm.ids, Decimal(0)))  # all run out together
    plan.append(dict.fromkeys(storm.ids, Decimal(0)))

    total_expected = 0
    for index, balances in enumerate(plan):
        expected = storm.script(balances)
        total_expected += len(expected)
        before = len(notices)
        if index == 0:
            start(qtbot, controller, timeout=30_000)
        else:
            refresh(qtbot, controller, timeout=30_000)
        new = notices[before:]
        # Recorded on the worker thread right after it posted the result to the GUI thread, so it
        # may land a moment after the GUI thread has applied the refresh.
        qtbot.waitUntil(lambda: len(reports) >= index + 1, timeout=5000)  # noqa: B023
        assert len(reports) == index + 1, (index, len(reports))
        errors = [(r.account_id, str(r.error)) for r in reports[-1].results if r.error and r.error.http_status != 500]
        assert not errors, (index, errors)  # only the scripted failures (500s) happened
        assert _alerts_of(reports[-1]) == expected, index  # one alert per crossing, none for a flap back
        assert len(new) == (1 if expected else 0), (index, [n.title for n in new])
        if len(expected) > 1:
            assert new[0].title == f"{len(expected)} accounts need attention"
            assert len(new[0].body.splitlines()) == 6  # five named, then "and N more"
            assert new[0].body.splitlines()[-1] == f"and {len(expected) - 5} more"
        elif expected:
            (account_id,) = expected
            assert new[0].account_id == account_id
    assert total_expected > 150  # the flapping really crossed, again and again
    assert len(notices) <= len(plan)


def test_a_single_balance_flapping_alerts_once_per_downward_crossing(qtbot, make_tray: MakeTray,  # noqa: F811
                                                                     server: FakeServer, tmp_path: Path,
                                                                     isolated_env: dict[str, str]) -> None:
    storm = Storm(server, 1)
    (account_id,) = storm.ids
    config = write_config(tmp_path / "config.toml", storm.accounts())
    store_keys({account_id: "sk-flap-0001"})
    controller = make_tray(config, policy=QUICK)
    notices: list[Notice] = []
    controller.notified.connect(notices.append)
    sequence = [2500, 1999, 2001, 1999, 1999, None, 1999, 2000, 1999, 2001, None, 1998, 2500, 1500, 1500]
    titles = []
    for index, value in enumerate(sequence):
        expected = storm.script({account_id: None if value is None else Decimal(value)})
        before = len(notices)
        if index == 0:
            start(qtbot, controller)
        else:
            refresh(qtbot, controller)
        got = notices[before:]
        assert len(got) == (1 if expected else 0), (index, value, [n.title for n in got])
        titles += [n.title for n in got]
    # The first reading (2,500) is below 10,000 (no earlier reading counts as infinitely high); then down
    # across 2,000 from 2,500, from 2,001 (a top-up above it), from 2,001 again after a failure that
    # neither alerted nor re-armed, from exactly 2,000 (at the level re-arms it), and from 2,500.
    title = f"MeowLoad · {account_id}"
    assert titles == [f"{title}: 2,500 credits left", f"{title}: 1,999 credits left", f"{title}: 1,999 credits left",
                      f"{title}: 1,999 credits left", f"{title}: 1,998 credits left", f"{title}: 1,500 credits left"]


# --------------------------------------------------------------------------- hangs

class StallMeter:
    """A 10 ms timer on the GUI thread; the longest gap between its ticks is the worst event-loop stall."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.monotonic()))

    def start(self) -> None:
        self.ticks = [time.monotonic()]
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
        return max(gaps) if gaps else float("inf")


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[list[Any]]:
    """The app's own file log on the root logger (its key filter runs on every record, GUI thread included)."""
    root = logging.getLogger()
    before = list(root.handlers), root.level
    sources: list[Any] = []
    setup_file_logging(tmp_path / "log", lambda: [k for s in sources for k in s()], level=logging.DEBUG)
    yield sources
    for handler in root.handlers[:]:
        if handler not in before[0]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(before[1])


def test_gui_stays_responsive_while_every_provider_hangs_and_quit_takes_under_a_second(
        qtbot, make_tray: MakeTray, server: FakeServer, tmp_path: Path, isolated_env: dict[str, str],  # noqa: F811
        app_log: list[Any]) -> None:
    hole = Blackhole()
    hangs = {
        "meowload": Reply(200, SUCCESS_BODY["meowload"], delay=60),  # never a status line
        "smarterbot": Reply(200, SUCCESS_BODY["smarterbot"], drip=60),  # headers, then nothing
        "sociavault": None,  # the TCP handshake never completes
        "unwatermark": Reply(200, padded_success("unwatermark", 100_000), drip=0.05),  # a byte at a time
    }
    accounts = []
    for provider_id, reply in hangs.items():
        account_id = f"h-{provider_id}"
        if reply is None:
            accounts.append({"id": account_id, "provider": provider_id, "base_url": f"http://127.0.0.1:{hole.port}"})
        else:
            server.route(route_for(account_id, provider_id), reply)
            accounts.append({"id": account_id, "provider": provider_id, "base_url": f"{server.url}/{account_id}"})
    config = write_config(tmp_path / "config.toml", accounts)
    store_keys({a["id"]: f"sk-hang-{a['id']}" for a in accounts})
    controller = make_tray(config, policy=FetchPolicy(attempt_timeout=50, total_timeout=60))
    app_log.append(controller.engine.keys.known_keys)
    meter = StallMeter()
    try:
        meter.start()
        controller.start()
        qtbot.waitUntil(lambda: len(server.requests) == 3, timeout=5000)
        # While everything hangs, keep the GUI busy the way a user would.
        for _ in range(10):
            controller.refresh(manual=True)  # queued behind the running refresh
            controller.menu.aboutToShow.emit()
            logging.getLogger("tray_app.ui.tray").info("a log line from the GUI thread")
            qtbot.wait(150)
        controller.show_window()
        qtbot.wait(500)
        worst = meter.stop()
        assert controller.refreshing
        assert rows(controller) == [f"{n} — checking…" for n in ("MeowLoad", "SmarterBot", "SociaVault",
                                                                  "Unwatermark")]
        assert worst < 0.050, f"the GUI thread stalled for {worst * 1000:.0f} ms"
        began = time.monotonic()
        controller.shutdown()
        took = time.monotonic() - began
    finally:
        hole.close()
    assert took < 1.0, took
    assert controller.worker.thread.isFinished()
    assert not [t for t in threading.enumerate() if t.name == "credit-tray-refresh"]
    print(f"\nworst GUI stall {worst * 1000:.1f} ms over {len(meter.ticks)} ticks; quit in {took * 1000:.0f} ms")


# --------------------------------------------------------------------------- crashes inside a refresh

KEY = "sk-crash-CANARY-7781"


class Boom(RuntimeError):
    pass


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise Boom(f"exploded while holding {KEY}")


async def _explode_async(*args: Any, **kwargs: Any) -> Any:
    raise Boom(f"exploded while holding {KEY}")


# where the crash is injected, and whether the accounts then show an error (True) or still their reading
CRASHES = {
    "provider-parser": True,
    "alert-rule": True,
    "result-building": True,
    "keyring-lookup": True,
    "whole-refresh": True,
    "history-read": False,
    "history-write": False,
}


def inject(where: str, monkeypatch: pytest.MonkeyPatch, controller: Any) -> None:
    engine = controller.engine
    if where == "provider-parser":
        for provider_id in ALL:
            monkeypatch.setitem(PROVIDERS, provider_id, replace(PROVIDERS[provider_id], parse=_explode))
    elif where == "alert-rule":
        monkeypatch.setattr(engine_module.alerts, "decide", _explode)
    elif where == "result-building":
        monkeypatch.setattr(engine_module, "make_result", _explode)
    elif where == "keyring-lookup":
        monkeypatch.setattr(engine, "_read_key", _explode_async)
    elif where == "whole-refresh":
        monkeypatch.setattr(engine, "refresh", _explode_async)
    elif where == "history-read":
        monkeypatch.setattr(engine.history, "latest_good", _explode)
        monkeypatch.setattr(engine.history, "alert_memory", _explode)
    elif where == "history-write":
        monkeypatch.setattr(engine.history, "record", _explode)


@pytest.mark.parametrize("where", sorted(CRASHES))
def test_a_crash_anywhere_in_a_refresh_is_caught_logged_without_keys_shown_and_the_next_refresh_runs(
        qtbot, make_tray: MakeTray, server: FakeServer, tmp_path: Path, isolated_env: dict[str, str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, where: str) -> None:
    accounts = []
    for provider_id in ALL:
        account_id = f"c-{provider_id}"
        server.route(route_for(account_id, provider_id), Reply(200, SUCCESS_BODY[provider_id]))
        accounts.append({"id": account_id, "provider": provider_id, "base_url": f"{server.url}/{account_id}"})
    config = write_config(tmp_path / "config.toml", accounts)
    store_keys({a["id"]: KEY for a in accounts})
    controller = make_tray(config, policy=QUICK)
    reports: list[RefreshReport | None] = []
    controller.worker.worker.refreshFinished.connect(reports.append, Qt.ConnectionType.DirectConnection)
    start(qtbot, controller)
    good = rows(controller)
    assert all(" — " in row and "checking" not in row for row in good), good

    caplog.clear()
    with monkeypatch.context() as patch:
        inject(where, patch, controller)
        refresh(qtbot, controller)
        crashed = rows(controller)
        details = [row_lines(controller, i) for i in range(len(ALL))]
    assert not controller.refreshing
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=5000)  # recorded on the worker thread, see above
    # The tray got a whole report (every account, so no row is left "checking…"), not a refresh that vanished.
    assert reports[-1] is not None
    assert sorted(r.account_id for r in reports[-1].results) == sorted(a["id"] for a in accounts)
    if CRASHES[where]:
        assert controller.icon_state() is IconState.ERROR
        for row, lines in zip(crashed, details, strict=True):
            assert " — Unexpected answer from " in row, row
            assert lines[1].startswith("Balance from just now: "), lines  # the last balance still shows
            assert lines[2].startswith("Internal error "), lines
            assert "see the log" in lines[2]
            assert KEY not in lines[2]
    else:
        assert crashed == good  # the balances are fine; only remembering them failed
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records if r.levelno >= logging.ERROR)
    assert "Boom" in logged, logged  # caught and logged, naming what broke
    # The exception's own text (which holds a key here) reaches the log only through the file
    # log's key filter (tests/test_reliability_secrets.py); the product's own lines leave it out.
    product_lines = [r.getMessage() for r in caplog.records if r.name.startswith("tray_app")
                     and r.exc_info is None]
    assert not [line for line in product_lines if KEY in line], product_lines

    # The next refresh runs as if nothing happened.
    refresh(qtbot, controller)
    assert rows(controller) == good
    assert controller.icon_state() is not IconState.ERROR
