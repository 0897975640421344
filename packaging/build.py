"""Build Credit Tray's installers for the OS this runs on.

    python packaging/build.py [--skip-freeze] [--dist DIR]

Run it with a Python that has the project installed non-editable plus the ``packaging`` extra
(``bash scripts/package.sh`` sets that up on Linux; the release workflow does it on each runner).

    1. icons         packaging/make_icons.py -> build/icons (from resources/*.svg)
    2. freeze        PyInstaller with packaging/credit-tray.spec -> dist/<app folder>
    3. installers    Linux:   dist/credit-tray_<version>_<arch>.deb and
                              dist/credit-tray-<version>-linux-<machine>.tar.gz
                     macOS:   dist/CreditTray-<version>-macos-<machine>.dmg (packaging/macos/make-dmg.sh)
                     Windows: dist/CreditTray-<version>-windows-x64-setup.exe (Inno Setup's ISCC)

Prints one line per file written, with its size.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import appmeta  # noqa: E402

ROOT = appmeta.ROOT


def freeze(dist: Path, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
                    str(HERE / "credit-tray.spec")],
                   # Not from the checkout: there `tray_app` would be the source tree (no resources/ inside).
                   check=True, cwd=work, env={**os.environ, "CREDIT_TRAY_BUILD_DIR": str(work)})


def build_windows_installer(dist: Path, work: Path, version: str) -> Path:
    iscc = shutil.which("iscc") or shutil.which("ISCC") or r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe"
    subprocess.run([iscc, f"/DAppVersion={version}", f"/DAppVersionWin={appmeta.windows_version(version)}",
                    f"/DDistDir={dist}", f"/DIconFile={work / 'icons' / 'credit-tray.ico'}",
                    f"/O{dist}", str(HERE / "windows" / "credit-tray.iss")], check=True)
    return dist / f"CreditTray-{version}-windows-x64-setup.exe"


def build_macos_dmg(dist: Path, version: str) -> Path:
    dmg = dist / f"CreditTray-{version}-macos-{platform.machine()}.dmg"
    subprocess.run(["bash", str(HERE / "macos" / "make-dmg.sh"), str(dist / f"{appmeta.APP_NAME}.app"), str(dmg)],
                   check=True)
    return dmg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="scratch folder (default: build/)")
    parser.add_argument("--skip-freeze", action="store_true", help="reuse the app already frozen in --dist")
    args = parser.parse_args(argv)
    dist, work = args.dist.resolve(), args.work.resolve()
    version = appmeta.version()

    if not args.skip_freeze:
        freeze(dist, work)
    outputs: list[Path] = []
    if sys.platform.startswith("linux"):
        sys.path.insert(0, str(HERE / "linux"))
        import linux_packages

        app = dist / appmeta.APP_ID
        icons = work / "icons"
        outputs.append(linux_packages.tarball(app, icons, dist, version))
        outputs.append(linux_packages.deb(app, icons, dist, work / "deb", version))
    elif sys.platform == "darwin":
        outputs.append(build_macos_dmg(dist, version))
    elif sys.platform == "win32":
        outputs.append(build_windows_installer(dist, work, version))
    for path in outputs:
        print(f"{path.stat().st_size / 1e6:8.1f} MB  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
