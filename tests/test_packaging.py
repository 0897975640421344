"""The installers (packaging/): everything that can be checked on this machine is checked here.

Fast checks, in every run: the generated icons decode with Qt's own .ico/.icns readers and hold
exactly the pixels rendered from resources/; the macOS Info.plist, the Windows Inno Setup script,
version resource and runtime hook agree with the app on names, ids and version; the Qt trim rules
keep what the tray loads; Debian versions sort as the Python ones do (asked of dpkg itself); the
spec, scripts and release workflow parse.

The packaging test (marker ``packaging``): builds the bundle, the tarball and the .deb from this
checkout with ``scripts/package.sh``, installs the .deb with dpkg, and drives the INSTALLED
``/usr/bin/credit-tray`` on a throwaway desktop (Xvfb, private D-Bus, tray host, notification
recorder, gnome-keyring) against loopback servers, then purges the package and checks that nothing
of it is left. About two minutes here. It needs root (dpkg) and is skipped, saying why, without it;
``pytest -m "not packaging"`` leaves it out, ``bash scripts/package-test.sh`` runs only this file.
Runs on one machine take turns (a lock file), since they share the checkout's build/ and dist/
and the one system package.
"""

from __future__ import annotations

import ast
import json
import os
import plistlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
# Appended, not prepended: packaging/build.py must not shadow an installed `build` package.
sys.path.append(str(PACKAGING))

import appmeta  # noqa: E402
import qt_trim  # noqa: E402

from tests.desktop.session import DesktopSession, missing_tools, running, wait_for  # noqa: E402
from tests.fakeserver import PATHS, FakeServer, Reply  # noqa: E402

VERSION = appmeta.version()
CANARY = "sk-deb-CANARY-7f3e91"


# ====================================================================== fast checks (every run)

@pytest.fixture(scope="module")
def icons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import make_icons

    return make_icons.generate(tmp_path_factory.mktemp("icons"))


def _qt_images(path: Path) -> list[Any]:
    from PySide6.QtGui import QImage, QImageReader

    reader = QImageReader(str(path))
    images = []
    for index in range(reader.imageCount()):
        assert reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), f"{path.name} #{index}: {reader.errorString()}"
        images.append(image.convertToFormat(QImage.Format.Format_ARGB32))
    return images


def test_ico_and_icns_hold_every_size_with_the_rendered_pixels(icons: dict[str, Path]) -> None:
    import make_icons

    renderer = make_icons.Renderer(make_icons.composed_svg())
    ico = _qt_images(icons["ico"])
    assert [i.width() for i in ico] == list(appmeta.ICO_SIZES)
    assert min(appmeta.ICO_SIZES) == 16
    assert max(appmeta.ICO_SIZES) == 256
    for image, size in zip(ico, appmeta.ICO_SIZES, strict=True):
        assert image.height() == size
        assert image == renderer.image(size), f"ico {size} px differs from the rendering (BMP rows or channels)"
    icns = _qt_images(icons["icns"])
    assert [i.width() for i in icns] == [size for _, size in appmeta.ICNS_TYPES]
    for image, (_, size) in zip(icns, appmeta.ICNS_TYPES, strict=True):
        assert image == renderer.image(size)
    assert icons["icns"].read_bytes()[:4] == b"icns"
    assert int.from_bytes(icons["icns"].read_bytes()[4:8], "big") == icons["icns"].stat().st_size


