"""The reading history's costs, each beside a baseline measured in the same run.

- Recording one refresh's reading into a history already holding a year of data (median, p99),
  beside the floor (one bare INSERT in a transaction on the same file, same pragmas) and the
  old design (rewriting a 10-account state.json atomically, as versions before the history did).
- The file size after a year of one-minute readings for 10 accounts whose balances change at
  every reading (the worst case: no row is extended), thinned as the app thins it.
- Reading 30 days of one account (43,200 full-resolution rows) as the charts will, beside the
  bare SELECT of the same rows.

Targets (issue "Alerts a user can trust"): < 1 ms to record, < 100 MB for the year, < 50 ms to read.

    python bench/history.py [--days N]     # N days of data (default 365)
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tray_app.fileio import atomic_write
from tray_app.history import Entry, HistoryStore
from tray_app.model import Reading

ACCOUNTS = 10
END = datetime(2027, 1, 1, tzinfo=UTC)


def fill(store: HistoryStore, clock: list[datetime], days: int, end: datetime = END) -> float:
    """A year of one-minute readings for 10 accounts, an hour per transaction, time moving on."""
    started = time.perf_counter()
    at = end - timedelta(days=days)
    balances = [10**9 + i for i in range(ACCOUNTS)]
    while at < end:
        entries = []
        for _ in range(60):
            for account in range(ACCOUNTS):
                balances[account] -= 1 + account
                reading = Reading(remaining=Decimal(balances[account]), unit="credits", fetched_at=at)
                entries.append(Entry(f"account-{account}", reading, at))
            at += timedelta(minutes=1)
        clock[0] = at
        store.record(entries)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def time_record(store: HistoryStore, clock: list[datetime], runs: int) -> list[float]:
    times = []
    at = clock[0]
    for i in range(runs):
        at += timedelta(minutes=1)
        clock[0] = at
        reading = Reading(remaining=Decimal(5_000_000 - i), unit="credits", fetched_at=at)
        started = time.perf_counter()
        store.record([Entry("account-0", reading, at)])
        times.append(time.perf_counter() - started)
    return times


def time_bare_insert(path: Path, runs: int) -> list[float]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS bare (account INTEGER, at INTEGER, remaining TEXT,"
               " PRIMARY KEY (account, at)) WITHOUT ROWID")
    times = []
    for i in range(runs):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO bare VALUES (1, ?, ?)", (i, str(5_000_000 - i)))
        db.execute("COMMIT")
        times.append(time.perf_counter() - started)
    db.close()
    return times


def time_state_json(path: Path, runs: int) -> list[float]:
    entry = {"last_good": {"remaining": "12345", "used": None, "total": None, "unlimited": False, "unit": "credits",
                           "subscription_status": None, "subscription_id": None,
                           "fetched_at": "2026-11-29T12:00:00+00:00"}, "auth_alerted": False}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        old = json.loads(path.read_bytes()) if path.exists() else {"version": 1, "accounts": {}}
        old["accounts"].update({f"account-{i}": entry for i in range(ACCOUNTS)})
        atomic_write(path, json.dumps(old, indent=1).encode())
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="credit-tray-bench-"))
    path = folder / "history.sqlite3"
    clock = [END - timedelta(days=args.days)]
    store = HistoryStore(path, clock=lambda: clock[0])

    filled = fill(store, clock, args.days)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    size = sum(p.stat().st_size for p in folder.glob("history.sqlite3*"))
    print(f"{args.days} days of 1-minute readings, {ACCOUNTS} accounts, every balance changing "
          f"({args.days * 1440 * ACCOUNTS:,} readings, written in {filled:.0f} s):")
    print(f"  database file {size / 2**20:.1f} MiB, {rows:,} rows after thinning (target < 100 MB)")

    store = HistoryStore(path, clock=lambda: clock[0])
    ours = time_record(store, clock, args.runs)
    bare = time_bare_insert(folder / "bare.sqlite3", args.runs)
    old = time_state_json(folder / "state.json", args.runs)
    print(f"record one reading, {args.runs} runs        median      p99")
    for name, times in (("HistoryStore.record", ours), ("bare INSERT (floor)", bare),
                        ("old state.json rewrite", old)):
        print(f"  {name:<24} {statistics.median(times) * 1000:>7.3f} ms {percentile(times, 0.99) * 1000:>7.3f} ms")

    since = clock[0] - timedelta(days=30)

    def timed(job: object) -> float:
        times = []
        for _ in range(20):
            started = time.perf_counter()
            job()  # type: ignore[operator]
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    count = len(store.series("account-3", since=since).remaining)
    db = sqlite3.connect(path)
    low = int(since.timestamp() * 1e6)
    floor = timed(lambda: db.execute("SELECT first_seen, last_seen, remaining FROM readings WHERE account = 4"
                                     " AND last_seen >= ? ORDER BY first_seen", (low,)).fetchall())
    db.close()
    print(f"read 30 days of one account ({count:,} readings), 20 runs, median (target < 50 ms)")
    columns = timed(lambda: store.series("account-3", since=since))
    print(f"  HistoryStore.series     {columns:>7.1f} ms  (charts, usage)")
    print(f"  bare SELECT (floor)     {floor:>7.1f} ms")
    print(f"  HistoryStore.readings   {timed(lambda: store.readings('account-3', since=since)):>7.1f} ms"
          "  (exact Decimal objects, for export)")
    store.close()


if __name__ == "__main__":
    main()
