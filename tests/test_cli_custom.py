"""Presets and custom providers from the command line, each run a real subprocess against a loopback server."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import Cli
from tests.test_export import key, samples
from tray_app.providers import BUILT_INS, PRESETS

KEY = "sk-cli-custom-3Jf7Pq1Vz8Kw"
DEEPSEEK_TWO_CURRENCIES = {"is_available": True, "balance_infos": [
    {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"},
    {"currency": "USD", "total_balance": "5.20", "granted_balance": "0.00", "topped_up_balance": "5.20"}]}


def test_providers_lists_built_ins_presets_and_custom(cli: Cli) -> None:
    proc = cli.run("providers")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert set(rows) == {*BUILT_INS, *PRESETS, "custom"}
    assert all(" built-in " in rows[k] for k in BUILT_INS)
    assert all(" preset " in rows[k] for k in PRESETS)
    assert "Moonshot (Kimi)" in rows["moonshot"]
    entries = json.loads(cli.run("providers", "--json").stdout)
    assert {e["id"]: e["kind"] for e in entries} == {**dict.fromkeys(BUILT_INS, "built-in"),
                                                      **dict.fromkeys(PRESETS, "preset")}
    deepseek = next(e for e in entries if e["id"] == "deepseek")
    assert deepseek["documentation"] == "https://api-docs.deepseek.com/api/get-user-balance"


def test_a_preset_is_shown_as_a_custom_table_that_works_when_copied(cli: Cli, server: FakeServer,
                                                                     tmp_path: Path) -> None:
    shown = cli.run("providers", "firecrawl")
    assert shown.returncode == 0, shown.stderr
    assert "[accounts.custom]" in shown.stdout
    assert "docs.firecrawl.dev" in shown.stdout
    fields = tomllib.loads(shown.stdout)["accounts"]["custom"]
    assert fields["remaining"] == "data.remainingCredits"
    # Copy it into a custom provider pointed at our server: it reads the same documented answer.
    fields["url"] = server.url + "/v2/team/credit-usage"
    definition = tmp_path / "firecrawl.toml"
    definition.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items()
                                    if not isinstance(v, dict)) + "\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    added = cli.run("accounts", "add", "custom", "--id", "fc", "--from", str(definition), config=config)
    assert added.returncode == 0, added.stderr
    cli.seed_keys({"fc": KEY})
    server.route("/v2/team/credit-usage", Reply(200, {"success": True, "data": {
        "remainingCredits": 1000, "planCredits": 500000, "billingPeriodStart": "2025-01-01T00:00:00Z",
        "billingPeriodEnd": "2025-01-31T23:59:59Z"}}))
    status, payload, _, _ = cli.check_json(config=config)
    [entry] = payload["accounts"]
    assert status == 0, entry
    assert (entry["provider"], entry["remaining"], entry["total"], entry["unit"]) == ("custom", 1000, 500000,
                                                                                      "credits")
    assert entry["resets_at"] == "2025-01-31T23:59:59Z"
    assert server.requests_to("/v2/team/credit-usage")[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_built_in_has_no_fields_to_show(cli: Cli) -> None:
    proc = cli.run("providers", "meowload")
    assert proc.returncode == 64
    assert proc.stderr.strip() == ("credit-tray: error: 'meowload' is built-in, with no fields to show "
                                   "(presets: " + ", ".join(PRESETS) + ")")


def test_accounts_add_preset_and_check_keeps_currencies_apart(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    added = cli.run("accounts", "add", "deepseek", "--id", "ds", "--base-url", server.url, config=config)
    assert added.returncode == 0, added.stderr
    assert "Added ds (DeepSeek, “DeepSeek”)" in added.stdout
    cli.seed_keys({"ds": KEY})
    server.route("/user/balance", Reply(200, DEEPSEEK_TWO_CURRENCIES))
    status, payload, _, _ = cli.check_json(config=config)
    [entry] = payload["accounts"]
    assert status == 0, entry
    assert (entry["remaining"], entry["unit"]) == (110, "CNY")
    assert entry["balances"] == [{"unit": "CNY", "remaining": 110}, {"unit": "USD", "remaining": 5.2}]
    table = cli.run("check", config=config)
    assert "110 CNY · 5.2 USD" in table.stdout


def test_accounts_add_custom_with_flags(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    added = cli.run("accounts", "add", "custom", "--id", "acme", "--name", "Acme", "--url", server.url + "/bal",
                    "--key-header", "X-Key", "--key-format", "{key}", "--remaining", "data.left", "--unit", "tokens",
                    "--thresholds", "100,10", config=config)
    assert added.returncode == 0, added.stderr
    written = tomllib.loads(config.read_text(encoding="utf-8"))["accounts"][0]
    assert written["custom"] == {"url": server.url + "/bal", "name": "Acme", "key_header": "X-Key",
                                 "key_format": "{key}", "remaining": "data.left", "unit": "tokens"}
    assert KEY not in config.read_text(encoding="utf-8")
    [listed] = cli.list_json(config=config)
    assert listed["custom"] == written["custom"]
    cli.seed_keys({"acme": KEY})
    server.route("/bal", Reply(200, {"data": {"left": "42"}}))
    status, payload, _, _ = cli.check_json(config=config)
    [entry] = payload["accounts"]
    assert (status, entry["remaining"], entry["unit"], entry["state"], entry["threshold"]) == (1, 42, "tokens",
                                                                                             "low", 100)
    assert entry["balances"] == [{"unit": "tokens", "remaining": 42}]
    assert server.requests_to("/bal")[0].headers["x-key"] == KEY


def test_a_bad_definition_is_one_line_naming_the_field_and_nothing_is_written(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    definition = tmp_path / "bad.toml"
    definition.write_text('url = "https://api.example.com/balance"\nremaning = "data.left"\n', encoding="utf-8")
    proc = cli.run("accounts", "add", "custom", "--id", "x", "--from", str(definition), config=config)
    assert proc.returncode == 64
    [line] = proc.stderr.splitlines()
    assert line.startswith("credit-tray: error: custom.remaning is not a field of a custom provider")
    assert not config.exists()
    missing = cli.run("accounts", "add", "custom", "--id", "x", "--url", "https://api.example.com/b", config=config)
    assert missing.returncode == 64
    assert "custom.remaining is missing" in missing.stderr
    plain_http = cli.run("accounts", "add", "custom", "--id", "x", "--url", "http://api.example.com/b",
                         "--remaining", "b", config=config)
    assert "custom.url must be https (plain http is allowed only on loopback)" in plain_http.stderr
    assert not config.exists()


def test_a_broken_custom_table_in_the_config_is_an_account_error(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nid = "mine"\nprovider = "custom"\n[accounts.custom]\n'
                      'url = "https://api.example.com/b"\nremaining = "data[0"\n', encoding="utf-8")
    status, payload, _, _ = cli.check_json(config=config)
    [entry] = payload["accounts"]
    assert status == 3
    assert entry["error"]["kind"] == "config"
    assert entry["error"]["message"].startswith("custom.remaining is not a path")


def test_prometheus_gives_one_balance_series_per_currency(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "ds"\nprovider = "deepseek"\nbase_url = "{server.url}"\n', encoding="utf-8")
    cli.seed_keys({"ds": KEY})
    server.route("/user/balance", Reply(200, DEEPSEEK_TWO_CURRENCIES))
    proc = cli.run("check", "--format", "prometheus", config=config)
    assert proc.returncode == 0, proc.stderr
    got = samples(proc.stdout)
    ds = {"account": "ds", "provider": "deepseek"}
    assert got[key("credittray_balance", **ds, unit="CNY")] == 110
    assert got[key("credittray_balance", **ds, unit="USD")] == 5.2


def test_every_preset_printed_and_pasted_into_a_config_is_the_same_definition(cli: Cli, tmp_path: Path) -> None:
    from tray_app.config import load

    for preset_id, spec in PRESETS.items():
        shown = cli.run("providers", preset_id)
        assert shown.returncode == 0, shown.stderr
        config = tmp_path / f"{preset_id}.toml"
        config.write_text(f'[[accounts]]\nid = "{preset_id}-copy"\nprovider = "custom"\n\n{shown.stdout}',
                          encoding="utf-8")
        [account] = load(config).accounts
        assert account.problem is None, (preset_id, account.problem)
        assert account.custom == spec, preset_id