def test_png_sizes_are_square_and_transparent_in_the_corners(icons: dict[str, Path]) -> None:
    from PySide6.QtGui import QImage

    for size in appmeta.PNG_SIZES:
        image = QImage(str(icons[f"png{size}"]))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(0, 0).alpha() == 0  # a round coin: the corner is see-through
        assert image.pixelColor(size // 4, size // 2).alpha() == 255  # the coin itself is opaque


def test_app_icon_looks_like_the_trays_ok_icon(icons: dict[str, Path]) -> None:
    """The composed SVG places the badge where tray_app/ui/icons.py draws it."""
    import make_icons
    from PySide6.QtGui import QImage

    from tray_app.ui.icons import IconFactory, IconState

    size = 64
    ours = make_icons.Renderer(make_icons.composed_svg()).image(size)
    tray = IconFactory(template=False).pixmap(IconState.OK, size).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    differing = sum(1 for y in range(size) for x in range(size)
                    if max(abs(a - b) for a, b in zip(ours.pixelColor(x, y).getRgb(), tray.pixelColor(x, y).getRgb(),
                                                      strict=True)) > 48)
    assert differing <= size * size // 100, f"{differing} of {size * size} pixels differ"


def test_info_plist_is_a_menu_bar_app_with_the_bundle_id_and_version() -> None:
    from tray_app import autostart

    plist = plistlib.loads(plistlib.dumps(appmeta.info_plist(VERSION)))
    assert plist["LSUIElement"] is True
    assert plist["CFBundleIdentifier"] == appmeta.BUNDLE_ID == autostart.BUNDLE_ID
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == VERSION
    assert plist["CFBundleName"] == appmeta.APP_NAME
    spec = (PACKAGING / "credit-tray.spec").read_text("utf-8")
    assert "info_plist=appmeta.info_plist(VERSION)" in spec
    assert "bundle_identifier=appmeta.BUNDLE_ID" in spec


def _iss_defines(text: str) -> dict[str, str]:
    return dict(re.findall(r'^#define\s+(\w+)\s+"([^"]*)"', text, re.MULTILINE))


def _iss_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
            sections.setdefault(current, [])
        else:
            sections.setdefault(current, []).append(line)
    return sections


def _iss_entry(line: str) -> dict[str, str]:
    """`Name: "x"; Filename: "y"; Flags: a b` -> {"Name": "x", ...} (Inno Setup's entry syntax)."""
    out = {}
    for key, value in re.findall(r'(\w+):\s*("(?:[^"]|"")*"|[^;]*)', line):
        value = value.strip()
        out[key] = value[1:-1].replace('""', '"') if value.startswith('"') else value
    return out


def test_inno_setup_script_matches_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs.windows

    from tray_app import autostart

    text = (PACKAGING / "windows" / "credit-tray.iss").read_text("utf-8")
    defines = _iss_defines(text)
    sections = _iss_sections(text)
    assert defines["AppName"] == appmeta.APP_NAME
    assert defines["AppUserModelID"] == appmeta.BUNDLE_ID
    assert defines["AppExeName"] == f"{appmeta.APP_NAME}.exe"  # the spec's windowed exe on Windows
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["PrivilegesRequired"] == "lowest"  # per user: HKCU autostart and config are that user's
    assert setup["AppVersion"] == "{#AppVersion}"
    assert setup["SetupIconFile"] == "{#IconFile}"
    shortcuts = [_iss_entry(line) for line in sections["Icons"]]
    start_menu = [s for s in shortcuts if s["Name"].startswith("{autoprograms}")]
    assert len(start_menu) == 1
    assert start_menu[0]["AppUserModelID"] == "{#AppUserModelID}"
    assert start_menu[0]["Filename"] == "{app}\\{#AppExeName}"
    # Start at login: the same value the app's own `credit-tray autostart on` writes, only when ticked.
    runs = [_iss_entry(line) for line in sections["Registry"]]
    (run,) = [r for r in runs if r.get("Subkey") == autostart.RUN_KEY]
    assert run["Root"] == "HKCU"
    assert run["ValueName"] == "{#AppName}" == "{#" + "AppName}"
    assert defines["AppName"] == autostart.RUN_VALUE
    assert run["ValueData"] == '"{app}\\{#AppExeName}"'
    assert run["Tasks"] == "autostart"
    assert "uninsdeletevalue" in run["Flags"]
    tasks = [_iss_entry(line) for line in sections["Tasks"]]
    assert any(t["Name"] == "autostart" and "unchecked" in t.get("Flags", "") for t in tasks)
    # Uninstall keeps the user's settings unless asked: the delete sits behind a question whose
    # default button is No, or the explicit /DELETESETTINGS switch.
    code = text.split("[Code]", 1)[1]
    assert "MB_DEFBUTTON2" in code
    assert "/DELETESETTINGS" in code
    assert "DelTree(ExpandConstant('{localappdata}\\" + appmeta.APP_ID + "')" in code
    # ... which is where the app keeps them on Windows (tray_app/paths.py asks platformdirs).
    monkeypatch.setattr(platformdirs.windows, "get_win_folder",
                        lambda csidl: {"CSIDL_LOCAL_APPDATA": "{localappdata}"}.get(csidl, "{elsewhere}"))
    dirs = platformdirs.windows.Windows(appmeta.APP_ID, appauthor=False)
    for folder in (dirs.user_config_dir, dirs.user_data_dir, dirs.user_state_dir, dirs.user_log_dir):
        assert folder.replace("/", "\\").startswith("{localappdata}\\" + appmeta.APP_ID), folder


def test_windows_runtime_hook_sets_the_same_app_user_model_id() -> None:
    hook = PACKAGING / "windows" / "pyi_rth_app_user_model_id.py"
    tree = ast.parse(hook.read_text("utf-8"))
    values = [node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.Constant) and node.targets[0].id == "APP_USER_MODEL_ID"]  # type: ignore[attr-defined]
    assert values == [appmeta.BUNDLE_ID]
    spec = (PACKAGING / "credit-tray.spec").read_text("utf-8")
    assert '"pyi_rth_app_user_model_id.py"' in spec


