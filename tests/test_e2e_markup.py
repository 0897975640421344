"""A provider's message reaches the notification daemon as text, on a real desktop.

dunst parses body markup (it advertises "body-markup"), and a bus monitor records exactly
what Credit Tray sent to org.freedesktop.Notifications: through Qt's StatusNotifierItem tray,
and straight over D-Bus when there is no tray.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.desktop.session import DesktopSession, desktop_marks, running, wait_for
from tests.fakeserver import PATHS, FakeServer, Reply
from tests.test_e2e import app, store_key

HOSTILE = ('<b>Works: 99,999,999 credits</b> <a href="https://evil.example/phish">log in</a>'
           '<img src="file:///etc/hostname"><font size=7>BIG</font>')
ESCAPED = ('&lt;b&gt;Works: 99,999,999 credits&lt;/b&gt; &lt;a href="https://evil.example/phish"&gt;log in&lt;/a&gt;'
           '&lt;img src="file:///etc/hostname"&gt;&lt;font size=7&gt;BIG&lt;/font&gt;')

pytestmark = desktop_marks()


def session_with(root: Path, *, tray: bool, drawn: bool) -> DesktopSession:
    session = DesktopSession(root, tray=tray, drawn_notifications=drawn)
    return session.start()


@pytest.fixture
def refusing(server: FakeServer) -> FakeServer:
    server.route(PATHS["meowload"], Reply(401, {"message": HOSTILE}))
    return server


def configure(session: DesktopSession, server: FakeServer) -> None:
    config = session.home / ".config" / "credit-tray" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[accounts]]\nid = "meow-main"\nprovider = "meowload"\nlabel = "Main"\n'
                      f'base_url = "{server.url}"\n', "utf-8")
    store_key(session, "meow-main", "sk-e2e-markup-key")


def refused_notification(session: DesktopSession, env: dict[str, str] | None = None) -> dict[str, object]:
    with running(session, app(), env=env) as run:
        notes = wait_for(session.notifications, 20, "the key-refused notification on D-Bus")
        run.proc.send_signal(signal.SIGTERM)
        assert run.proc.wait(10) == 0
    assert "Traceback" not in run.output
    assert len(notes) == 1
    return notes[0]


@pytest.mark.skipif(shutil.which("dunst") is None, reason="needs dunst")
@pytest.mark.parametrize("tray", [True, False], ids=["through-the-tray", "straight-over-dbus"])
def test_a_hostile_message_reaches_a_markup_daemon_escaped(tmp_path: Path, refusing: FakeServer, tray: bool) -> None:
    session = session_with(tmp_path / "desktop", tray=tray, drawn=True)
    try:
        configure(session, refusing)
        env = {**session.env, "CREDIT_TRAY_TRAY_WAIT_S": "1"}
        note = refused_notification(session, env)
    finally:
        session.stop()
    assert note["summary"] == "MeowLoad · Main: API key refused"
    assert note["body"] == f"{ESCAPED}. Update the key in Settings."


def test_a_daemon_without_body_markup_gets_the_text_as_it_is(tmp_path: Path, refusing: FakeServer) -> None:
    # The recording daemon advertises no "body-markup": it shows text as it is, so nothing is escaped.
    session = session_with(tmp_path / "desktop", tray=False, drawn=False)
    try:
        configure(session, refusing)
        note = refused_notification(session, {**session.env, "CREDIT_TRAY_TRAY_WAIT_S": "1"})
    finally:
        session.stop()
    assert note["body"] == f"{HOSTILE}. Update the key in Settings."
