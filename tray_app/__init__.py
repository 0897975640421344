"""Credit Tray: prepaid API credit balances in the system tray.

The engine modules in this package import no Qt, so the command line starts fast
and runs headless; only ``tray_app.ui`` imports PySide6.
"""

APP_NAME = "Credit Tray"  # untranslated: the product's name
APP_ID = "credit-tray"


def __getattr__(name: str) -> str:
    """``__version__``, read from the package metadata when first asked for.

    Not at import: ``importlib.metadata`` and the scan for the distribution cost every
    start (the tray's icon, ``check``) some milliseconds for a string few of them show.
    """
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")  # untranslated: Python's words
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("credit-tray")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
