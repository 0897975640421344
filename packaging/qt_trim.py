"""Drop the parts of Qt a tray app never loads from a PyInstaller analysis (all three OSes).

PyInstaller's PySide6 hooks only collect the Qt modules the app imports (here QtCore, QtGui,
QtWidgets, QtSvg, QtNetwork), but with each of them every plugin and translation that module
might use. What the app needs and keeps:

- platforms: xcb (Linux, X11 and XWayland), windows, cocoa; xcbglintegrations (loaded by xcb)
- imageformats/qsvg and iconengines/qsvgicon (themes' SVG icons); styles (Windows' native look)
- networkinformation (the scheduler refreshes when the network comes back)
- platforminputcontexts (compose/ibus: typing in a text field), platformthemes/xdgdesktopportal

What goes: every Qt translation (the app installs no QTranslator), the other platforms
(offscreen, minimal, vnc, eglfs, linuxfb, wayland: on Wayland Qt runs through XWayland, as the
tray needs), every other image format (the icons are SVG, rendered by QtSvg), the GTK3 platform
theme with the GTK libraries it drags in, TLS backends (httpx does TLS with Python's ssl, never
Qt), touch input (generic), the Wayland and EGL libraries, Windows' software OpenGL (20 MB;
widgets paint with the raster engine), and Qt Pdf (only the dropped PDF image plugin links it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Python modules never to freeze (PyInstaller's ``excludes``): Qt modules a tray never loads (the
#: hooks only follow imports; this keeps it that way), standard-library tools, and test-only packages
#: that may sit in a dev venv (plaintext "keyrings" must never ship).
EXCLUDES = (
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtPrintSupport", "PySide6.QtSql", "PySide6.QtTest",
    "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtDesigner", "PySide6.QtUiTools", "PySide6.QtHelp",
    "PySide6.QtMultimedia", "PySide6.QtWebEngineCore", "PySide6.Qt3DCore", "PySide6.QtCharts",
    "tkinter", "unittest", "pydoc", "pydoc_data", "doctest", "lib2to3", "distutils", "setuptools", "pip", "test",
    "ensurepip", "idlelib",
    "keyrings", "pytest", "hypothesis",
)

_PLUGINS = r"PySide6/(?:Qt/)?plugins/"
_DROP = re.compile(
    # Qt's own translations, but for the one a Chinese interface needs (dialog buttons: 确定, 取消).
    r"PySide6/(?:Qt/)?translations/(?!qtbase_zh_CN[.]qm$)"
    + "|" + _PLUGINS + r"(?:"
    r"platforms/(?!(?:lib)?q(?:xcb|windows|cocoa)\.)"
    r"|imageformats/(?!(?:lib)?qsvg\.)"
    r"|platformthemes/(?:lib)?qgtk3"
    r"|tls/|generic/|egldeviceintegrations/|wayland-[^/]*/|sqldrivers/|printsupport/|designer/|qmltooling/"
    r")"
    r"|(?:^|/)(?:lib)?Qt6(?:Wayland|Wl|Egl|Pdf|Qml|Quick|OpenGL)[A-Za-z]*[.]"
    r"|(?:^|/)opengl32sw\.dll$"
    # System libraries that only the GTK3 platform theme needs (collected from the build machine).
    r"|^lib(?:gtk-3|gdk-3|atk-1|atk-bridge|atspi|epoxy|cairo-gobject|pangocairo|gdk_pixbuf|"
    r"wayland-(?:client|cursor|egl))[.-]"
)


def dropped(dest: str) -> bool:
    """Whether the bundle path ``dest`` (as PyInstaller's TOC names it) is left out."""
    return bool(_DROP.search(dest.replace("\\", "/")))


def trim(entries: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The TOC entries that stay."""
    return [entry for entry in entries if not dropped(entry[0])]


def prune_orphan_libraries(binaries: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Linux: drop the system libraries that nothing left in the bundle links to any more.

    PyInstaller copies a binary's dependencies during the analysis, before :func:`trim` runs, so
    the libraries only a dropped plugin needed (cairo, pango, libjpeg... for GTK) stay behind.
    The roots are everything in a package folder (extension modules, Qt libraries and plugins,
    which Qt loads by itself) and libpython (the bootloader loads it); a top-level library stays
    if a root or another kept library needs it.
    """
    from PyInstaller.depend.bindepend import get_imports

    entries = list(binaries)
    top = {dest: src for dest, src, kind in entries if "/" not in dest and kind == "BINARY"
           and not dest.startswith("libpython")}
    needed: list[str] = []
    for dest, src, _kind in entries:
        if dest not in top:
            needed += [name.rsplit("/", 1)[-1] for name, _path in get_imports(src)]
    kept: set[str] = set()
    while needed:
        name = needed.pop()
        if name in top and name not in kept:
            kept.add(name)
            needed += [n.rsplit("/", 1)[-1] for n, _path in get_imports(top[name])]
    return [entry for entry in entries if entry[0] not in top or entry[0] in kept]
