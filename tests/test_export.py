"""``check --format prometheus|nagios|waybar`` and ``--output``, through a subprocess, against the real tools.

The Prometheus text is checked by Debian's ``promtool check metrics`` and read back with
``prometheus_client``'s parser; the shipped alerting rules pass ``promtool check rules`` and
their unit tests (``promtool test rules``); the systemd unit passes ``systemd-analyze verify``.
The Nagios output is checked against the monitoring-plugins guidelines' grammar.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import CANARY, SB_UNLIMITED, Cli, account, write_config

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


def four_accounts(cli: Cli, server: FakeServer, tmp_path: Path, **globals_: Any) -> Path:
    """meow-low (1,500, below 2,000), sb-limited (757 of 1,000), sb-unlimited, and sv-401 (key refused)."""
    entries = [
        account(server, "meow-low", "meowload", Reply(200, {"availableCredits": 1500}), label="Work"),
        account(server, "sb-limited", "smarterbot",
                Reply(200, {**SB_UNLIMITED, "Data": {"Total": 1000, "Used": 243, "Remain": 757}}),
                thresholds=[500, 0]),
        account(server, "sb-unlimited", "smarterbot", Reply(200, SB_UNLIMITED)),
        account(server, "sv-401", "sociavault", Reply(401, {"error": f"Invalid API key {CANARY}"})),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en", **globals_)
    cli.seed_keys({e["id"]: CANARY for e in entries})
    return config


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


# ----------------------------------------------------------------------------- Prometheus

def test_prometheus_output_passes_promtool_and_holds_each_account(cli: Cli, server: FakeServer,
                                                                 tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    proc = cli.run("check", "--format", "prometheus", config=config)
    assert proc.returncode == 3, proc.stderr  # one account could not be checked, as with every format
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=proc.stdout, capture_output=True, text=True,
                          timeout=30, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr
    got = samples(proc.stdout)
    meow = {"account": "meow-low", "provider": "meowload"}
    assert got[key("credittray_balance", **meow, unit="credits")] == 1500
    assert got[key("credittray_threshold", **meow, level="2000")] == 2000
    assert got[key("credittray_state", **meow, state="low")] == 1
    assert got[key("credittray_state", **meow, state="ok")] == 0
    assert got[key("credittray_refresh_success", **meow)] == 1
    sb = {"account": "sb-limited", "provider": "smarterbot"}
    assert got[key("credittray_balance", **sb, unit="message credits")] == 757
    assert got[key("credittray_used", **sb, unit="message credits")] == 243
    assert got[key("credittray_limit", **sb, unit="message credits")] == 1000
    unlimited = {"account": "sb-unlimited", "provider": "smarterbot"}
    assert key("credittray_balance", **unlimited, unit="message credits") not in got  # no limit: no balance
    assert got[key("credittray_state", **unlimited, state="ok")] == 1
    sv = {"account": "sv-401", "provider": "sociavault"}
    assert got[key("credittray_refresh_success", **sv)] == 0
    assert got[key("credittray_state", **sv, state="error")] == 1
    assert key("credittray_last_success_timestamp_seconds", **sv) not in got  # never read
    assert got[key("credittray_refresh_interval_seconds")] == 600
    assert any(name == "credittray_build_info" for name, _ in got)
    assert CANARY not in proc.stdout
    assert CANARY[:12] not in proc.stdout


def test_prometheus_client_is_loaded_only_for_the_prometheus_format(cli: Cli, server: FakeServer,
                                                                    tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)

    def imports(*args: str) -> str:
        proc = cli.run(*args, config=config, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
        return proc.stderr

    assert "prometheus_client" in imports("check", "--format", "prometheus")  # the probe sees it when used
    for args in (["check", "--json"], ["check"], ["check", "--format", "nagios"], ["providers"],
                 ["accounts", "list"]):
        assert "prometheus_client" not in imports(*args), args


def test_last_success_time_comes_from_the_history_after_a_failure(cli: Cli, server: FakeServer,
                                                                 tmp_path: Path) -> None:
    entries = [account(server, "meow", "meowload", Reply(200, {"availableCredits": 5000}),
                       Reply(500, {"message": "down"}))]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({"meow": "k-1234567890"})
    first = samples(cli.run("check", "--format", "prometheus", config=config).stdout)
    labels = {"account": "meow", "provider": "meowload"}
    seen = first[key("credittray_last_success_timestamp_seconds", **labels)]
    second = samples(cli.run("check", "--format", "prometheus", config=config).stdout)
    assert second[key("credittray_refresh_success", **labels)] == 0
    assert second[key("credittray_balance", **labels, unit="credits")] == 5000  # the last balance stays
    assert second[key("credittray_last_success_timestamp_seconds", **labels)] == pytest.approx(seen, abs=1e-3)
    assert second[key("credittray_last_refresh_timestamp_seconds", **labels)] > seen


def test_output_file_is_replaced_whole_for_the_textfile_collector(cli: Cli, server: FakeServer,
                                                                 tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    folder = tmp_path / "textfile"
    folder.mkdir()
    target = folder / "credit-tray.prom"
    proc = cli.run("check", "--format", "prometheus", "--output", str(target), config=config)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    first = target.stat()
    assert stat.S_IMODE(first.st_mode) == 0o644  # node_exporter reads it as another user
    text = target.read_text("utf-8")
    assert samples(text)[key("credittray_balance", account="meow-low", provider="meowload", unit="credits")] == 1500
    assert subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True, capture_output=True,
                          timeout=30, check=False).returncode == 0

    assert cli.run("check", "--format", "prometheus", "--output", str(target), config=config).returncode == 3
    # A new file renamed over the old one (a reader never sees half a file), and no temp file left behind.
    assert target.stat().st_ino != first.st_ino
    assert sorted(p.name for p in folder.iterdir()) == ["credit-tray.prom"]

    if os.geteuid() != 0:  # root writes anywhere; the rest of this part needs a folder it may not write
        folder.chmod(0o555)
        before = target.read_bytes()
        proc = cli.run("check", "--format", "prometheus", "--output", str(target), config=config)
        folder.chmod(0o755)
        assert proc.returncode not in (0, 1, 2, 3), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert target.read_bytes() == before


def test_node_exporter_textfile_collector_publishes_the_output_file(cli: Cli, server: FakeServer,
                                                                   tmp_path: Path) -> None:
    """Debian's prometheus-node-exporter, only its textfile collector, reading what --output wrote."""
    config = four_accounts(cli, server, tmp_path)
    folder = tmp_path / "textfile"
    assert cli.run("check", "--format", "prometheus", "--output", str(folder / "credit-tray.prom"),
                   config=config).returncode == 3
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exporter = subprocess.Popen([NODE_EXPORTER, "--collector.disable-defaults", "--collector.textfile",
                                 f"--collector.textfile.directory={folder}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "node_exporter did not start"
                time.sleep(0.05)
    finally:
        exporter.terminate()
        exporter.wait(10)
    got = samples(text)
    assert got[key("node_textfile_scrape_error")] == 0
    assert got[key("credittray_balance", account="meow-low", provider="meowload", unit="credits")] == 1500
    assert got[key("credittray_refresh_success", account="sv-401", provider="sociavault")] == 0


def test_output_into_an_unwritable_place_is_one_line_and_no_file(cli: Cli, server: FakeServer,
                                                                tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    proc = cli.run("check", "--format", "prometheus", "--output", str(blocker / "credit-tray.prom"), config=config)
    assert proc.returncode == 70, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert blocker.read_text() == "x"


# ----------------------------------------------------------------------------- rules and unit

def test_shipped_alerting_rules_pass_promtool_and_their_unit_tests() -> None:
    rules = PACKAGING / "prometheus" / "credit-tray.rules.yml"
    check = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 5 rules found" in check.stdout
    unit = subprocess.run([PROMTOOL, "test", "rules", "credit-tray.rules.test.yml"], cwd=rules.parent,
                          capture_output=True, text=True, timeout=60, check=False)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout
    config = subprocess.run([PROMTOOL, "check", "config", "--syntax-only", str(PACKAGING / "prometheus" /
                                                                                "prometheus.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert config.returncode == 0, config.stdout + config.stderr


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    unit = (PACKAGING / "systemd" / "credit-tray.service").read_text("utf-8")
    assert "ExecStart=/usr/bin/credit-tray --config /etc/credit-tray/config.toml serve" in unit
    assert "--listen 127.0.0.1:9731" in unit
    # verify needs the binary to exist; point it at one that does, change nothing else.
    copy = tmp_path / "credit-tray.service"
    copy.write_text(unit.replace("/usr/bin/credit-tray", "/bin/true"), "utf-8")
    verify = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert verify.returncode == 0, verify.stderr
    assert not verify.stderr.strip(), verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", str(copy)],
                              capture_output=True, text=True, timeout=60, check=False)
    assert security.returncode == 0, security.stdout[-2000:]  # exposure 2.0 or better ("OK")


# ----------------------------------------------------------------------------- Nagios

#: The plugin output grammar: "SERVICE STATUS - text | perfdata", text without "|".
NAGIOS_LINE = re.compile(r"^CREDITS (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+?(?: \| (?P<perf>.+))?$")
#: 'label'=value[UOM];[warn];[crit];[min];[max], or 'label'=U.
RANGE = r"@?(?:(?:~|-?\d+(?:\.\d+)?)?:)?(?:-?\d+(?:\.\d+)?)?"
PERFDATA = re.compile(rf"'(?P<label>[^'=]+)'=(?:U|(?P<value>-?\d+(?:\.\d+)?)(?:;(?P<warn>{RANGE}))?"
                      rf"(?:;(?P<crit>{RANGE}))?(?:;(?P<min>-?\d*(?:\.\d+)?))?(?:;(?P<max>-?\d*(?:\.\d+)?))?)")


def nagios(cli: Cli, config: Path, *args: str) -> tuple[int, str, dict[str, re.Match[str]]]:
    proc = cli.run("check", "--format", "nagios", *args, config=config)
    lines = proc.stdout.rstrip("\n").split("\n")
    match = NAGIOS_LINE.match(lines[0])
    assert match, f"not a plugin status line: {lines[0]!r}"
    perf: dict[str, re.Match[str]] = {}
    for item in (match["perf"] or "").split(" ") if match["perf"] else []:
        found = PERFDATA.fullmatch(item)
        assert found, f"not perfdata by the guidelines: {item!r}"
        perf[found["label"]] = found
    for line in lines[1:]:
        assert "|" not in line
    return proc.returncode, lines[0], perf


def test_nagios_status_line_perfdata_and_exit_codes(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    code, line, perf = nagios(cli, config)
    assert code == 3
    assert line.startswith("CREDITS UNKNOWN - ")
    assert "UNKNOWN: SociaVault: auth: Invalid API key" in line
    assert perf["meow-low"].group("value", "warn", "crit", "min", "max") == ("1500", "10000:", "@~:0", "0", "")
    assert perf["sb-limited"].group("value", "warn", "crit", "min", "max") == ("757", "500:", "@~:0", "0", "1000")
    assert perf["sv-401"].group(0) == "'sv-401'=U"
    assert "sb-unlimited" not in perf  # no number to graph
    assert CANARY not in line

    low_only = ["--account", "meow-low", "--account", "sb-limited"]
    code, line, perf = nagios(cli, config, *low_only)
    assert code == 1
    assert line.startswith("CREDITS WARNING - ")
    assert "Work" in line

    # -w/-c replace the accounts' own levels for this run.
    code, line, perf = nagios(cli, config, *low_only, "-w", "1000:", "-c", "100:")
    assert code == 1
    assert perf["meow-low"].group("warn", "crit") == ("1000:", "100:")
    assert line.split(" | ")[0] == "CREDITS WARNING - WARNING: SmarterBot: 757 message credits (warning range 1000:)"
    code, line, _ = nagios(cli, config, *low_only, "-w", "700:")
    assert code == 0
    assert line.startswith("CREDITS OK - 2 accounts ok")
    code, line, _ = nagios(cli, config, *low_only, "-w", "5000:", "-c", "@1000:2000")
    assert code == 2
    assert line.startswith("CREDITS CRITICAL - ")


@pytest.mark.parametrize("args", [["-w", "abc"], ["-w", "10:5"], ["-c", "1:2:3"], ["-w"]])
def test_nagios_bad_ranges_are_usage_errors(cli: Cli, server: FakeServer, tmp_path: Path, args: list[str]) -> None:
    config = four_accounts(cli, server, tmp_path)
    proc = cli.run("check", "--format", "nagios", *args, config=config)
    assert proc.returncode == 64, proc.stderr
    assert 1 <= len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    assert server.requests == []  # refused before anything is fetched


def test_ranges_belong_to_nagios_only(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    assert cli.run("check", "--format", "waybar", "-w", "10:", config=config).returncode == 64
    assert cli.run("check", "--json", "--format", "nagios", config=config).returncode == 64


# ----------------------------------------------------------------------------- Waybar

def waybar(cli: Cli, config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = cli.run("check", "--format", "waybar", *args, config=config)
    assert proc.stdout.count("\n") == 1, proc.stdout  # one line: Waybar reads the first
    return proc.returncode, json.loads(proc.stdout)


def test_waybar_json(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = four_accounts(cli, server, tmp_path)
    code, data = waybar(cli, config)
    # Waybar hides a module whose command exits non-zero: the state travels in "class".
    assert code == 0
    assert set(data) == {"text", "tooltip", "class", "alt", "percentage"}
    assert data["text"] == "757"
    assert data["class"] == "warning"
    assert data["percentage"] == 76  # sb-limited, the only account that reports its total
    assert "MeowLoad · Work: 1,500 credits (below 2,000)" in data["tooltip"].split("\n")
    assert CANARY not in json.dumps(data)

    code, data = waybar(cli, config, "--account", "meow-low")
    assert code == 0
    assert data["class"] == "warning"
    assert "percentage" not in data
    assert data["text"] == "1.5K"
    code, data = waybar(cli, config, "--account", "sv-401")
    assert data["class"] == "stale"
    assert data["text"] == "?"
    code, data = waybar(cli, config, "--account", "sb-unlimited")
    assert data["class"] == "ok"
    server.route("/meow-low/openapi/available-credits", Reply(402, {"message": "API call quota used up"}))
    code, data = waybar(cli, config)
    assert code == 0
    assert data["class"] == "critical"
