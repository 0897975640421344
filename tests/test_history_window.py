"""The History window through pytest-qt: ranges, reading a point, the forecast, the table, CSV export,
and a history read that never blocks the GUI thread."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer

from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import route_for, store_keys, write_config
from tests.reliability_tray import MakeTray, account_menus, make_tray, start  # noqa: F401
from tray_app.config import Account, Config
from tray_app.history import Entry, HistoryStore, Series
from tray_app.model import Reading
from tray_app.ui.history_window import HistoryWindow

NOW = datetime.now(UTC).replace(microsecond=0)
MEOW = Account(id="meow", provider_id="meowload", label="Work",
               thresholds=tuple(Decimal(t) for t in (10000, 2000, 300, 100, 0)))


pytestmark = pytest.mark.usefixtures("english_gui")


def burn(store: HistoryStore) -> list[tuple[datetime, int]]:
    """Ten days: 20,000 a day, a top-up of 100,000 five days ago, every 20 minutes."""
    readings = []
    balance = 150_000
    for i in range(10 * 72, -1, -1):
        at = NOW - timedelta(minutes=20 * i)
        if i == 5 * 72:
            balance += 100_000
        balance -= 20_000 // 72
        readings.append((at, balance))
    store.record([Entry("meow", Reading(remaining=Decimal(v), unit="credits", fetched_at=at), at)
                  for at, v in readings])
    return readings


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    history = HistoryStore(tmp_path / "history.sqlite3")
    yield history
    history.close()


def open_window(qtbot, store: HistoryStore, **kwargs: object) -> HistoryWindow:
    config = Config(path=Path("config.toml"), accounts=(MEOW,))
    window = HistoryWindow(store, config, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.balance_chart.data is not None, timeout=10_000)
    window.show()
    return window


def test_the_window_shows_the_chosen_range_reads_a_point_and_the_forecast(qtbot, store: HistoryStore) -> None:
    readings = burn(store)
    window = open_window(qtbot, store, account_id="meow")
    assert window.windowTitle() == "History — Credit Tray"
    assert window.picker.currentText() == "MeowLoad · Work"
    data = window.balance_chart.data
    assert data is not None
    assert data.end - data.start == pytest.approx(7 * 86400, abs=60)  # 7 d by default
    assert len(data.top_ups) == 1
    assert data.top_ups[0].at == NOW - timedelta(minutes=20 * 5 * 72)
    assert data.usage.runs_out_at is not None  # ~13 days of 20,000 a day from 255,000-ish... within 10x span
    assert window.summary.text().startswith("Uses about 19,944 credits a day; runs out in about ")  # 277 / 20 min
    assert window.summary.text().endswith("1 top-up in this range.")

    # A click on the right end of the line reads the newest balance and its time.
    rect = window.balance_chart.plot_rect()
    start, end = window.balance_chart.x_range()
    x = rect.left() + (readings[-1][0].timestamp() - start) / (end - start) * rect.width()
    qtbot.mouseClick(window.balance_chart, Qt.MouseButton.LeftButton, pos=QPoint(round(x), int(rect.center().y())))
    assert window.hover_line.text().endswith(f": {readings[-1][1]:,} credits")
    # Further right, on the dashed forecast: what is left at the current pace.
    qtbot.mouseClick(window.balance_chart, Qt.MouseButton.LeftButton,
                     pos=QPoint(int(rect.right()) - 2, int(rect.center().y())))
    assert "at the current pace" in window.hover_line.text()

    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.set_range("24 h")
    data = window.balance_chart.data
    assert data is not None
    assert data.end - data.start == pytest.approx(86400, abs=60)
    assert all(t >= data.start - 1200 for t in data.times)
    assert len(window.usage_bars.days()) in (1, 2)  # today, and yesterday if the 24 h reach into it

    # The usage bars read a day's total.
    bars = window.usage_bars.plot_rect()
    qtbot.mouseClick(window.usage_bars, Qt.MouseButton.LeftButton, pos=QPoint(int(bars.right()) - 3,
                                                                              int(bars.center().y())))
    assert window.hover_line.text().endswith(" credits used")

    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.set_range("All")
    assert window.balance_chart.data is not None
    assert window.balance_chart.data.start == pytest.approx(readings[0][0].timestamp())


def test_the_table_lists_balances_newest_first_and_export_writes_every_reading(qtbot, store: HistoryStore,
                                                                                tmp_path: Path) -> None:
    readings = burn(store)
    window = open_window(qtbot, store, account_id="meow")
    model = window.table_model
    assert model.rowCount() > 400
    assert model.data(model.index(0, 2)) == f"{readings[-1][1]:,} credits"  # newest first
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Balance"
    target = tmp_path / "out" / "meow.csv"
    target.parent.mkdir()
    with qtbot.waitSignal(window.exported, timeout=10_000):  # written off the GUI thread
        window.export_csv(str(target))
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["from", "until", "remaining", "used", "total", "unlimited", "unit"]
    week = [r for r in readings if r[0] >= NOW - timedelta(days=7)]
    assert len(rows) - 1 in (len(week) - 1, len(week))  # the reading at the very edge may fall either side
    assert rows[-1][2:] == [str(readings[-1][1]), "", "", "false", "credits"]
    assert window.summary.text() == f"Exported {len(rows) - 1} readings to {target}"
    assert target.stat().st_mode & 0o777 == 0o600
    # A place that cannot be written (a file where the folder should be): one line, nothing written.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with qtbot.waitSignal(window.exported, timeout=10_000):  # written off the GUI thread
        window.export_csv(str(blocker / "x.csv"))
    assert window.summary.text().startswith(f"Could not export to {blocker / 'x.csv'}: ")
    assert blocker.read_text() == "x"


class SlowStore(HistoryStore):
    """A real store whose reads wait until released: the GUI must go on meanwhile."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def series(self, account_id: str, since: datetime | None = None) -> Series:
        self.release.wait(10)
        return super().series(account_id, since)


