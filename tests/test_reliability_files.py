"""Files: a broken config, a writer killed mid-write 200 times, a full or read-only data dir.

- A config that is truncated, binary or has wrong types is an error in the tray (error
  icon, a "Config error" line naming the file and line) and on the command line (exit 78,
  one line), the app still starts, and the file is kept byte for byte.
- The state file, written by a process SIGKILLed at random moments 200 times, always
  opens, passes an integrity check, and holds every write that returned before the kill.
- With the data dir full (a 64 KiB tmpfs filled up) or read-only (the same tmpfs
  remounted read-only), a refresh still shows every balance, says why nothing was saved,
  and the next refresh runs; once there is room again the state is saved.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import (
    ALL,
    SUCCESS_BODY,
    SUCCESS_REMAINING,
    real_app,
    refresh_once,
    route_for,
    stop_real_app,
    store_keys,
    wait_for_log,
    write_config,
)
from tests.reliability_tray import MakeTray, make_tray, refresh, rows, start, visible_top_lines  # noqa: F401
from tray_app import fileio
from tray_app.engine import Engine, RefreshReport
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.ui.icons import IconState

ROOT = Path(__file__).resolve().parents[1]
POLICY = FetchPolicy(attempt_timeout=2, total_timeout=3, backoff_base=0.01)

GOOD_CONFIG = b'refresh_minutes = 10\nlanguage = "en"\n\n[[accounts]]\nid = "meow-main"\nprovider = "meowload"\n'
BROKEN_CONFIGS = {
    # name: (content, line the error must name, or None when no line applies)
    # Cut short: the parser says the file ends too early; the error names the last line there is.
    "truncated": (GOOD_CONFIG[: GOOD_CONFIG.index(b"provider") + 15], 6),
    "truncated-in-a-table-header": (b'refresh_minutes = 10\n[[accou', 2),
    "binary": (bytes(range(256)) * 4, 2),  # the first byte that is not UTF-8 (0x80) follows one b"\n"
    "nul-bytes": (b"refresh_minutes = 10\n\x00\x00\x00\x00\n", 2),
    "refresh-is-text": (b'refresh_minutes = "ten"\n' + GOOD_CONFIG[21:], 1),
    "notifications-is-text": (b'notifications = "yes"\n' + GOOD_CONFIG, 1),
    "accounts-is-a-string": (b'language = "en"\naccounts = "meow-main"\n', 2),
    "language-is-a-number": (b"language = 5\n", 1),
}


# --------------------------------------------------------------------------- broken config

def where(config: Path, line: int | None) -> str:
    return f"{config}:{line}" if line else f"{config}: invalid TOML"

@pytest.mark.parametrize("name", sorted(BROKEN_CONFIGS))
def test_broken_config_is_an_error_in_the_tray_the_app_runs_and_the_file_is_kept(
        qtbot, make_tray: MakeTray, tmp_path: Path, name: str) -> None:  # noqa: F811
    content, line = BROKEN_CONFIGS[name]
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_bytes(content)
    controller = make_tray(config, policy=POLICY)
    start(qtbot, controller)

    first = visible_top_lines(controller)[0]
    assert first.startswith(f"Config error: {where(config, line)}: "), first
    assert not name.startswith("truncated") or first.endswith("(the file ends too early)")
    assert controller.icon_state() is IconState.ERROR
    assert controller.tray.toolTip().startswith("Config error:")
    refresh(qtbot, controller)  # a manual refresh: still running, still the same error
    assert visible_top_lines(controller)[0] == first
    assert config.read_bytes() == content
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml"]


def test_tray_recovers_once_the_config_is_fixed(qtbot, make_tray: MakeTray, tmp_path: Path,  # noqa: F811
                                                server: FakeServer, isolated_env: dict[str, str]) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(BROKEN_CONFIGS["binary"][0])
    controller = make_tray(config, policy=POLICY)
    start(qtbot, controller)
    assert controller.icon_state() is IconState.ERROR

    server.route(route_for("meow", "meowload"), Reply(200, SUCCESS_BODY["meowload"]))
    write_config(config, [{"id": "meow", "provider": "meowload", "base_url": f"{server.url}/meow"}])
    store_keys({"meow": "sk-files-test-0001"})
    qtbot.waitUntil(lambda: not controller.refreshing, timeout=10_000)
    refresh(qtbot, controller)
    assert rows(controller) == ["MeowLoad — 282,539 credits"]
    assert not [line for line in visible_top_lines(controller) if line.startswith("Config error")]
    assert controller.icon_state() is IconState.OK


def test_account_with_wrong_types_is_its_own_error_and_the_others_work(qtbot, make_tray: MakeTray,  # noqa: F811
                                                                       tmp_path: Path, server: FakeServer,
                                                                       isolated_env: dict[str, str]) -> None:
    server.route(route_for("good", "sociavault"), Reply(200, SUCCESS_BODY["sociavault"]))
    text = (f'[[accounts]]\nid = "bad"\nprovider = "meowload"\nthresholds = "1000"\n\n'
            f'[[accounts]]\nid = "good"\nprovider = "sociavault"\nbase_url = "{server.url}/good"\n')
    config = tmp_path / "config.toml"
    config.write_text(text)
    store_keys({"bad": "sk-files-test-0002", "good": "sk-files-test-0003"})
    controller = make_tray(config, policy=POLICY)
    start(qtbot, controller)
    assert rows(controller) == ["MeowLoad — Config error: thresholds must be a list of numbers",
                                "SociaVault — 950 credits (below 1,000)"]
    assert config.read_text() == text


@pytest.mark.parametrize("name", sorted(BROKEN_CONFIGS))
def test_broken_config_on_the_command_line_is_one_line_and_exit_78(isolated_env: dict[str, str], tmp_path: Path,
                                                                    name: str) -> None:
    content, line = BROKEN_CONFIGS[name]
    config = tmp_path / "config.toml"
    config.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), "check"], env=isolated_env,
                          capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert proc.returncode == 78, proc.stderr
    assert proc.stdout == ""
    (message,) = proc.stderr.splitlines()
    assert message.startswith(f"credit-tray: config error: {where(config, line)}: "), message
    assert config.read_bytes() == content


def test_the_real_app_starts_with_a_broken_config_and_quits_cleanly(isolated_env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    content = BROKEN_CONFIGS["binary"][0]
    config = tmp_path / "config.toml"
    config.write_bytes(content)
    with real_app(config, isolated_env, tmp_path, tray_wait_s=0.5) as (proc, log):
        wait_for_log(proc, log, "config error")
        time.sleep(1.0)  # past the tray wait: the fallback window opens, the app keeps running
        assert proc.poll() is None, proc.communicate()
        err = stop_real_app(proc, timeout=5)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    text = log.read_text()
    assert f"config error: {config}:2: the file is not UTF-8 text" in text
    assert "Credit Tray stopped" in text
    assert config.read_bytes() == content


# --------------------------------------------------------------------------- SIGKILL during writes

WRITER = textwrap.dedent("""
    import os, sys
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal
    from pathlib import Path
    from tray_app.alerts import AlertMemory
    from tray_app.history import Entry, HistoryStore
    from tray_app.model import Reading

    path = Path(sys.argv[1])
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for line in sys.stdin:          # one command per kill: the number to count from
        base = int(line)
        pid = os.fork()
        if pid == 0:                # the writer: record, then say so, for ever
            store = HistoryStore(path)
            i = base
            while True:
                i += 1
                reading = Reading(remaining=Decimal(i), used=Decimal(i % 13), unit="credits",
                                  fetched_at=start + timedelta(microseconds=i))
                os.write(1, f"begin {i}\\n".encode())
                store.record([Entry(f"k{i % 7}", reading, reading.fetched_at)], notifier="tray",
                             memories={f"k{i % 7}": AlertMemory(auth_alerted=i % 2 == 1)})
                os.write(1, f"ack {i}\\n".encode())
        os.write(1, f"pid {pid}\\n".encode())  # one write: lines from parent and child never mix
        os.waitpid(pid, 0)
        os.write(1, b"reaped\\n")
