"""What a tray refresh reads from the history before it fetches, with the week kept between refreshes
and, as the baseline in the same run, read again from the file at every refresh (the code before).

20 accounts with a week of one-minute readings that change at every reading (201,600 rows, the
worst case), then 10 refreshes, each recording one new reading per account as the tray does.

    python bench/refresh_history.py [--accounts N] [--minutes M]   # a reading every M minutes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tray_app.engine import Engine
from tray_app.history import Entry, HistoryStore
from tray_app.model import Reading

REFRESHES = 10


def fill(path: Path, ids: list[str], step: int) -> int:
    store = HistoryStore(path)
    now = datetime.now(UTC)
    count = 7 * 1440 // step
    batch: list[Entry] = []
    for k in range(count, 0, -1):
        at = now - timedelta(minutes=k * step)
        batch += [Entry(i, Reading(remaining=Decimal(1_000_000 - (count - k)), unit="credits", fetched_at=at), at)
                  for i in ids]
        if len(batch) > 20_000:
            store.record(batch)
            batch = []
    store.record(batch)
    store.close()
    return count * len(ids)


def refreshes(path: Path, ids: list[str], *, keep: bool) -> list[float]:
    """Seconds spent reading the history before each refresh (the last balances and the week)."""
    engine = Engine(history=HistoryStore(path), notifier="tray")
    engine.history.thin(datetime.now(UTC))  # as the first record of a run does, so it is not in the figures
    times = []
    for n in range(REFRESHES):
        if not keep:  # the baseline: the week comes from the file every time
            engine.history.close()
        started = time.perf_counter()
        engine._history_before(ids)
        times.append(time.perf_counter() - started)
        at = datetime.now(UTC)
        engine.history.record([Entry(i, Reading(remaining=Decimal(500 - n), unit="credits", fetched_at=at), at)
                               for i in ids])
    engine.history.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=1)
    args = parser.parse_args()
    ids = [f"a{i}" for i in range(args.accounts)]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "history.sqlite3"
        rows = fill(path, ids, args.minutes)
        kept = refreshes(path, ids, keep=True)
        again = refreshes(path, ids, keep=False)
    print(f"{args.accounts} accounts, a week of readings every {args.minutes} min ({rows:,} rows); "
          f"{REFRESHES} refreshes, median (max) of refreshes 2-{REFRESHES}")
    for name, times in (("the week kept between refreshes", kept), ("read from the file every refresh", again)):
        rest = times[1:]
        print(f"{name:34s} first {times[0] * 1000:7.1f} ms, then {statistics.median(rest) * 1000:7.1f} ms "
              f"({max(rest) * 1000:.1f})")


if __name__ == "__main__":
    main()