def test_windows_version_resource_parses_with_the_numbers() -> None:
    """Evaluate the text as PyInstaller does (its classes need pefile, a Windows-only package: stand-ins here)."""
    seen: dict[str, Any] = {}

    def make(name: str) -> Any:
        def build(*args: Any, **kwargs: Any) -> Any:
            seen.setdefault(name, []).append((args, kwargs))
            return name
        return build

    names = ["VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo",
             "VarStruct"]
    text = appmeta.windows_version_info("1.2.3rc1")
    tree = ast.parse(text, mode="eval")
    assert {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)} <= set(names)  # type: ignore[attr-defined]
    eval(compile(tree, "version_info", "eval"), {"__builtins__": {}}, {n: make(n) for n in names})  # noqa: S307
    fixed = seen["FixedFileInfo"][0][1]
    assert fixed["filevers"] == fixed["prodvers"] == (1, 2, 3, 0)
    strings = {args[0]: args[1] for args, _ in seen["StringStruct"]}
    assert strings["ProductVersion"] == "1.2.3rc1"
    assert strings["ProductName"] == appmeta.APP_NAME


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (Debian/Ubuntu)")
def test_debian_versions_sort_like_the_python_ones() -> None:
    from functools import cmp_to_key

    from packaging.version import Version

    versions = ["0.9", "1.0.dev1", "1.0a1.dev2", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0.post1.dev1",
                "1.0.post1", "1.0.1", "1.1rc2", "1.1"]
    assert sorted(versions, key=Version) == versions

    def dpkg_cmp(a: str, b: str) -> int:
        if subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0:
            return -1
        return 0 if a == b else 1

    debian = [appmeta.debian_version(v) for v in versions]
    assert sorted(reversed(debian), key=cmp_to_key(dpkg_cmp)) == debian
    assert appmeta.debian_version(VERSION)  # the current version converts
    assert appmeta.windows_version("1.0rc1") == "1.0.0.0"


