"""Where Credit Tray keeps its files, per platform (XDG variables honoured on Linux)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from tray_app import APP_ID


def config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_ID, appauthor=False)) / "config.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def state_file() -> Path:
    return data_dir() / "state.json"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_ID, appauthor=False))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_ID, appauthor=False))
