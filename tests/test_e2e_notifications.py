"""Notifications and the icon, end to end: the real program on Xvfb with a private D-Bus, a tray
host (or none) and a notification server that records every call and can "click" a notification
(``tests/desktop/services.py``). Opening a web page is observed through a stand-in ``xdg-open``
on PATH, the program Qt runs for it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop import services
from tests.desktop.session import DesktopSession, desktop_marks, wait_for
from tests.fakeserver import PATHS, FakeServer, Reply
from tray_app.providers import get_provider

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-e2e-notify-7a1c"

pytestmark = desktop_marks()

TOP_UP_URL = get_provider("meowload").top_up_url  # type: ignore[union-attr]


def start_session(root: Path, *, tray: bool, capabilities: str | None = None) -> DesktopSession:
    session = DesktopSession(root, tray=tray, notify_capabilities=capabilities)
    session.start()
    opener = root / "bin" / "xdg-open"
    opener.parent.mkdir()
    opener.write_text(f'#!/bin/sh\necho "$1" >> "{root / "opened.log"}"\n')
    opener.chmod(0o755)
    session.env["PATH"] = f"{opener.parent}:{session.env['PATH']}"
    return session


def opened(session: DesktopSession) -> list[str]:
    log = session.root / "opened.log"
    return log.read_text().split() if log.exists() else []


def configure(session: DesktopSession, server: FakeServer) -> None:
    config = session.home / ".config" / "credit-tray" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[accounts]]\nid = "meow-main"\nprovider = "meowload"\nlabel = "Main"\n'
                      f'base_url = "{server.url}"\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "tray_app", "key", "set", "meow-main"], input=KEY + "\n",
                          env=session.env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def app_in(tmp_path: Path) -> Iterator[list[tuple[DesktopSession, subprocess.Popen[bytes]]]]:
    started: list[tuple[DesktopSession, subprocess.Popen[bytes]]] = []
    yield started
    for session, proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        session.stop()


def launch(session: DesktopSession, started: list) -> subprocess.Popen[bytes]:
    log = open(session.root / "app.out", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "tray_app"], env=session.env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    started.append((session, proc))
    return proc


def app_log(session: DesktopSession) -> str:
    path = session.home / ".local" / "state" / "credit-tray" / "log" / "credit-tray.log"
    return path.read_text("utf-8") if path.exists() else ""


def test_a_notification_has_the_apps_name_icon_and_actions_and_every_action_happens(
        tmp_path: Path, server: FakeServer, app_in: list) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    session = start_session(tmp_path / "desktop", tray=True)
    configure(session, server)
    launch(session, app_in)
    bus = session.bus()
    try:
        items = wait_for(lambda: services.tray_items(bus), 20, "the tray icon")
        (note,) = wait_for(session.notifications, 20, "the low-balance notification")
        assert note["app_name"] == "Credit Tray"
        assert Path(note["app_icon"]).is_file(), note["app_icon"]  # the app's own icon, not a warning triangle
        assert note["hints"]["desktop-entry"] == "credit-tray"
        assert note["actions"] == ["default", "Open top-up page", "top-up", "Top up", "snooze", "Snooze 1 hour"]
        assert note["summary"] == "MeowLoad · Main: 1,500 credits left"
        assert note["body"] == "Below your alert at 2,000."  # no promise of a click that may not happen
        # The tray item keeps the app's tooltip (Qt's own tray message would replace it with the alert).
        tooltip = str(services.item_properties(bus, items[0]).get("ToolTip"))
        assert "credits left" not in tooltip
        assert "1,500 credits (below 2,000)" in tooltip

        services.click_notification(bus, note["id"])  # a click: the top-up page
        wait_for(lambda: opened(session) == [TOP_UP_URL], 10, "the top-up page to open")
        services.click_notification(bus, note["id"], "snooze")
        wait_for(lambda: "notification action snooze for meow-main" in app_log(session), 10, "the snooze")
        props = services.item_properties(bus, items[0])
        snooze = [m for m in props["menu"] if m["label"].startswith("Snooze notifications")]
        assert snooze
        assert "until" in snooze[0]["label"]
        assert opened(session) == [TOP_UP_URL]  # the menu did not open a page as well
    finally:
        bus.close()


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_with_no_tray_host_the_window_comes_at_once_and_clicks_are_heard(
        tmp_path: Path, server: FakeServer, app_in: list) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 80}))
    session = start_session(tmp_path / "notray", tray=False)
    configure(session, server)
    proc = launch(session, app_in)

    # No tray host: the balances window is up by the time the first balances are, not 30 s later.
    wait_for(lambda: session.visible_windows("Credit Tray"), 10,
             "the balances window (it used to wait 30 s for a tray)")
    (note,) = wait_for(session.notifications, 20, "the notification")
    bus = session.bus()
    try:
        services.click_notification(bus, note["id"])
        wait_for(lambda: opened(session) == [TOP_UP_URL], 10, "a click heard with no tray")
    finally:
        bus.close()
    assert proc.poll() is None


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_a_tray_host_that_starts_later_gets_the_icon_and_the_window_goes(
        tmp_path: Path, server: FakeServer, app_in: list) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 282539}))
    session = start_session(tmp_path / "late", tray=False)
    configure(session, server)
    proc = launch(session, app_in)

    wait_for(lambda: session.visible_windows("Credit Tray"), 10, "the balances window while there is no tray")
    session._start_service("watcher", session.tray_log)  # the panel starts after us, as at login
    bus = session.bus()
    try:
        wait_for(lambda: services.tray_items(bus), 20, "the icon in the tray that appeared")
    finally:
        bus.close()
    wait_for(lambda: not session.visible_windows("Credit Tray"), 10, "the stand-in window to go")
    assert proc.poll() is None
    assert "a system tray appeared; the icon moves there" in app_log(session)


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_a_refused_key_notice_opens_settings_and_its_text_is_never_markup(
        tmp_path: Path, server: FakeServer, app_in: list) -> None:
    server.route(PATHS["meowload"], Reply(401, {"message": "<b>Invalid</b> key & <img src='x'>"}))
    session = start_session(tmp_path / "desktop", tray=True, capabilities="body,body-markup,actions")
    configure(session, server)
    launch(session, app_in)
    (note,) = wait_for(session.notifications, 20, "the refused-key notification")
    assert note["summary"] == "MeowLoad · Main: API key refused"
    assert note["body"] == "&lt;b&gt;Invalid&lt;/b&gt; key &amp; &lt;img src='x'&gt;. Update the key in Settings."
    # Only what a click really does: open Settings. No "Top up" or "Snooze" for a key problem.
    assert note["actions"] == ["default", "Open Settings"]
    bus = session.bus()
    try:
        services.click_notification(bus, note["id"])
    finally:
        bus.close()
    wait_for(lambda: session.visible_windows("^Settings"), 10, "Settings opened by the click")
    assert opened(session) == []  # no top-up page for a key problem
