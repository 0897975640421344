"""What the command line says, and how it lines up: plain words, labels that tell accounts apart,
tables aligned by terminal columns (Chinese labels are two columns a character), help that answers
the questions a new user has. Each run is a subprocess, as in ``test_cli.py``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import Cli, account, write_config


def columns(text: str) -> int:
    """Terminal columns, the way a terminal counts them (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def test_accounts_add_makes_the_id_from_the_label_and_numbers_default_labels(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert cli.run("accounts", "add", "meowload", "--label", "Work", config=config).returncode == 0
    assert cli.run("accounts", "add", "meowload", config=config).returncode == 0
    proc = cli.run("accounts", "add", "meowload", config=config)
    assert proc.returncode == 0, proc.stderr
    assert "key set meowload-2" in proc.stdout
    assert [(e["id"], e["label"]) for e in cli.list_json(config=config)] == [
        ("meowload-work", "Work"), ("meowload", "MeowLoad"), ("meowload-2", "MeowLoad 2")]


def test_the_check_table_lines_up_chinese_labels_and_tells_equal_labels_apart(cli: Cli, server: FakeServer,
                                                                             tmp_path: Path) -> None:
    entries = [
        account(server, "zh", "meowload", Reply(200, {"availableCredits": 1500}), label="工作账户"),
        account(server, "main-a", "meowload", Reply(200, {"availableCredits": 282539}), label="Main"),
        account(server, "main-b", "sociavault", Reply(200, {"credits": 5000}), label="Main"),
        account(server, "broken", "meowload", Reply(401, {"message": "Invalid or expired API Key"}),
                label="Broken"),
        account(server, "spare", "sociavault", label="Spare"),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({e["id"]: f"key-{e['id']}" for e in entries if e["id"] != "spare"})
    proc = cli.run("check", config=config, extra_env={"LC_ALL": "C.UTF-8"})
    assert proc.returncode == 3, proc.stderr
    header, *lines = proc.stdout.splitlines()
    assert [line.split("  ")[0].strip() for line in lines] == ["工作账户", "Main (main-a)", "Main (main-b)", "Broken",
                                                                "Spare"]
    # Every row's provider starts in the same terminal column as the header's PROVIDER.
    provider_column = columns(header[:header.index("PROVIDER")])
    for line, provider in zip(lines, ("MeowLoad", "MeowLoad", "SociaVault", "MeowLoad", "SociaVault"), strict=True):
        assert columns(line[:line.index(provider)]) == provider_column, proc.stdout
    # Plain words: no internal names.
    assert "Key refused: Invalid or expired API Key" in lines[3]
    assert "No API key stored: run 'credit-tray key set spare'" in lines[4]
    for internal in ("auth:", "no_key", " ok ", " low "):
        assert internal not in proc.stdout, proc.stdout


def test_help_says_what_no_command_does_the_real_default_path_and_how_the_key_is_read(cli: Cli) -> None:
    proc = cli.run("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "With no command, starts the tray app" in text
    assert "(default: ~/.config/credit-tray/config.toml)" in text  # XDG_CONFIG_HOME is ~/.config here
    assert "default: None" not in text
    proc = cli.run("key", "set", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "hidden prompt" in text
    assert "standard input" in text
    proc = cli.run("accounts", "add", "--help")
    assert "made from the provider and label" in " ".join(proc.stdout.split())
