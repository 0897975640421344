"""The one place that finds files shipped with the app (source tree, wheel or frozen bundle)."""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtCore import QByteArray


def resource_bytes(name: str) -> QByteArray:
    return QByteArray(files("tray_app.resources").joinpath(name).read_bytes())
