"""Credit Tray: prepaid API credit balances in the system tray.

The engine modules in this package import no Qt, so the command line starts fast
and runs headless; only ``tray_app.ui`` imports PySide6.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("credit-tray")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

APP_NAME = "Credit Tray"
APP_ID = "credit-tray"
