"""Starting the tray app: display check, single instance, logging, signals, event loop."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tray_app import APP_ID, APP_NAME, i18n, paths

log = logging.getLogger(__name__)

EX_UNAVAILABLE = 69


def has_display() -> bool:
    if not sys.platform.startswith("linux") and "bsd" not in sys.platform:
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _install_signal_handlers(quit_app: object) -> object:
    """Ctrl+C / SIGTERM quit cleanly: a wake-up socket lets Python run its handler inside Qt's loop."""
    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)

    def drain() -> None:
        with contextlib.suppress(OSError):
            reader.recv(64)

    notifier.activated.connect(drain)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: quit_app())  # type: ignore[operator]
    return (notifier, reader, writer)


def _uses_pyside(module: object) -> bool:
    """PySide6's question about a module just imported, answered without keeping its source."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False  # no source to look at: PySide6's own answer too
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            return "PySide6" in source.read()
    except OSError:
        return False


def keep_no_sources_of_imports() -> None:
    """Stop PySide6 from keeping the source text of every module imported after it.

    PySide6's import hook asks of each new module whether it uses PySide6 (for its opt-in
    ``__feature__`` switches) with ``inspect.getsource``, and ``linecache`` then keeps every
    line of every such module for the life of the process: 12 MiB for what the tray imports
    after its icon shows (asyncio, httpx, keyring and cryptography, tomlkit, ...), which stays
    fragmented in the heap even when the cache is cleared. The same answer, from the file read
    and let go. Should PySide6 change the hook, nothing is replaced.
    """
    feature = sys.modules.get("PySide6.support.feature")
    current = getattr(feature, "_mod_uses_pyside", None)
    if feature is not None and callable(current) and getattr(current, "__code__", None) is not None \
            and current.__code__.co_argcount == 1:
        feature._mod_uses_pyside = _uses_pyside  # type: ignore[attr-defined]


def run(config_path: Path | None = None, demo: bool = False) -> int:
    if not has_display():
        message = (f"{APP_ID}: no graphical display found "  # untranslated: said before Qt is loaded
                   f"(DISPLAY/WAYLAND_DISPLAY are not set); in a terminal, use '{APP_ID} check'.")
        print(message, file=sys.stderr)
        return EX_UNAVAILABLE

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    keep_no_sources_of_imports()
    from tray_app.ui.i18n import apply_language
    from tray_app.ui.icons import IconState
    from tray_app.ui.single_instance import SingleInstance, server_name
    from tray_app.ui.tray import TRAY_NOTIFIER, TrayController

    if TYPE_CHECKING:
        from tray_app.engine import Engine

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_ID])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    # The system's language before the first word is shown; the config's ``language`` (read once the
    # icon shows) switches it if it says otherwise (TrayController._on_config).
    apply_language(i18n.interface_language("auto"))

    instance = SingleInstance(server_name(demo))
    if not instance.claim():
        print(QCoreApplication.translate("App", "{app} is already running; asked it to refresh and show its menu.")
              .format(app=APP_NAME))
        return 0

    def load_engine() -> tuple[Engine, Path | None]:
        """Run by the controller once the icon shows, on a thread of its own: the engine's imports
        (asyncio, the config, the history, the keyring) are most of what a start costs."""
        if demo:
            from tray_app.demo import DemoEngine

            engine: Engine = DemoEngine()
        else:
            from tray_app.engine import Engine

            engine = Engine(config_path, notifier=TRAY_NOTIFIER)
        from tray_app.logs import setup_file_logging

        try:
            log_path: Path | None = setup_file_logging(paths.log_dir(), engine.keys.known_keys)
        except OSError as exc:
            print(QCoreApplication.translate("App", "{app}: cannot write the log in {folder}: {reason}").format(
                app=APP_ID, folder=paths.log_dir(), reason=exc.strerror), file=sys.stderr)
            log_path = None
        log.info("%s starting (demo=%s, config=%s)", APP_NAME, demo, engine.config_path)
        return engine, log_path

    refresh_seconds = None
    if demo:
        from tray_app.demo import DEMO_REFRESH_SECONDS
        refresh_seconds = DEMO_REFRESH_SECONDS
    controller = TrayController(None, load_engine=load_engine, refresh_seconds=refresh_seconds, demo=demo)
    instance.activated.connect(controller.on_activate_request)
    instance.keysChanged.connect(controller.on_keys_changed)
    # Through the event loop: a signal that lands before exec() starts would otherwise be lost
    # (QApplication.quit() does nothing until the loop runs).
    handlers = _install_signal_handlers(lambda: QTimer.singleShot(0, controller.quit))
    app.aboutToQuit.connect(controller.shutdown)
    controller.start()
    # The windows' icon, from the tray's own factory (its strip is then read once): after the tray icon,
    # as no window opens before the event loop runs, and not at all in a second start that hands over.
    app.setWindowIcon(controller.icons.icon(IconState.OK))
    instance.serve()  # after the icon: QtNetwork loads now
    code = app.exec()
    controller.shutdown()
    instance.close()
    del handlers
    log.info("%s stopped", APP_NAME)
    return int(code)
