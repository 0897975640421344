"""The Linux installers made from the frozen one-folder app: a portable .tar.gz and a .deb.

The .deb (built with plain ``dpkg-deb``, no debhelper) installs:

    /opt/credit-tray/                                 the one-folder app (credit-tray + _internal/)
    /usr/bin/credit-tray -> /opt/credit-tray/credit-tray
    /usr/share/applications/credit-tray.desktop
    /usr/share/icons/hicolor/<N>x<N>/apps/credit-tray.png, scalable/apps/credit-tray.svg
    /usr/share/doc/credit-tray/copyright

No maintainer scripts: dpkg's triggers of hicolor-icon-theme and desktop-file-utils refresh the
icon cache and the menu. Depends: the system libraries the Qt XCB platform plugin needs (as Qt
documents them; most are also bundled, but a bundle built where one was missing has a gap the
system must fill), plus what the bundle's binaries link to and the bundle does not hold (glibc
at the version the binaries require, libxcb, libGL/libEGL), found with objdump and ``dpkg -S``.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # appended: never shadow an installed package
    sys.path.append(str(Path(__file__).resolve().parent.parent))
import appmeta

HERE = Path(__file__).resolve().parent

#: The Qt 6 XCB platform plugin's system libraries (Qt's "Qt for X11 Requirements"), as Debian packages.
XCB_PLUGIN_DEBS = (
    "libxcb1", "libx11-6", "libx11-xcb1", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
    "libxcb-randr0", "libxcb-render0", "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1",
    "libxcb-xfixes0", "libxcb-xkb1", "libxkbcommon0", "libxkbcommon-x11-0", "libfontconfig1", "libfreetype6",
    "libdbus-1-3", "libglib2.0-0", "libegl1", "libgl1",
)
#: A Secret Service provider holds the API keys; the app says what to do when there is none. A CJK font
#: (a small one first: 5 MB against 90 MB) so 简体中文 in the language list is not a row of boxes.
RECOMMENDS = ("gnome-keyring | keepassxc", "fonts-wqy-microhei | fonts-noto-cjk")


def _epoch() -> int:
    """File times in the archives: SOURCE_DATE_EPOCH if set (reproducible builds), else the last commit's."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    done = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=appmeta.ROOT, capture_output=True, text=True,
                          check=False)
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else 0


def _normalise(info: tarfile.TarInfo, mtime: int) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    if info.isfile() or info.isdir():
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


def tarball(app: Path, icons: Path, dist: Path, version: str) -> Path:
    """``credit-tray-<version>/``: the one-folder app, its icon and desktop entry; run ./credit-tray."""
    out = dist / f"{appmeta.APP_ID}-{version}-linux-{os.uname().machine}.tar.gz"
    top = f"{appmeta.APP_ID}-{version}"
    mtime = _epoch()
    extras = {
        f"{top}/share/applications/{appmeta.APP_ID}.desktop": (HERE / f"{appmeta.APP_ID}.desktop").read_bytes(),
        f"{top}/share/icons/hicolor/scalable/apps/{appmeta.APP_ID}.svg": (icons / f"{appmeta.APP_ID}.svg").read_bytes(),
        f"{top}/README.txt": _portable_readme(top).encode("utf-8"),
    }
    for size in appmeta.PNG_SIZES:
        extras[f"{top}/share/icons/hicolor/{size}x{size}/apps/{appmeta.APP_ID}.png"] = (
            icons / "png" / f"{appmeta.APP_ID}-{size}.png").read_bytes()
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, filename="") as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [app, *sorted(app.rglob("*"))]:
            name = top if path == app else f"{top}/{path.relative_to(app)}"
            tar.add(path, arcname=name, recursive=False, filter=lambda info: _normalise(info, mtime))
        for name, data in sorted(extras.items()):
            info = _normalise(tarfile.TarInfo(name), mtime)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out


def _portable_readme(top: str) -> str:
    return (
        f"{appmeta.APP_NAME} {top.rsplit('-', 1)[-1]}, portable build for Linux (x86-64, glibc 2.36 or newer).\n\n"
        "Run it from this folder:\n\n"
        "    ./credit-tray            # the tray app\n"
        "    ./credit-tray check      # one refresh, in the terminal\n\n"
        "It needs the X11/XCB libraries every desktop has (Debian/Ubuntu: libxcb-cursor0 and\n"
        "libxkbcommon-x11-0 are the ones sometimes missing) and a Secret Service keyring (gnome-keyring).\n"
        "To add it to your menu, copy share/ into ~/.local/share/ and put the folder's path in the\n"
        "desktop entry's Exec= line. The Debian package (.deb) does all of this for you.\n"
    )


