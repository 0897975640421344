"""Start and stop a throwaway desktop session for end-to-end tests.

Xvfb picks a free display itself (-displayfd); a private dbus-daemon without service
activation; the watcher and notifier from ``services.py``; gnome-keyring unlocked with
a non-empty password (an empty one makes the first write ask gcr-prompter, which hangs
on Xvfb). HOME and XDG dirs are set before anything starts, since services inherit them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REQUIRED = ("Xvfb", "dbus-daemon", "gnome-keyring-daemon")
KEYRING_PASSWORD = "credit-tray-tests"


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED if shutil.which(tool) is None]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class DesktopSession:
    def __init__(self, root: Path, *, tray: bool = True, notifications: bool = True, keyring: bool = True,
                 screen: str = "1280x800x24", drawn_notifications: bool = False,
                 notify_capabilities: str | None = None) -> None:
        """``drawn_notifications``: a real daemon (dunst) draws them and a bus monitor records them."""
        self.root = root
        self.home = root / "home"
        self.notify_log = root / "notify.jsonl"
        self.tray_log = root / "tray.jsonl"
        self._tray, self._notifications, self._keyring, self._screen = tray, notifications, keyring, screen
        self._drawn = drawn_notifications and shutil.which("dunst") is not None
        self._notify_capabilities = notify_capabilities  # the stand-in server's, comma-separated
        self._procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}

    def _spawn(self, args: list[str], name: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(args, env=self.env, stdout=kwargs.pop("stdout", log), stderr=log,
                                start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def __enter__(self) -> DesktopSession:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> DesktopSession:
        self.root.mkdir(parents=True, exist_ok=True)
        xdg = {
            "HOME": self.home,
            "XDG_CONFIG_HOME": self.home / ".config",
            "XDG_DATA_HOME": self.home / ".local/share",
            "XDG_STATE_HOME": self.home / ".local/state",
            "XDG_CACHE_HOME": self.home / ".cache",
            "XDG_RUNTIME_DIR": self.root / "run",
        }
        for path in xdg.values():
            path.mkdir(parents=True, exist_ok=True)
        (self.root / "run").chmod(0o700)
        keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env.update({k: str(v) for k, v in xdg.items()})
        self.env.update({"NO_AT_BRIDGE": "1", "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)})
        try:
            self._start_x()
            self._start_bus()
            if self._tray:
                self._start_service("watcher", self.tray_log)
            if self._notifications and self._drawn:
                self._spawn(["dunst"], "dunst")
                wait_for(lambda: self.name_has_owner("org.freedesktop.Notifications"), 10, "dunst on the bus")
                self._start_service("monitor", self.notify_log)
            elif self._notifications:
                if self._notify_capabilities is not None:
                    self.env["CREDIT_TRAY_TEST_NOTIFY_CAPS"] = self._notify_capabilities
                self._start_service("notifier", self.notify_log)
                self.env.pop("CREDIT_TRAY_TEST_NOTIFY_CAPS", None)
            if self._keyring:
                self._start_keyring()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_x(self) -> None:
        read_end, write_end = os.pipe()
        proc = self._spawn(["Xvfb", "-displayfd", str(write_end), "-screen", "0", self._screen,
                            "-nolisten", "tcp", "-noreset"], "xvfb", pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            display = pipe.readline().strip()
        if not display:
            raise RuntimeError(f"Xvfb did not start (exit {proc.poll()}); see {self.root / 'xvfb.log'}")
        self.env["DISPLAY"] = f":{display}"

    def _start_bus(self) -> None:
        proc = self._spawn(["dbus-daemon", f"--config-file={HERE / 'dbus-session.conf'}", "--nofork",
                            "--print-address=1"], "dbus", stdout=subprocess.PIPE)
        assert proc.stdout is not None
        address = proc.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address

    def _start_service(self, kind: str, log: Path) -> None:
        proc = self._spawn([sys.executable, "-m", "tests.desktop.services", kind, str(log)], kind,
                           stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the {kind} service did not start; see {self.root / (kind + '.log')}")

    def _start_keyring(self) -> None:
        proc = self._spawn(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                           "gnome-keyring", stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(KEYRING_PASSWORD.encode())
        proc.stdin.close()
        wait_for(lambda: self.name_has_owner("org.freedesktop.secrets"), 10, "gnome-keyring on the bus")

    def name_has_owner(self, name: str) -> bool:
        result = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/",
             "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            env=self.env, capture_output=True, text=True, check=False)
        return "boolean true" in result.stdout

    def notifications(self) -> list[dict[str, Any]]:
        return [n for n in read_jsonl(self.notify_log) if n.get("method") == "Notify"]

    def visible_windows(self, name: str) -> list[str]:
        """The ids of the shown windows whose title matches the regular expression ``name`` (xdotool)."""
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], env=self.env,
                               capture_output=True, text=True, check=False)
        return found.stdout.split()

    def bus(self) -> Any:
        """A jeepney connection to this session's bus (for inspecting the tray)."""
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.env["DBUS_SESSION_BUS_ADDRESS"])

    def screenshot(self, path: Path) -> bool:
        if shutil.which("import") is None:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["import", "-window", "root", str(path)], env=self.env, capture_output=True,
                                check=False, timeout=30)
        return result.returncode == 0 and path.exists()

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self._procs.clear()


class RunningApp:
    """A program started in the session: ``proc``, a ``bus`` connection, and its ``output`` once stopped."""

    def __init__(self, proc: subprocess.Popen[bytes], bus: Any) -> None:
        self.proc, self.bus, self.output = proc, bus, ""


@contextmanager
def running(session: DesktopSession, args: list[str], *, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> Iterator[RunningApp]:
    """Start ``args`` in the session; on leaving, kill it if still running and keep what it printed."""
    with open(session.root / "app.out", "w+b") as out:
        proc = subprocess.Popen(args, env=env or session.env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        app = RunningApp(proc, session.bus())
        try:
            yield app
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            app.bus.close()
            out.seek(0)
            app.output = out.read().decode("utf-8", "replace")


def desktop_marks() -> list[Any]:
    """The marks of a test module that needs the virtual desktop: skipped when its tools are missing,
    except where the suite requires them (scripts/test.sh), where a missing tool is a failure."""
    import pytest

    missing = missing_tools()
    if missing and os.environ.get("CREDIT_TRAY_REQUIRE_DESKTOP"):
        raise RuntimeError(f"desktop tests required but tools are missing: {', '.join(missing)}")
    return [pytest.mark.desktop,
            pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (scripts/test.sh installs them)")]
