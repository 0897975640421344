"""A hostile neighbour and an unlucky paste: what other local users, core dumps and
scrollback must never get.

Each test drives the real program (a subprocess, or the tray's own classes under pytest-qt)
and looks where the neighbour would look: the socket directory, file modes, /proc, the output.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6

from tests.fakeserver import PATHS, FakeServer, Reply
from tray_app.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- a key pasted as an id

#: A key with a typical prefix, and one with none that is just long and random.
CANARIES = ["sk-live-CANARY4f9a2c7e1b3d8f60a5", "Zq8xV3kP9mT2wR7yL4nB6cJ1hG5"]


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "tray_app", *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=60, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("canary", CANARIES, ids=["prefixed", "random"])
@pytest.mark.parametrize("where", [
    ("accounts", "remove", "{key}"),
    ("key", "set", "{key}"),
    ("key", "delete", "{key}"),
    ("check", "--account", "{key}"),
    ("accounts", "add", "meowload", "--id", "{key}"),
    ("accounts", "add", "{key}", "--id", "meow"),
    ("check", "--key={key}"),
    ("check", "--key", "{key}"),
    ("{key}",),
    ("accounts", "{key}"),
    ("autostart", "{key}"),
], ids=lambda args: " ".join(args))
def test_a_key_typed_where_an_id_or_option_goes_is_never_echoed(isolated_env: dict[str, str], tmp_path: Path,
                                                                where: tuple[str, ...], canary: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nid = "meow"\nprovider = "meowload"\n', "utf-8")
    args = [part.format(key=canary) for part in where]
    proc = run_cli(isolated_env, "--config", str(config), *args)
    assert proc.returncode == 64, proc.stderr
    output = proc.stdout + proc.stderr
    for start in range(len(canary) - 11):  # not even a 12-character piece of it
        assert canary[start:start + 12] not in output, output
    assert proc.stderr.strip()  # still an error that says what is wrong


def test_an_ordinary_unknown_id_is_still_named(isolated_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")  # an empty config: no accounts at all
    proc = run_cli(isolated_env, "--config", str(tmp_path / "config.toml"), "accounts", "remove", "meow-typo")
    assert proc.returncode == 64
    assert "no account with id 'meow-typo'" in proc.stderr
    proc = run_cli(isolated_env, "--config", str(tmp_path / "config.toml"), "accounts", "remove", CANARIES[0])
    assert "no such account" in proc.stderr
    assert "looks like an API key" in proc.stderr


# --------------------------------------------------------------------------- the single-instance socket

STRANGER_UID = 65534  # "nobody": a second local user, simulated as root


def as_root() -> bool:
    return hasattr(os, "getuid") and os.getuid() == 0


class Listener:
    """A program that listens on a Unix socket, accepts, records what it gets and never answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received = b""
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._server.accept()
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self.received += conn.recv(100)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def short_cache() -> Iterator[Path]:
    """A cache folder with a short path: a socket's path must fit in 100 bytes, pytest's tmp_path may not."""
    folder = Path(tempfile.mkdtemp(prefix="ct-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def tray_env(isolated_env: dict[str, str], tmp_path: Path, cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in isolated_env.items() if k != "XDG_RUNTIME_DIR"}
    env.update({"QT_QPA_PLATFORM": "offscreen", "CREDIT_TRAY_TRAY_WAIT_S": "3600", "TMPDIR": str(tmp_path / "t"),
                "XDG_CACHE_HOME": str(cache)})
    (tmp_path / "t").mkdir(exist_ok=True)
    env.update(extra)
    return env


def socket_name_for(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the tray started with ``env`` puts its socket (the same function, the same environment)."""
    for name in ("XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "HOME", "TMPDIR"):
        if name in env:
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    from tray_app.ui.single_instance import server_name

    name = server_name()
    assert name is not None
    return name


def answers_as_credit_tray(name: str) -> bool:
    """Connect as a second start would, and see whether a Credit Tray answers the hand-over."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        try:
            client.connect(name)
            client.sendall(b"activate\n")
            return client.recv(100).startswith(b"credit-tray ok")
        except OSError:
            return False


def start_tray(env: dict[str, str], config: Path) -> subprocess.Popen[str]:
    if not config.exists():
        config.write_text("")  # a config named with --config must exist; an empty one has no accounts
    return subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_running(proc: subprocess.Popen[str], name: str, timeout: float = 30) -> None:
    """Until the tray answers on its socket; it must not exit meanwhile (an 'already running' exits 0)."""
    deadline = time.monotonic() + timeout
    while not answers_as_credit_tray(name):
        assert proc.poll() is None, f"the tray exited ({proc.returncode}): {proc.communicate()}"
        assert time.monotonic() < deadline, "the tray never answered on its socket"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err


@pytest.mark.parametrize("squatter", ["listener", "file-of-another-user"])
def test_a_name_taken_in_the_shared_temp_folder_does_not_stop_the_tray(
        isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_cache: Path,
        squatter: str) -> None:
    # With XDG_RUNTIME_DIR unset the socket used to be $TMPDIR/credit-tray-$USER, a name anyone can take.
    env = tray_env(isolated_env, tmp_path, short_cache)
    old_name = tmp_path / "t" / f"credit-tray-{getpass.getuser()}"
    listener = None
    if squatter == "listener":
        listener = Listener(old_name)
    else:
        old_name.write_text("mine now\n")
        if as_root():
            os.chown(old_name, STRANGER_UID, STRANGER_UID)
    name = socket_name_for(env, monkeypatch)
    assert not name.startswith(str(tmp_path / "t"))
    proc = start_tray(env, tmp_path / "config.toml")
    try:
        wait_until_running(proc, name)
        folder = Path(name).parent
        assert folder.stat().st_mode & 0o777 == 0o700
        assert folder.stat().st_uid == os.getuid()
    finally:
        err = stop(proc)
        if listener is not None:
            listener.close()
    assert "Traceback" not in err
    if listener is not None:
        assert listener.received == b""  # the hand-over never went to the squatter


def test_a_runtime_dir_that_is_not_private_is_not_used(isolated_env: dict[str, str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, short_cache: Path) -> None:
    runtime = tmp_path / "shared-run"
    runtime.mkdir(mode=0o755)
    runtime.chmod(0o755)
    listener = Listener(runtime / "credit-tray.sock")  # where the tray used to look under XDG_RUNTIME_DIR
    if as_root():
        os.chown(runtime, STRANGER_UID, STRANGER_UID)  # and it belongs to another user
    env = tray_env(isolated_env, tmp_path, short_cache, XDG_RUNTIME_DIR=str(runtime))
    name = socket_name_for(env, monkeypatch)
    assert not name.startswith(str(runtime))
    proc = start_tray(env, tmp_path / "config.toml")
    try:
        wait_until_running(proc, name)
        # A second start hands over to the first: the guard still works, in the private folder.
        second = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(tmp_path / "config.toml")],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
    finally:
        err = stop(proc)
        listener.close()
    assert "Traceback" not in err
    assert listener.received == b""


@pytest.mark.skipif(not as_root(), reason="simulating another local user needs root (setuid)")
def test_a_hand_over_from_another_user_is_ignored(qtbot: Any, qapp: Any) -> None:
    from tray_app.ui.single_instance import SingleInstance

    # A folder the other user may enter, with a socket they may connect to: as if the 0700 guard were gone
    # (on Linux the peer's uid is the second guard).
    folder = Path(tempfile.mkdtemp(prefix="credit-tray-peer-", dir="/tmp"))
    try:
        folder.chmod(0o777)
        name = str(folder / "credit-tray.sock")
        instance = SingleInstance(name)
        try:
            assert instance.claim()
            instance.serve()
            os.chmod(name, 0o777)  # noqa: S103 - on purpose: the other user may connect
            activated: list[bool] = []
            instance.activated.connect(lambda: activated.append(True))
            stranger = ("import os, socket\n"
                        f"os.setgid({STRANGER_UID}); os.setuid({STRANGER_UID})\n"
                        "s = socket.socket(socket.AF_UNIX)\n"
                        f"s.connect({name!r})\n"
                        "try:\n    s.sendall(b'activate\\n'); s.settimeout(5); print(repr(s.recv(100)))\n"
                        "except OSError as exc:\n    print(type(exc).__name__)\n")
            with qtbot.waitSignal(instance.refused, timeout=10_000):
                proc = subprocess.Popen([sys.executable, "-c", stranger], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err
            assert "credit-tray ok" not in out
            assert activated == []
            # This user's own hand-over still works.
            with qtbot.waitSignal(instance.activated, timeout=10_000):
                helper = subprocess.Popen([sys.executable, "-c", stranger.replace(
                    f"os.setgid({STRANGER_UID}); os.setuid({STRANGER_UID})", "pass")], stdout=subprocess.PIPE,
                    text=True)
            assert "credit-tray ok" in helper.communicate(timeout=10)[0]
        finally:
            instance.close()
            shiboken6.delete(instance)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- file modes

def umasked(umask: int) -> Callable[[], None]:
    return lambda: os.umask(umask) and None


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_every_folder_and_file_the_app_makes_is_private_whatever_the_umask(
        isolated_env: dict[str, str], tmp_path: Path, server: FakeServer, short_cache: Path, umask: int) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 50000}))
    root = tmp_path / "u"  # XDG folders that do not exist yet: the app creates them
    env = tray_env(isolated_env, tmp_path, short_cache / "c", HOME=str(root), XDG_CONFIG_HOME=str(root / "config"),
                   XDG_DATA_HOME=str(root / "data"), XDG_STATE_HOME=str(root / "state"))
    env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    root.mkdir(mode=0o755)

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "tray_app", *args], input=stdin, capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=60, check=False, preexec_fn=umasked(umask))
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    assert cli("accounts", "add", "meowload", "--id", "meow", "--base-url", server.url).returncode == 0
    assert cli("key", "set", "meow", stdin="sk-modes-test\n").returncode == 0
    assert cli("check").returncode == 0
    tray = subprocess.Popen([sys.executable, "-m", "tray_app"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=umasked(umask))
    log = root / "state" / "credit-tray" / "log" / "credit-tray.log"
    try:
        deadline = time.monotonic() + 30
        while "refresh" not in (log.read_text() if log.exists() else ""):
            assert tray.poll() is None, tray.communicate()
            assert time.monotonic() < deadline, "no log written"
            time.sleep(0.1)
    finally:
        err = stop(tray)
    assert "Traceback" not in err
    ours = [root / "config" / "credit-tray", root / "data" / "credit-tray", root / "state" / "credit-tray",
            short_cache / "c" / "credit-tray"]
    found = {p: p.stat().st_mode & 0o777 for top in ours for p in [top, *top.rglob("*")]
             if not p.is_socket() and "python_keyring" not in p.parts}
    assert root / "config" / "credit-tray" / "config.toml" in found
    assert root / "data" / "credit-tray" / "history.sqlite3" in found
    assert log in found
    loose = {str(p): oct(mode) for p, mode in found.items()
             if mode != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}
    # The XDG folders the app had to create are private too (the XDG base directory spec's 0700); the data
    # folder is left out: the test's file keyring (keyrings.alt) makes it first, with its own mode.
    for xdg in (root / "config", root / "state", short_cache / "c"):
        assert xdg.stat().st_mode & 0o777 == 0o700, xdg


def test_a_cache_path_too_long_for_a_socket_falls_back_to_a_private_temp_folder(
        isolated_env: dict[str, str], tmp_path: Path, short_cache: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    env = {k: v for k, v in isolated_env.items() if k != "XDG_RUNTIME_DIR"}
    env.update({"XDG_CACHE_HOME": str(deep), "TMPDIR": str(short_cache)})
    where = "from tray_app.ui.single_instance import server_name; print(server_name())"

    def name() -> str:
        return subprocess.run([sys.executable, "-c", where], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=60, check=True).stdout.strip()

    found = Path(name())
    assert found.parent == short_cache / f"credit-tray-{os.getuid()}"
    assert found.parent.stat().st_mode & 0o777 == 0o700
    if as_root():  # a folder of that name that another user made first is not used: no guard, but no hijack
        shutil.rmtree(found.parent)
        found.parent.mkdir(mode=0o700)
        os.chown(found.parent, STRANGER_UID, STRANGER_UID)
        assert name() == "None"


# --------------------------------------------------------------------------- core dumps

def allow_core_files() -> None:
    import resource  # POSIX only

    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # ulimit -c unlimited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="core_pattern and prctl are Linux's")
@pytest.mark.parametrize("command", [["check"], []], ids=["check", "the-tray"])
def test_a_process_holding_a_key_leaves_no_core_file_when_it_crashes(
        isolated_env: dict[str, str], tmp_path: Path, server: FakeServer, short_cache: Path,
        command: list[str]) -> None:
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core files go elsewhere here (core_pattern {pattern!r})")
    # The provider holds the request: the key has been read and sent, and the process waits, key in memory.
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 50000}, delay=30))
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "meow"\nprovider = "meowload"\nbase_url = "{server.url}"\n', "utf-8")
    KeyStore().set("meow", "sk-core-dump-test")
    env = tray_env(isolated_env, tmp_path, short_cache)
    cwd = tmp_path / "cwd"  # core_pattern "core": a core file would land here
    cwd.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), *command], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=allow_core_files)
    try:
        deadline = time.monotonic() + 30
        while not server.requests_to(PATHS["meowload"]):
            assert proc.poll() is None, "the command ended before asking the provider"
            assert time.monotonic() < deadline, "the request never came"
            time.sleep(0.05)
        assert server.requests_to(PATHS["meowload"])[0].headers["x-api-key"] == "sk-core-dump-test"
        os.kill(proc.pid, signal.SIGSEGV)  # a crash, right now, with the key in memory
        _, status = os.waitpid(proc.pid, 0)
        proc.returncode = -signal.SIGSEGV
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert os.WIFSIGNALED(status)
    assert not os.WCOREDUMP(status)
    assert list(cwd.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_GET_DUMPABLE is Linux's")
def test_only_commands_that_read_keys_give_up_core_dumps(isolated_env: dict[str, str], tmp_path: Path) -> None:
    # In the command's own process: 'providers' reads no key and keeps the default; 'accounts list' does.
    script = ("import ctypes, sys\n"
              "import tray_app.cli as cli\n"
              "cli.main(sys.argv[1:])\n"
              "print('dumpable', ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))\n")  # PR_GET_DUMPABLE
    config = str(tmp_path / "config.toml")

    def dumpable_after(*args: str) -> str:
        out = subprocess.run([sys.executable, "-c", script, "--config", config, *args], env=isolated_env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return out.strip().splitlines()[-1]

    assert dumpable_after("providers") == "dumpable 1"
    assert dumpable_after("accounts", "list") == "dumpable 0"


def test_a_log_left_readable_by_an_older_version_is_made_private(isolated_env: dict[str, str], tmp_path: Path,
                                                                 short_cache: Path) -> None:
    log_dir = Path(isolated_env["XDG_STATE_HOME"]) / "credit-tray" / "log"
    log_dir.mkdir(parents=True)
    log_dir.chmod(0o755)
    old_log = log_dir / "credit-tray.log"
    old_log.write_text("2026-11-01 INFO old record: Work 1,500 credits\n")
    old_log.chmod(0o644)
    env = tray_env(isolated_env, tmp_path, short_cache)
    (tmp_path / "config.toml").write_text("")
    tray = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(tmp_path / "config.toml")], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while "starting" not in old_log.read_text():
            assert tray.poll() is None, tray.communicate()
            assert time.monotonic() < deadline, "no log written"
            time.sleep(0.1)
    finally:
        stop(tray)
    assert log_dir.stat().st_mode & 0o777 == 0o700
    assert old_log.stat().st_mode & 0o777 == 0o600
    assert "old record" in old_log.read_text()  # tightened, not replaced
