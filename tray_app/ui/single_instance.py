"""One running tray per user: a second start hands over to the first and exits."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

from tray_app.instance import ACTIVATE, KEYS_CHANGED, server_name

__all__ = ["SingleInstance", "server_name"]

MESSAGE = ACTIVATE + b"\n"


class SingleInstance(QObject):
    activated = Signal()
    keysChanged = Signal(str)  # account id whose key was stored, replaced or deleted by the command line

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        # No setSocketOptions(): with options set, Qt creates the socket elsewhere and renames it
        # over the path, silently replacing a running instance's socket.
        self._server = QLocalServer(self)
        self._server.newConnection.connect(self._on_connection)

    def claim(self) -> bool:
        """Become the running instance; False if another one is already running (and was told)."""
        if self._hand_over():
            return False
        if self._server.listen(self._name):
            return True
        if self._server.serverError() == QAbstractSocket.SocketError.AddressInUseError:
            QLocalServer.removeServer(self._name)  # nobody answered: a stale socket left by a crash
            return self._server.listen(self._name)
        return True  # no socket at all: run anyway rather than refuse to start

    def _hand_over(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self._name)
        if not socket.waitForConnected(1000):
            return False
        socket.write(MESSAGE)
        socket.waitForBytesWritten(1000)
        socket.disconnectFromServer()
        return True

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        for line in bytes(socket.readAll().data()).splitlines():
            if line.startswith(MESSAGE.strip()):
                self.activated.emit()
            elif line.startswith(KEYS_CHANGED + b" "):
                self.keysChanged.emit(line[len(KEYS_CHANGED) + 1:].decode("ascii", "replace").strip())

    def close(self) -> None:
        self._server.close()