""")
KILLS = 200


def _check_history(path: Path, acked: set[int]) -> int:
    """Integrity: SQLite finds nothing wrong, and every acknowledged reading is there, exactly."""
    store = HistoryStore(path)
    try:
        assert store.integrity_check() == "ok"
        stored: dict[int, Decimal | None] = {}
        for n in range(7):
            for point in store.readings(f"k{n}"):
                assert point.reading.remaining is not None
                number = int(point.reading.remaining)
                assert number % 7 == n
                assert point.reading.used == number % 13
                stored[number] = point.reading.used
        missing = acked - set(stored)
        assert not missing, f"{len(missing)} acknowledged readings lost, e.g. {sorted(missing)[:5]}"
        memory = store.alert_memory("tray")
        assert set(memory) <= {f"k{n}" for n in range(7)}
        return len(stored)
    finally:
        store.close()


def test_history_survives_sigkill_during_writes_200_times(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    rng = random.Random(6)
    zygote = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
    assert zygote.stdin is not None
    assert zygote.stdout is not None
    acked: set[int] = set()
    mid_write = 0
    try:
        for kill in range(KILLS):
            zygote.stdin.write(f"{kill * 1_000_000}\n")
            zygote.stdin.flush()
            wanted, this_kill, pid = rng.randrange(0, 12), 0, 0
            while not pid or this_kill < wanted:  # the writer may speak before its parent names it
                word, number = zygote.stdout.readline().split()
                if word == "pid":
                    pid = int(number)
                elif word == "ack":
                    acked.add(int(number))
                    this_kill += 1
            time.sleep(rng.random() * 0.004)  # land anywhere: between writes or inside a transaction
            os.kill(pid, signal.SIGKILL)
            last = ""
            for line in iter(zygote.stdout.readline, "reaped\n"):
                word, number = line.split()
                last = word
                if word == "ack":  # the commit had returned before the kill
                    acked.add(int(number))
            mid_write += last == "begin"  # killed after starting a write and before it returned
            if kill % 20 == 19:
                _check_history(path, acked)
    finally:
        zygote.kill()
        zygote.wait()
    print(f"\n{KILLS} kills, {len(acked)} acknowledged readings, {mid_write} kills inside a write")
    assert len(acked) > KILLS  # not vacuous: many writes returned before kills
    assert mid_write > 10  # and many kills landed inside a write
    assert _check_history(path, acked) >= len(acked)


# --------------------------------------------------------------------------- full or read-only data dir

class SmallDisk:
    """A 1 MiB tmpfs we can fill or make read-only; where mounting is not allowed, the same errors
    are raised from the file-writing layer instead (``reason`` says which)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        self._monkeypatch = pytest.MonkeyPatch()  # its own: undoing it must not undo the test's
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
                                 capture_output=True, check=False)
        self.mounted = mounted.returncode == 0
        self.reason = "tmpfs" if self.mounted else "simulated"
        self._filler = folder / "filler.bin"

    def fill(self) -> None:
        if not self.mounted:
            self._fail(errno.ENOSPC)
            return
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)
        self._monkeypatch.undo()

    def read_only(self) -> None:
        if not self.mounted:
            self._fail(errno.EROFS)
            return
        subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True)

    def writable(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(self.folder)], check=True)
        self._monkeypatch.undo()

    def _fail(self, code: int) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise OSError(code, os.strerror(code))

        self._monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)

    def close(self) -> None:
        self._monkeypatch.undo()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "data")
    try:
        yield small
    finally:
        small.close()


