"""Talking to the running tray from a plain process (the command line), without Qt.

The tray listens on a ``QLocalServer`` (``tray_app.ui.single_instance``); on Unix that is a
Unix-domain socket at the server name (a path, or a name under the temp dir), on Windows a
named pipe. Messages are one line of ASCII each.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import sys
import tempfile

ACTIVATE = b"activate"
#: ``keys-changed ID``: the key of account ID was stored, replaced or deleted elsewhere.
KEYS_CHANGED = b"keys-changed"


def server_name(demo: bool = False) -> str:
    suffix = "-demo" if demo else ""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform.startswith("linux") and runtime and os.path.isdir(runtime):
        return os.path.join(runtime, f"credit-tray{suffix}.sock")
    return f"credit-tray-{getpass.getuser()}{suffix}"


def socket_path(name: str) -> str:
    """Where QLocalServer puts a server of this name."""
    if sys.platform == "win32":
        return name if name.startswith("\\\\.\\pipe\\") else f"\\\\.\\pipe\\{name}"
    return name if os.path.isabs(name) else os.path.join(tempfile.gettempdir(), name)


def send(name: str, message: bytes, timeout: float = 1.0) -> bool:
    """Send one message line to the running tray; False if none is listening (nothing to tell)."""
    line = message.rstrip(b"\n") + b"\n"
    path = socket_path(name)
    try:
        if sys.platform == "win32":
            with open(path, "wb", buffering=0) as pipe:
                pipe.write(line)
            return True
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(path)
            connection.sendall(line)
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_WR)
        return True
    except OSError:
        return False


def tell_keys_changed(account_id: str) -> bool:
    """Tell a running tray that this account's key changed, so it reads it again and re-checks now."""
    return send(server_name(), KEYS_CHANGED + b" " + account_id.encode("ascii", "replace"))
