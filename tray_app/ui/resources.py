"""The one place that finds files shipped with the app (source tree, wheel or frozen bundle)."""

from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import QByteArray


def resource_bytes(name: str) -> QByteArray:
    """A file of ``tray_app.resources``, read straight from its folder; through importlib.resources only
    where that fails (a zipped install): that module and its readers cost ~6 ms of every start."""
    folder = Path(importlib.import_module("tray_app.resources").__file__ or "").parent
    try:
        return QByteArray((folder / name).read_bytes())
    except OSError:
        from importlib.resources import files

        return QByteArray(files("tray_app.resources").joinpath(name).read_bytes())
