"""The command line in Simplified Chinese: what a user in a ``zh_CN.UTF-8`` locale (or with
``language = "zh"``) reads, and that ``language = "en"`` keeps it English. Each run is a subprocess
against a loopback ``FakeServer``, as in ``test_cli.py``; scripts read the same JSON in both languages.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import Cli, account, write_config
from tests.test_history import _burned
from tray_app import i18n, texts
from tray_app.model import AccountState

ZH = {"LANG": "zh_CN.UTF-8"}
EN = {"LANG": "C.UTF-8"}
HEADERS_ZH = ["账户", "服务商", "状态", "余额", "详情"]


def chinese(text: str) -> str:
    """``text`` as the compiled Chinese catalogue says it (the words another module owns)."""
    i18n.set_language("zh")
    try:
        return i18n._(text)
    finally:
        i18n.set_language("en")


def display_width(text: str) -> int:
    """Terminal columns, counted here rather than by ``tray_app.columns`` (the code under test): a wide
    (CJK) character takes two. The output measured has no combining marks."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def starts(line: str, cell: str) -> int:
    """The terminal column where ``cell`` starts in ``line``."""
    return display_width(line[:line.index(cell)])


def spans(line: str) -> list[tuple[int, int]]:
    """The terminal columns where a table line's cells start and end (cells are two spaces or more apart)."""
    return [(display_width(line[:found.start()]), display_width(line[:found.end()]))
            for found in re.finditer(r"\S+(?: \S+)*", line)]


def columns(line: str) -> list[int]:
    """The terminal columns where a table line's cells start."""
    return [start for start, _end in spans(line)]


def accounts(server: FakeServer) -> list[dict[str, Any]]:
    return [
        account(server, "work", "meowload", Reply(200, {"availableCredits": 282539}), label="工作账户"),
        account(server, "low", "meowload", Reply(200, {"availableCredits": 1500}), label="Backup"),
        account(server, "refused", "meowload", Reply(401, {"message": "Invalid or expired API Key"}),
                label="旧账户"),
    ]


def seeded(cli: Cli, server: FakeServer, tmp_path: Path, **globals_: Any) -> Path:
    entries = accounts(server)
    config = write_config(tmp_path / "config.toml", entries, **globals_)
    cli.seed_keys({e["id"]: f"key-{e['id']}-0123456789" for e in entries})
    return config


