"""The keyring locked, missing, raising or hanging: "key unavailable" with what to do, never a crash,
never a plaintext fallback, never a hang.

Each failing keyring is a real keyring backend selected the way a user's keyringrc would
(``PYTHON_KEYRING_BACKEND``), so the product's own backend selection runs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import reliability_support as support
from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import ALL, SUCCESS_BODY, real_app, route_for, stop_real_app, wait_for_log, write_config
from tests.reliability_tray import MakeTray, make_tray, refresh, row_lines, rows, start  # noqa: F401
from tray_app.engine import Engine
from tray_app.fetch import FetchPolicy
from tray_app.history import Entry, HistoryStore
from tray_app.keys import KeyStore, KeyUnavailable
from tray_app.model import ErrorKind, Reading
from tray_app.ui.icons import IconState

ROOT = Path(__file__).resolve().parents[1]
POLICY = FetchPolicy(attempt_timeout=2, total_timeout=3, backoff_base=0.01)
NAMES = {"meowload": "MeowLoad", "smarterbot": "SmarterBot", "sociavault": "SociaVault",
         "unwatermark": "Unwatermark"}
# backend to select (None: none configured and none usable), and the words telling the user what to do
KEYRINGS = {
    "locked": ("tests.reliability_support.LockedKeyring", "unlock it"),
    "prompt-dismissed": ("tests.reliability_support.DismissedKeyring", "refresh to be asked again"),
    "raising": ("tests.reliability_support.RaisingKeyring", "check that your keyring service is running"),
    "missing-fail-backend": ("keyring.backends.fail.Keyring", "install and start a Secret Service provider"),
    "missing-none-usable": (None, "install and start a Secret Service provider"),
}
EARLIER = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def keyring_env(isolated_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """isolated_env, able to select the backends in tests.reliability_support (in this process and children)."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # no Secret Service to fall back on
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    support._Refusing.calls.clear()
    yield {**isolated_env, "PYTHONPATH": str(ROOT)}
    support.HANG.set()
    support.HANG.clear()


def select(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], backend: str | None) -> dict[str, str]:
    if backend is None:
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        env = {k: v for k, v in env.items() if k != "PYTHON_KEYRING_BACKEND"}
    else:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
        env = {**env, "PYTHON_KEYRING_BACKEND": backend}
    return env


def plaintext_files(env: dict[str, str]) -> list[Path]:
    """Files a plaintext keyring (keyrings.alt) would write: there must be none."""
    roots = [Path(env["XDG_DATA_HOME"]), Path(env["XDG_CONFIG_HOME"]), Path(env["HOME"])]
    return sorted({p for root in roots for p in root.rglob("*") if p.is_file() and "keyring" in p.name.lower()})


def _accounts(server: FakeServer) -> list[dict[str, str]]:
    for provider_id in ALL:
        server.route(route_for(f"k-{provider_id}", provider_id), Reply(200, SUCCESS_BODY[provider_id]))
    return [{"id": f"k-{p}", "provider": p, "base_url": f"{server.url}/k-{p}"} for p in ALL]


@pytest.mark.parametrize("name", sorted(KEYRINGS))
def test_unusable_keyring_shows_key_unavailable_and_what_to_do(qtbot, make_tray: MakeTray,  # noqa: F811
                                                               keyring_env: dict[str, str], tmp_path: Path,
                                                               server: FakeServer, monkeypatch: pytest.MonkeyPatch,
                                                               name: str) -> None:
    backend, advice = KEYRINGS[name]
    env = select(monkeypatch, keyring_env, backend)
    config = write_config(tmp_path / "config.toml", _accounts(server))
    state = tmp_path / "history.sqlite3"
    last = Reading(remaining=Decimal(4321), unit="credits", fetched_at=EARLIER)
    HistoryStore(state).record([Entry("k-meowload", last, EARLIER)])
    controller = make_tray(config, engine=Engine(config, keys=KeyStore(), history=HistoryStore(state),
                                                  notifier="tray", policy=POLICY))
    start(qtbot, controller)

    for index, provider_id in enumerate(ALL):
        row = rows(controller)[index]
        assert row.startswith(f"{NAMES[provider_id]} — Key unavailable: "), row
        assert advice in row, row
        assert "secret details" not in row  # the backend's own words stay out of the menu
    assert row_lines(controller, 0)[1].startswith("Balance from ")  # the last known balance still shows
    assert row_lines(controller, 0)[1].endswith(": 4,321 credits")
    assert controller.icon_state() is IconState.ERROR
    assert server.requests == []  # without a key nothing is sent

    asked = len(support._Refusing.calls)
    refresh(qtbot, controller)  # no crash, and the next refresh asks the keyring again
    assert len(support._Refusing.calls) >= asked + (len(ALL) if backend and "support" in backend else 0)
    assert rows(controller)[0].startswith("MeowLoad — Key unavailable: ")

    with pytest.raises(KeyUnavailable):
        KeyStore().set("k-meowload", "sk-must-not-be-written-anywhere")
    assert plaintext_files(env) == []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"sk-must-not-be-written-anywhere" not in path.read_bytes(), path


