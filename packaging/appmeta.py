"""What every installer says about the app, in one place: names, ids, the version, Info.plist.

Imported by the PyInstaller spec, the Linux builder, the icon script and the tests; it needs
nothing outside the standard library. The version has one source of truth, pyproject.toml
(the frozen app reads the same number from the package metadata the spec copies in).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

APP_NAME = "Credit Tray"  # what people see: window titles, the .app, Start menu, notifications
APP_ID = "credit-tray"  # command, Linux package, desktop file, icon name (same as tray_app.APP_ID)
#: Reverse-DNS id: macOS CFBundleIdentifier and the Windows AppUserModelID (Start-menu shortcut and
#: the running app, so toasts are attributed to Credit Tray). Must equal tray_app.autostart.BUNDLE_ID
#: (the LaunchAgent's label); tests/test_packaging.py checks every copy.
BUNDLE_ID = "io.github.credittray.CreditTray"
SUMMARY = "Prepaid API credit balances in your system tray"
DESCRIPTION = (
    "Shows how many prepaid credits you have left at the API providers you use "
    "(MeowLoad, SmarterBot, SociaVault, Unwatermark) and warns you with a native "
    "notification before they run out. Keys are kept in the OS keyring."
)
#: The .deb needs a maintainer address; the project has no public one yet (.invalid is reserved for that).
MAINTAINER = "Credit Tray developers <maintainers@credit-tray.invalid>"
LICENSE = "MIT"
#: Where the .deb installs the one-folder app, and its launcher.
LINUX_PREFIX = "/opt/credit-tray"
LINUX_LAUNCHER = "/usr/bin/credit-tray"
#: Square PNG sizes for the hicolor theme (Linux) and the app's PNG set.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
#: Windows .ico sizes (BMP entries below 256, a PNG entry at 256, as Windows expects).
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
#: macOS .icns: OSType of each PNG entry and its pixel size (the @2x variants included).
ICNS_TYPES = (("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512),
              ("ic10", 1024), ("ic11", 32), ("ic12", 64), ("ic13", 256), ("ic14", 512))


def version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The project's version, as written in pyproject.toml."""
    return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])


def debian_version(pep440: str) -> str:
    """A PEP 440 version as a Debian one that sorts the same: pre-releases before the release."""
    match = re.fullmatch(r"(\d+(?:\.\d+)*)(?:\.?(a|b|rc)\.?(\d+))?(?:\.?post\.?(\d+))?(?:\.?dev\.?(\d+))?", pep440)
    if match is None:
        raise ValueError(f"not a plain PEP 440 version: {pep440!r}")
    release, pre, pre_n, post, dev = match.groups()
    out = release
    if pre:
        out += f"~{pre}{pre_n}"
    if post:
        out += f"+post{post}"
    if dev:  # before everything else of its release: ~~ sorts below the pre-releases' ~
        out += f"~dev{dev}" if pre or post else f"~~dev{dev}"
    return out


def windows_version(pep440: str) -> str:
    """Four dotted numbers (Windows file and installer versions take nothing else)."""
    numbers = re.match(r"\d+(?:\.\d+)*", pep440)
    parts = (numbers.group(0).split(".") if numbers else []) + ["0"] * 4
    return ".".join(parts[:4])


def info_plist(app_version: str) -> dict[str, Any]:
    """Info.plist keys for the macOS .app (PyInstaller's BUNDLE fills in the executable and icon)."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": app_version,
        "CFBundleVersion": app_version,
        "CFBundlePackageType": "APPL",
        # A menu-bar app: no Dock icon, no app menu; the tray icon is the whole interface.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSHumanReadableCopyright": f"{LICENSE} licence, the Credit Tray developers",
        # Notification Center attributes alerts to the bundle; nothing here asks for more.
        "NSUserNotificationAlertStyle": "banner",
    }


def windows_version_info(app_version: str) -> str:
    """The exe's version resource, in the text form PyInstaller's EXE(version=...) reads."""
    numbers = tuple(int(n) for n in windows_version(app_version).split("."))
    strings = {
        "CompanyName": "Credit Tray developers",
        "FileDescription": APP_NAME,
        "FileVersion": app_version,
        "InternalName": APP_ID,
        "LegalCopyright": f"{LICENSE} licence",
        "OriginalFilename": f"{APP_NAME}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": app_version,
    }
    table = ",\n".join(f"        StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return (
        "VSVersionInfo(\n"
        f"  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0, OS=0x40004,\n"
        "                    fileType=0x1, subtype=0x0, date=(0, 0)),\n"
        "  kids=[\n"
        "    StringFileInfo([StringTable('040904B0', [\n"
        f"{table}])]),\n"
        "    VarFileInfo([VarStruct('Translation', [1033, 1200])])])\n"
    )