def test_check_in_a_chinese_locale_prints_chinese_headers_states_and_details_lined_up(
        cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = seeded(cli, server, tmp_path)
    proc = cli.run("check", config=config, extra_env=ZH)
    assert proc.returncode == 3, proc.stderr  # the exit status does not depend on the language
    header, *rows = proc.stdout.splitlines()
    assert header.split() == HEADERS_ZH
    assert [row.split()[0] for row in rows] == ["工作账户", "Backup", "旧账户"]
    # The states are the catalogue's Chinese words, never the English ones.
    states = {AccountState.OK: "work", AccountState.LOW: "low", AccountState.ERROR: "refused"}
    for (state, _account_id), row in zip(states.items(), rows, strict=True):
        assert f"  {chinese(texts.STATE_WORDS[state])}  " in row, proc.stdout
    assert "低于 2,000" in rows[1]  # a low balance's detail: below its alert level
    assert "：Invalid or expired API Key" in rows[2]  # the provider's own message after a Chinese colon
    for english in ("ACCOUNT", "PROVIDER", "below", "last known"):
        assert english not in proc.stdout
    # Lined up by terminal columns: each column starts where its (double-width) header starts.
    providers = ["MeowLoad", "MeowLoad", "MeowLoad"]
    assert [starts(row, name) for row, name in zip(rows, providers, strict=True)] == [starts(header, "服务商")] * 3
    assert [starts(row, row.split()[2]) for row in rows] == [starts(header, "状态")] * 3, proc.stdout
    # The balance column is right-aligned: every balance ends where its header ends.
    assert [spans(row)[3][1] for row in rows] == [spans(header)[3][1]] * 3, proc.stdout

def test_language_en_in_the_config_keeps_english_in_a_chinese_locale_and_zh_forces_chinese(
        cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = seeded(cli, server, tmp_path, language="en", refresh_minute=5)
    proc = cli.run("check", config=config, extra_env=ZH)
    assert proc.stdout.splitlines()[0].split() == ["ACCOUNT", "PROVIDER", "STATE", "BALANCE", "DETAIL"]
    # The config's warnings are read in its language too (the file names the language it wants).
    assert "unknown setting 'refresh_minute' ignored (did you mean 'refresh_minutes'?)" in proc.stderr
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in proc.stdout + proc.stderr if ch not in "工作账户旧"), \
        proc.stdout + proc.stderr

    # --help and usage errors, which come before the config is loaded, follow its language as well.
    assert cli.run("check", "--help", config=config, extra_env=ZH).stdout.startswith("usage: credit-tray check")
    proc = cli.run("check", "--format", "xml", config=config, extra_env=ZH)
    assert proc.returncode == 64
    assert "error: argument --format: invalid choice: 'xml'" in proc.stderr

    config = seeded(cli, server, tmp_path, language="zh", refresh_minute=5)
    assert cli.run("check", "--help", config=config, extra_env=EN).stdout.startswith("用法：credit-tray check")
    proc = cli.run("check", config=config, extra_env=EN)
    assert proc.stdout.splitlines()[0].split() == HEADERS_ZH
    assert "已忽略未知设置 'refresh_minute'（是否想写 'refresh_minutes'？）" in proc.stderr
    assert proc.stderr.startswith("credit-tray: 警告：")


def comparable(payload: Any) -> Any:
    """A check --json payload without the moments that differ from run to run."""
    if isinstance(payload, dict):
        return {k: comparable(v) for k, v in payload.items() if k not in ("checked_at", "fetched_at")}
    if isinstance(payload, list):
        return [comparable(v) for v in payload]
    return payload


@pytest.mark.parametrize("command", [("check", "--json"), ("accounts", "list", "--json"), ("providers", "--json"),
                                     ("providers", "deepseek", "--json")])
def test_json_is_the_same_in_both_languages(cli: Cli, server: FakeServer, tmp_path: Path,
                                           command: tuple[str, ...]) -> None:
    config = seeded(cli, server, tmp_path)
    english = cli.run(*command, config=config, extra_env=EN)
    chinese_run = cli.run(*command, config=config, extra_env=ZH)
    assert english.returncode == chinese_run.returncode
    assert comparable(json.loads(chinese_run.stdout)) == comparable(json.loads(english.stdout))


def test_help_is_chinese_and_fits_the_terminal(cli: Cli) -> None:
    proc = cli.run("--help", extra_env={**ZH, "COLUMNS": "60"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("用法：credit-tray [-h]")
    assert "\n选项：\n" in proc.stdout
    assert "\n位置参数：\n" in proc.stdout
    assert "显示此帮助信息并退出" in proc.stdout
    assert "查询一次余额并输出" in proc.stdout
    for english in ("usage:", "options", "show this help", "check balances"):
        assert english not in proc.stdout
    for width in ("60", "80"):
        for args in (["--help"], ["check", "--help"], ["accounts", "add", "--help"], ["key", "set", "--help"]):
            proc = cli.run(*args, extra_env={**ZH, "COLUMNS": width})
            assert proc.returncode == 0, proc.stderr
            lines = proc.stdout.splitlines()
            # argparse leaves two columns free; wrapped by what a line takes on screen, not by characters
            # (a line with no Chinese is argparse's own layout, such as an unbreakable --format {…}).
            assert max(display_width(line) for line in lines if display_width(line) > len(line)) <= int(width) - 2, \
                proc.stdout
            # Lines break where Chinese breaks them: never before a closing mark, never after an opening one.
            assert not [line for line in lines if line.lstrip().startswith(tuple("，。、；：）"))
                        or line.endswith(tuple("（“"))], proc.stdout
            # The usage's continuation lines start under its first option, after the two-column "用法：".
            usage = lines[:next(i for i, line in enumerate(lines) if not line.strip())]
            first = starts(usage[0], "[-h]")
            assert all(len(line) - len(line.lstrip()) == first for line in usage[1:]), proc.stdout


def test_errors_are_one_chinese_line_with_the_same_exit_status(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    english = cli.run("check", config=missing, extra_env=EN)
    proc = cli.run("check", config=missing, extra_env=ZH)
    assert proc.returncode == english.returncode == 66
    assert proc.stderr == f"credit-tray: 找不到配置文件：{missing}\n"

    config = seeded(cli, server, tmp_path)
    proc = cli.run("check", "--account", "nope", config=config, extra_env=ZH)
    assert proc.returncode == 64
    assert proc.stderr == f"credit-tray: 错误：{config} 中没有 ID 为 'nope' 的账户\n"

    # argparse's own words, in the catalogue too: the usage line and the error, two lines, as in English.
    proc = cli.run("check", "--format", "xml", config=config, extra_env=ZH)
    english = cli.run("check", "--format", "xml", config=config, extra_env=EN)
    assert proc.returncode == english.returncode == 64
    usage, error = proc.stderr.splitlines()
    assert usage.startswith("用法：credit-tray check ")
    assert error == ("credit-tray check: 错误：参数 --format：无效的选择：'xml'"
                     "（可选：'table', 'json', 'prometheus', 'nagios', 'waybar'）")
    proc = cli.run("accounts", extra_env=ZH)
    assert proc.stderr.splitlines()[1] == "credit-tray accounts: 错误：缺少以下必需参数：ACTION"


def test_accounts_providers_and_history_tables_in_chinese_line_up(cli: Cli, server: FakeServer, tmp_path: Path,
                                                                 isolated_env: dict[str, str]) -> None:
    config = seeded(cli, server, tmp_path)
    proc = cli.run("accounts", "list", config=config, extra_env=ZH)
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["ID", "服务商", "名称", "启用", "密钥", "提醒阈值", "URL", "/", "问题"]
    assert all(columns(row) == columns(header) for row in rows), proc.stdout
    assert [row.split()[3:5] for row in rows] == [["是", "是"]] * 3

    proc = cli.run("providers", extra_env=ZH)
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["ID", "名称", "类型", "单位", "提醒阈值", "充值"]
    assert "任意 JSON 接口" in proc.stdout
    assert all(columns(row)[:4] == columns(header)[:4] for row in rows), proc.stdout
    assert all("内置" in row or "预设" in row for row in rows[:-1]), proc.stdout
    assert "自定义" in rows[-1]

    history_config = write_config(tmp_path / "history.toml", [{"id": "meow", "provider": "meowload",
                                                               "base_url": server.url}])
    _burned(Path(isolated_env["XDG_DATA_HOME"]) / "credit-tray" / "history.sqlite3", per_day=20_000, days=3,
            now_balance=40_000)
    proc = cli.run("history", "meow", config=history_config, extra_env=ZH)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("MeowLoad：自 ")
    assert lines[0].endswith("起，共 216 条余额记录")
    header = next(line for line in lines if line.startswith("日期"))
    assert header.split() == ["日期", "用量", "当日结束时余额"]
    days = [line for line in lines if line[:4].isdigit()]
    assert len(days) >= 3
    used_end = display_width(header[:header.index("用量") + 2])  # USED is right-aligned under its header
    balance_column = starts(header, "当日结束时余额")
    for line in days:
        day, used, *balance = line.split()
        assert display_width(line[:line.index(used, len(day)) + len(used)]) == used_end, proc.stdout
        if balance:
            assert starts(line, balance[0]) == balance_column, proc.stdout


def test_the_cli_imports_no_qt_and_reads_one_small_catalogue(cli: Cli) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tray_app", "providers"], env={**cli.env, **ZH},
                          cwd=cli.cwd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "类型" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "tray_app.i18n" in imported
    assert not {m for m in imported if m.split(".")[0] in ("PySide6", "babel")}



def test_the_nagios_line_stays_english_in_a_chinese_interface(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    """Nagios/Icinga parse the plugin line and show it in their own page: its words never follow the language,
    the messages made during the fetch included."""
    config = seeded(cli, server, tmp_path, language="zh")
    proc = cli.run("check", "--format", "nagios", config=config, extra_env=ZH)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # UNKNOWN: a refused key is not a balance
    assert proc.stdout.startswith("CREDITS UNKNOWN - WARNING: MeowLoad · Backup: 1,500 credits"), proc.stdout
    body = proc.stdout.replace("工作账户", "").replace("旧账户", "")
    assert not any("\u4e00" <= ch <= "\u9fff" or ch in "，：（）" for ch in body), proc.stdout
