"""One running tray per user: a second start hands over to the first and exits.

The socket lives in a directory only this user can enter (0700), never under a name in a
shared folder such as /tmp, where another user could take the name first (and stop the tray
from starting, or receive the hand-over). On Linux each connection's peer must also be this
user (SO_PEERCRED). A name taken by something that is not a running Credit Tray of ours (a
stale file, a socket of another owner, a listener that does not answer our protocol) is
replaced: the tray starts anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import struct

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from tray_app.instance import ACTIVATE, KEYS_CHANGED, server_name, socket_dir

log = logging.getLogger(__name__)


MESSAGE = ACTIVATE + b"\n"
# What a running Credit Tray answers: anything else listening on the name is not us.
ACK = b"credit-tray ok\n"
# How long a hand-over may take; a running tray answers within milliseconds.
HAND_OVER_MS = 3000

__all__ = ["SingleInstance", "server_name", "socket_dir"]

def peer_uid(local_socket: QLocalSocket) -> int | None:
    """The uid of the process at the other end (Linux: SO_PEERCRED); None where the OS does not say."""
    option = getattr(socket, "SO_PEERCRED", None)
    descriptor = int(local_socket.socketDescriptor())
    if option is None or descriptor < 0:
        return None
    with socket.fromfd(descriptor, socket.AF_UNIX, socket.SOCK_STREAM) as duplicate:
        _pid, uid, _gid = struct.unpack("3i", duplicate.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return int(uid)


def _same_user(local_socket: QLocalSocket) -> bool:
    uid = peer_uid(local_socket)
    return uid is None or uid == os.getuid()


class SingleInstance(QObject):
    activated = Signal()
    # A connection was ignored; the argument says why (tests wait on it).
    refused = Signal(str)
    keysChanged = Signal(str)  # account id whose key was stored, replaced or deleted by the command line

    def __init__(self, name: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        # No setSocketOptions(): with options set, Qt creates the socket elsewhere and renames it
        # over the path, silently replacing a running instance's socket.
        self._server = QLocalServer(self)
        self._server.newConnection.connect(self._on_connection)

    def claim(self) -> bool:
        """Become the running instance; False if another one of ours is already running (and was told)."""
        if self._name is None:
            log.warning("no private folder for the single-instance socket; a second start will not be noticed")
            return True
        if self._hand_over(self._name):
            return False
        if self._server.listen(self._name):
            return True
        # Whatever holds the name is not a running Credit Tray of this user (it did not answer), and the
        # folder is ours alone: replace it.
        QLocalServer.removeServer(self._name)
        if not self._server.listen(self._name):
            log.warning("cannot listen on %s (%s); running without the single-instance guard", self._name,
                        self._server.errorString())
        return True

    def _hand_over(self, name: str) -> bool:
        local = QLocalSocket()
        local.connectToServer(name)
        if not local.waitForConnected(1000):
            return False
        try:
            if not _same_user(local):
                log.warning("the single-instance socket belongs to another user; ignoring it")
                return False
            local.write(MESSAGE)
            local.waitForBytesWritten(1000)
            answer = b""
            while ACK not in answer and local.waitForReadyRead(HAND_OVER_MS):
                answer += bytes(local.readAll().data())
            if ACK not in answer:
                log.warning("something that is not Credit Tray listens on %s; starting anyway", name)
            return ACK in answer
        finally:
            local.abort()

    def _on_connection(self) -> None:
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
        self._server.close()
