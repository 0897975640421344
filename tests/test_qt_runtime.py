"""Guards against a broken Qt binding: the tray delivers signals for months on end."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication


class _Emitter(QObject):
    carried = Signal(object)


def test_signals_to_python_slots_keep_reference_counts(qapp: QApplication) -> None:
    """PySide6 6.12.0 decremented True's refcount on every delivery, so the app crashed at some point."""
    emitter = _Emitter()
    received: list[object] = []
    emitter.carried.connect(received.append)
    before_true, before_false, before_none = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    for _ in range(500):
        emitter.carried.emit([1])
    assert len(received) == 500
    received.clear()
    # Other threads may hold a stray reference or two; the broken binding lost 500.
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(False) - before_false) < 50
    assert abs(sys.getrefcount(None) - before_none) < 50
