"""One running tray per user: a second start hands over to the first and exits.

The socket lives in a directory only this user can enter (0700), never under a name in a
shared folder such as /tmp, where another user could take the name first (and stop the tray
from starting, or receive the hand-over). On Linux each connection's peer must also be this
user (SO_PEERCRED). A name taken by something that is not a running Credit Tray of ours (a
stale file, a socket of another owner, a listener that does not answer our protocol) is
replaced: the tray starts anyway.

On Linux and macOS the name is claimed before the icon shows with a plain socket (bound and
listening, so a second start already queues behind it), and Qt's QLocalServer takes that socket
over once the icon is up: QtNetwork costs ~10 ms of a start. Windows uses QLocalServer's named
pipe from the start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from tray_app.instance import ACTIVATE, KEYS_CHANGED, server_name, socket_dir

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)


MESSAGE = ACTIVATE + b"\n"
# What a running Credit Tray answers: anything else listening on the name is not us.
ACK = b"credit-tray ok\n"
# How long a hand-over may take; a running tray answers within milliseconds.
HAND_OVER_MS = 3000
# Windows: QLocalServer's named pipes; elsewhere a Unix socket, claimed before Qt takes it over.
NAMED_PIPES: bool = sys.platform == "win32"

__all__ = ["SingleInstance", "server_name", "socket_dir"]

def _socket_peer_uid(connection: socket.socket) -> int | None:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return int(uid)


def peer_uid(local_socket: QLocalSocket) -> int | None:
    """The uid of the process at the other end (Linux: SO_PEERCRED); None where the OS does not say."""
    descriptor = int(local_socket.socketDescriptor())
    if getattr(socket, "SO_PEERCRED", None) is None or descriptor < 0:
        return None
    with socket.fromfd(descriptor, socket.AF_UNIX, socket.SOCK_STREAM) as duplicate:
        return _socket_peer_uid(duplicate)


def _same_user(local_socket: QLocalSocket) -> bool:
    uid = peer_uid(local_socket)
    return uid is None or uid == os.getuid()


def _hand_over_by_socket(path: str) -> bool:
    """What ``SingleInstance._hand_over`` does, with a plain socket (no QtNetwork before the icon)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(1.0)
        try:
            connection.connect(path)
        except OSError:
            return False
        uid = _socket_peer_uid(connection)
        if uid is not None and uid != os.getuid():
            log.warning("the single-instance socket belongs to another user; ignoring it")
            return False
        answer = b""
        try:
            connection.sendall(MESSAGE)
            connection.settimeout(HAND_OVER_MS / 1000)
            while ACK not in answer and (chunk := connection.recv(64)):
                answer += chunk
        except OSError:
            pass
        return _answered(answer, path)


def _answered(answer: bytes, name: str) -> bool:
    """Whether a running Credit Tray took the hand-over; anything else listening on ``name`` is replaced."""
    if ACK not in answer:
        log.warning("something that is not Credit Tray listens on %s; starting anyway", name)
    return ACK in answer


def _listening_socket(path: str) -> socket.socket | None:
    """A socket bound to ``path`` and listening; whatever held the name (it did not answer) is replaced."""
    for attempt in range(2):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen(16)
            return listener
        except OSError:
            listener.close()
            if attempt == 0:
                with contextlib.suppress(OSError):
                    os.unlink(path)
    return None


class SingleInstance(QObject):
    activated = Signal()
    # A connection was ignored; the argument says why (tests wait on it).
    refused = Signal(str)
    keysChanged = Signal(str)  # account id whose key was stored, replaced or deleted by the command line

    def __init__(self, name: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server: QLocalServer | None = None
        # The claimed socket, until ``serve`` hands it to Qt (POSIX).
        self._listener: socket.socket | None = None
        self._path: str | None = None

    def _make_server(self) -> QLocalServer:
        from PySide6.QtNetwork import QLocalServer

        server = QLocalServer(self)
        server.newConnection.connect(self._on_connection)
        self._server = server
        return server

    def claim(self) -> bool:
        """Become the running instance; False if another one of ours is already running (and was told).

        Answering starts with ``serve`` (a hand-over that comes meanwhile waits in the queue).
        """
        if self._name is None:
            log.warning("no private folder for the single-instance socket; a second start will not be noticed")
            return True
        if not NAMED_PIPES:
            if _hand_over_by_socket(self._name):
                return False
            self._listener = _listening_socket(self._name)
            if self._listener is None:
                log.warning("cannot listen on %s; running without the single-instance guard", self._name)
            else:
                self._path = self._name
            return True
        if self._hand_over(self._name):
            return False
        # No setSocketOptions(): with options set, Qt creates the socket elsewhere and renames it
        # over the path, silently replacing a running instance's socket.
        server = self._make_server()
        if server.listen(self._name):
            return True
        # Whatever holds the name is not a running Credit Tray of this user (it did not answer), and the
        # folder is ours alone: replace it.
        server.removeServer(self._name)
        if not server.listen(self._name):
            log.warning("cannot listen on %s (%s); running without the single-instance guard", self._name,
                        server.errorString())
        return True

    def serve(self) -> None:
        """Answer hand-overs from now on (the claimed socket goes to Qt's event loop)."""
        if self._listener is None:
            return
        listener, self._listener = self._listener, None
        descriptor = listener.detach()
        if not self._make_server().listen(descriptor):
            with contextlib.suppress(OSError):
                os.close(descriptor)
            log.warning("cannot answer on %s; a second start will not be noticed", self._name)

    def _hand_over(self, name: str) -> bool:
        """What ``_hand_over_by_socket`` does, over a named pipe (Windows only: no peer uid to check there)."""
        from PySide6.QtNetwork import QLocalSocket

        local = QLocalSocket()
        local.connectToServer(name)
        if not local.waitForConnected(1000):
            return False
        try:
            local.write(MESSAGE)
            local.waitForBytesWritten(1000)
            answer = b""
            while ACK not in answer and local.waitForReadyRead(HAND_OVER_MS):
                answer += bytes(local.readAll().data())
            return _answered(answer, name)
        finally:
            local.abort()

    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            local = self._server.nextPendingConnection()
            local.disconnected.connect(local.deleteLater)
            if not _same_user(local):
                log.warning("ignored a hand-over from another user (uid %s)", peer_uid(local))
                local.abort()
                self.refused.emit("another user")
                continue
            local.readyRead.connect(lambda s=local: self._read(s))

    def _read(self, local: QLocalSocket) -> None:
        for line in bytes(local.readAll().data()).splitlines():
            if line.startswith(ACTIVATE):
                local.write(ACK)
                local.flush()
                self.activated.emit()
            elif line.startswith(KEYS_CHANGED + b" "):
                self.keysChanged.emit(line[len(KEYS_CHANGED) + 1:].decode("ascii", "replace").strip())

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._server is not None:
            self._server.close()
        if self._path is not None:  # a socket Qt took over is not Qt's to remove
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None
