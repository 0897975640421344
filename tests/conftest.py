"""Shared fixtures: a loopback provider server and throwaway dirs for config, state and keys."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakeserver import FakeServer
from tray_app import i18n

if TYPE_CHECKING:
    from tests.test_cli import Cli


@pytest.fixture(autouse=True)
def english_after_each_test() -> Iterator[None]:
    """Every test starts in English (the source language, whatever the machine's LANG) and one that
    switches the catalogue cannot leave the next test speaking Chinese."""
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """HOME and XDG dirs in tmp, and a file keyring there: nothing touches the real user's files.

    The runtime dir is a private folder of its own, short enough for the tray's socket path (100 bytes
    at most; pytest's tmp_path is longer): otherwise the app falls back to the shared
    $TMPDIR/credit-tray-$UID, where test runs going on at the same time meet each other's tray."""
    home = tmp_path / "home"
    runtime = tempfile.mkdtemp(prefix="ct-")  # 0700
    env = {
        "XDG_RUNTIME_DIR": runtime,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        # English, whatever the machine's locale: the tests read English words; one about another
        # language sets LANG (or the config's language) itself.
        "LANG": "C.UTF-8",
    }
    for path in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        Path(env[path]).mkdir(parents=True, exist_ok=True)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    yield {**os.environ, **env}
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def cli(isolated_env: dict[str, str], tmp_path: Path) -> Cli:
    """The command line as a user runs it (``python -m tray_app``), in the isolated environment."""
    from tests.test_cli import Cli

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return Cli(env=dict(isolated_env), cwd=cwd)


@pytest.fixture
def english_gui(monkeypatch: pytest.MonkeyPatch, qapp: object) -> Iterator[None]:
    """English words and US number formats in the GUI whatever the machine's locale, for the tests that read
    what an English user sees (modules use it with ``pytestmark = pytest.mark.usefixtures("english_gui")``)."""
    from PySide6.QtCore import QLocale

    from tray_app.ui.i18n import apply_language

    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # language = "auto" (the default) speaks English, here and in the CLI
    apply_language("en")
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    apply_language("en")
    QLocale.setDefault(QLocale.system())


# Qt widget tests run headless unless a test session provides a display on purpose.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests read English unless a test picks a language itself: the machine's locale must not decide
# (language = "auto" follows LC_ALL, LC_MESSAGES, LANG and LANGUAGE). Subprocesses and the desktop
# sessions inherit this; a test that wants Chinese sets it in the config or in its own environment.
for _name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"
