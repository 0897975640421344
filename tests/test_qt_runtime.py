"""Guards against a broken Qt binding: the tray delivers signals for months on end."""

from __future__ import annotations

import gc
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
    emissions = 5000
    gc.collect()
    before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(emissions):
        emitter.carried.emit([1])
    assert len(received) == emissions
    received.clear()
    gc.collect()
    # Other threads (servers of other tests winding down) move the counts a little either way;
    # the broken binding lost exactly one reference per emission.
    assert abs(sys.getrefcount(True) - before_true) < emissions // 10
    assert abs(sys.getrefcount(False) - before_false) < emissions // 10
