# PyInstaller runtime hook (Linux): the bundle carries only Qt's xcb platform plugin (see
# packaging/qt_trim.py). A session that asks for another one (QT_QPA_PLATFORM=wayland is set
# globally on some desktops) would make Qt abort, so fall back to xcb when there is an X display
# (on Wayland desktops, XWayland's); the tray itself talks D-Bus either way.
import os
import sys

if sys.platform.startswith("linux"):
    _asked = [name.split(":", 1)[0] for name in os.environ.get("QT_QPA_PLATFORM", "").split(";") if name]
    if _asked and "xcb" not in _asked and os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