def test_qt_trim_keeps_the_plugins_the_tray_loads_and_drops_the_rest() -> None:
    """Applied to this venv's PySide6 (the same wheel PyInstaller collects from)."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    if not (qt / "plugins").is_dir():
        pytest.skip("not the Linux wheel layout (PySide6/Qt/plugins)")
    plugins = [p.relative_to(qt.parent.parent).as_posix() for p in (qt / "plugins").rglob("*.so")]
    wanted = {"platforms/libqxcb.so", "imageformats/libqsvg.so", "iconengines/libqsvgicon.so",
              "platformthemes/libqxdgdesktopportal.so", "xcbglintegrations/libqxcb-glx-integration.so",
              "platforminputcontexts/libcomposeplatforminputcontextplugin.so",
              "networkinformation/libqnetworkmanager.so"}
    kept = {p.split("plugins/", 1)[1] for p in plugins if not qt_trim.dropped(p)}
    assert wanted <= kept
    for gone in ("platforms/libqwayland.so", "platforms/libqoffscreen.so", "platformthemes/libqgtk3.so",
                 "imageformats/libqjpeg.so", "imageformats/libqpdf.so", "tls/libqopensslbackend.so"):
        if (qt / "plugins" / gone).exists():
            assert gone not in kept
    translations = [p.relative_to(qt.parent.parent).as_posix() for p in (qt / "translations").glob("*.qm")]
    assert translations
    # Qt's own words for a Chinese interface stay (dialog buttons); the other ~100 catalogues go.
    assert {t for t in translations if not qt_trim.dropped(t)} == {"PySide6/Qt/translations/qtbase_zh_CN.qm"}
    assert not qt_trim.dropped("PySide6/Qt/lib/libQt6Gui.so.6")
    assert not qt_trim.dropped("PySide6/Qt/lib/libQt6DBus.so.6")
    assert qt_trim.dropped("PySide6\\opengl32sw.dll")
    assert not qt_trim.dropped("PySide6\\plugins\\platforms\\qwindows.dll")
    assert qt_trim.dropped("PySide6/Qt/plugins/platforms/libqcocoa.dylib") is False


def test_spec_scripts_and_workflow_parse() -> None:
    compile((PACKAGING / "credit-tray.spec").read_text("utf-8"), "credit-tray.spec", "exec")
    for script in ("scripts/package.sh", "scripts/package-test.sh", "packaging/macos/make-dmg.sh"):
        if sys.platform == "win32":  # `bash` there may be WSL's, with no Linux installed
            break
        done = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{script}: {done.stderr}"
    import yaml
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
    jobs = workflow["jobs"]
    runners = {str(job.get("runs-on")) for job in jobs.values()} | {
        str(os_name) for job in jobs.values() for os_name in job.get("strategy", {}).get("matrix", {}).get("os", [])}
    for family in ("ubuntu", "macos", "windows"):
        assert any(family in r for r in runners), f"no {family} runner"
    build = jobs["build"]
    steps = " ".join(str(s.get("run", "")) + " " + str(s.get("uses", "")) for s in build["steps"])
    assert "pytest" in steps
    assert "packaging/build.py" in steps
    assert "actions/upload-artifact" in steps
    assert "scripts/package-test.sh" in steps  # the Linux runner installs and drives the .deb


# ====================================================================== the packaging test

_why_not = [
    why for why, bad in (
        ("needs root (dpkg -i; run `sudo bash scripts/package-test.sh`)", hasattr(os, "geteuid") and os.geteuid() != 0),
        ("needs dpkg", shutil.which("dpkg") is None),
        # scripts/test.sh requires the desktop: there a missing tool fails the tests instead.
        (f"needs {', '.join(missing_tools())}",
         bool(missing_tools()) and not os.environ.get("CREDIT_TRAY_REQUIRE_DESKTOP")),
    ) if bad
]


def packaging_test(func: Any) -> Any:
    """Marks a test of the built installers: marker ``packaging``, skipped (with the reason) unless asked for."""
    func = pytest.mark.packaging(func)
    return pytest.mark.skipif(bool(_why_not), reason="packaging test: " + "; ".join(_why_not))(func)

INSTALLED = Path(appmeta.LINUX_LAUNCHER)
PREFIX = Path(appmeta.LINUX_PREFIX)


def _installed_status() -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", appmeta.APP_ID], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


@pytest.fixture(scope="module")
def machine_lock() -> Iterator[None]:
    """One packaging run at a time on this machine (shared build/, dist/ and system package)."""
    import fcntl

    with open("/tmp/credit-tray-package-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def built(machine_lock: None) -> dict[str, Path]:
    """scripts/package.sh from this checkout: the one-folder app, the tarball and the .deb."""
    started = time.monotonic()
    done = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh")], cwd=ROOT, capture_output=True, text=True,
                          timeout=1500, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"\nbuilt in {time.monotonic() - started:.0f} s:\n{done.stdout.strip()}")
    dist = ROOT / "dist"
    debs = sorted(dist.glob(f"{appmeta.APP_ID}_{appmeta.debian_version(VERSION)}_*.deb"))
    tarballs = sorted(dist.glob(f"{appmeta.APP_ID}-{VERSION}-linux-*.tar.gz"))
    assert len(debs) == 1, debs
    assert len(tarballs) == 1, tarballs
    return {"app": dist / appmeta.APP_ID, "deb": debs[0], "tarball": tarballs[0]}


@pytest.fixture(scope="module")
def installed(built: dict[str, Path]) -> Iterator[Path]:
    if _installed_status():
        pytest.fail(f"{appmeta.APP_ID} is already installed here ({_installed_status()}); the test will not "
                    f"touch an install it did not make: dpkg --purge {appmeta.APP_ID}")
    try:
        done = subprocess.run(["dpkg", "-i", str(built["deb"])], capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode != 0:  # missing dependencies: let apt fetch them and finish the install
            fix = subprocess.run(["apt-get", "install", "-f", "-y", "-q"], capture_output=True, text=True,
                                 timeout=600, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            assert fix.returncode == 0, done.stderr + fix.stdout[-2000:] + fix.stderr
        assert _installed_status() == "install ok installed"
        yield INSTALLED
    finally:
        if _installed_status():
            subprocess.run(["dpkg", "--purge", appmeta.APP_ID], capture_output=True, timeout=300, check=False)


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[DesktopSession]:
    session = DesktopSession(tmp_path / "desktop")
    session.root.mkdir()
    session.start()
    try:
        yield session
    finally:
        session.stop()


def app_env(session: DesktopSession, **extra: str) -> dict[str, str]:
    """The session's environment for the installed app: no venv, no PYTHONPATH, the system PATH."""
    env = {k: v for k, v in session.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return {**env, **extra}


def run_installed(session: DesktopSession, *args: str, stdin: str | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["credit-tray", *args], input=stdin, env=app_env(session), cwd=session.root,
                          capture_output=True, text=True, timeout=timeout, check=False)


def write_config(session: DesktopSession, base_url: str, *, second: str | None = None) -> Path:
    config = session.home / ".config" / "credit-tray" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = ("refresh_minutes = 10\n\n[[accounts]]\nid = \"meow-main\"\nprovider = \"meowload\"\nlabel = \"Main\"\n"
            f"base_url = \"{base_url}\"\n")
    if second:
        text += f"\n[[accounts]]\nid = \"socia\"\nprovider = \"sociavault\"\nbase_url = \"{second}\"\n"
    config.write_text(text, "utf-8")
    return config


@packaging_test
@pytest.mark.usefixtures("installed")
def test_deb_installs_the_documented_layout() -> None:
    assert INSTALLED.is_symlink()
    assert INSTALLED.resolve() == PREFIX / appmeta.APP_ID
    assert os.access(PREFIX / appmeta.APP_ID, os.X_OK)
    files = subprocess.run(["dpkg", "-L", appmeta.APP_ID], capture_output=True, text=True, check=True).stdout.split()
    desktop_file = f"/usr/share/applications/{appmeta.APP_ID}.desktop"
    assert desktop_file in files
    assert str(INSTALLED) in files
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", desktop_file], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    from PySide6.QtGui import QImage

    for size in appmeta.PNG_SIZES:
        icon = Path(f"/usr/share/icons/hicolor/{size}x{size}/apps/{appmeta.APP_ID}.png")
        image = QImage(str(icon))
        assert (image.width(), image.height()) == (size, size), icon
    assert Path(f"/usr/share/icons/hicolor/scalable/apps/{appmeta.APP_ID}.svg").is_file()

    # Every package the control file depends on is installed, and with them every library of every
    # binary in the bundle resolves (the bundle's own folders first, as Qt's RPATH and the bootloader do).
    depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", appmeta.APP_ID], capture_output=True, text=True,
                             check=True).stdout
    for package in re.findall(r"(?:^|,\s*)([a-z0-9.+-]+)", depends):
        assert subprocess.run(["dpkg-query", "-W", package], capture_output=True, check=False).returncode == 0, package
    assert "libxcb-cursor0" in depends
    assert "libxkbcommon-x11-0" in depends
    internal = PREFIX / "_internal"
    search = f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"
    for path in [p for p in PREFIX.rglob("*") if p.is_file() and not p.is_symlink() and ".so" in p.name] + [
            PREFIX / appmeta.APP_ID]:
        done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False,
                              env={**os.environ, "LD_LIBRARY_PATH": search})
        assert "not found" not in done.stdout, f"{path}:\n{done.stdout}"

    # What the frozen app must carry: its SVGs, its version metadata, keyring's entry points, the CA bundle.
    for name in ("coin.svg", "badge-ok.svg", "badge-low.svg"):
        assert (internal / "tray_app" / "resources" / name).is_file()
    assert (internal / f"credit_tray-{VERSION}.dist-info" / "METADATA").is_file()
    keyring_meta = next(internal.glob("keyring-*.dist-info"))
    assert "SecretService = keyring.backends.SecretService" in (keyring_meta / "entry_points.txt").read_text()
    assert (internal / "certifi" / "cacert.pem").stat().st_size > 100_000
    # The interface in Chinese: our two compiled catalogues and Qt's own for its dialogs, no other Qt ones.
    assert (internal / "tray_app" / "resources" / "i18n" / "credit-tray.zh_CN.mo").is_file()
    assert (internal / "tray_app" / "resources" / "i18n" / "credit_tray.zh_CN.qm").is_file()
    assert sorted(p.name for p in internal.rglob("*.qm")) == ["credit_tray.zh_CN.qm", "qtbase_zh_CN.qm"]
    # And what it must not: unused platforms, plaintext keyrings, test tools.
    platforms = sorted(p.name for p in (internal / "PySide6" / "Qt" / "plugins" / "platforms").iterdir())
    assert platforms == ["libqxcb.so"]
    for absent in ("keyrings", "pytest", "hypothesis", "tkinter", "libgtk-3.so.0"):
        assert not list(internal.glob(f"{absent}*")), absent


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_command_reports_the_pyproject_version() -> None:
    done = subprocess.run([str(INSTALLED), "--version"], capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{appmeta.APP_ID} {VERSION}"


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_command_speaks_chinese_from_its_bundled_catalogue() -> None:
    """The frozen app finds its compiled catalogue in the bundle: a Chinese locale gets Chinese, C gets English."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    chinese = subprocess.run([str(INSTALLED), "providers"], capture_output=True, text=True, timeout=60, check=False,
                             env={**env, "LANG": "zh_CN.UTF-8"})
    assert chinese.returncode == 0, chinese.stderr
    assert chinese.stdout.split()[:2] == ["ID", "名称"], chinese.stdout
    english = subprocess.run([str(INSTALLED), "providers"], capture_output=True, text=True, timeout=60, check=False,
                             env={**env, "LANG": "C.UTF-8"})
    assert english.stdout.split()[:2] == ["ID", "NAME"], english.stdout


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_check_json_uses_the_secret_service_keyring(desktop: DesktopSession, server: FakeServer) -> None:
    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    server.route(PATHS["sociavault"], Reply(200, {"credits": 5000, "subscriptionStatus": "active",
                                                  "subscriptionId": "sub_1"}))
    write_config(desktop, server.url, second=server.url)
    for account, key in (("meow-main", CANARY), ("socia", CANARY + "-2")):
        done = run_installed(desktop, "key", "set", account, stdin=key + "\n")
        assert done.returncode == 0, done.stderr
    # The installed app wrote to gnome-keyring (Secret Service), not to a file of its own.
    looked_up = subprocess.run(["secret-tool", "lookup", "service", "credit-tray", "username", "meow-main"],
                               env=desktop.env, capture_output=True, text=True, timeout=30, check=False)
    assert looked_up.stdout.strip() == CANARY, looked_up.stderr
    assert not (desktop.home / ".local" / "share" / "python_keyring").exists()

    done = run_installed(desktop, "check", "--json")
    assert done.returncode == 1, done.stderr  # 1: an account is low
    report = json.loads(done.stdout)
    rows = {row["id"]: row for row in report["accounts"]}
    assert rows["meow-main"]["state"] == "low"
    assert rows["meow-main"]["remaining"] == 1500
    assert rows["meow-main"]["threshold"] == 2000
    assert rows["socia"]["state"] == "ok"
    assert rows["socia"]["remaining"] == 5000
    assert {r.headers.get("x-api-key") for r in server.requests_to(PATHS["meowload"])} == {CANARY}
    listed = json.loads(run_installed(desktop, "accounts", "list", "--json").stdout)
    assert [a["has_key"] for a in listed] == [True, True]


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_tray_registers_notifies_logs_and_stays_single(desktop: DesktopSession,
                                                                 server: FakeServer) -> None:
    from tests.desktop import services  # jeepney: Linux only

    server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1500}))
    write_config(desktop, server.url)
    assert run_installed(desktop, "key", "set", "meow-main", stdin=CANARY).returncode == 0
    with running(desktop, ["credit-tray"], env=app_env(desktop), cwd=desktop.root) as run:
        tray, bus = run.proc, run.bus
        items = wait_for(lambda: services.tray_items(bus), 30, "the installed app's icon to register")
        assert len(items) == 1
        props = services.item_properties(bus, items[0])
        assert props.get("IconPixmap"), "the icon has no pixels (SVG resources missing?)"
        notes = wait_for(desktop.notifications, 30, "a low-balance notification on D-Bus")
        assert len(notes) == 1
        assert notes[0]["app_name"] == appmeta.APP_NAME
        assert notes[0]["summary"] == "MeowLoad · Main: 1,500 credits left"

        # The single-instance socket: a second start hands over and exits.
        second = run_installed(desktop, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert services.tray_items(bus) == items

        log = desktop.home / ".local" / "state" / "credit-tray" / "log" / "credit-tray.log"
        text = wait_for(lambda: log.is_file() and log.read_text("utf-8"), 10, "the log file")
        assert f"{appmeta.APP_NAME} starting" in text
        assert CANARY not in text

        tray.send_signal(signal.SIGTERM)
        assert tray.wait(15) == 0
        wait_for(lambda: not services.tray_items(bus), 10, "the icon to go away")
    output = run.output
    assert "Traceback" not in output, output
    assert "Could not load the Qt platform plugin" not in output, output


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_tray_runs_where_the_session_asks_qt_for_wayland(desktop: DesktopSession) -> None:
    """Only xcb is bundled: QT_QPA_PLATFORM=wayland (set globally on some desktops) must not abort Qt."""
    from tests.desktop import services  # jeepney: Linux only

    tray = subprocess.Popen(["credit-tray"], env=app_env(desktop, QT_QPA_PLATFORM="wayland"), cwd=desktop.root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    bus = desktop.bus()
    try:
        wait_for(lambda: services.tray_items(bus) or tray.poll() is not None, 30, "the icon (or an exit)")
        assert tray.poll() is None, tray.communicate()[0]
        tray.send_signal(signal.SIGTERM)
        assert tray.wait(15) == 0
    finally:
        if tray.poll() is None:
            tray.kill()
        tray.communicate()
        bus.close()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class _TLSServer:
    """HTTPS on loopback, its certificate signed by a throwaway CA that only the test knows."""

    def __init__(self, folder: Path) -> None:
        self.ca = folder / "ca.pem"
        key, csr, cert, ext = folder / "server.key", folder / "server.csr", folder / "server.pem", folder / "ext.cnf"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "ca.key"), "-out",
                 str(self.ca), "-days", "1", "-subj", "/CN=Credit Tray test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", "/CN=127.0.0.1")
        ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(folder / "ca.key"),
                 "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext))
        self.keys: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.keys.append(self.headers.get("x-api-key"))
                body = b'{"availableCredits": 1}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> _TLSServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _check_json(session: DesktopSession, **env: str) -> dict[str, Any]:
    done = subprocess.run(["credit-tray", "check", "--json"], env=app_env(session, **env), cwd=session.root,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout, done.stderr
    row: dict[str, Any] = json.loads(done.stdout)["accounts"][0]
    return row


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_app_speaks_verified_tls(desktop: DesktopSession) -> None:
    """Python's ssl, OpenSSL and the CA bundle all work in the frozen app, and verification is on."""
    with _TLSServer(desktop.root) as tls:
        write_config(desktop, tls.url)
        assert run_installed(desktop, "key", "set", "meow-main", stdin=CANARY).returncode == 0
        # Its default trust (the bundled certifi file) does not know the test CA: refused, nothing sent.
        row = _check_json(desktop)
        assert row["state"] == "error", row
        assert "TLS certificate is not valid" in row["error"]["message"], row
        assert tls.keys == []
        # Trusting the test CA (httpx honours SSL_CERT_FILE): a verified connection and a reading.
        row = _check_json(desktop, SSL_CERT_FILE=str(tls.ca))
        assert row["error"] is None, row
        assert row["remaining"] == 1
        assert tls.keys == [CANARY]


def _public_tls_to(host: str) -> bool:
    """Whether this machine reaches ``host`` over TLS with a certificate a public CA (certifi) signed."""
    import certifi

    try:
        with socket.create_connection((host, 443), timeout=5) as raw, \
                ssl.create_default_context(cafile=certifi.where()).wrap_socket(raw, server_hostname=host):
            return True
    except OSError:  # unreachable, or an intercepting proxy's certificate (ssl.SSLError is an OSError)
        return False


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_app_trusts_public_certificates_through_its_bundled_ca_file(desktop: DesktopSession) -> None:
    if not _public_tls_to("pypi.org"):
        pytest.skip("no TLS to pypi.org with a publicly signed certificate here (offline, or an intercepting proxy)")
    write_config(desktop, "https://pypi.org")
    assert run_installed(desktop, "key", "set", "meow-main", stdin="not-a-real-key").returncode == 0
    row = _check_json(desktop)  # no SSL_CERT_FILE: certifi's bundle only
    assert row["error"] is not None, row
    assert row["error"]["http_status"] == 404, row  # PyPI answered (no such path): the handshake was verified


@packaging_test
@pytest.mark.usefixtures("installed")
def test_installed_autostart_points_at_the_frozen_executable(desktop: DesktopSession) -> None:
    done = run_installed(desktop, "autostart", "on")
    assert done.returncode == 0, done.stderr
    entry = desktop.home / ".config" / "autostart" / f"{appmeta.APP_ID}.desktop"
    exec_line = re.search(r"^Exec=(.*)$", entry.read_text("utf-8"), re.MULTILINE)
    assert exec_line is not None
    assert exec_line.group(1) == str(PREFIX / appmeta.APP_ID)
    if shutil.which("desktop-file-validate"):
        valid = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False)
        assert valid.returncode == 0, valid.stdout
    assert run_installed(desktop, "autostart", "off").returncode == 0
    assert not entry.exists()


