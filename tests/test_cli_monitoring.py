"""``credit-tray`` as monitoring uses it: it must not report OK when it checked nothing, must
finish within the time it is given, must say when the config holds a misspelt key, and a
cancelled key prompt is a cancel, not a crash. Each run is a subprocess, as in ``test_cli.py``.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sys
import time
from pathlib import Path

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import Cli, account, route, stderr_lines, write_config


def test_a_config_named_with_config_that_does_not_exist_is_exit_66(cli: Cli, tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    for args in (["check"], ["check", "--json"], ["accounts", "list"], ["key", "delete", "x"], ["providers"], []):
        proc = cli.run(*args, config=typo, extra_env={"QT_QPA_PLATFORM": "offscreen"})
        what = " ".join(args) or "(the tray)"
        assert proc.returncode == 66, f"{what}: exit {proc.returncode}: {proc.stdout!r} {proc.stderr!r}"
        (line,) = stderr_lines(proc)
        assert str(typo) in line, line
        assert "not found" in line, line
        assert proc.stdout == ""
    assert not typo.exists()
    # Adding an account is how a config file at a path of one's choosing comes to be.
    proc = cli.run("accounts", "add", "meowload", "--id", "meow-main", config=typo)
    assert proc.returncode == 0, proc.stderr
    assert typo.exists()


def test_nothing_to_check_is_unknown_and_says_why(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    # No config at all (the default path): no accounts.
    proc = cli.run("check")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert re.search(r"nothing to check: no accounts in .*config\.toml", proc.stdout, re.IGNORECASE), proc.stdout
    proc = cli.run("check", "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["accounts"] == []
    (line,) = stderr_lines(proc)
    assert "nothing to check: no accounts" in line

    # Every account disabled.
    config = write_config(tmp_path / "off.toml", [
        account(server, "off-a", "meowload", Reply(200, {"availableCredits": 5}), enabled=False),
        account(server, "off-b", "meowload", Reply(200, {"availableCredits": 5}), enabled=False),
    ], language="en")
    proc = cli.run("check", config=config)
    assert proc.returncode == 3
    assert "all 2 accounts" in proc.stdout, proc.stdout
    assert "disabled" in proc.stdout, proc.stdout
    assert server.requests == []


def test_timeout_is_the_whole_runs_budget_and_slow_accounts_are_timeout(cli: Cli, server: FakeServer,
                                                                          tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [
        account(server, "fast", "meowload", Reply(200, {"availableCredits": 282539})),
        account(server, "slow", "meowload", Reply(200, {"availableCredits": 5}, delay=25), label="slow"),
        account(server, "slower", "sociavault", Reply(200, {"credits": 5}, delay=25)),
    ], language="en")
    cli.seed_keys({"fast": "k-fast", "slow": "k-slow", "slower": "k-slower"})
    status, payload, _, _ = cli.check_json("--timeout", "2", config=config)
    states = {e["id"]: (e["state"], e["error"] and e["error"]["kind"]) for e in payload["accounts"]}
    assert states == {"fast": ("ok", None), "slow": ("error", "timeout"), "slower": ("error", "timeout")}
    assert status == 3
    slow = next(e for e in payload["accounts"] if e["id"] == "slow")
    assert slow["error"]["message"] == "no answer within the 2 s allowed"
    assert len(server.requests_to(route("slow", "meowload"))) == 1  # it was asked, and not waited for

    proc = cli.run("check", "--timeout", "1.4", config=config)
    assert proc.returncode == 3
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("slow ")]
    assert "1 s" in row, row
    assert not re.search(r"\d\.\d+ s", row), row

    for bad in ("0", "-3", "soon"):
        proc = cli.run("check", "--timeout", bad, config=config)
        assert proc.returncode == 64, (bad, proc.stderr)


def test_misspelt_settings_warn_with_file_line_and_nearest_key_and_still_run(cli: Cli, server: FakeServer,
                                                                            tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'language = "en"\n'
        "notifcations = false\n"
        "\n"
        "[[accounts]]\n"
        'id = "meow-main"\n'
        'provider = "meowload"\n'
        f'base_url = "{server.url}/meow-main"\n'
        "tresholds = [100, 0]\n",
        encoding="utf-8")
    server.route(route("meow-main", "meowload"), Reply(200, {"availableCredits": 282539}))
    cli.seed_keys({"meow-main": "k-main"})
    proc = cli.run("check", config=config)
    assert proc.returncode == 0, proc.stderr
    warnings = stderr_lines(proc)
    assert len(warnings) == 2, warnings
    for warning, (line, typo, meant) in zip(warnings, ((2, "notifcations", "notifications"),
                                                       (8, "tresholds", "thresholds")), strict=True):
        assert warning.startswith(f"credit-tray: warning: {config}:{line}: "), warning
        assert f"'{typo}'" in warning, warning
        assert f"did you mean '{meant}'" in warning, warning
    assert re.search(r"MeowLoad\s+OK", proc.stdout), proc.stdout
    # A correct file warns about nothing.
    config.write_text(config.read_text("utf-8").replace("notifcations", "notifications")
                      .replace("tresholds", "thresholds"), encoding="utf-8")
    proc = cli.run("check", config=config)
    assert proc.returncode == 0
    assert stderr_lines(proc) == []


def _run_on_a_terminal(cli: Cli, args: list[str], keystrokes: bytes) -> tuple[int, str]:
    """Runs the command with a pseudo-terminal as its controlling terminal, types, returns (status, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command
        os.chdir(cli.cwd)
        os.execve(sys.executable, [sys.executable, "-m", "tray_app", *args], cli.env)  # noqa: S606
    output = b""
    typed = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not typed and b"API key" in output:
            os.write(fd, keystrokes)
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_ctrl_d_at_the_key_prompt_is_a_cancel(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [account(server, "meow-main", "meowload")], language="en")
    status, output = _run_on_a_terminal(cli, ["--config", str(config), "key", "set", "meow-main"], b"\x04")
    assert status == 1, output
    assert "no key entered" in output, output
    assert "internal error" not in output, output
    assert "Traceback" not in output, output
    assert cli.stored_key("meow-main") is None