def _accounts(server: FakeServer) -> list[dict[str, Any]]:
    for provider_id in ALL:
        server.route(route_for(f"d-{provider_id}", provider_id), Reply(200, SUCCESS_BODY[provider_id]))
    return [{"id": f"d-{p}", "provider": p, "base_url": f"{server.url}/d-{p}"} for p in ALL]


def _engine_refresh(config: Path, history: Path) -> RefreshReport:
    return refresh_once(config, history, policy=POLICY)


@pytest.mark.parametrize("trouble", ["full", "read-only"])
def test_full_or_read_only_data_dir_still_shows_balances_and_says_why(disk: SmallDisk, server: FakeServer,
                                                                      isolated_env: dict[str, str], tmp_path: Path,
                                                                      trouble: str, caplog) -> None:
    if not disk.mounted:
        pytest.skip("needs a tmpfs to fill (root); SQLite's own writes cannot be refused from Python")
    accounts = _accounts(server)
    config = write_config(tmp_path / "config.toml", accounts)
    store_keys({a["id"]: f"sk-disk-{a['id']}" for a in accounts})
    history = disk.folder / "history.sqlite3"
    first = _engine_refresh(config, history)
    assert first.save_error is None

    disk.fill() if trouble == "full" else disk.read_only()
    server.route(route_for("d-meowload", "meowload"), Reply(200, {"availableCredits": 1500}))
    report = _engine_refresh(config, history)

    by_id = {r.account_id: r for r in report.results}
    assert by_id["d-meowload"].reading is not None
    assert by_id["d-meowload"].reading.remaining == 1500
    for provider_id in ALL[1:]:
        reading = by_id[f"d-{provider_id}"].reading
        assert reading is not None
        assert reading.remaining == SUCCESS_REMAINING[provider_id]
    assert [a.account_id for a in report.alerts] == ["d-meowload"]  # still decided, just not remembered
    reason = "No space left on device" if trouble == "full" else "Read-only file system"
    assert report.save_error == f"could not save the balances to {history}: {reason}"
    assert any(report.save_error in r.getMessage() for r in caplog.records)

    disk.free() if trouble == "full" else disk.writable()
    # The earlier readings are intact, not half-written.
    assert HistoryStore(history).latest_good()["d-meowload"].remaining == SUCCESS_REMAINING["meowload"]
    again = _engine_refresh(config, history)
    assert again.save_error is None
    assert HistoryStore(history).latest_good()["d-meowload"].remaining == 1500
    assert HistoryStore(history).integrity_check() == "ok"


