"""When to refresh: every ``refresh_minutes``, after the machine wakes, when the network returns.

A QTimer does not fire during sleep and fires late after it; a coarse heartbeat
compares the wall clock with the monotonic clock (which stops during suspend on
Linux and macOS) and notices a late tick (Windows, where it does not stop).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

HEARTBEAT_MS = 30_000
# Wall time passing this much faster than monotonic time means the machine slept.
SLEEP_GAP_S = 20.0


class RefreshScheduler(QObject):
    due = Signal(str)  # why: "start", "timer", "wake", "network"

    def __init__(self, interval_s: float, parent: QObject | None = None, *, heartbeat_ms: int = HEARTBEAT_MS) -> None:
        super().__init__(parent)
        self._interval_s = interval_s
        self._heartbeat_ms = heartbeat_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.due.emit("timer"))
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(heartbeat_ms)
        self._heartbeat.timeout.connect(self._beat)
        self._last_wall = time.time()
        self._last_mono = time.monotonic()
        self._network_online: bool | None = None

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def start(self) -> None:
        self._heartbeat.start()
        self.due.emit("start")

    def stop(self) -> None:
        self._timer.stop()
        self._heartbeat.stop()

    def set_interval(self, seconds: float) -> None:
        if seconds != self._interval_s:
            self._interval_s = seconds
            self.refreshed()

    def refreshed(self) -> None:
        """A refresh just ran: the next one is a full interval from now."""
        self._timer.start(int(self._interval_s * 1000))

    def _beat(self) -> None:
        wall, mono = time.time(), time.monotonic()
        wall_step, mono_step = wall - self._last_wall, mono - self._last_mono
        self._last_wall, self._last_mono = wall, mono
        slept = wall_step - mono_step > SLEEP_GAP_S
        late = mono_step * 1000 > self._heartbeat_ms * 3
        if slept or late:
            log.info("woke up (wall %.0f s, monotonic %.0f s since last beat): refreshing", wall_step, mono_step)
            self.due.emit("wake")

    def watch_network(self) -> None:
        """Refresh when Qt can tell the network came back (QNetworkInformation)."""
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:
            return
        if not QNetworkInformation.loadDefaultBackend():
            log.info("no network-information backend: not watching connectivity")
            return
        info = QNetworkInformation.instance()
        reachable = QNetworkInformation.Reachability

        def changed(reachability: object) -> None:
            online = reachability in (reachable.Online, reachable.Site)
            if online and self._network_online is False:
                self.due.emit("network")
            self._network_online = online

        self._network_online = info.reachability() in (reachable.Online, reachable.Site)
        info.reachabilityChanged.connect(changed)
