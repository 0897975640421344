"""The real program as a user meets it, on a real (virtual) desktop.

Xvfb, a private D-Bus session with a StatusNotifierItem host, a notification daemon
(dunst, with a bus monitor recording what it was sent) and an unlocked gnome-keyring:
`credit-tray` is started against loopback servers, keys go through the real Secret
Service, and the assertions are made where the user would look: the tray host's item,
its menu, the notification on the bus, the screen.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop import services
from tests.desktop.session import DesktopSession, desktop_marks, running, wait_for
from tests.fakeserver import PATHS, FakeServer, Reply

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CANARY = "sk-e2e-CANARY-51c2d9"

pytestmark = desktop_marks()


def drawn_pixels(png: Path) -> int:
    """How many pixels of a screenshot are not the empty (black) root window, sampled every 2 px."""
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    return 4 * sum(1 for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)
                   if image.pixel(x, y) & 0xFFFFFF)


def crop_to_content(png: Path, out: Path, top: int, bottom: int, left: int = 0, margin: int = 6) -> None:
    """The drawn part of a band of a screenshot (the menu, a bubble) with a margin, for the README."""
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    drawn = [(x, y) for y in range(top, min(bottom, image.height())) for x in range(left, image.width())
             if image.pixel(x, y) & 0xFFFFFF]
    if drawn:
        xs, ys = [x for x, _ in drawn], [y for _, y in drawn]
        image.copy(min(xs) - margin, min(ys) - margin, max(xs) - min(xs) + 1 + 2 * margin,
                   max(ys) - min(ys) + 1 + 2 * margin).save(str(out))


def app(*args: str) -> list[str]:
    return [sys.executable, "-m", "tray_app", *args]


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[DesktopSession]:
    with DesktopSession(tmp_path / "desktop", drawn_notifications=True) as session:
        yield session


def write_config(session: DesktopSession, server: FakeServer) -> Path:
    config = session.home / ".config" / "credit-tray" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "refresh_minutes = 10\n\n"
        "[[accounts]]\nid = \"meow-main\"\nprovider = \"meowload\"\nlabel = \"Main\"\n"
        f"base_url = \"{server.url}\"\n\n"
        "[[accounts]]\nid = \"socia\"\nprovider = \"sociavault\"\n"
        f"base_url = \"{server.url}\"\n",
        "utf-8",
    )
    return config


def store_key(session: DesktopSession, account_id: str, key: str) -> None:
    done = subprocess.run(app("key", "set", account_id), input=key + "\n", env=session.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_tray_registers_notifies_and_stays_single(desktop: DesktopSession, server: FakeServer) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    server.route(PATHS["sociavault"], Reply(200, {"credits": 5000, "subscriptionStatus": "active",
                                                  "subscriptionId": "sub_1"}))
    write_config(desktop, server)
    store_key(desktop, "meow-main", CANARY)
    store_key(desktop, "socia", CANARY + "-2")
    # The key really is in the Secret Service (gnome-keyring), not in a file of ours.
    looked_up = subprocess.run(["secret-tool", "lookup", "service", "credit-tray", "username", "meow-main"],
                               env=desktop.env, capture_output=True, text=True, timeout=30, check=False)
    if shutil.which("secret-tool"):
        assert looked_up.stdout.strip() == CANARY

    with running(desktop, app()) as run:
        tray, bus = run.proc, run.bus
        items = wait_for(lambda: services.tray_items(bus), 20, "the tray icon to register with the host")
        assert len(items) == 1

        notes = wait_for(desktop.notifications, 20, "a low-balance notification on D-Bus")
        assert len(notes) == 1
        note = notes[0]
        assert note["app_name"] == "Credit Tray"
        assert note["summary"] == "MeowLoad · Main: 1,500 credits left"
        assert note["body"] == "Below your alert at 2,000."
        assert note["hints"].get("urgency") == 1  # Warning (normal), never Critical (a modal on Linux)
        ARTIFACTS.mkdir(exist_ok=True)
        bubble = ARTIFACTS / "e2e-notification.png"
        wait_for(lambda: desktop.screenshot(bubble) and drawn_pixels(bubble) > 2000, 10, "dunst to draw the bubble")
        crop_to_content(bubble, ARTIFACTS / "notification.png", 0, 300, left=700)

        props = wait_for(lambda: (p := services.item_properties(bus, items[0]))
                         and "(below 2,000)" in str(p.get("ToolTip")) and p, 20, "the tooltip with balances")
        labels = [m["label"] for m in props["menu"] if m["visible"] and m["label"]]
        assert "MeowLoad · Main — 1,500 credits (below 2,000)" in labels
        assert "SociaVault — 5,000 credits" in labels
        assert "Refresh now" in labels
        assert "Quit" in labels

        time_before = len(desktop.notifications())
        second = subprocess.run(app(), env=desktop.env, cwd=ROOT, capture_output=True, text=True, timeout=30,
                                check=False)
        assert second.returncode == 0
        assert "already running" in second.stdout
        # The first instance shows its menu on screen; there is still exactly one icon.
        wait_for(lambda: len(server.requests_to(PATHS["meowload"])) >= 2, 10, "the hand-over refresh")
        assert services.tray_items(bus) == items
        shot = ARTIFACTS / "e2e-menu.png"
        wait_for(lambda: desktop.screenshot(shot) and drawn_pixels(shot) > 20000, 10, "the menu on screen")
        crop_to_content(shot, ARTIFACTS / "menu.png", 300, 800)
        assert len(desktop.notifications()) == time_before  # the same balance does not alert twice

        tray.send_signal(signal.SIGINT)  # Ctrl+C in a terminal
        assert tray.wait(10) == 0
        wait_for(lambda: not services.tray_items(bus), 10, "the icon to go away")
    output = run.output
    assert "Traceback" not in output
    assert "QThread: Destroyed while thread is still running" not in output

    # The key went only to the configured server and was written nowhere but the keyring.
    sent = {r.headers.get("x-api-key") for r in server.requests_to(PATHS["meowload"])}
    assert sent == {CANARY}
    keyring_dir = desktop.home / ".local" / "share" / "keyrings"
    for path in desktop.root.rglob("*"):
        if path.is_file() and keyring_dir not in path.parents:
            assert CANARY.encode() not in path.read_bytes(), f"key found in {path}"
    assert CANARY not in output


def test_without_a_tray_a_window_shows_the_balances_and_notifications_still_come(
    tmp_path: Path, server: FakeServer
) -> None:
    session = DesktopSession(tmp_path / "notray", tray=False)
    session.start()
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 80}))
    try:
        write_config(session, server)
        store_key(session, "meow-main", CANARY)
        env = {**session.env, "CREDIT_TRAY_TRAY_WAIT_S": "1"}
        tray = subprocess.Popen(app(), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            notes = wait_for(session.notifications, 20, "the notification sent straight over D-Bus")
            assert notes[0]["summary"].startswith("MeowLoad · Main: 80 credits left")
            if shutil.which("xdotool"):
                found = wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "Credit Tray"],
                                                        env=session.env, capture_output=True, check=False).stdout,
                                 10, "the balances window")
                assert found.strip()
            assert tray.poll() is None  # still running, not exited silently
        finally:
            tray.terminate()
            assert tray.wait(10) == 0
    finally:
        session.stop()


def window_shot(session: DesktopSession, window: str, path: Path) -> None:
    """One window, as the README shows it (ImageMagick's import)."""
    if shutil.which("import"):
        subprocess.run(["import", "-window", window, str(path)], env=session.env, capture_output=True,
                       check=False, timeout=30)


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_first_run_opens_the_settings_window_and_the_add_form(desktop: DesktopSession) -> None:
    tray = subprocess.Popen(app(), env=desktop.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: desktop.visible_windows("^Settings"), 20, "the settings window on first run")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "e2e-settings.png"
        wait_for(lambda: desktop.screenshot(shot) and drawn_pixels(shot) > 100_000, 10, "the window drawn")
        window = desktop.visible_windows("^Settings")[0]
        window_shot(desktop, window, ARTIFACTS / "settings.png")  # the README's picture
        subprocess.run(["xdotool", "windowactivate", "--sync", window], env=desktop.env, check=False, timeout=10)
        subprocess.run(["xdotool", "key", "--window", window, "alt+a"], env=desktop.env, check=True, timeout=10)
        wait_for(lambda: desktop.visible_windows("Add account"), 10, "the add-account form (Alt+A)")
        form = ARTIFACTS / "e2e-add-account.png"
        wait_for(lambda: desktop.screenshot(form), 10, "a screenshot")
        window_shot(desktop, desktop.visible_windows("Add account")[0], ARTIFACTS / "add-account.png")
        assert tray.poll() is None
    finally:
        tray.terminate()
        assert tray.wait(10) == 0


def test_no_display_says_so_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(app(), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no graphical display" in lines[0]
    assert "credit-tray check" in lines[0]


def test_alerts_come_once_across_restarts_and_after_check_saw_the_crossing(desktop: DesktopSession,
                                                                         server: FakeServer) -> None:
    """12,000 → 10,000 → 9,999 over three starts of the real app: one notification, at 9,999. Then
    `credit-tray check` sees the next crossing first (1,500, below 2,000) and says nothing on the
    desktop; the tray, started afterwards at 1,400, still tells the user, once."""
    server.route(PATHS["sociavault"], Reply(200, {"credits": 5000, "subscriptionStatus": "active"}))
    write_config(desktop, server)
    store_key(desktop, "meow-main", CANARY)
    store_key(desktop, "socia", CANARY + "-2")

    def start_with(credits: int, expected: int) -> list[dict]:
        """Start the app, and quit (Ctrl+C) as soon as the balance shows: an alert its refresh recorded
        must still reach the desktop, even when the quit comes first."""
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": credits}))
        before = len(desktop.notifications())
        with running(desktop, app()) as run:
            items = wait_for(lambda: services.tray_items(run.bus), 20, "the tray icon")
            shown = f"{credits:,} credits"
            wait_for(lambda: shown in str(services.item_properties(run.bus, items[0]).get("ToolTip")), 20,
                     f"the tooltip to show {shown}")
            run.proc.send_signal(signal.SIGINT)
            assert run.proc.wait(10) == 0
        assert "Traceback" not in run.output
        if expected:
            wait_for(lambda: len(desktop.notifications()) >= before + expected, 5, "the notification recorded")
        else:
            time.sleep(0.5)  # what the recorder might still be writing
        return desktop.notifications()[before:]

    assert start_with(12000, 0) == []
    assert start_with(10000, 0) == []  # exactly on the level is not below it
    [note] = start_with(9999, 1)
    assert note["summary"] == "MeowLoad · Main: 9,999 credits left"
    assert start_with(9999, 0) == []  # nothing repeats while it stays below

    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    before = len(desktop.notifications())
    checked = subprocess.run(app("check"), env=desktop.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                             check=False)
    assert checked.returncode == 1, checked.stderr  # low, in the monitoring sense
    assert "1,500" in checked.stdout
    assert len(desktop.notifications()) == before  # the command line shows no desktop notification

    [note] = start_with(1400, 1)
    assert note["summary"] == "MeowLoad · Main: 1,400 credits left"
    assert note["body"].startswith("Below your alert at 2,000.")


HISTORY_WINDOW = """
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from PySide6.QtWidgets import QApplication
from tray_app import paths
from tray_app.config import load
from tray_app.history import Entry, HistoryStore
from tray_app.model import Reading
from tray_app.ui.history_window import HistoryWindow

app = QApplication([])
store = HistoryStore(paths.history_file())
now = datetime.now(UTC)
balance, entries = 14_000, []
for i in range(10 * 48, -1, -1):  # ten days every half hour: a burn, a top-up, a faster burn
    at = now - timedelta(minutes=30 * i)
    balance += 12_000 if i == 4 * 48 else 0
    balance -= 24 if i > 4 * 48 else 44 + (i % 7)
    entries.append(Entry("meow-main", Reading(remaining=Decimal(balance), unit="credits", fetched_at=at), at))
store.record(entries)
window = HistoryWindow(store, load(Path(sys.argv[1])), account_id="meow-main")
window.loaded.connect(lambda: print("loaded", flush=True))
window.move(40, 40)
window.show()
app.exec()
"""


def test_history_window_on_screen(desktop: DesktopSession, server: FakeServer) -> None:
    config = write_config(desktop, server)
    env = {**desktop.env, "LANG": "en_US.UTF-8"}
    with running(desktop, [sys.executable, "-c", HISTORY_WINDOW, str(config)], env=env) as run:
        wait_for(lambda: "loaded" in (desktop.root / "app.out").read_text(), 20, "the history window's data")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "e2e-history.png"
        wait_for(lambda: desktop.screenshot(shot) and drawn_pixels(shot) > 150_000, 10, "the window drawn")
        assert run.proc.poll() is None


def imported_modules(stderr: str) -> set[str]:
    """The modules a ``python -X importtime`` run imported, from its report on stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_check_reads_keys_from_the_secret_service_without_keyrings_discovery(tmp_path: Path,
                                                                             server: FakeServer) -> None:
    """keyring's discovery imports every backend it knows (the macOS one too, which runs find_library):
    with a Secret Service on the bus, the key is read from it directly."""
    session = DesktopSession(tmp_path / "desktop", tray=False, notifications=False)
    session.start()
    try:
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
        write_config(session, server)
        store_key(session, "meow-main", CANARY)
        looked_up = subprocess.run(["secret-tool", "lookup", "service", "credit-tray", "username", "meow-main"],
                                   env=session.env, capture_output=True, text=True, timeout=30, check=False)
        if shutil.which("secret-tool"):  # stored in the Secret Service, where check reads it
            assert looked_up.stdout.strip() == CANARY
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tray_app", "check", "--json",
                               "--account", "meow-main"], env=session.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60, check=False)
    finally:
        session.stop()
    assert "Traceback" not in done.stderr
    (account,) = json.loads(done.stdout)["accounts"]
    assert account["error"] is None
    assert account["remaining"] == 1500
    assert server.requests_to(PATHS["meowload"])[0].headers["x-api-key"] == CANARY
    imported = imported_modules(done.stderr)
    assert "keyring.backends.SecretService" in imported
    assert not {m for m in imported if m.startswith(("keyring.backends.macOS", "keyring.backends.Windows",
                                                     "keyring.backends.kwallet", "keyrings.alt"))}


def test_tray_starts_without_loading_the_command_line(tmp_path: Path, server: FakeServer) -> None:
    """The tray starts at every login: its start goes past the scripting commands' modules (the parser of
    every command, the CLI's renderers and their imports), and its icon and balances still arrive."""
    session = DesktopSession(tmp_path / "desktop", notifications=False)
    session.start()
    try:
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
        server.route(PATHS["sociavault"], Reply(200, {"credits": 5000}))
        write_config(session, server)
        store_key(session, "meow-main", CANARY)
        store_key(session, "socia", CANARY + "-2")
        with running(session, [sys.executable, "-X", "importtime", "-m", "tray_app"]) as run:
            (item,) = wait_for(lambda: services.tray_items(run.bus), 20, "the tray icon to register with the host")
            wait_for(lambda: "1,500" in str(services.item_properties(run.bus, item).get("ToolTip")), 20,
                     "the balances in the tooltip")
    finally:
        session.stop()
    imported = imported_modules(run.output)
    assert "tray_app.ui.tray" in imported
    assert not {m for m in imported if m in ("tray_app.cli", "tray_app.cli_history")}



def test_the_tray_speaks_chinese_on_the_desktop(desktop: DesktopSession, server: FakeServer) -> None:
    """``language = "zh"``: the menu the tray host reads over D-Bus and the notification dunst draws are in
    Chinese; the README's Chinese pictures are taken here."""
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    server.route(PATHS["sociavault"], Reply(200, {"credits": 5000, "subscriptionStatus": "active",
                                                  "subscriptionId": "sub_1"}))
    config = write_config(desktop, server)
    config.write_text('language = "zh"\n' + config.read_text("utf-8"), "utf-8")
    store_key(desktop, "meow-main", CANARY)
    store_key(desktop, "socia", CANARY + "-2")

    with running(desktop, app()) as run:
        items = wait_for(lambda: services.tray_items(run.bus), 20, "the tray icon to register with the host")
        [note] = wait_for(desktop.notifications, 20, "the low-balance notification on D-Bus")
        # The buttons are the tray's own words (dunst lists the "actions" capability).
        assert note["actions"][1::2] == ["打开充值页面", "充值", "稍后提醒（1 小时）"]
        assert note["summary"].startswith("MeowLoad · Main：剩余 1,500"), note["summary"]  # the engine's words
        ARTIFACTS.mkdir(exist_ok=True)
        bubble = ARTIFACTS / "e2e-notification-zh.png"
        wait_for(lambda: desktop.screenshot(bubble) and drawn_pixels(bubble) > 2000, 10, "dunst to draw the bubble")
        crop_to_content(bubble, ARTIFACTS / "notification-zh.png", 0, 300, left=700)

        props = wait_for(lambda: (p := services.item_properties(run.bus, items[0])) and "1,500" in str(
            p.get("ToolTip")) and p, 20, "the tooltip with balances")
        labels = [m["label"] for m in props["menu"] if m["visible"] and m["label"]]
        for label in ("立即刷新(R)", "稍后提醒(N)", "历史记录(H)…", "设置(S)…", "关于 Credit Tray(A)", "退出(Q)",
                      "打开充值页面(T)", "复制余额(C)", "刷新此账户(R)"):
            assert label in labels, labels
        assert "Refresh now" not in labels
        assert any(label.startswith("MeowLoad · Main — 1,500 ") and "低于 2,000" in label for label in labels), labels

        # Asked again (a second start), the tray shows its menu on screen.
        second = subprocess.run(app(), env=desktop.env, cwd=ROOT, capture_output=True, text=True, timeout=30,
                                check=False)
        assert second.returncode == 0
        shot = ARTIFACTS / "e2e-menu-zh.png"
        wait_for(lambda: desktop.screenshot(shot) and drawn_pixels(shot) > 20000, 10, "the menu on screen")
        crop_to_content(shot, ARTIFACTS / "menu-zh.png", 300, 800)
        run.proc.send_signal(signal.SIGINT)
        assert run.proc.wait(10) == 0
    assert "Traceback" not in run.output