# ------------------------------------------------------------------ .deb

def _elf_files(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    out.append(path)
    return out


def external_libraries(app: Path) -> tuple[set[str], str | None]:
    """Libraries the bundle's binaries link to but do not carry, and the newest glibc symbol version they need."""
    bundled = {p.name for p in app.rglob("*") if ".so" in p.name}
    needed: set[str] = set()
    glibc: list[tuple[int, ...]] = []
    for elf in _elf_files(app):
        dump = subprocess.run(["objdump", "-p", str(elf)], capture_output=True, text=True, check=True).stdout
        needed.update(re.findall(r"^\s+NEEDED\s+(\S+)$", dump, re.MULTILINE))
        glibc += [tuple(int(n) for n in v.split(".")) for v in re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", dump)]
    newest = ".".join(str(n) for n in max(glibc)) if glibc else None
    return needed - bundled, newest


def _system_path(soname: str) -> str | None:
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    arch = "x86-64" if os.uname().machine == "x86_64" else os.uname().machine
    for line in listing.splitlines():
        name, _, rest = line.strip().partition(" (")
        if name == soname and (arch in rest or "x86-64" not in rest):
            return line.rsplit("=> ", 1)[-1].strip()
    return None


def owning_package(path: str) -> str | None:
    """The Debian package that ships ``path`` (tried as given, resolved, and across the /usr merge)."""
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in (path, real):
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for candidate in candidates:
        done = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def depends(app: Path) -> list[str]:
    libs, glibc = external_libraries(app)
    packages = set(XCB_PLUGIN_DEBS)
    unowned = []
    for soname in sorted(libs):
        path = _system_path(soname)
        package = owning_package(path) if path else None
        if package is None:
            unowned.append(soname)
        elif package != "libc6":
            packages.add(package)
    if unowned:
        raise RuntimeError(f"no Debian package found for {', '.join(unowned)} (needed by the bundle)")
    return [f"libc6 (>= {glibc})" if glibc else "libc6", *sorted(packages)]


def _control(version: str, arch: str, installed_kib: int, deps: list[str]) -> str:
    long = "\n".join(" " + line for line in _wrap(appmeta.DESCRIPTION, 78))
    return (
        f"Package: {appmeta.APP_ID}\n"
        f"Version: {appmeta.debian_version(version)}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {appmeta.MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(deps)}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        "Section: utils\n"
        "Priority: optional\n"
        f"Description: {appmeta.SUMMARY}\n{long}\n"
    )


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _copyright() -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {appmeta.APP_ID}\n\n"
        "Files: *\n"
        "Copyright: the Credit Tray developers\n"
        f"License: {appmeta.LICENSE}\n\n"
        "Files: opt/credit-tray/_internal/*\n"
        "Copyright: their respective authors (Python, Qt / PySide6 under LGPL-3, httpx, keyring, ...)\n"
        "License: various\n"
        " The bundled third-party libraries keep their own licences; their metadata is in\n"
        " /opt/credit-tray/_internal/*.dist-info.\n"
    )


def deb(app: Path, icons: Path, dist: Path, stage: Path, version: str) -> Path:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    if stage.exists():
        shutil.rmtree(stage)
    root = stage / "root"
    prefix = root / appmeta.LINUX_PREFIX.lstrip("/")
    shutil.copytree(app, prefix, symlinks=True)
    launcher = root / appmeta.LINUX_LAUNCHER.lstrip("/")
    launcher.parent.mkdir(parents=True)
    launcher.symlink_to(f"{appmeta.LINUX_PREFIX}/{appmeta.APP_ID}")  # PyInstaller resolves it to find _internal/
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy(HERE / f"{appmeta.APP_ID}.desktop", share / "applications" / f"{appmeta.APP_ID}.desktop")
    for size in appmeta.PNG_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True)
        shutil.copy(icons / "png" / f"{appmeta.APP_ID}-{size}.png", target / f"{appmeta.APP_ID}.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True)
    shutil.copy(icons / f"{appmeta.APP_ID}.svg", scalable / f"{appmeta.APP_ID}.svg")
    doc = share / "doc" / appmeta.APP_ID
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(_copyright(), "utf-8")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    installed_kib = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir()) // 1024 + 1
    control = root / "DEBIAN"
    control.mkdir()
    control.chmod(0o755)
    (control / "control").write_text(_control(version, arch, installed_kib, depends(app)), "utf-8")
    out = dist / f"{appmeta.APP_ID}_{appmeta.debian_version(version)}_{arch}.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(_epoch())}
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return out