def test_tray_with_a_full_data_dir_keeps_showing_and_refreshing(qtbot, make_tray: MakeTray,  # noqa: F811
                                                                disk: SmallDisk, server: FakeServer,
                                                                isolated_env: dict[str, str], tmp_path: Path) -> None:
    if not disk.mounted:
        pytest.skip("needs a tmpfs to fill (root)")
    accounts = _accounts(server)
    config = write_config(tmp_path / "config.toml", accounts)
    store_keys({a["id"]: f"sk-disk-{a['id']}" for a in accounts})
    engine = Engine(config, keys=KeyStore(), history=HistoryStore(disk.folder / "history.sqlite3"),
                    notifier="tray", policy=POLICY)
    controller = make_tray(config, engine=engine)
    notices: list[str] = []
    controller.notified.connect(lambda notice: notices.append(notice.title))
    disk.fill()
    start(qtbot, controller)
    expected = ["MeowLoad — 282,539 credits", "SmarterBot — 4,757 message credits",
                "SociaVault — 950 credits (below 1,000)", "Unwatermark — 1,234 credits"]
    assert rows(controller) == expected
    assert notices == ["SociaVault: 950 credits left"]
    server.route(route_for("d-meowload", "meowload"), Reply(200, {"availableCredits": 77}))
    refresh(qtbot, controller)
    assert rows(controller)[0] == "MeowLoad — 77 credits (below 100)"
    assert notices == ["SociaVault: 950 credits left", "MeowLoad: 77 credits left"]
    # Nothing could be saved, yet nothing repeats: the running tray keeps its own memory.
    refresh(qtbot, controller)
    refresh(qtbot, controller)
    assert notices == ["SociaVault: 950 credits left", "MeowLoad: 77 credits left"]
