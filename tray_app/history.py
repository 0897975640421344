"""The reading history: every outcome of every account, and each notifier's alert memory, in SQLite.

One file in the data dir, shared by the tray and any ``credit-tray check`` running beside it:
WAL lets one write while others read, a busy timeout makes a second writer wait its turn,
and every change is one short transaction, so nothing is lost and nothing is half-written.
An unchanged balance extends its row's "seen until" instead of adding a row, and old rows
are thinned (full resolution for 30 days, hourly to a year, daily after, gone after two),
so a year of one-minute readings stays a few megabytes.

Amounts are stored as decimal text (exact, as the providers gave them); times as integer
microseconds since the epoch (UTC, exact). No message text is stored: provider messages
may echo what was sent, and the history never holds anything key-like.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import itertools
import json
import logging
import operator
import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tray_app.alerts import AlertMemory
from tray_app.fileio import private_dir
from tray_app.i18n import _
from tray_app.model import ErrorKind, FetchError, Outcome, Reading

log = logging.getLogger(__name__)

#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 10_000
FULL_RESOLUTION = timedelta(days=30)
HOURLY_RESOLUTION = timedelta(days=365)
KEEP_FOR = timedelta(days=730)
#: Thinning runs at most this often per process (it is cheap, but there is no need).
THIN_EVERY = timedelta(hours=6)
HOUR_US = 3_600_000_000
#: A reading this far ahead of a newer one was taken with a wrong clock.
FUTURE_SLACK_US = 120_000_000
DAY_US = 24 * HOUR_US

_SCHEMA_V1 = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE readings (
    account INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,          -- µs since the epoch, UTC
    last_seen INTEGER NOT NULL,           -- the same balance was read again until then
    remaining TEXT, used TEXT, total TEXT, -- exact decimal text, NULL when not given
    unlimited INTEGER NOT NULL DEFAULT 0,
    unit TEXT NOT NULL,
    subscription_status TEXT,
    subscription_id TEXT,
    PRIMARY KEY (account, first_seen)
) WITHOUT ROWID;
CREATE TABLE errors (
    account INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,             -- the same failure repeated until then ...
    count INTEGER NOT NULL DEFAULT 1,     -- ... this many times
    kind TEXT NOT NULL,
    http_status INTEGER,
    PRIMARY KEY (account, first_at)
) WITHOUT ROWID;
CREATE TABLE alert_memory (
    notifier TEXT NOT NULL,               -- who shows the alerts ("tray"), never the CLI
    account INTEGER NOT NULL,
    fired TEXT NOT NULL,                  -- JSON list of the fired levels, as decimal text
    auth_alerted INTEGER NOT NULL,
    imported_level TEXT,
    PRIMARY KEY (notifier, account)
) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

#: Version 2: the tray remembers whether it told the run-out forecast.
_SCHEMA_V2 = "ALTER TABLE alert_memory ADD COLUMN forecast_alerted INTEGER NOT NULL DEFAULT 0;"

#: Schema migrations: entry N brings a database from user_version N to N + 1.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2)


class HistoryError(Exception):
    """The history cannot be read or written (disk full, read-only, locked for too long)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclass(frozen=True)
class HistoryPoint:
    """One balance as it was read from ``first_seen`` until ``last_seen``."""

    first_seen: datetime
    last_seen: datetime
    reading: Reading


@dataclass(frozen=True)
class Series:
    """Readings as parallel columns: µs since the epoch (first and last seen), amounts as floats."""

    first_seen_us: tuple[int, ...] = ()
    last_seen_us: tuple[int, ...] = ()
    remaining: tuple[float | None, ...] = ()
    used: tuple[float | None, ...] = ()
    unlimited: tuple[bool, ...] = ()


@dataclass(frozen=True)
class ErrorRun:
    """The same failure, ``count`` times from ``first_at`` to ``last_at``."""

    first_at: datetime
    last_at: datetime
    count: int
    kind: ErrorKind
    http_status: int | None