@packaging_test
def test_tarball_runs_from_wherever_it_is_unpacked(built: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(built["tarball"]) as tar:
        names = tar.getnames()
        assert all(n == f"{appmeta.APP_ID}-{VERSION}" or n.startswith(f"{appmeta.APP_ID}-{VERSION}/") for n in names)
        assert all(m.uid == 0 and m.gid == 0 for m in tar.getmembers())
        tar.extractall(tmp_path, filter="tar")
    top = tmp_path / f"{appmeta.APP_ID}-{VERSION}"
    assert (top / "share" / "applications" / f"{appmeta.APP_ID}.desktop").is_file()
    assert (top / "share" / "icons" / "hicolor" / "256x256" / "apps" / f"{appmeta.APP_ID}.png").is_file()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    done = subprocess.run([str(top / appmeta.APP_ID), "providers", "--json"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    # The frozen app knows every provider the source does: the built-ins and the presets.
    assert [p["id"] for p in json.loads(done.stdout)][:4] == ["meowload", "smarterbot", "sociavault", "unwatermark"]
    assert {p["id"] for p in json.loads(done.stdout)} >= {"openrouter", "deepseek", "moonshot", "siliconflow",
                                                          "elevenlabs", "tavily", "firecrawl"}


@packaging_test
def test_uninstall_leaves_nothing_of_the_package(installed: Path) -> None:
    """Runs last: remove, then purge, and every path the package had is gone."""
    files = subprocess.run(["dpkg", "-L", appmeta.APP_ID], capture_output=True, text=True, check=True).stdout.split()
    ours = [f for f in files if f.startswith(("/opt/credit-tray", "/usr/bin/credit-tray"))
            or f"/{appmeta.APP_ID}." in f or f.endswith(f"/doc/{appmeta.APP_ID}")]
    done = subprocess.run(["dpkg", "-r", appmeta.APP_ID], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(["dpkg", "--purge", appmeta.APP_ID], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert _installed_status() in ("", "unknown ok not-installed")
    assert not PREFIX.exists()
    assert not os.path.lexists(INSTALLED)
    left = [f for f in ours if os.path.lexists(f)]
    assert left == [], left


