"""Parallel writers and odd files: what an unlucky user's disk and habits do to the config.

- Ten ``accounts add`` at once (and Settings writing meanwhile) keep all ten accounts; a
  writer that cannot get the config's lock says so in one line and changes nothing.
- Removing an account never leaves its key where no command can reach it.
- A FIFO, a device, a huge or deeply nested config is a config error naming the file.
- A symlinked config is written at the link's target, and stays a link.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakeserver import SUCCESS_BODY, FakeServer, Reply
from tests.reliability_support import real_app, route_for, stop_real_app, store_keys, write_config
from tests.reliability_tray import (  # noqa: F401
    MakeTray,
    everything_shown,
    make_tray,
    refresh,
    row_lines,
    rows,
    start,
    visible_top_lines,
)
from tests.test_reliability_files import SmallDisk
from tray_app.config import load, set_globals
from tray_app.fileio import exclusive_lock
from tray_app.history import Entry, HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import Reading, utc_now
from tray_app.ui.icons import IconState

GOOD_CONFIG = b'language = "en"\n\n[[accounts]]\nid = "meow-main"\nprovider = "meowload"\n'


def cli(env: dict[str, str], cwd: Path, config: Path, *args: str, stdin: str = "",
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def account_ids(config: Path) -> list[str]:
    return [a["id"] for a in tomllib.loads(config.read_text("utf-8")).get("accounts", [])]


# --------------------------------------------------------------------------- parallel writers

def test_ten_parallel_accounts_add_keep_all_ten_while_settings_writes_too(isolated_env: dict[str, str],
                                                                         tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_bytes(GOOD_CONFIG)
    stop = threading.Event()
    settings_writes = 0

    def settings_window() -> None:  # what Settings runs on its backend thread for the global options
        nonlocal settings_writes
        while not stop.is_set():
            settings_writes += 1
            set_globals(config, refresh_minutes=5 + settings_writes % 2)

    writer = threading.Thread(target=settings_window)
    writer.start()
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), "accounts", "add",
                                   "sociavault", "--id", f"par-{i}"], env=isolated_env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(10)]
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        stop.set()
        writer.join()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("Added par-"), out
    assert sorted(account_ids(config)) == sorted(["meow-main", *(f"par-{i}" for i in range(10))])
    assert settings_writes > 1
    assert load(config).refresh_minutes == 5 + settings_writes % 2  # the last Settings write is kept too
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]  # no lock or temp file left


def test_a_writer_that_cannot_get_the_lock_says_so_and_changes_nothing(isolated_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(GOOD_CONFIG)
    with exclusive_lock(config):  # another writer (Settings, say) in the middle of a change
        proc = cli(isolated_env, tmp_path, config, "accounts", "add", "sociavault", "--id", "late")
    assert proc.returncode == 75, proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line == (f"credit-tray: error: could not change {config}: another program is changing it "
                    "(waited 5 s); nothing was changed")
    assert config.read_bytes() == GOOD_CONFIG
    proc = cli(isolated_env, tmp_path, config, "accounts", "add", "sociavault", "--id", "late")
    assert proc.returncode == 0, proc.stderr
    assert account_ids(config) == ["meow-main", "late"]


def test_settings_says_so_when_another_writer_holds_the_config(qtbot, make_tray: MakeTray,  # noqa: F811
                                                                tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(GOOD_CONFIG)
    controller = make_tray(config)
    start(qtbot, controller)
    controller.open_settings()
    settings = controller.settings
    assert settings is not None
    with exclusive_lock(config), qtbot.waitSignal(settings.changed, timeout=15_000):  # a CLI command, say
        settings.refresh_minutes.setValue(7)
        settings.refresh_minutes.editingFinished.emit()
    assert settings.status.text() == (f"Could not change {config}: another program is changing it (waited 5 s); "
                                      "nothing was changed")
    assert config.read_bytes() == GOOD_CONFIG


# --------------------------------------------------------------------------- orphan keys

TWO_ACCOUNTS = GOOD_CONFIG + b'\n[[accounts]]\nid = "vault"\nprovider = "sociavault"\n'


def test_removing_an_account_with_a_full_disk_never_leaves_an_unreachable_key(isolated_env: dict[str, str],
                                                                              tmp_path: Path) -> None:
    disk = SmallDisk(Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray")  # where the saved balances live
    try:
        if not disk.mounted:
            pytest.skip("needs a tmpfs to fill (run as root)")
        config = tmp_path / "config.toml"
        config.write_bytes(TWO_ACCOUNTS)
        on_full_disk = disk.folder / "config.toml"
        on_full_disk.write_bytes(TWO_ACCOUNTS)
        store_keys({"meow-main": "sk-orphan-test-0001", "vault": "sk-orphan-test-0002"})
        history = disk.folder / "history.sqlite3"
        HistoryStore(history).record([Entry("meow-main", Reading(remaining=Decimal(5), unit="credits",
                                                                 fetched_at=utc_now()), utc_now())])
        disk.fill()

        # The history cannot be rewritten: the account and its key go all the same.
        proc = cli(isolated_env, tmp_path, config, "accounts", "remove", "meow-main")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "Removed meow-main and its key.\n"
        assert proc.stderr == (f"credit-tray: warning: could not forget the history of meow-main: {history}: "
                               "No space left on device\n")
        assert account_ids(config) == ["vault"]
        assert KeyStore().get("meow-main") is None

        # The config itself cannot be rewritten: the account stays listed, so it can be removed again later.
        proc = cli(isolated_env, tmp_path, on_full_disk, "accounts", "remove", "vault")
        assert proc.returncode == 78, proc.stderr
        assert proc.stderr == (f"credit-tray: error: deleted the key of vault, but could not remove the account "
                               f"from {on_full_disk}: No space left on device; run this again once that is fixed\n")
        assert on_full_disk.read_bytes() == TWO_ACCOUNTS
        assert KeyStore().get("vault") is None
        disk.free()
        proc = cli(isolated_env, tmp_path, on_full_disk, "accounts", "remove", "vault")
        assert proc.returncode == 0, proc.stderr
        assert account_ids(on_full_disk) == ["meow-main"]
    finally:
        disk.close()


def test_key_delete_reaches_a_key_whose_account_is_gone(isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(GOOD_CONFIG)
    store_keys({"gone": "sk-orphan-test-0003"})  # left behind by an older version's failed removal
    proc = cli(isolated_env, tmp_path, config, "key", "delete", "gone")
    # Not repeated: an id that is in no account may be a key pasted in the wrong place.
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "Deleted the key for that id (not in the config).\n",
                                                           "")
    assert KeyStore().get("gone") is None
    proc = cli(isolated_env, tmp_path, config, "key", "delete", "gone")
    assert (proc.returncode, proc.stdout) == (0, "No key was stored for that id (not in the config).\n")
    assert config.read_bytes() == GOOD_CONFIG


# --------------------------------------------------------------------------- odd files

def _fifo(folder: Path) -> Path:
    path = folder / "config.toml"
    os.mkfifo(path)
    return path


def _sparse(folder: Path) -> Path:
    path = folder / "config.toml"
    with path.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # 2 GB of holes: costs no disk, would cost 2 GB of memory to read
    return path


def _just_too_big(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_bytes(b"# padding\n" * (1024 * 1024 // 10) + b'language = "en"\n')  # valid TOML, over 1 MiB
    return path


ODD_FILES = {
    # name: (make it, the problem the one line must end with)
    "fifo": (_fifo, "is a named pipe (FIFO), not a regular file"),
    "dev-zero": (lambda folder: Path("/dev/zero"), "is a device, not a regular file"),
    "sparse-2gb": (_sparse, "is too large for a config file (2,147,483,648 bytes; at most 1 MiB)"),
    "just-over-1mib": (_just_too_big, "is too large for a config file (1,048,586 bytes; at most 1 MiB)"),
}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_special_or_huge_config_is_one_line_exit_78_at_once(isolated_env: dict[str, str], tmp_path: Path,
                                                           name: str) -> None:
    make, problem = ODD_FILES[name]
    config = make(tmp_path)
    for args in (["check"], ["accounts", "list"], ["accounts", "add", "sociavault", "--id", "x"]):
        # A FIFO used to block the reader for ever: the timeout turns that into a failure here.
        proc = cli(isolated_env, tmp_path, config, *args, timeout=30)
        assert proc.returncode == 78, (args, proc.stderr)
        assert proc.stderr.splitlines() == [f"credit-tray: config error: {config}: {problem}"], args
        assert proc.stdout == ""
    if config.parent == tmp_path:
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["config.toml"]


def test_a_fifo_as_config_is_a_config_error_in_the_tray(qtbot, make_tray: MakeTray,  # noqa: F811
                                                        tmp_path: Path) -> None:
    config = _fifo(tmp_path)
    controller = make_tray(config)
    start(qtbot, controller)
    assert visible_top_lines(controller)[0] == (f"Config error: {config}: is a named pipe (FIFO), "
                                                "not a regular file")
    assert controller.icon_state() is IconState.ERROR


DEEP = b'language = "en"\nvalue = ' + b"[" * 5000 + b"]" * 5000 + b"\n"


def test_deeply_nested_toml_is_a_config_error_on_the_command_line(isolated_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(DEEP)
    for args in (["check"], ["accounts", "add", "sociavault", "--id", "x"]):
        proc = cli(isolated_env, tmp_path, config, *args)
        assert proc.returncode == 78, proc.stderr
        assert proc.stderr.splitlines() == [f"credit-tray: config error: {config}: invalid TOML: "
                                            "values are nested too deeply"]
    assert config.read_bytes() == DEEP


def test_deeply_nested_toml_is_the_menus_config_error_line(qtbot, make_tray: MakeTray,  # noqa: F811
                                                           tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(DEEP)
    controller = make_tray(config)
    start(qtbot, controller)
    assert visible_top_lines(controller)[0] == f"Config error: {config}: invalid TOML: values are nested too deeply"
    assert controller.icon_state() is IconState.ERROR


# --------------------------------------------------------------------------- a symlinked config

def test_a_symlinked_config_is_written_at_its_target_and_stays_a_link(isolated_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "credit-tray.toml"
    target.write_bytes(b"# kept in my dotfiles repository\n" + GOOD_CONFIG)
    target.chmod(0o640)
    folder = tmp_path / "conf"
    folder.mkdir()
    link = folder / "config.toml"
    link.symlink_to(Path("..") / "dotfiles" / "credit-tray.toml")

    for args in (["accounts", "add", "sociavault", "--id", "vault"], ["accounts", "remove", "meow-main"]):
        proc = cli(isolated_env, tmp_path, link, *args)
        assert proc.returncode == 0, proc.stderr
        assert link.is_symlink()
        assert os.readlink(link) == str(Path("..") / "dotfiles" / "credit-tray.toml")
    assert target.read_text().startswith("# kept in my dotfiles repository\n")
    assert account_ids(target) == ["vault"]
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml"]
    assert sorted(p.name for p in dotfiles.iterdir()) == ["credit-tray.toml"]


# --------------------------------------------------------------------------- a reading from the future

def test_a_reading_stamped_in_the_future_is_of_unknown_age_until_a_good_one_replaces_it(
        qtbot, make_tray: MakeTray, tmp_path: Path, server: FakeServer) -> None:  # noqa: F811
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload",
                                                      "base_url": f"{server.url}/meow"}])
    store_keys({"meow": "sk-future-test-0001"})
    history = tmp_path / "history.sqlite3"  # the one make_tray's engine uses
    taken_with_a_wrong_clock = utc_now() + timedelta(days=400)
    HistoryStore(history).record([Entry("meow", Reading(remaining=Decimal(5000), unit="credits",
                                                        fetched_at=taken_with_a_wrong_clock), utc_now())])
    server.route(route_for("meow", "meowload"), Reply(500, {"message": "down"}))
    controller = make_tray(config)
    start(qtbot, controller)
    assert row_lines(controller, 0)[1] == ("Balance of unknown age (its time stamp is in the future): "
                                           "5,000 credits")
    assert "just now" not in everything_shown(controller)

    server.route(route_for("meow", "meowload"), Reply(200, SUCCESS_BODY["meowload"]))
    refresh(qtbot, controller)
    assert rows(controller) == ["MeowLoad — 282,539 credits"]
    saved = HistoryStore(history).latest_good()["meow"]
    assert saved.remaining == 282539
    assert saved.fetched_at <= utc_now()


# --------------------------------------------------------------------------- errors as one clear line, once

def _small_disk(folder: Path) -> SmallDisk:
    disk = SmallDisk(folder)
    if not disk.mounted:
        disk.close()
        pytest.skip("needs a tmpfs to fill or make read-only (run as root)")
    return disk


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to run as a user with no passwd entry")
@pytest.mark.parametrize("args", [["check"], []], ids=["check", "tray"])
def test_no_home_and_no_passwd_entry_is_one_clear_line(tmp_path: Path, args: list[str]) -> None:
    tmp_path.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "QT_QPA_PLATFORM": "offscreen"}  # no HOME, no XDG_* variables
    uid = 54321  # no entry in /etc/passwd
    assert subprocess.run(["getent", "passwd", str(uid)], capture_output=True, check=False).returncode != 0
    proc = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable,
                           "-m", "tray_app", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 78, proc.stderr
    assert proc.stderr.splitlines() == [
        f"credit-tray: error: cannot tell where your files go: HOME is not set and user {uid} has no home in the "
        "password database; set HOME (or XDG_CONFIG_HOME)"]


@pytest.mark.parametrize("trouble", ["full", "read-only"])
def test_a_config_write_on_a_full_or_read_only_disk_names_the_config(isolated_env: dict[str, str],
                                                                     tmp_path: Path, trouble: str) -> None:
    disk = _small_disk(tmp_path / "conf")
    try:
        config = disk.folder / "config.toml"
        config.write_bytes(GOOD_CONFIG)
        disk.fill() if trouble == "full" else disk.read_only()
        proc = cli(isolated_env, tmp_path, config, "accounts", "add", "sociavault", "--id", "vault")
        reason = "No space left on device" if trouble == "full" else "Read-only file system"
        assert proc.returncode == 78, proc.stderr
        assert proc.stderr.splitlines() == [f"credit-tray: error: could not change {config}: {reason}; "
                                            "nothing was changed"]
        assert config.read_bytes() == GOOD_CONFIG
        assert sorted(p.name for p in disk.folder.iterdir() if p.name != "filler.bin") == ["config.toml"]
    finally:
        disk.close()


def test_check_with_a_full_data_disk_warns_once(isolated_env: dict[str, str], tmp_path: Path,
                                                server: FakeServer) -> None:
    disk = _small_disk(Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray")
    try:
        server.route(route_for("meow", "meowload"), Reply(200, SUCCESS_BODY["meowload"]))
        config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload",
                                                          "base_url": f"{server.url}/meow"}])
        store_keys({"meow": "sk-errors-test-0001"})
        disk.fill()
        proc = cli(isolated_env, tmp_path, config, "check")
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines() == [f"credit-tray: warning: could not save the balances to "
                                            f"{disk.folder / 'history.sqlite3'}: No space left on device"]
    finally:
        disk.close()


def test_a_redirect_to_an_invalid_idna_host_is_a_bad_response(isolated_env: dict[str, str], tmp_path: Path,
                                                              server: FakeServer) -> None:
    server.route(route_for("meow", "meowload"), Reply(302, b"", {"Location": "https://xn--a.example/balance"}))
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload",
                                                      "base_url": f"{server.url}/meow"}])
    store_keys({"meow": "sk-errors-test-0002"})
    proc = cli(isolated_env, tmp_path, config, "check", "--json")
    assert proc.returncode == 3, proc.stderr
    (result,) = json.loads(proc.stdout)["accounts"]
    assert result["error"] == {"kind": "bad_response", "http_status": None,
                               "message": "redirected to an invalid address; not followed, the key was not sent"}


def test_a_full_log_disk_is_reported_once_not_as_a_traceback_per_record(isolated_env: dict[str, str],
                                                                        tmp_path: Path, server: FakeServer) -> None:
    disk = _small_disk(Path(isolated_env["XDG_STATE_HOME"]) / "credit-tray" / "log")
    try:
        server.route(route_for("meow", "meowload"), Reply(200, SUCCESS_BODY["meowload"]))
        config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload",
                                                          "base_url": f"{server.url}/meow"}])
        store_keys({"meow": "sk-errors-test-0003"})
        disk.fill()
        with real_app(config, isolated_env, tmp_path, tray_wait_s=0.5) as (proc, log):
            deadline = time.monotonic() + 20
            while not server.requests and time.monotonic() < deadline:  # past start-up and a refresh
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            time.sleep(1.0)  # and past the tray wait, which logs too
            err = stop_real_app(proc)
        assert proc.returncode == 0, err
        assert server.requests, "the app never refreshed"
        assert [line for line in err.splitlines() if "log" in line.lower()] == [
            f"credit-tray: cannot write the log {log} (No space left on device); logging stopped"], err
        assert "Traceback" not in err
    finally:
        disk.close()
