# PyInstaller runtime hook (Windows): give the process the app's AppUserModelID before any window
# or tray icon exists, the same ID the Start-menu shortcut carries (packaging/windows/credit-tray.iss),
# so Windows attributes toasts and the taskbar to "Credit Tray" rather than to the .exe. A no-op elsewhere.
# The ID must equal packaging/appmeta.py BUNDLE_ID (tests/test_packaging.py checks that).
import sys

APP_USER_MODEL_ID = "io.github.credittray.CreditTray"

if sys.platform == "win32":
    import contextlib
    import ctypes

    with contextlib.suppress(AttributeError, OSError):  # pre-Windows 7 has no such ID: nothing to do
        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_USER_MODEL_ID)