@dataclass(frozen=True)
class Entry:
    """One outcome to record: the account, what happened, and when it was checked."""

    account_id: str
    outcome: Outcome
    checked_at: datetime


def to_us(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _reading_row(reading: Reading) -> tuple[Any, ...]:
    """The columns that make two readings "the same balance"."""
    return (_text(reading.remaining), _text(reading.used), _text(reading.total), int(reading.unlimited),
            reading.unit, reading.subscription_status, reading.subscription_id)


def _reading_from_row(row: Sequence[Any], fetched_at: datetime) -> Reading:
    remaining, used, total, unlimited, unit, status, sub_id = row
    return Reading(remaining=_amount(remaining), used=_amount(used), total=_amount(total),
                   unlimited=bool(unlimited), unit=unit, subscription_status=status,
                   subscription_id=sub_id, fetched_at=fetched_at)


def _memory_to_row(memory: AlertMemory) -> tuple[str, int, str | None, int]:
    fired = json.dumps(sorted(str(level) for level in memory.fired))
    return fired, int(memory.auth_alerted), _text(memory.imported_level), int(memory.forecast_alerted)


def _memory_from_row(fired: str, auth_alerted: int, imported_level: str | None, forecast_alerted: int
                     ) -> AlertMemory:
    levels = json.loads(fired)
    if not isinstance(levels, list):
        raise ValueError("fired levels are not a list")  # untranslated: only its type is logged
    return AlertMemory(fired=frozenset(Decimal(str(level)) for level in levels),
                       auth_alerted=bool(auth_alerted), imported_level=_amount(imported_level),
                       forecast_alerted=bool(forecast_alerted))


def series_of(rows: Sequence[Sequence[Any]]) -> Series:
    """Columns from (first_seen, last_seen, remaining, used, unlimited) rows."""
    if not rows:
        return Series()
    first, last, remaining, used, unlimited = zip(*rows, strict=True)
    return Series(first, last, remaining, used, tuple(bool(u) for u in unlimited))


_SERIES_COLUMNS = "first_seen, last_seen, CAST(remaining AS REAL), CAST(used AS REAL), unlimited"  # untranslated: SQL
_MISSING = float("nan")  # a missing amount in the compact columns (CAST never gives NaN)


class _RecentColumns:
    """One account's recent rows in compact columns (33 bytes a row instead of ~150 as tuples)."""

    __slots__ = ("first", "last", "missing", "remaining", "unlimited", "used")

    def __init__(self) -> None:
        self.first, self.last = array("q"), array("q")
        self.remaining, self.used = array("d"), array("d")
        self.unlimited = array("b")
        #: How many amounts of each column are "not given" (stored as NaN): none or all is the usual.
        self.missing = {"remaining": 0, "used": 0}

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (first seen, last seen, remaining, used, unlimited), in order, after those kept."""
        if not rows:
            return
        first, last, remaining, used, unlimited = zip(*rows, strict=True)
        self.first.extend(first)
        self.last.extend(last)
        for name, column, values in (("remaining", self.remaining, remaining), ("used", self.used, used)):
            if None in values:
                self.missing[name] += values.count(None)
                values = tuple(_MISSING if value is None else value for value in values)
            column.extend(values)
        self.unlimited.extend(unlimited)  # SQLite's 0 and 1

    def _amounts(self, name: str, column: array[float]) -> tuple[float | None, ...]:
        missing = self.missing[name]
        if not missing:
            return tuple(column)
        if missing == len(column):
            return (None,) * missing
        return tuple(None if value != value else value for value in column)

    def series(self) -> Series:
        return Series(tuple(self.first), tuple(self.last), self._amounts("remaining", self.remaining),
                      self._amounts("used", self.used), tuple(map(bool, self.unlimited)))

    def _cut(self, start: int, stop: int) -> None:
        """Forget the rows from ``start`` to ``stop``."""
        for name, column in (("remaining", self.remaining), ("used", self.used)):
            if self.missing[name]:
                self.missing[name] -= sum(1 for value in column[start:stop] if value != value)
        for any_column in (self.first, self.last, self.remaining, self.used, self.unlimited):
            del any_column[start:stop]

    def drop_older(self, since_us: int) -> None:
        """Forget the rows last seen before ``since_us`` (they left the window for good)."""
        last = self.last
        if not last or min(last) >= since_us:
            return
        old = 0
        while old < len(last) and last[old] < since_us:
            old += 1
        self._cut(0, old)  # the usual: the oldest rows
        while last and min(last) < since_us:  # a row out of order (a clock that went back)
            index = next(i for i, seen in enumerate(last) if seen < since_us)
            self._cut(index, index + 1)

    def replace_from(self, low: int, fresh: list[Any]) -> None:
        """The rows that began at ``low`` or later, or at the first of ``fresh`` (the newest row,
        extended, may have begun before ``low``), are now ``fresh``."""
        cut = bisect.bisect_left(self.first, min(low, fresh[0][0]) if fresh else low)
        self._cut(cut, len(self.first))
        self.add(fresh)


@dataclass
class _Recent:
    """What ``recent_series`` read, kept up to date by this connection's own writes: a refresh then
    reads a few rows instead of a week of every account. ``version`` is SQLite's data_version when
    the rows last matched the file; another process's write changes it, and the rows are read again."""

    since_us: int
    version: int
    accounts: dict[str, _RecentColumns]


def _data_version(db: sqlite3.Connection) -> int:
    """Changes when another connection (another process: ``credit-tray check``) committed a change."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])


def _private_file(path: Path) -> None:
    """Create the database file 0600 (and its folder 0700) before SQLite does, whatever the umask."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


class HistoryStore:
    """The history database; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path | str, *, legacy_state: Path | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        #: ``":memory:"`` for a throwaway store (the demo).
        self.path = path
        self.legacy_state = legacy_state
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        #: The connection is a read-only snapshot (the file could not be opened for writing).
        self._snapshot = False
        self._ids: dict[str, int] = {}
        self._last_thinned: datetime | None = None
        self._recent: _Recent | None = None

    # ------------------------------------------------------------------ connection

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        """The connection: read-write when it can be had, else (for reading) a snapshot of the file.

        On a full disk SQLite cannot even open a WAL database (it must create its shared-memory
        file), yet the last balances and the alert memory must still be readable, or a restart
        would forget them and repeat alerts: the snapshot reads the file as it is.
        """
        if self._db is not None and not (write and self._snapshot):
            return self._db
        if self._db is not None:  # a snapshot, and a write is wanted: try read-write again
            self._db.close()
            self._db, self._snapshot = None, False
        self._recent = None  # known rows belong to a connection
        try:
            self._db = self._open()
        except HistoryError:
            if write or self.path == ":memory:" or not Path(self.path).is_file():
                raise
            self._db, self._snapshot = self._open_snapshot(), True
        return self._db

    def _open_snapshot(self) -> sqlite3.Connection:
        uri = Path(self.path).resolve().as_uri() + "?mode=ro&immutable=1"
        try:
            return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise HistoryError(self.path, self._reason(exc)) from None

    def _open(self) -> sqlite3.Connection:
        in_memory = self.path == ":memory:"
        try:
            if not in_memory:
                _private_file(Path(self.path))
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(self.path, self._reason(exc)) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _while_locked(lambda: self._prepare(db, wal=not in_memory))
        except sqlite3.DatabaseError as exc:
            db.close()
            if isinstance(exc, sqlite3.OperationalError) or in_memory:
                raise HistoryError(self.path, self._reason(exc)) from None
            self._set_aside(exc)
            return self._open()
        return db

    def _reason(self, exc: BaseException) -> str:
        """SQLite's words where they help; the file system's where SQLite only says "disk I/O error"."""
        if self.path != ":memory:" and hasattr(os, "statvfs"):  # not on Windows
            with contextlib.suppress(OSError):
                folder = os.statvfs(Path(self.path).parent)
                if folder.f_flag & os.ST_RDONLY:
                    return os.strerror(errno.EROFS)
                if folder.f_bavail == 0:
                    return os.strerror(errno.ENOSPC)
        return _reason(exc)

    def _set_aside(self, exc: Exception) -> None:
        """A file that is not a usable database is kept for inspection, and a new one started."""
        path = Path(self.path)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        log.warning("history %s is damaged (%s); kept as %s and starting afresh", path, exc, aside.name)
        try:
            os.replace(path, aside)
        except OSError as move_error:
            raise HistoryError(path, _("damaged, and cannot be moved aside: {reason}").format(
                reason=_reason(move_error))) from None
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")

    def _prepare(self, db: sqlite3.Connection, *, wal: bool) -> None:
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL loses nothing when a process dies; only a power cut may drop
        # the last transactions, and it is what keeps one recording well under a millisecond.
        db.execute("PRAGMA synchronous = NORMAL")
        self._migrate(db)

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        imported: Path | None = None
        with _transaction(db):
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            fresh = version == 0
            for step in MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            if fresh and self.legacy_state is not None:
                imported = self._import_legacy(db, self.legacy_state)
        if imported is not None:
            self._keep_aside(imported)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db, self._snapshot = None, False
                self._ids.clear()
            self._recent = None

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, inside one transaction; failures become HistoryError."""
        with self._lock:
            try:
                db = self._connect(write=write)
                if write:
                    with _transaction(db):
                        yield db
                else:
                    yield db
            except sqlite3.Error as exc:
                self._ids.clear()  # the transaction that cached new ids may have rolled back
                self._recent = None  # and so may the rows it added to the recent ones
                raise HistoryError(self.path, self._reason(exc)) from None
            except BaseException:
                self._recent = None
                raise

    def _account_ref(self, db: sqlite3.Connection, account_id: str, *, create: bool) -> int | None:
        ref = self._ids.get(account_id)
        if ref is not None:
            return ref
        row = db.execute("SELECT id FROM accounts WHERE name = ?", (account_id,)).fetchone()
        if row is None:
            if not create:
                return None
            row = db.execute("INSERT INTO accounts (name) VALUES (?) RETURNING id", (account_id,)).fetchone()
        self._ids[account_id] = row[0]
        return int(row[0])

    # ------------------------------------------------------------------ writing

    def record(self, entries: Iterable[Entry], *, notifier: str | None = None,
               memories: Mapping[str, AlertMemory] | None = None) -> None:
        """Record one refresh's outcomes (and the notifier's alert memory) in one transaction."""
        entries = list(entries)
        with self._session(write=True) as db:
            for entry in entries:
                ref = self._account_ref(db, entry.account_id, create=True)
                assert ref is not None
                if isinstance(entry.outcome, Reading):
                    self._record_reading(db, ref, entry.outcome)
                else:
                    self._record_error(db, ref, entry.outcome, entry.checked_at)
            self._update_recent(db, entries)
            if notifier is not None and memories:
                for account_id, memory in memories.items():
                    ref = self._account_ref(db, account_id, create=True)
                    db.execute("INSERT OR REPLACE INTO alert_memory (notifier, account, fired, auth_alerted,"
                               " imported_level, forecast_alerted) VALUES (?, ?, ?, ?, ?, ?)",
                               (notifier, ref, *_memory_to_row(memory)))
        self._thin_now_and_then()

    def _record_reading(self, db: sqlite3.Connection, ref: int, reading: Reading) -> None:
        at = to_us(reading.fetched_at)
        values = _reading_row(reading)
        newest = ("SELECT first_seen, last_seen, remaining, used, total, unlimited, unit, subscription_status,"
                  " subscription_id FROM readings WHERE account = ? ORDER BY first_seen DESC LIMIT 1")
        last = db.execute(newest, (ref,)).fetchone()
        # Rows stamped in the future came from a clock that was wrong: they would pass for the
        # newest balance for ever, so the first good reading since replaces them. Only the newest
        # row can tell whether there are any, so the DELETE runs only then.
        future = max(at, to_us(self._clock())) + FUTURE_SLACK_US
        if last is not None and last[0] > future:
            db.execute("DELETE FROM readings WHERE account = ? AND first_seen > ?", (ref, future))
            last = db.execute(newest, (ref,)).fetchone()
        if last is not None and tuple(last[2:]) == values and at >= last[0]:
            if at > last[1]:
                db.execute("UPDATE readings SET last_seen = ? WHERE account = ? AND first_seen = ?",
                           (at, ref, last[0]))
            return
        # Another process may have recorded a different balance in the same microsecond: the
        # later one takes the next free microsecond, so neither is lost.
        for moment in range(at, at + 1000):
            inserted = db.execute("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                  (ref, moment, moment, *values)).rowcount
            if inserted:
                return
            taken = db.execute("SELECT remaining, used, total, unlimited, unit, subscription_status, subscription_id"
                               " FROM readings WHERE account = ? AND first_seen = ?", (ref, moment)).fetchone()
            if taken is not None and tuple(taken) == values:
                return  # the very same reading, recorded already

    def _update_recent(self, db: sqlite3.Connection, entries: list[Entry]) -> None:
        """Bring the kept recent rows up to date with the readings just written (inside their
        transaction: no other process can write meanwhile); if another process wrote since they
        were read, drop them instead (the next ``recent_series`` reads them again)."""
        recent = self._recent
        if recent is None:
            return
        if _data_version(db) != recent.version:
            self._recent = None
            return
        lowest: dict[str, int] = {}
        for entry in entries:
            if isinstance(entry.outcome, Reading):
                at = to_us(entry.outcome.fetched_at)
                lowest[entry.account_id] = min(lowest.get(entry.account_id, at), at)
        for account_id, at in lowest.items():
            ref = self._account_ref(db, account_id, create=False)
            # What a write changed, in one query: rows from ``at`` on (added, or deleted as stamped in
            # the future) and the newest row (its "seen until" extended), which may have begun before.
            fresh = db.execute(f"SELECT {_SERIES_COLUMNS} FROM readings WHERE account = ?"  # noqa: S608
                               " AND first_seen >= min(?, (SELECT max(first_seen) FROM readings WHERE account = ?))"
                               " ORDER BY first_seen", (ref, at, ref)).fetchall()
            recent.accounts.setdefault(account_id, _RecentColumns()).replace_from(at, fresh)

    @staticmethod
    def _record_error(db: sqlite3.Connection, ref: int, error: FetchError, checked_at: datetime) -> None:
        at = to_us(checked_at)
        last_error = db.execute("SELECT first_at, last_at, kind, http_status FROM errors WHERE account = ?"
                                " ORDER BY first_at DESC LIMIT 1", (ref,)).fetchone()
        last_reading = db.execute("SELECT max(last_seen) FROM readings WHERE account = ?", (ref,)).fetchone()[0]
        same_run = (last_error is not None and last_error[2] == str(error.kind) and last_error[3] == error.http_status
                    and at >= last_error[1] and (last_reading is None or last_reading <= last_error[1]))
        if same_run:
            db.execute("UPDATE errors SET last_at = ?, count = count + 1 WHERE account = ? AND first_at = ?",
                       (at, ref, last_error[0]))
            return
        db.execute("INSERT INTO errors VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (account, first_at) DO NOTHING",
                   (ref, at, at, str(error.kind), error.http_status))

    def forget(self, account_id: str) -> None:
        """Remove an account's history and alert memory (the account was removed)."""
        if self.path != ":memory:" and self._db is None and not Path(self.path).exists():
            return  # nothing recorded yet: nothing to forget, and no file to create for it
        with self._session(write=True) as db:
            ref = self._account_ref(db, account_id, create=False)
            if ref is None:
                return
            for table in ("readings", "errors", "alert_memory"):
                db.execute(f"DELETE FROM {table} WHERE account = ?", (ref,))  # noqa: S608 (fixed names)
            db.execute("DELETE FROM accounts WHERE id = ?", (ref,))
            self._ids.pop(account_id, None)
            self._recent = None

    def rename(self, old_id: str, new_id: str) -> None:
        """Carry an account's history over to its new id (the id was edited); a no-op if the new id has one."""
        with self._session(write=True) as db:
            if db.execute("SELECT 1 FROM accounts WHERE name = ?", (new_id,)).fetchone():
                return
            db.execute("UPDATE accounts SET name = ? WHERE name = ?", (new_id, old_id))
            self._ids.pop(old_id, None)
            self._recent = None

    # ------------------------------------------------------------------ reading

    def latest_good(self, account_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        """Each account's last good reading, stamped with the last time it was seen."""
        with self._session(write=False) as db:
            # CROSS JOIN keeps the accounts as the outer loop: each newest row is then one index
            # lookup, where SQLite's own plan scanned every reading (72 ms for a week of 20 accounts).
            rows = db.execute(
                "SELECT a.name, r.last_seen, r.remaining, r.used, r.total, r.unlimited, r.unit,"
                " r.subscription_status, r.subscription_id FROM accounts a CROSS JOIN readings r ON r.account = a.id"
                " WHERE r.first_seen = (SELECT max(first_seen) FROM readings WHERE account = a.id)"
            ).fetchall()
        wanted = None if account_ids is None else set(account_ids)
        out: dict[str, Reading] = {}
        for name, last_seen, *values in rows:
            if wanted is None or name in wanted:
                with contextlib.suppress(InvalidOperation, ValueError, TypeError):  # one bad row loses itself
                    out[name] = _reading_from_row(values, from_us(last_seen))
        return out

    def readings(self, account_id: str, since: datetime | None = None,
                 until: datetime | None = None) -> list[HistoryPoint]:
        """An account's balances in time order (rows that ended before ``since`` left out)."""
        low = to_us(since) if since else -(2**62)
        high = to_us(until) if until else 2**62
        with self._session(write=False) as db:
            ref = self._account_ref(db, account_id, create=False)
            if ref is None:
                return []
            rows = db.execute(
                "SELECT first_seen, last_seen, remaining, used, total, unlimited, unit, subscription_status,"
                " subscription_id FROM readings WHERE account = ? AND last_seen >= ? AND first_seen <= ?"
                " ORDER BY first_seen", (ref, low, high)).fetchall()
        points = []
        for first, last, *values in rows:
            with contextlib.suppress(InvalidOperation, ValueError, TypeError):
                last_seen = from_us(last)
                points.append(HistoryPoint(from_us(first), last_seen, _reading_from_row(values, last_seen)))
        return points

    def series(self, account_id: str, since: datetime | None = None) -> Series:
        """An account's readings as columns of plain numbers, for charts and usage: 30 days of
        one-minute readings come back in milliseconds, where one object per reading would not."""
        low = to_us(since) if since else -(2**62)
        with self._session(write=False) as db:
            ref = self._account_ref(db, account_id, create=False)
            if ref is None:
                return Series()
            rows = db.execute(f"SELECT {_SERIES_COLUMNS} FROM readings"  # noqa: S608
                              " WHERE account = ? AND last_seen >= ? ORDER BY first_seen", (ref, low)).fetchall()
        return series_of(rows)

    def recent_series(self, account_ids: Iterable[str], since: datetime) -> dict[str, Series]:
        """``series`` for several accounts in one go, for a refresh.

        The rows are read once and then kept (see ``_Recent``): the tray asks for the last week of
        every account at every refresh, and a week of one-minute readings of 20 accounts took
        0.3 s to read each time.
        """
        wanted = set(account_ids)
        since_us = to_us(since)
        with self._session(write=False) as db:
            version = _data_version(db)
            recent = self._recent
            if recent is None or recent.version != version or since_us < recent.since_us:
                rows = db.execute(f"SELECT a.name, {_SERIES_COLUMNS} FROM readings r JOIN accounts a"  # noqa: S608
                                  " ON a.id = r.account WHERE r.last_seen >= ? ORDER BY r.account, r.first_seen",
                                  (since_us,)).fetchall()
                recent = self._recent = _Recent(since_us, version, {})
                for name, group in itertools.groupby(rows, key=operator.itemgetter(0)):  # by account already
                    columns = recent.accounts.setdefault(name, _RecentColumns())
                    columns.add([row[1:] for row in group])
            else:
                recent.since_us = since_us
                for columns in recent.accounts.values():
                    columns.drop_older(since_us)
            out = {}
            for name, columns in recent.accounts.items():
                if name in wanted and columns.first:
                    out[name] = columns.series()
        return out

    def errors(self, account_id: str, since: datetime | None = None) -> list[ErrorRun]:
        low = to_us(since) if since else -(2**62)
        with self._session(write=False) as db:
            ref = self._account_ref(db, account_id, create=False)
            if ref is None:
                return []
            rows = db.execute("SELECT first_at, last_at, count, kind, http_status FROM errors"
                              " WHERE account = ? AND last_at >= ? ORDER BY first_at", (ref, low)).fetchall()
        runs = []
        for first, last, count, kind, status in rows:
            with contextlib.suppress(ValueError):
                runs.append(ErrorRun(from_us(first), from_us(last), count, ErrorKind(kind), status))
        return runs

    def alert_memory(self, notifier: str) -> dict[str, AlertMemory]:
        """The notifier's memory per account; a damaged entry is dropped alone (that account re-arms)."""
        with self._session(write=False) as db:
            rows = db.execute("SELECT a.name, m.fired, m.auth_alerted, m.imported_level, m.forecast_alerted"
                              " FROM alert_memory m"
                              " JOIN accounts a ON a.id = m.account WHERE m.notifier = ?", (notifier,)).fetchall()
        out: dict[str, AlertMemory] = {}
        for name, fired, auth_alerted, imported_level, forecast_alerted in rows:
            try:
                out[name] = _memory_from_row(fired, auth_alerted, imported_level, forecast_alerted)
            except (ValueError, TypeError, InvalidOperation) as exc:
                log.warning("alert memory of %s is damaged (%s); its alerts are re-armed", name, type(exc).__name__)
        return out

    def integrity_check(self) -> str:
        with self._session(write=False) as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ thinning

    def _thin_now_and_then(self) -> None:
        now = self._clock()
        if self._last_thinned is not None and now - self._last_thinned < THIN_EVERY:
            return
        self._last_thinned = now
        try:
            self.thin(now)
        except HistoryError as exc:
            log.warning("could not thin the history: %s", exc)

    def thin(self, now: datetime) -> None:
        """Keep one row per hour after 30 days and one per day after a year; drop rows over two years old.

        Each pass starts where the last one stopped (kept in ``meta``), so the work per pass
        is the rows that aged since, not the whole history.
        """
        hourly_cut, daily_cut, drop_cut = (to_us(now - age) for age in (FULL_RESOLUTION, HOURLY_RESOLUTION, KEEP_FOR))
        with self._session(write=True) as db:
            deleted = 0
            for table, column in (("readings", "first_seen"), ("errors", "first_at")):
                deleted += db.execute(f"DELETE FROM {table} WHERE {column} < ?", (drop_cut,)).rowcount  # noqa: S608
                for bucket, cut in ((HOUR_US, hourly_cut), (DAY_US, daily_cut)):
                    key = f"thinned:{table}:{bucket}"
                    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                    start = max(int(row[0]) if row else drop_cut, drop_cut)
                    end = cut - cut % bucket  # whole buckets only
                    if end <= start:
                        continue
                    start -= start % bucket
                    # Keep the last row of each bucket (the balance at its end) and drop the others.
                    deleted += db.execute(
                        f"DELETE FROM {table} AS t WHERE t.{column} >= ? AND t.{column} < ? AND EXISTS ("  # noqa: S608
                        f" SELECT 1 FROM {table} AS later WHERE later.account = t.account"
                        f" AND later.{column} > t.{column} AND later.{column} < (t.{column} / ? + 1) * ?)",
                        (start, end, bucket, bucket)).rowcount
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(end)))
            if deleted:  # rows went: the kept ones are read again, not followed
                self._recent = None

    # ------------------------------------------------------------------ the old state file

    def _import_legacy(self, db: sqlite3.Connection, path: Path) -> Path | None:
        """Import ``state.json`` once, entry by entry: a damaged entry loses only itself."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("old state file %s cannot be read (%s); not imported", path, exc.strerror)
            return None
        try:
            data = json.loads(raw)
            accounts = data["accounts"] if isinstance(data, dict) else None
            if not isinstance(accounts, dict):
                raise ValueError("no accounts")  # untranslated: only its type is logged
        except (ValueError, KeyError, RecursionError) as exc:
            log.warning("old state file %s is damaged (%s); nothing imported", path, type(exc).__name__)
            return path
        imported = 0
        for account_id, entry in accounts.items():
            try:
                self._import_entry(db, str(account_id), entry)
                imported += 1
            except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation, OverflowError,
                    RecursionError) as exc:
                log.warning("old state of %s is damaged (%s); not imported", account_id, type(exc).__name__)
        log.info("imported %d of %d accounts from %s", imported, len(accounts), path)
        return path

    def _import_entry(self, db: sqlite3.Connection, account_id: str, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise TypeError("entry is not an object")  # untranslated: only its type is logged
        reading = _legacy_reading(entry["last_good"]) if entry.get("last_good") is not None else None
        auth_alerted = entry.get("auth_alerted") is True
        ref = self._account_ref(db, account_id, create=True)
        assert ref is not None
        if reading is not None:
            self._record_reading(db, ref, reading)
        # The old file knew only the last balance: the levels it is below stay fired, as they were.
        level = None if reading is None or reading.unlimited else reading.remaining
        memory = AlertMemory(auth_alerted=auth_alerted, imported_level=level)
        db.execute("INSERT OR REPLACE INTO alert_memory (notifier, account, fired, auth_alerted, imported_level,"
                   " forecast_alerted) VALUES (?, ?, ?, ?, ?, ?)", ("tray", ref, *_memory_to_row(memory)))

    @staticmethod
    def _keep_aside(path: Path) -> None:
        """The imported file is kept, renamed, never deleted."""
        try:
            os.replace(path, path.with_name(path.name + ".imported"))
        except OSError as exc:
            log.warning("could not rename the imported %s: %s", path, exc.strerror)


def _legacy_reading(data: Any) -> Reading:
    if not isinstance(data, dict):
        raise TypeError("reading is not an object")  # untranslated: only its type is logged
    fetched = datetime.fromisoformat(str(data["fetched_at"]))
    if fetched.tzinfo is None:
        raise ValueError("fetched_at has no time zone")  # untranslated: only its type is logged

    def amount(value: Any) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError("amount is not text")  # untranslated: only its type is logged
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("amount is not finite")  # untranslated: only its type is logged
        return number

    status, sub_id = data.get("subscription_status"), data.get("subscription_id")
    return Reading(remaining=amount(data.get("remaining")), used=amount(data.get("used")),
                   total=amount(data.get("total")), unlimited=data.get("unlimited") is True,
                   unit=str(data.get("unit", "credits")), fetched_at=fetched.astimezone(UTC),
                   subscription_status=status if isinstance(status, str) else None,
                   subscription_id=sub_id if isinstance(sub_id, str) else None)


def _while_locked(job: Callable[[], None]) -> None:
    """Run ``job`` again while another process holds the lock it needs: switching a new file to
    WAL takes an exclusive lock, for which SQLite does not wait on its own."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            job()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")  # a full disk fails here: roll back below, so the next write starts clean
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
