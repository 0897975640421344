"""The reading history (tray_app/history.py) on a real SQLite file: what goes in comes out exactly,
unchanged balances extend a row, old rows thin out, two processes write at once and lose nothing,
the old state.json is imported once, and the tray's alert memory is the tray's alone."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_support import refresh_once, store_keys, write_config
from tray_app.alerts import AlertMemory, decide
from tray_app.engine import Engine, RefreshReport
from tray_app.fetch import FetchPolicy
from tray_app.history import _SCHEMA_V1, MIGRATIONS, Entry, ErrorRun, HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import AlertKind, ErrorKind, FetchError, Reading

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
POLICY = FetchPolicy(attempt_timeout=2, total_timeout=4, backoff_base=0.01)


def reading(remaining: int | str | None, at: datetime, **extra: object) -> Reading:
    return Reading(remaining=None if remaining is None else Decimal(remaining), unit="credits", fetched_at=at,
                   **extra)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    history = HistoryStore(tmp_path / "history.sqlite3")
    yield history
    history.close()


# --------------------------------------------------------------------------- what goes in comes out


def test_readings_come_back_exactly(store: HistoryStore) -> None:
    full = Reading(remaining=Decimal("1234.50"), used=Decimal("0.000001"), total=Decimal(2000), unit="message credits",
                   fetched_at=T0, subscription_status="past_due", subscription_id="sub_9")
    unlimited = Reading(remaining=None, used=Decimal(243), unit="message credits", fetched_at=T0 + timedelta(1),
                        unlimited=True)
    store.record([Entry("a", full, T0)])
    store.record([Entry("a", unlimited, T0 + timedelta(1))])
    points = store.readings("a")
    assert [p.reading for p in points] == [full, unlimited]
    assert [p.first_seen for p in points] == [T0, T0 + timedelta(1)]
    assert str(points[0].reading.remaining) == "1234.50"  # the provider's own digits, not a float
    assert store.latest_good() == {"a": unlimited}


def test_an_unchanged_balance_extends_its_row_instead_of_adding_one(store: HistoryStore) -> None:
    for minute in range(60):
        store.record([Entry("a", reading(500, T0 + timedelta(minutes=minute)), T0)])
    store.record([Entry("a", reading(499, T0 + timedelta(minutes=60)), T0)])
    points = store.readings("a")
    assert [(p.reading.remaining, p.first_seen, p.last_seen) for p in points] == [
        (500, T0, T0 + timedelta(minutes=59)),
        (499, T0 + timedelta(minutes=60), T0 + timedelta(minutes=60)),
    ]
    # The last good reading is stamped with when it was last seen, so its age is right.
    assert store.latest_good()["a"].fetched_at == T0 + timedelta(minutes=60)


def test_errors_are_recorded_as_runs_without_their_messages(store: HistoryStore) -> None:
    secretish = FetchError(ErrorKind.SERVER, "upstream said sk-live-should-not-be-kept", 503)
    for minute in range(3):
        store.record([Entry("a", secretish, T0 + timedelta(minutes=minute))])
    store.record([Entry("a", reading(5, T0 + timedelta(minutes=3)), T0)])
    store.record([Entry("a", secretish, T0 + timedelta(minutes=4))])
    store.record([Entry("a", FetchError(ErrorKind.TIMEOUT, "slow"), T0 + timedelta(minutes=5))])
    assert store.errors("a") == [
        ErrorRun(T0, T0 + timedelta(minutes=2), 3, ErrorKind.SERVER, 503),
        ErrorRun(T0 + timedelta(minutes=4), T0 + timedelta(minutes=4), 1, ErrorKind.SERVER, 503),
        ErrorRun(T0 + timedelta(minutes=5), T0 + timedelta(minutes=5), 1, ErrorKind.TIMEOUT, None),
    ]
    store.close()
    files = b"".join(p.read_bytes() for p in Path(str(store.path)).parent.glob("history.sqlite3*"))
    assert b"sk-live" not in files


def test_alert_memory_belongs_to_its_notifier(store: HistoryStore) -> None:
    tray = AlertMemory(fired=frozenset({Decimal(10000), Decimal("2.5")}), auth_alerted=True)
    store.record([Entry("a", reading(1, T0), T0)], notifier="tray", memories={"a": tray})
    store.record([Entry("a", reading(0, T0 + timedelta(1)), T0)])  # what `check` does: no notifier
    assert store.alert_memory("tray") == {"a": tray}
    assert store.alert_memory("someone-else") == {}


def test_forget_and_rename(store: HistoryStore) -> None:
    store.record([Entry("a", reading(1, T0), T0), Entry("b", reading(2, T0), T0)], notifier="tray",
                 memories={"a": AlertMemory(auth_alerted=True)})
    store.rename("b", "c")
    store.forget("a")
    assert store.latest_good() == {"c": reading(2, T0)}
    assert store.alert_memory("tray") == {}
    assert store.readings("a") == []
    store.record([Entry("a", reading(7, T0), T0)])  # the same id again starts afresh
    assert [p.reading.remaining for p in store.readings("a")] == [7]


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        history = HistoryStore(tmp_path / "data" / "history.sqlite3")
        history.record([Entry("a", reading(1, T0), T0)])
    finally:
        os.umask(old)
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "data").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    history.close()


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    HistoryStore(tmp_path / "h.sqlite3").latest_good()
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_database_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA_V1)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO accounts VALUES (1, 'meow')")
        db.execute("INSERT INTO readings VALUES (1, 5, 9, '12.5', NULL, NULL, 0, 'credits', NULL, NULL)")
        db.execute("INSERT INTO alert_memory VALUES ('tray', 1, '[\"10000\"]', 1, NULL)")
    db.close()
    store = HistoryStore(path)
    assert store.alert_memory("tray") == {"meow": AlertMemory(fired=frozenset({Decimal(10000)}), auth_alerted=True)}
    assert store.latest_good()["meow"].remaining == Decimal("12.5")
    store.record([Entry("meow", reading(1, T0), T0)], notifier="tray",
                 memories={"meow": AlertMemory(forecast_alerted=True)})
    assert store.alert_memory("tray")["meow"].forecast_alerted
    store.close()


def test_a_damaged_database_is_kept_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list" * 100)
    store = HistoryStore(path)
    store.record([Entry("a", reading(3, T0), T0)])
    assert store.latest_good() == {"a": reading(3, T0)}
    [aside] = tmp_path.glob("history.sqlite3.damaged-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    store.close()


# --------------------------------------------------------------------------- thinning


def test_old_readings_thin_out_and_the_newest_stay_whole(tmp_path: Path) -> None:
    now = datetime(2028, 1, 1, tzinfo=UTC)
    clock = [now]
    store = HistoryStore(tmp_path / "history.sqlite3", clock=lambda: clock[0])
    start = now - timedelta(days=800)
    step = timedelta(minutes=20)
    entries, at, balance = [], start, 10**7
    while at < now:
        entries.append(Entry("a", reading(balance, at), at))
        balance -= 1
        at += step
    for i in range(0, len(entries), 500):  # as time goes by: thinning runs now and then on its own
        clock[0] = entries[min(i + 499, len(entries) - 1)].checked_at
        store.record(entries[i:i + 500])
    store.thin(now)
    points = store.readings("a")
    ages = [now - p.first_seen for p in points]
    assert min(ages) >= timedelta(0)
    assert max(ages) <= timedelta(days=730)  # nothing older than two years
    recent = [p for p in points if now - p.first_seen < timedelta(days=30) - timedelta(hours=1)]
    assert len(recent) == len([e for e in entries if now - e.checked_at < timedelta(days=30) - timedelta(hours=1)])

    def per_bucket(selected: list, size: int) -> int:
        buckets = [int(p.first_seen.timestamp()) // size for p in selected]
        return max(buckets.count(b) for b in set(buckets))

    hourly = [p for p in points if timedelta(days=31) < now - p.first_seen < timedelta(days=364)]
    daily = [p for p in points if now - p.first_seen > timedelta(days=366)]
    assert hourly
    assert daily
    assert per_bucket(hourly, 3600) == 1
    assert per_bucket(daily, 86400) == 1
    # What stays of a bucket is its last reading: the balance at the end of that hour or day.
    for point in hourly[:50]:
        bucket_end = (int(point.first_seen.timestamp()) // 3600 + 1) * 3600
        last_in_bucket = [e for e in entries if e.checked_at.timestamp() < bucket_end][-1]
        assert point.reading == last_in_bucket.outcome
    # A second pass changes nothing.
    store.thin(now)
    assert store.readings("a") == points
    store.close()


# --------------------------------------------------------------------------- the old state.json


def test_old_state_file_is_imported_once_entry_by_entry_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    good = {"remaining": "9000", "used": None, "total": None, "unlimited": False, "unit": "credits",
            "subscription_status": None, "subscription_id": None, "fetched_at": "2026-11-01T10:00:00+00:00"}
    raw = json.dumps({"version": 1, "accounts": {
        "meow": {"last_good": good, "auth_alerted": False},
        "broken": {"last_good": {"remaining": "NaN", "fetched_at": "yesterday"}, "auth_alerted": True},
        "refused": {"last_good": None, "auth_alerted": True},
    }}).encode()
    state.write_bytes(raw)
    store = HistoryStore(tmp_path / "history.sqlite3", legacy_state=state)
    latest = store.latest_good()
    assert list(latest) == ["meow"]
    assert latest["meow"].remaining == 9000
    assert latest["meow"].fetched_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    memory = store.alert_memory("tray")
    assert memory["meow"] == AlertMemory(imported_level=Decimal(9000))
    assert memory["refused"] == AlertMemory(auth_alerted=True)
    assert "broken" not in memory  # the damaged entry lost only itself
    assert not state.exists()
    assert (tmp_path / "state.json.imported").read_bytes() == raw
    store.close()
    # Never imported twice, even if the file comes back.
    state.write_bytes(raw.replace(b"9000", b"1"))
    again = HistoryStore(tmp_path / "history.sqlite3", legacy_state=state)
    assert again.latest_good()["meow"].remaining == 9000
    assert state.exists()
    again.close()


# --------------------------------------------------------------------------- two processes at once

WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal
    from pathlib import Path
    from tray_app.alerts import AlertMemory
    from tray_app.history import Entry, HistoryStore
    from tray_app.model import Reading

    path, who, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        pass
    store = HistoryStore(path)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(count):
        at = start + timedelta(seconds=i)
        own = Reading(remaining=Decimal(i), unit="credits", fetched_at=at)
        shared = Reading(remaining=Decimal(i * 2 + (who == "cli")), unit="credits", fetched_at=at)
        memories = {who: AlertMemory(auth_alerted=bool(i % 2))} if who == "tray" else None
        store.record([Entry(who, own, at), Entry("shared", shared, at)], notifier="tray" if memories else None,
                     memories=memories)
    print("done", flush=True)
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path, go = tmp_path / "history.sqlite3", tmp_path / "go"
    count = 1000
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(count), str(go)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("cli", "tray")]
    go.touch()
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err[-2000:]
        assert out.strip() == "done"
    store = HistoryStore(path)
    assert store.integrity_check() == "ok"
    for who in ("cli", "tray"):
        assert [p.reading.remaining for p in store.readings(who)] == list(range(count))
    shared = store.readings("shared")
    # Every value each process wrote to the same account is there (equal times may interleave in any order).
    assert sorted(p.reading.remaining for p in shared) == sorted(Decimal(i * 2 + b) for i in range(count)
                                                                  for b in (0, 1))
    assert store.alert_memory("tray") == {"tray": AlertMemory(auth_alerted=True)}
    store.close()


# --------------------------------------------------------------------------- the engine: whose alerts


def _refresh(config: Path, history: Path, *, notifier: str | None) -> RefreshReport:
    return refresh_once(config, history, notifier=notifier, policy=POLICY)


@pytest.fixture
def meow(server: FakeServer, isolated_env: dict[str, str], tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    store_keys({"meow": "sk-history-test-key-0001"})
    return config, tmp_path / "history.sqlite3"


def _balance(server: FakeServer, credits: int) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": credits}))


def test_check_between_tray_refreshes_does_not_swallow_the_tray_alert(server: FakeServer,
                                                                     meow: tuple[Path, Path]) -> None:
    config, history = meow
    _balance(server, 12000)
    assert _refresh(config, history, notifier="tray").alerts == ()
    _balance(server, 9000)
    seen_by_check = _refresh(config, history, notifier=None)  # `credit-tray check` in a cron job
    assert seen_by_check.alerts == ()
    assert HistoryStore(history).latest_good()["meow"].remaining == 9000  # recorded all the same
    _balance(server, 8900)
    tray = _refresh(config, history, notifier="tray")
    assert [(a.kind, a.threshold) for a in tray.alerts] == [(AlertKind.THRESHOLD, Decimal(10000))]
    assert _refresh(config, history, notifier="tray").alerts == ()


def test_exact_threshold_then_below_alerts_once_across_restarts(server: FakeServer, meow: tuple[Path, Path]) -> None:
    config, history = meow
    seen = []
    for credits in (12000, 10000, 9999, 9999, 9998):
        _balance(server, credits)
        seen.append([(a.kind, a.threshold) for a in _refresh(config, history, notifier="tray").alerts])
    assert seen == [[], [], [(AlertKind.THRESHOLD, Decimal(10000))], [], []]


def test_first_tray_start_after_an_upgrade_does_not_repeat_old_alerts(server: FakeServer, meow: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    config, history = meow
    good = {"remaining": "9000", "unit": "credits", "fetched_at": "2026-11-01T10:00:00+00:00"}
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "accounts": {"meow": {"last_good": good, "auth_alerted": False}}}))

    async def go() -> RefreshReport:
        engine = Engine(config, keys=KeyStore(), history=HistoryStore(history, legacy_state=state), notifier="tray",
                        policy=POLICY)
        try:
            cfg = engine.load_config()
            return await engine.refresh(cfg, engine.select(cfg), language="en")
        finally:
            await engine.aclose()

    _balance(server, 8500)  # still below 10,000, as it was before the upgrade: nothing new to say
    assert asyncio.run(go()).alerts == ()
    _balance(server, 1500)
    assert [(a.kind, a.threshold) for a in _refresh(config, history, notifier="tray").alerts] == [
        (AlertKind.THRESHOLD, Decimal(2000))]


def test_series_gives_the_balances_as_columns_for_charts(store: HistoryStore) -> None:
    store.record([Entry("a", reading(500, T0), T0)])
    store.record([Entry("a", reading(500, T0 + timedelta(minutes=1)), T0)])
    store.record([Entry("a", reading("499.5", T0 + timedelta(minutes=2)), T0)])
    store.record([Entry("a", reading(None, T0 + timedelta(minutes=3), unlimited=True), T0)])  # no amount
    store.record([Entry("a", FetchError(ErrorKind.NETWORK, "down"), T0 + timedelta(minutes=4))])
    series = store.series("a", since=T0 + timedelta(seconds=30))
    start = int(T0.timestamp()) * 1_000_000 + T0.microsecond
    assert series.first_seen_us == (start, start + 120_000_000, start + 180_000_000)
    assert series.last_seen_us == (start + 60_000_000, start + 120_000_000, start + 180_000_000)
    assert series.remaining == (500.0, 499.5, None)
    assert series.unlimited == (False, False, True)
    assert store.series("nobody").remaining == ()
    assert store.recent_series(["a", "nobody"], T0 + timedelta(seconds=30)) == {"a": series}


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.integers(min_value=-5, max_value=12000), st.sampled_from(["auth", "server"])),
                      max_size=25))
def test_alert_memory_survives_a_restart_at_every_step(tmp_path: Path, steps: list[int | str]) -> None:
    """The same alerts whether the tray keeps running or restarts (re-reading its memory) after every refresh."""
    levels = tuple(Decimal(t) for t in (10000, 2000, 300, 100, 0))
    path = tmp_path / f"{uuid.uuid4()}.sqlite3"
    running, restarted = AlertMemory(), None
    for step in steps:
        outcome = (FetchError(ErrorKind(step), "x") if isinstance(step, str)
                   else reading(step, T0))
        running, kept_alert = decide("a", running, outcome, levels)
        store = HistoryStore(path)
        remembered = store.alert_memory("tray").get("a", AlertMemory())
        restarted, fresh_alert = decide("a", remembered, outcome, levels)
        store.record([Entry("a", outcome, T0)], notifier="tray", memories={"a": restarted})
        store.close()
        assert fresh_alert == kept_alert
        assert restarted == running


# --------------------------------------------------------------------------- forecast and top-up alerts


def _burned(history: Path, per_day: int, days: float, now_balance: int) -> None:
    """The last ``days`` of readings every 20 minutes at a steady pace, ending near ``now_balance`` now."""
    store = HistoryStore(history)
    now = datetime.now(UTC)
    steps = int(days * 72)
    entries = []
    for i in range(steps, 0, -1):
        at = now - timedelta(minutes=20 * i)
        entries.append(Entry("meow", reading(now_balance + per_day * i // 72, at), at))
    store.record(entries)
    store.close()


def test_a_fast_burner_hears_the_forecast_once_before_any_level(server: FakeServer, meow: tuple[Path, Path]) -> None:
    config, history = meow
    _burned(history, per_day=20_000, days=2, now_balance=40_000)  # 40,000 left at 20,000 a day: ~2 days
    _balance(server, 40_000)
    [alert] = _refresh(config, history, notifier="tray").alerts
    assert alert.kind is AlertKind.FORECAST
    assert alert.runs_out_at is not None
    left = alert.runs_out_at - datetime.now(UTC)
    assert timedelta(days=1.8) < left < timedelta(days=2.2)
    _balance(server, 39_900)
    assert _refresh(config, history, notifier="tray").alerts == ()  # told once
    # A top-up re-arms it; burning fast again from there tells again.
    _balance(server, 150_000)
    assert _refresh(config, history, notifier="tray").alerts == ()  # top-up notifications are off by default
    store = HistoryStore(history)
    store.forget("meow")  # start the history afresh after the top-up, at a new fast pace
    store.close()
    _burned(history, per_day=60_000, days=1, now_balance=120_000)
    _balance(server, 120_000)
    assert [a.kind for a in _refresh(config, history, notifier="tray").alerts] == [AlertKind.FORECAST]


def test_the_forecast_alert_can_be_switched_off_and_top_ups_on(server: FakeServer, isolated_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml",
                          [{"id": "meow", "provider": "meowload", "base_url": server.url}],
                          forecast_alert_days=0, top_up_notifications=True)
    store_keys({"meow": "sk-history-test-key-0001"})
    history = tmp_path / "history.sqlite3"
    _burned(history, per_day=20_000, days=2, now_balance=40_000)
    _balance(server, 40_000)
    assert _refresh(config, history, notifier="tray").alerts == ()
    _balance(server, 45_000)
    [alert] = _refresh(config, history, notifier="tray").alerts
    assert (alert.kind, alert.added, alert.remaining) == (AlertKind.TOP_UP, Decimal(5000), Decimal(45_000))


def test_check_json_carries_usage_per_day_and_runs_out_at(server: FakeServer, meow: tuple[Path, Path],
                                                          isolated_env: dict[str, str]) -> None:
    config, _ = meow
    data_dir = Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray"
    _burned(data_dir / "history.sqlite3", per_day=20_000, days=2, now_balance=40_000)
    _balance(server, 40_000)
    done = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), "check", "--json"],
                          env=isolated_env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [account] = json.loads(done.stdout)["accounts"]
    assert 19_000 < account["usage_per_day"] < 21_000
    runs_out = datetime.fromisoformat(account["runs_out_at"].replace("Z", "+00:00"))
    assert timedelta(days=1.8) < runs_out - datetime.now(UTC) < timedelta(days=2.2)
    # An account with no history yet: both null, never a guess.
    HistoryStore(data_dir / "history.sqlite3").forget("meow")
    done = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), "check", "--json"],
                          env=isolated_env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    [account] = json.loads(done.stdout)["accounts"]
    assert account["usage_per_day"] is None
    assert account["runs_out_at"] is None


def test_a_top_up_seen_by_check_between_two_tray_refreshes_counts_in_the_next_one(
        server: FakeServer, meow: tuple[Path, Path], isolated_env: dict[str, str]) -> None:
    """The tray keeps the last week of readings in memory between refreshes; a reading written
    by another process (`credit-tray check` from cron) in between is still part of its next one."""
    config, _ = meow
    history = Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray" / "history.sqlite3"
    _burned(history, per_day=20_000, days=2, now_balance=40_000)
    engine = Engine(config, keys=KeyStore(), history=HistoryStore(history), notifier="tray", policy=POLICY)
    loaded = engine.load_config()

    def tray_refresh() -> RefreshReport:
        return asyncio.run(engine.refresh(loaded, engine.select(loaded), language="en"))

    for balance in (39_990, 39_980):
        _balance(server, balance)
        usage = tray_refresh().results[0].usage
        assert usage is not None
        assert 19_000 < (usage.per_day or 0) < 21_000
    _balance(server, 140_000)  # topped up, and seen first by `check`
    done = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), "check", "--json"],
                          env=isolated_env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    check_done = datetime.now(UTC)
    _balance(server, 139_990)
    [result] = tray_refresh().results
    assert result.usage is not None
    [top_up] = result.usage.top_ups
    assert top_up.amount == pytest.approx(100_020)
    assert top_up.at < check_done  # when `check` saw it, not when the tray did
    # The same as a tray that reads the whole week from the file: nothing kept differs from it.
    fresh = Engine(config, keys=KeyStore(), history=HistoryStore(history), notifier="tray", policy=POLICY)
    assert fresh.last_known(loaded)["meow"].usage == result.usage


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from([1, 1, 5, 60, 24 * 60]), st.integers(-3, 3),
                                st.sampled_from(["this", "this", "this", "other", "late", "early", "unlimited",
                                                 "error"])), min_size=1, max_size=60))
def test_the_week_kept_between_refreshes_is_always_what_the_file_holds(tmp_path: Path, steps: list) -> None:
    """``recent_series`` keeps what it read and follows this store's own writes; every answer equals
    a fresh read of the file, whatever the writes: another connection's, a reading stamped in the past
    or the future, an unlimited plan, errors, and readings leaving the week."""
    path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    clock = [T0]
    kept = HistoryStore(path, clock=lambda: clock[0])
    other = HistoryStore(path, clock=lambda: clock[0])
    balance = 10_000
    for minutes, change, kind in steps:
        clock[0] += timedelta(minutes=minutes)
        balance += change
        at = clock[0] + {"late": timedelta(minutes=-30), "early": timedelta(minutes=10)}.get(kind, timedelta(0))
        outcome: Reading | FetchError = (
            FetchError(ErrorKind.NETWORK, "down") if kind == "error"
            else reading(None, at, used=Decimal(balance), unlimited=True) if kind == "unlimited"
            else reading(balance, at))
        (other if kind == "other" else kept).record([Entry("a", outcome, at), Entry("b", reading(balance, at), at)])
        since = clock[0] - timedelta(days=7)
        fresh = HistoryStore(path, clock=lambda: clock[0])
        assert kept.recent_series(["a", "b"], since) == fresh.recent_series(["a", "b"], since)
        fresh.close()
    kept.close()
    other.close()


def _cli(isolated_env: dict[str, str], config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), *args], env=isolated_env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_history_command_prints_days_exports_json_and_csv(meow: tuple[Path, Path], isolated_env: dict[str, str]
                                                          ) -> None:
    config, _ = meow
    history = Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray" / "history.sqlite3"
    _burned(history, per_day=20_000, days=2, now_balance=40_000)
    store = HistoryStore(history)
    store.record([Entry("meow", FetchError(ErrorKind.TIMEOUT, "slow"), datetime.now(UTC) - timedelta(minutes=5))])
    store.close()

    table = _cli(isolated_env, config, "history", "meow")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("MeowLoad: 144 balances recorded, since ")
    assert "DAY" in table.stdout
    assert "Uses about 20,000 credits a day; runs out in about 2 days, around " in table.stdout
    assert "1 failed check in this span (the last: No answer in time at " in table.stdout

    exported = json.loads(_cli(isolated_env, config, "history", "meow", "--json").stdout)
    assert len(exported["readings"]) == 144
    assert exported["readings"][-1]["remaining"] == 40_000 + 20_000 // 72
    assert 19_000 < exported["usage_per_day"] < 21_000
    assert exported["errors"][0]["kind"] == "timeout"
    assert sum(day["used"] for day in exported["daily_usage"]) == pytest.approx(143 * 20_000 // 72, rel=0.01)

    rows = _cli(isolated_env, config, "history", "meow", "--csv", "--since", "90m").stdout.splitlines()
    assert rows[0] == "from,until,remaining,used,total,unlimited,unit"
    assert len(rows) == 1 + 4  # the last 90 minutes: readings 80, 60, 40 and 20 minutes ago
    assert rows[-1].split(",")[2:] == [str(40_000 + 20_000 // 72), "", "", "false", "credits"]


def test_history_command_refuses_bad_input_in_one_line(meow: tuple[Path, Path], isolated_env: dict[str, str]) -> None:
    config, _ = meow
    for args, words in ((("history", "nobody"), "no account"), (("history", "meow", "--since", "soon"), "--since")):
        done = _cli(isolated_env, config, *args)
        assert done.returncode == 64
        assert words in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr
    empty = _cli(isolated_env, config, "history", "meow")
    assert empty.returncode == 0
    assert "Nothing recorded yet" in empty.stdout
