"""Start at login: an XDG autostart entry on Linux, a LaunchAgent on macOS, a Run value on Windows.

The command points at the frozen executable when the app is frozen (PyInstaller), and at
this interpreter with ``-m tray_app`` otherwise. The Windows registry sits behind a
tiny ``RunKey`` seam so the exact value we would write can be tested anywhere.
"""

from __future__ import annotations

import importlib
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from tray_app import APP_ID, APP_NAME
from tray_app.fileio import atomic_write

BUNDLE_ID = "io.github.credittray.CreditTray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = APP_NAME


def launch_command() -> list[str]:
    if getattr(sys, "frozen", False):
        # A Windows build ships a console credit-tray.exe beside the windowed "Credit Tray.exe":
        # login must start the windowed one, or a console window opens with it.
        windowed = Path(sys.executable).with_name(f"{APP_NAME}.exe")
        if sys.platform.startswith("win") and windowed.exists():
            return [str(windowed)]
        return [sys.executable]
    return [sys.executable, "-m", "tray_app"]


def desktop_exec(args: Sequence[str]) -> str:
    """An Exec= line per the Desktop Entry spec: quote args with reserved characters."""
    out = []
    for arg in args:
        if arg and not any(ch in arg for ch in ' \t\n"\'\\><~|&;$*?#()`='):
            out.append(arg.replace("%", "%%"))
        else:
            escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg).replace("%", "%%")
            out.append(f'"{escaped}"')
    return " ".join(out)


def windows_command_line(args: Sequence[str]) -> str:
    """What the Run value holds: each argument quoted as CreateProcess parses it."""
    return subprocess.list2cmdline(list(args))


def desktop_entry(args: Sequence[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP_NAME}\n"
        "Comment=Prepaid API credit balances in your tray\n"  # untranslated: written once, read by any desktop
        f"Exec={desktop_exec(args)}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def launch_agent(args: Sequence[str]) -> bytes:
    return plistlib.dumps({
        "Label": BUNDLE_ID,
        "ProgramArguments": list(args),
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",  # untranslated: launchd's value
        "LimitLoadToSessionType": "Aqua",  # untranslated: launchd's value
    })


class RunKey(Protocol):
    """The HKCU Run key, reduced to what autostart needs."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


def _winreg() -> Any:
    return importlib.import_module("winreg")


class WinRegRunKey:
    def get(self, name: str) -> str | None:  # pragma: no cover - Windows only
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                return str(winreg.QueryValueEx(key, name)[0])
        except FileNotFoundError:
            return None

    def set(self, name: str, value: str) -> None:  # pragma: no cover - Windows only
        winreg = _winreg()
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:  # pragma: no cover - Windows only
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


class Autostart:
    def __init__(self, platform: str = sys.platform, *, home: Path | None = None, run_key: RunKey | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.platform = platform
        self.home = home or Path.home()
        self._run_key = run_key
        self.command = list(command) if command is not None else launch_command()

    @property
    def location(self) -> str:
        if self.platform.startswith("win"):
            return f"HKCU\\{RUN_KEY}\\{RUN_VALUE}"
        return str(self._file())

    def _file(self) -> Path:
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{BUNDLE_ID}.plist"  # untranslated: a folder
        return Path(platformdirs.user_config_dir()) / "autostart" / f"{APP_ID}.desktop"

    def _registry(self) -> RunKey:
        if self._run_key is None:
            self._run_key = WinRegRunKey()
        return self._run_key

    def enabled(self) -> bool:
        if self.platform.startswith("win"):
            return self._registry().get(RUN_VALUE) is not None
        return self._file().exists()

    def enable(self) -> None:
        if self.platform.startswith("win"):
            self._registry().set(RUN_VALUE, windows_command_line(self.command))
        elif self.platform == "darwin":
            atomic_write(self._file(), launch_agent(self.command), mode=0o644)
        else:
            atomic_write(self._file(), desktop_entry(self.command).encode("utf-8"), mode=0o644)

    def disable(self) -> None:
        if self.platform.startswith("win"):
            self._registry().delete(RUN_VALUE)
        else:
            self._file().unlink(missing_ok=True)
