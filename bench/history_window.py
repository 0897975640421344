"""Opening the History window and drawing 30 days of one account, beside a bare window in the same run.

The history holds a year of one-minute readings for 10 accounts (as bench/history.py writes
it, thinned as the app thins it); the window is opened on one account's 30 days at full
resolution: from the constructor to the data read (off the GUI thread) and the whole window
painted. The baseline is a bare QWidget of the same size shown and painted. Target: < 300 ms.
Also: how long the GUI thread is busy at most while the window loads (the read must not count).

    python bench/history_window.py [--days N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from bench.history import fill
from tray_app.config import Account, Config
from tray_app.history import HistoryStore
from tray_app.ui.history_window import HistoryWindow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    app = QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="credit-tray-bench-"))
    now = datetime.now(UTC)  # the window shows the 30 days before now: the data must end now
    clock = [now - timedelta(days=args.days)]
    store = HistoryStore(folder / "history.sqlite3", clock=lambda: clock[0])
    filled = fill(store, clock, args.days, end=now)
    print(f"history: {args.days} days of 1-minute readings for 10 accounts (written in {filled:.0f} s)")
    accounts = tuple(Account(id=f"account-{i}", provider_id="meowload", label=f"Account {i}",
                             thresholds=(Decimal(10_000), Decimal(100), Decimal(0))) for i in range(10))
    config = Config(path=folder / "config.toml", accounts=accounts)

    opened, painted, bare, stalls, points = [], [], [], [], []
    for run in range(args.runs):
        started = time.perf_counter()
        window = HistoryWindow(store, config, account_id=f"account-{run % 10}")
        window.set_range("30 d")
        loop = QEventLoop()
        window.loaded.connect(loop.quit)
        longest = [0.0]
        ticker = QElapsedTimer()
        ticker.start()
        timer = QTimer()

        def tick(clock: QElapsedTimer = ticker, worst: list[float] = longest) -> None:
            worst[0] = max(worst[0], clock.restart() / 1000)

        timer.timeout.connect(tick)
        timer.start(5)
        loop.exec()
        timer.stop()
        window.show()
        ready = time.perf_counter()
        window.grab()  # the whole window painted, charts included
        done = time.perf_counter()
        opened.append(done - started)
        painted.append(done - ready)
        stalls.append(longest[0])
        points.append(len(window.table_model._rows))
        window.close()
        window.deleteLater()
        app.processEvents()

        started = time.perf_counter()
        plain = QWidget()
        plain.resize(760, 560)
        plain.show()
        plain.grab()
        bare.append(time.perf_counter() - started)
        plain.close()

    print(f"open the window on 30 days of one account ({min(points):,} to {max(points):,} readings), {args.runs} runs,"
          " median (target < 300 ms)")
    print(f"  History window, open to painted   {statistics.median(opened) * 1000:7.1f} ms "
          f"(max {max(opened) * 1000:.1f})")
    print(f"    of which the paint              {statistics.median(painted) * 1000:7.1f} ms")
    print(f"  bare QWidget, shown and painted   {statistics.median(bare) * 1000:7.1f} ms")
    print(f"  longest GUI-thread gap while it loaded: {max(stalls) * 1000:.1f} ms (a 5 ms timer)")
    store.close()


if __name__ == "__main__":
    main()
