"""A hostile neighbour and an unlucky paste: what other local users, core dumps and
scrollback must never get.

Each test drives the real program (a subprocess, or the tray's own classes under pytest-qt)
and looks where the neighbour would look: the socket directory, file modes, /proc, the output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- a key pasted as an id

#: A key with a typical prefix, and one with none that is just long and random.
CANARIES = ["sk-live-CANARY4f9a2c7e1b3d8f60a5", "Zq8xV3kP9mT2wR7yL4nB6cJ1hG5"]


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "tray_app", *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=60, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("canary", CANARIES, ids=["prefixed", "random"])
@pytest.mark.parametrize("where", [
    ("accounts", "remove", "{key}"),
    ("key", "set", "{key}"),
    ("key", "delete", "{key}"),
    ("check", "--account", "{key}"),
    ("accounts", "add", "meowload", "--id", "{key}"),
    ("accounts", "add", "{key}", "--id", "meow"),
    ("check", "--key={key}"),
    ("check", "--key", "{key}"),
    ("{key}",),
    ("accounts", "{key}"),
    ("autostart", "{key}"),
], ids=lambda args: " ".join(args))
def test_a_key_typed_where_an_id_or_option_goes_is_never_echoed(isolated_env: dict[str, str], tmp_path: Path,
                                                                where: tuple[str, ...], canary: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nid = "meow"\nprovider = "meowload"\n', "utf-8")
    args = [part.format(key=canary) for part in where]
    proc = run_cli(isolated_env, "--config", str(config), *args)
    assert proc.returncode == 64, proc.stderr
    output = proc.stdout + proc.stderr
    for start in range(len(canary) - 11):  # not even a 12-character piece of it
        assert canary[start:start + 12] not in output, output
    assert proc.stderr.strip()  # still an error that says what is wrong


def test_an_ordinary_unknown_id_is_still_named(isolated_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(isolated_env, "--config", str(tmp_path / "config.toml"), "accounts", "remove", "meow-typo")
    assert proc.returncode == 64
    assert "no account with id 'meow-typo'" in proc.stderr
    proc = run_cli(isolated_env, "--config", str(tmp_path / "config.toml"), "accounts", "remove", CANARIES[0])
    assert "no such account" in proc.stderr
    assert "looks like an API key" in proc.stderr
