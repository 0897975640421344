"""The tray controller for the reliability tests: a fixture that builds and tears it down, and readers
for everything it shows (menu rows and lines, tooltip, icon state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication, QMenu

from tray_app.engine import Engine
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.ui.tray import TrayController

MakeTray = Callable[..., TrayController]


def tray_controller(config: Path, history: HistoryStore | Path, *, policy: FetchPolicy | None = None,
                    refresh_seconds: float = 3600) -> TrayController:
    """A controller (not started) on an engine of ``config`` with tray notifications and short fetch timeouts,
    so that a provider that does not answer fails a test in seconds."""
    store = history if isinstance(history, HistoryStore) else HistoryStore(history)
    engine = Engine(config, keys=KeyStore(), history=store, notifier="tray",
                    policy=policy or FetchPolicy(attempt_timeout=2, total_timeout=4, backoff_base=0.01))
    return TrayController(engine, refresh_seconds=refresh_seconds)


def dispose_tray(controller: TrayController) -> None:
    """Shut the controller down and delete its Qt side now, while the QApplication exists, not in a random
    GC order at exit."""
    controller.shutdown()
    for widget in (controller.settings, controller.about, controller.window, controller.menu, controller.tray,
                   controller):
        if widget is not None:
            shiboken6.delete(widget)


@pytest.fixture
def make_tray(isolated_env: dict[str, str], tmp_path: Path, qapp: QApplication) -> Iterator[MakeTray]:
    """``make_tray(config_path, policy=..., engine=...)``: a controller on its own worker thread."""
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    made: list[TrayController] = []

    def make(config: Path, *, policy: FetchPolicy | None = None, engine: Engine | None = None,
             refresh_seconds: float = 3600) -> TrayController:
        if engine is None:
            controller = tray_controller(config, tmp_path / "history.sqlite3", policy=policy,
                                         refresh_seconds=refresh_seconds)
        else:
            controller = TrayController(engine, refresh_seconds=refresh_seconds)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        dispose_tray(controller)
    QLocale.setDefault(QLocale.system())


def start(qtbot, controller: TrayController, timeout: int = 15_000) -> None:
    """Start, and wait until the refresh that runs at start has been applied."""
    with qtbot.waitSignal(controller.refreshed, timeout=timeout):
        controller.start()


def refresh(qtbot, controller: TrayController, timeout: int = 15_000) -> None:
    qtbot.waitUntil(lambda: not controller.refreshing, timeout=timeout)
    with qtbot.waitSignal(controller.refreshed, timeout=timeout):
        controller.refresh(manual=True)


def account_menus(controller: TrayController) -> list[QMenu]:
    return [a.menu() for a in controller.menu.actions()
            if a.menu() is not None and a.menu() is not controller.snooze_menu]


def rows(controller: TrayController) -> list[str]:
    return [m.menuAction().text() for m in account_menus(controller)]


def row_lines(controller: TrayController, index: int) -> list[str]:
    return [a.text() for a in account_menus(controller)[index].actions() if a.text() and a.isVisible()]


def everything_shown(controller: TrayController) -> str:
    """Every text of the menu (top level and submenus, visible or not), the tooltip and the window."""
    texts: list[str] = [controller.tray.toolTip()]

    def walk(menu: QMenu) -> None:
        texts.append(menu.title())
        for action in menu.actions():
            texts.append(action.text())
            texts.append(action.toolTip())
            if action.menu() is not None:
                walk(action.menu())

    walk(controller.menu)
    return "\n".join(texts)


def visible_top_lines(controller: TrayController) -> list[str]:
    return [a.text() for a in controller.menu.actions() if a.isVisible() and a.text()]
