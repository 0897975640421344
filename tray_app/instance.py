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
import stat
import sys
import tempfile
import warnings
from pathlib import Path

import platformdirs

from tray_app import APP_ID, paths
from tray_app.fileio import private_dir

ACTIVATE = b"activate"
#: ``keys-changed ID``: the key of account ID was stored, replaced or deleted elsewhere.
KEYS_CHANGED = b"keys-changed"


def _is_private_dir(path: Path) -> bool:
    """A real directory (not a link) owned by this user that nobody else may enter."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _private_dir(path: Path) -> Path | None:
    """``path`` created (or tightened) to 0700, or None if it is not ours to use."""
    try:
        private_dir(path, tighten=True)
    except OSError:
        return None
    return path if _is_private_dir(path) else None


#: A socket's path must fit in sockaddr_un (108 bytes on Linux, 104 on macOS, with the final NUL).
MAX_SOCKET_PATH = 100


def socket_dir() -> Path | None:
    """The user's runtime dir (``$XDG_RUNTIME_DIR``) when it exists and is private, else the cache dir;
    if that path is too long for a socket, a 0700 folder of ours in the temp dir. None if none is ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        runtime = platformdirs.user_runtime_path()
    candidates = [runtime / APP_ID] if _is_private_dir(runtime) else []
    candidates += [paths.cache_dir() / "run", Path(tempfile.gettempdir()) / f"{APP_ID}-{os.getuid()}"]
    for folder in candidates:
        if len(os.fsencode(folder / f"{APP_ID}-demo.sock")) <= MAX_SOCKET_PATH and _private_dir(folder):
            return folder
    return None


def server_name(demo: bool = False) -> str | None:
    """The local socket's name; None when no private place exists (then there is no single-instance guard)."""
    suffix = "-demo" if demo else ""
    if sys.platform == "win32":
        return f"credit-tray-{getpass.getuser()}{suffix}"  # a named pipe, which Windows gives the user's ACL
    folder = socket_dir()
    return str(folder / f"credit-tray{suffix}.sock") if folder is not None else None


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
    name = server_name()
    if name is None:  # no private place for the socket: no tray is listening either
        return False
    return send(name, KEYS_CHANGED + b" " + account_id.encode("ascii", "replace"))