def test_reading_the_history_never_blocks_the_gui_thread(qtbot, tmp_path: Path) -> None:
    slow = SlowStore(tmp_path / "history.sqlite3")
    burn(slow)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    config = Config(path=Path("config.toml"), accounts=(MEOW,))
    started = time.monotonic()
    window = HistoryWindow(slow, config)
    qtbot.addWidget(window)
    assert time.monotonic() - started < 1.0  # the constructor did not wait for the read
    qtbot.wait(300)
    assert len(ticks) >= 5  # the event loop kept running while the read waited
    assert window.balance_chart.data is None
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        slow.release.set()
    assert window.balance_chart.data is not None
    timer.stop()
    slow.close()


class SlowReadings(HistoryStore):
    """A real store whose exact readings (what an export reads) wait until released."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def readings(self, account_id: str, since: datetime | None = None) -> Any:
        self.release.wait(10)
        return super().readings(account_id, since=since)


def test_an_export_never_blocks_the_gui_thread(qtbot, tmp_path: Path) -> None:
    slow = SlowReadings(tmp_path / "history.sqlite3")
    burn(slow)
    window = open_window(qtbot, slow, account_id="meow")
    target = tmp_path / "meow.csv"
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    window.export_csv(str(target))  # returns at once: the read waits on its own thread
    qtbot.wait(300)
    assert len(ticks) >= 5  # the event loop kept running while the export's read waited
    assert not target.exists()
    with qtbot.waitSignal(window.exported, timeout=10_000):
        slow.release.set()
    assert target.exists()
    timer.stop()
    slow.close()


def test_an_account_with_no_history_says_so(qtbot, store: HistoryStore) -> None:
    window = open_window(qtbot, store)
    assert window.balance_chart.data is not None
    assert window.balance_chart.data.times == ()
    assert window.summary.text() == "Not enough history yet for a burn rate."
    assert not window.export_button.isEnabled()
    grabbed = window.balance_chart.grab()  # paints the empty state without error
    assert not grabbed.isNull()


def test_history_opens_from_the_menu_and_lets_go_when_closed(qtbot, make_tray: MakeTray, server: FakeServer,  # noqa: F811
                                                            tmp_path: Path, isolated_env: dict[str, str]) -> None:
    server.route(route_for("meow", "meowload"), Reply(200, {"availableCredits": 5000}))
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "label": "Work",
                                                      "base_url": f"{server.url}/meow"}])
    store_keys({"meow": "sk-history-window-0001"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert controller.history_action.text() == "&History…"
    submenu = [a.text() for a in account_menus(controller)[0].actions()]
    assert "&History…" in submenu
    controller.history_action.trigger()
    window = controller.history_window
    assert window is not None
    qtbot.waitUntil(lambda: window.balance_chart.data is not None and bool(window.balance_chart.data.times),
                    timeout=10_000)
    assert window.isVisible()
    assert window.balance_chart.data.values[-1] == 5000  # the reading the tray just recorded
    with qtbot.waitSignal(window.destroyed, timeout=5000):
        window.close()
    assert controller.history_window is None


class _FirstReadHeld:
    """The store as the window uses it, but its first read answers only after the second one has: the
    answers cross every time, not only when the threads happen to."""

    def __init__(self, store: HistoryStore) -> None:
        self._store = store
        self._reads = 0
        self._second_done = threading.Event()
        self.first_answered = threading.Event()

    def series(self, *args: Any, **kwargs: Any) -> Any:
        self._reads += 1
        if self._reads == 1:
            assert self._second_done.wait(10)
            try:
                return self._store.series(*args, **kwargs)
            finally:
                self.first_answered.set()
        try:
            return self._store.series(*args, **kwargs)
        finally:
            self._second_done.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_only_the_latest_choice_is_shown_when_answers_cross(qtbot, store: HistoryStore) -> None:
    burn(store)
    held = _FirstReadHeld(store)
    config = Config(path=Path("config.toml"), accounts=(MEOW,))
    window = HistoryWindow(held, config, account_id="meow")  # type: ignore[arg-type]  # asks for 7 d ...
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.set_range("24 h")  # ... and 24 h before that answer is in
    assert held.first_answered.wait(10)  # the 7 d answer comes after the 24 h one...
    qtbot.wait(200)  # ... and reaches the GUI thread's queue
    data = window.balance_chart.data
    assert data is not None
    assert data.end - data.start == pytest.approx(86400, abs=60)  # the 7 d answer was never shown
