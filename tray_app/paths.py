"""Where Credit Tray keeps its files, per platform (XDG variables honoured on Linux)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

from tray_app import APP_ID
from tray_app.i18n import _


class NoHome(Exception):
    """Neither HOME nor the XDG variable nor the password database says where the user's files go."""


def _folder(where: Callable[..., str], variable: str) -> Path:
    try:
        return Path(where(APP_ID, appauthor=False))
    except RuntimeError:  # platformdirs: "could not determine the home directory"
        uid = os.getuid() if hasattr(os, "getuid") else None
        if uid is not None:
            problem = _("cannot tell where your files go: HOME is not set and user {uid} has no home in the "
                        "password database; set HOME (or {variable})").format(uid=uid, variable=variable)
        else:
            problem = _("cannot tell where your files go: HOME is not set and no home is known; set HOME "
                        "(or {variable})").format(variable=variable)
        raise NoHome(problem) from None


def config_file() -> Path:
    return _folder(platformdirs.user_config_dir, "XDG_CONFIG_HOME") / "config.toml"


def data_dir() -> Path:
    return _folder(platformdirs.user_data_dir, "XDG_DATA_HOME")


def history_file() -> Path:
    return data_dir() / "history.sqlite3"


def state_file() -> Path:
    """The JSON state file of versions before the history; imported once into it, then kept aside."""
    return data_dir() / "state.json"


def log_dir() -> Path:
    return _folder(platformdirs.user_log_dir, "XDG_STATE_HOME")


def cache_dir() -> Path:
    return _folder(platformdirs.user_cache_dir, "XDG_CACHE_HOME")