@pytest.mark.parametrize("name", ["locked", "missing-none-usable"])
def test_unusable_keyring_on_the_command_line(keyring_env: dict[str, str], tmp_path: Path, server: FakeServer,
                                              monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    backend, advice = KEYRINGS[name]
    env = select(monkeypatch, keyring_env, backend)
    config = write_config(tmp_path / "config.toml", _accounts(server))

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), *args], input=stdin,
                              env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)

    stored = cli("key", "set", "k-meowload", stdin="sk-must-not-be-written-anywhere\n")
    assert stored.returncode == 69, stored.stderr
    (line,) = stored.stderr.splitlines()
    assert advice in line
    assert "Traceback" not in stored.stderr
    checked = cli("check", "--json")
    assert checked.returncode == 3, checked.stderr
    errors = [a["error"] for a in json.loads(checked.stdout)["accounts"]]
    assert [e["kind"] for e in errors] == ["no_key"] * len(ALL)
    assert all(e["message"].startswith("key unavailable: ") and advice in e["message"] for e in errors)
    assert plaintext_files(env) == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"sk-must-not" in p.read_bytes()]
    assert server.requests == []


def test_a_hanging_keyring_costs_one_timeout_and_no_thread_pile_up(keyring_env: dict[str, str], tmp_path: Path,
                                                                   server: FakeServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    select(monkeypatch, keyring_env, "tests.reliability_support.HangingKeyring")
    config = write_config(tmp_path / "config.toml", _accounts(server))
    engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "history.sqlite3"),
                        notifier="tray", policy=POLICY,
                    key_timeout=0.5)

    def keyring_threads() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "credit-tray-keyring")

    async def go() -> list[float]:
        times = []
        cfg = engine.load_config()
        for _ in range(5):  # refresh after refresh while the keyring still hangs
            start = time.monotonic()
            report = await engine.refresh(cfg, engine.select(cfg), language="en")
            times.append(time.monotonic() - start)
            assert [r.error.kind if r.error else None for r in report.results] == [ErrorKind.NO_KEY] * len(ALL)
            assert all(r.error and "did not answer" in r.error.message for r in report.results)
        await engine.aclose()
        return times

    times = asyncio.run(go())
    print(f"\nrefreshes with a hanging keyring took {[round(t, 2) for t in times]} s (timeout 0.5 s)")
    assert max(times) < 0.5 + 1.0, times
    assert keyring_threads() <= len(ALL)  # one read per account at most, however many refreshes
    support.HANG.set()  # the user unlocks (here: the prompt gives up); the reads end
    deadline = time.monotonic() + 5
    while keyring_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert keyring_threads() == 0
    assert server.requests == []


def test_the_real_app_quits_at_once_while_the_keyring_hangs(keyring_env: dict[str, str], tmp_path: Path,
                                                            server: FakeServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    env = select(monkeypatch, keyring_env, "tests.reliability_support.HangingKeyring")
    config = write_config(tmp_path / "config.toml", _accounts(server))
    with real_app(config, env, tmp_path, tray_wait_s=60) as (proc, log):
        wait_for_log(proc, log, "refresh due: start")
        time.sleep(0.5)  # the refresh is now waiting on the keyring
        assert proc.poll() is None
        sent = time.monotonic()
        err = stop_real_app(proc)
        took = time.monotonic() - sent
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # Signal to process gone, interpreter teardown included; the tray's own shutdown is bounded at 1 s.
    print(f"\nquit {took * 1000:.0f} ms after SIGTERM while the keyring hangs")
    assert took < 1.5, took


def test_the_log_filter_never_waits_for_a_hanging_keyring(keyring_env: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every log record asks the key store which keys to scrub; that must not queue behind the keyring
    (it did: the whole app froze at its next log line while a password prompt was open)."""
    select(monkeypatch, keyring_env, "tests.reliability_support.HangingKeyring")
    store = KeyStore()
    def read() -> None:
        with contextlib.suppress(KeyUnavailable):  # what it ends in once the prompt is abandoned
            store.get("k-meowload")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 5
    while "get k-meowload" not in support._Refusing.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "get k-meowload" in support._Refusing.calls  # the keyring is now hanging inside get()
    answers: list[Any] = []
    asker = threading.Thread(target=lambda: answers.append((store.known_keys(), store.peek("k-meowload"))),
                             daemon=True)  # asked from a thread: a regression must fail, not hang the suite
    asker.start()
    asker.join(0.5)
    stuck = asker.is_alive()
    support.HANG.set()
    assert not stuck, "known_keys() waited for the keyring"
    assert answers == [([], (False, None))]
    reader.join(5)


def test_a_replaced_key_is_still_scrubbed(keyring_env: dict[str, str]) -> None:
    store = KeyStore()
    store.set("k-meowload", "sk-old-key-0123456789")
    store.set("k-meowload", "sk-new-key-9876543210")
    store.forget()
    assert store.known_keys() == ["sk-new-key-9876543210", "sk-old-key-0123456789"]
