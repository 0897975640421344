"""The custom provider editor on a real (virtual) X display, photographed after Test.

The editor is the real ``AccountDialog`` on Xvfb, asking a loopback server; the screenshot
goes to test-artifacts/custom-provider.png (the README's picture is a copy of it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.session import DesktopSession, desktop_marks, wait_for
from tests.fakeserver import FakeServer, Reply

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = desktop_marks()


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[DesktopSession]:
    with DesktopSession(tmp_path / "desktop", tray=False, notifications=False, keyring=False) as session:
        yield session


def test_the_custom_editor_after_test_on_screen(desktop: DesktopSession, server: FakeServer, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    server.route("/v1/me", Reply(200, {"id": "u_81", "data": {"wallet": {"left": "12.40", "cap": 50},
                                                               "renews_at": "2026-12-01T00:00:00Z"}}))
    config = tmp_path / "config.toml"
    ready = tmp_path / "ready.json"
    editor = subprocess.Popen([sys.executable, "-m", "tests.desktop.custom_editor", str(config),
                               server.url + "/v1/me", str(ready)], env={**desktop.env, "QT_QPA_PLATFORM": "xcb"},
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_for(lambda: ready.exists() or editor.poll() is not None, 30, "the editor to show the answer of Test")
        except TimeoutError:
            editor.terminate()
            raise AssertionError(editor.communicate(timeout=10)[1].decode()[-3000:]) from None
        assert ready.exists(), editor.communicate(timeout=10)[1].decode()[-3000:]
        shown = json.loads(ready.read_text(encoding="utf-8"))
        assert shown["result"] == "Works: 12.4 USD · resets Tue 1 Dec"
        assert '"left": "12.40"' in shown["raw"]
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "custom-provider-screen.png"
        wait_for(lambda: desktop.screenshot(shot), 10, "a screenshot")
        window = QImage(str(shot)).copy(shown["x"], shown["y"], shown["width"], shown["height"])
        assert window.width() > 600
        assert window.save(str(ARTIFACTS / "custom-provider.png"))
        drawn = sum(1 for y in range(0, window.height(), 4) for x in range(0, window.width(), 4)
                    if window.pixel(x, y) & 0xFFFFFF)
        assert drawn > window.width() * window.height() // 32  # the dialog is drawn, not a black rectangle
        assert editor.poll() is None
    finally:
        editor.terminate()
        editor.wait(10)
