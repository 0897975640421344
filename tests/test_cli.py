"""The ``credit-tray`` command line, driven like a user drives it: a subprocess each time.

Every run gets a throwaway HOME and XDG dirs and a real file keyring (keyrings.alt,
selected with ``PYTHON_KEYRING_BACKEND``), and talks HTTP to a ``FakeServer`` on
loopback. Each account's ``base_url`` carries its own path prefix
(``http://127.0.0.1:PORT/<account id>``), so many accounts of one provider can share a
server and every account has its own scripted replies and request log.

The expected values are copied from the provider documents in ``shared/provider-docs``
and from the ``check --json`` contract in the foundation issue.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import PATHS, FakeServer, Reply

SERVICE = "credit-tray"
CANARY = "sk-CANARY-7f3a9c"

NAMES = {"meowload": "MeowLoad", "smarterbot": "SmarterBot", "sociavault": "SociaVault",
         "unwatermark": "Unwatermark"}
UNITS = {"meowload": "credits", "smarterbot": "message credits", "sociavault": "credits",
         "unwatermark": "credits"}
DEFAULT_BASE_URLS = {
    "meowload": "https://api.meowload.net",
    "smarterbot": "https://chat.smarterbot.ai",
    "sociavault": "https://api.sociavault.com",
    "unwatermark": "https://api.unwatermark.ai",
}
MEOWLOAD_THRESHOLDS = [10000, 2000, 300, 100, 0]
CONTRACT_KEYS = ("id", "provider", "label", "state", "remaining", "used", "total", "unlimited", "unit",
                 "subscription", "threshold", "error", "fetched_at")
LIST_FIELDS = ("id", "provider", "label", "base_url", "thresholds", "enabled", "has_key")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")

# ----------------------------------------------------------------------------- documented bodies

# SmarterBot's documented response, verbatim.
SB_UNLIMITED = {"Data": {"Total": -1, "Used": 243, "Remain": -1}, "Version": "1.0.0", "Success": True,
                "Code": 200, "Message": ""}
# SociaVault's documented response, verbatim.
SV_OK = {"credits": 950, "subscriptionStatus": "active", "subscriptionId": "sub_1234567890"}
# Unwatermark's documented success and 800002 error, verbatim (including the document's mojibake).
UW_OK = {"code": 100000, "message": {}, "result": {"user_credits": "1234"}}
UW_800002 = {"code": 800002, "message": {"en": "User api key not exist.", "zh": "çšæ·api keyäžććš"},
             "result": None}
# The same error as the service means it (README: the intended Chinese text).
UW_800002_ZH = {"code": 800002, "message": {"en": "User api key not exist.", "zh": "用户api key不存在"},
                "result": None}
# MeowLoad's documented error example (a Chinese message, as sent with accept-language: zh).
MEOW_401_ZH = "API Key 错误,请检查 API Key 是否正确"


def sb_envelope_error(code: int, message: str) -> dict[str, Any]:
    return {"Data": None, "Version": "1.0.0", "Success": False, "Code": code, "Message": message}


# ----------------------------------------------------------------------------- helpers

@dataclass
class Cli:
    """Runs ``python -m tray_app`` in the isolated environment and keeps everything it printed."""

    env: dict[str, str]
    cwd: Path
    outputs: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    @property
    def keyring_file(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"

    def run(self, *args: str, stdin: str = "", config: Path | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tray_app"]
        if config is not None:
            command += ["--config", str(config)]
        command += list(args)
        proc = subprocess.run(command, input=stdin, capture_output=True, text=True, encoding="utf-8",
                              errors="replace", env={**self.env, **(extra_env or {})}, cwd=self.cwd,
                              timeout=60, check=False)
        self.outputs += [proc.stdout, proc.stderr]
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def check_json(self, *args: str, config: Path | None = None) -> tuple[int, dict[str, Any], datetime, datetime]:
        """``check --json``: exit status, the parsed object, and the wall-clock window of the run."""
        before = datetime.now(UTC)
        proc = self.run("check", "--json", *args, config=config)
        after = datetime.now(UTC)
        assert proc.stdout.strip(), f"no JSON on stdout (exit {proc.returncode}): {proc.stderr}"
        payload = json.loads(proc.stdout)
        assert isinstance(payload, dict)
        assert set(payload) >= {"checked_at", "accounts"}
        checked = parse_utc(payload["checked_at"])
        assert before - timedelta(seconds=2) <= checked <= after + timedelta(seconds=2)
        return proc.returncode, payload, before, after

    def list_json(self, config: Path | None = None) -> list[dict[str, Any]]:
        proc = self.run("accounts", "list", "--json", config=config)
        assert proc.returncode == 0, proc.stderr
        entries = json.loads(proc.stdout)
        assert isinstance(entries, list)
        return entries

    def _keyring(self, script: str, stdin: str, *args: str) -> str:
        # Not a CLI run: its output (which may hold keys) is not part of what the product printed.
        proc = subprocess.run([sys.executable, "-c", script, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, cwd=self.cwd, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def seed_keys(self, keys: dict[str, str]) -> None:
        """Put keys straight into the same keyring the product uses (service credit-tray, user = id)."""
        script = ("import json, sys, keyring\n"
                  "for user, secret in json.load(sys.stdin).items():\n"
                  f"    keyring.set_password({SERVICE!r}, user, secret)\n")
        self._keyring(script, json.dumps(keys))

    def stored_key(self, account_id: str) -> str | None:
        script = f"import json, sys, keyring\nprint(json.dumps(keyring.get_password({SERVICE!r}, sys.argv[1])))\n"
        value = json.loads(self._keyring(script, "", account_id))
        assert value is None or isinstance(value, str)
        return value


def parse_utc(text: Any) -> datetime:
    assert isinstance(text, str), text
    assert ISO_UTC.match(text), f"not ISO-8601 UTC: {text!r}"
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0)
    return moment


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def toml_config(accounts: list[dict[str, Any]], **globals_: Any) -> str:
    lines = ["# written by test_cli.py"]
    lines += [f"{name} = {toml_value(value)}" for name, value in globals_.items()]
    for account in accounts:
        lines += ["", "[[accounts]]"]
        lines += [f"{name} = {toml_value(value)}" for name, value in account.items()]
    return "\n".join(lines) + "\n"


def account(server: FakeServer, account_id: str, provider: str, *replies: Reply, **extra: Any) -> dict[str, Any]:
    """A config entry whose base_url points at its own prefix on the server; scripts its replies."""
    if replies:
        server.route(route(account_id, provider), *replies)
    return {"id": account_id, "provider": provider, "base_url": f"{server.url}/{account_id}", **extra}


def route(account_id: str, provider: str) -> str:
    return f"/{account_id}{PATHS[provider]}"


def write_config(path: Path, accounts: list[dict[str, Any]], **globals_: Any) -> Path:
    path.write_text(toml_config(accounts, **globals_), encoding="utf-8")
    return path


def expected(account_id: str, provider: str, state: str, *, label: str | None = None, remaining: Any = None,
             used: Any = None, total: Any = None, unlimited: bool = False, subscription: Any = None,
             threshold: Any = None, error: tuple[str, str, int | None] | None = None) -> dict[str, Any]:
    return {
        "id": account_id, "provider": provider, "label": label or NAMES[provider], "state": state,
        "remaining": remaining, "used": used, "total": total, "unlimited": unlimited, "unit": UNITS[provider],
        "subscription": subscription, "threshold": threshold,
        "error": None if error is None else {"kind": error[0], "message": error[1], "http_status": error[2]},
    }


def assert_entry(entry: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(entry) >= set(CONTRACT_KEYS), f"{entry.get('id')}: missing {set(CONTRACT_KEYS) - set(entry)}"
    got = {k: entry[k] for k in want}
    assert got == want, f"{want['id']}:\n got  {got}\n want {want}"
    for name in ("remaining", "used", "total", "threshold"):
        value = entry[name]
        assert value is None or (isinstance(value, int | float) and not isinstance(value, bool)), (
            f"{want['id']}.{name} is not a JSON number: {value!r}")
    assert isinstance(entry["unlimited"], bool)


def fresh(entry: dict[str, Any], before: datetime, after: datetime) -> str:
    """fetched_at of a reading taken during this run."""
    moment = parse_utc(entry["fetched_at"])
    assert before - timedelta(seconds=2) <= moment <= after + timedelta(seconds=2), entry
    return str(entry["fetched_at"])


def by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in payload["accounts"]}


def stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_usage_error(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 64, f"{what}: exit {proc.returncode}, stderr {proc.stderr!r}"
    lines = stderr_lines(proc)
    assert 1 <= len(lines) <= 2, f"{what}: stderr is {len(lines)} lines: {proc.stderr!r}"
    assert "Traceback" not in proc.stderr


def config_files(cli: Cli) -> list[Path]:
    return sorted(p for p in Path(cli.env["XDG_CONFIG_HOME"]).rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- check --json

def test_check_json_every_documented_response(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    """Two refreshes over every documented answer; the second turns some good accounts bad."""
    meow = "meowload"
    entries = [
        account(server, "meow-ok", meow, Reply(200, {"availableCredits": 282539})),
        account(server, "meow-low", meow, Reply(200, {"availableCredits": 1500}), label="Meow backup"),
        account(server, "meow-400", meow, Reply(400, {"message": "Extraction failed, link contains no valid media"})),
        account(server, "meow-401", meow, Reply(200, {"availableCredits": 5000}),
                Reply(401, {"message": "Invalid or expired API Key"})),
        account(server, "meow-402", meow, Reply(402, {"message": "API call quota used up"})),
        account(server, "meow-422", meow, Reply(422, {"message": "Incorrect link format"})),
        account(server, "meow-500", meow, Reply(200, {"availableCredits": 123456}),
                Reply(500, {"message": "Internal server error"})),
        account(server, "sb-unlimited", "smarterbot", Reply(200, SB_UNLIMITED)),
        account(server, "sb-limited", "smarterbot",
                Reply(200, {**SB_UNLIMITED, "Data": {"Total": 1000, "Used": 850, "Remain": 150}}),
                thresholds=[500, 200, 0]),
        account(server, "sb-auth", "smarterbot", Reply(200, sb_envelope_error(401, "Invalid secret key"))),
        account(server, "sb-request", "smarterbot", Reply(200, sb_envelope_error(400, "Chatbot id is required"))),
        account(server, "sv-ok", "sociavault", Reply(200, SV_OK), thresholds=[100, 10, 0]),
        account(server, "sv-401", "sociavault", Reply(200, {"credits": 40, "subscriptionStatus": "past_due"}),
                Reply(401, {"error": "Invalid or missing API key"}), thresholds=[100, 10, 0]),
        account(server, "sv-404", "sociavault", Reply(404, {"error": "User not found"})),
        account(server, "sv-500", "sociavault", Reply(500, {"error": "Server error"})),
        account(server, "uw-ok", "unwatermark", Reply(200, UW_OK), thresholds=[500, 100, 0]),
        account(server, "uw-800002", "unwatermark", Reply(200, UW_800002)),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    keys = {e["id"]: f"key-{e['id']}" for e in entries}
    cli.seed_keys(keys)
    providers = {e["id"]: e["provider"] for e in entries}

    # ---- first refresh
    status, payload, before, after = cli.check_json(config=config)
    assert [e["id"] for e in payload["accounts"]] == [e["id"] for e in entries]
    got = by_id(payload)
    first = {
        "meow-ok": expected("meow-ok", meow, "ok", remaining=282539),
        "meow-low": expected("meow-low", meow, "low", label="Meow backup", remaining=1500, threshold=2000),
        "meow-400": expected("meow-400", meow, "error",
                             error=("request", "Extraction failed, link contains no valid media", 400)),
        "meow-401": expected("meow-401", meow, "low", remaining=5000, threshold=10000),
        "meow-402": expected("meow-402", meow, "exhausted", remaining=0),
        "meow-422": expected("meow-422", meow, "error", error=("request", "Incorrect link format", 422)),
        "meow-500": expected("meow-500", meow, "ok", remaining=123456),
        "sb-unlimited": expected("sb-unlimited", "smarterbot", "ok", used=243, unlimited=True),
        "sb-limited": expected("sb-limited", "smarterbot", "low", remaining=150, used=850, total=1000,
                               threshold=200),
        "sb-auth": expected("sb-auth", "smarterbot", "error", error=("auth", "Invalid secret key", 200)),
        "sb-request": expected("sb-request", "smarterbot", "error",
                               error=("request", "Chatbot id is required", 200)),
        "sv-ok": expected("sv-ok", "sociavault", "ok", remaining=950,
                          subscription={"status": "active", "id": "sub_1234567890"}),
        "sv-401": expected("sv-401", "sociavault", "low", remaining=40, threshold=100,
                           subscription={"status": "past_due", "id": None}),
        "sv-404": expected("sv-404", "sociavault", "error", error=("auth", "User not found", 404)),
        "sv-500": expected("sv-500", "sociavault", "error", error=("server", "Server error", 500)),
        "uw-ok": expected("uw-ok", "unwatermark", "ok", remaining=1234),
        "uw-800002": expected("uw-800002", "unwatermark", "error", error=("auth", "User api key not exist.", 200)),
    }
    fetched_first: dict[str, str] = {}
    for account_id, want in first.items():
        assert_entry(got[account_id], want)
        if want["state"] == "error":
            assert got[account_id]["fetched_at"] is None, account_id  # never a good reading
        else:
            fetched_first[account_id] = fresh(got[account_id], before, after)
    assert status == 2  # meow-402 is exhausted, which beats the errors

    # What went over the wire: documented method, header and key, per provider.
    for account_id, provider in providers.items():
        sent = server.requests_to(route(account_id, provider))
        assert sent, f"{account_id} was not fetched"
        for request in sent:
            key = keys[account_id]
            if provider == "meowload":
                assert (request.method, request.headers.get("x-api-key")) == ("GET", key)
                assert request.headers.get("accept-language", "en").lower().startswith("en")
            elif provider == "smarterbot":
                assert (request.method, request.headers.get("authorization")) == ("GET", key)  # no scheme
            elif provider == "sociavault":
                assert (request.method, request.headers.get("x-api-key")) == ("GET", key)
            else:
                assert (request.method, request.headers.get("zf-api-key"), request.body) == ("POST", key, b"")
    # Never retried: auth, request, a 402 and a good answer; one request each.
    for account_id in ("meow-400", "meow-401", "meow-402", "meow-422", "sb-auth", "sb-request", "sv-404",
                       "uw-800002", "meow-ok"):
        assert len(server.requests_to(route(account_id, providers[account_id]))) == 1, account_id
    assert 2 <= len(server.requests_to(route("sv-500", "sociavault"))) <= 3  # 5xx: retried, at most 3 attempts
    counts = {a: len(server.requests_to(route(a, p))) for a, p in providers.items()}

    # ---- second refresh: meow-401, meow-500 and sv-401 now fail; their last good reading stays
    status, payload, before, after = cli.check_json(config=config)
    got = by_id(payload)
    second = dict(first)
    second["meow-401"] = expected("meow-401", meow, "error", remaining=5000,
                                  error=("auth", "Invalid or expired API Key", 401))
    second["meow-500"] = expected("meow-500", meow, "error", remaining=123456,
                                  error=("server", "Internal server error", 500))
    second["sv-401"] = expected("sv-401", "sociavault", "error", remaining=40,
                                subscription={"status": "past_due", "id": None},
                                error=("auth", "Invalid or missing API key", 401))
    for account_id, want in second.items():
        assert_entry(got[account_id], want)
        if account_id in ("meow-401", "meow-500", "sv-401"):
            assert got[account_id]["fetched_at"] == fetched_first[account_id], account_id  # the last good one
        elif want["state"] == "error":
            assert got[account_id]["fetched_at"] is None, account_id
        else:
            fresh(got[account_id], before, after)
    assert status == 2
    assert len(server.requests_to(route("meow-401", meow))) - counts["meow-401"] == 1
    assert 2 <= len(server.requests_to(route("meow-500", meow))) - counts["meow-500"] <= 3


def test_language_zh_asks_meowload_in_chinese_and_picks_unwatermark_zh(cli: Cli, server: FakeServer,
                                                                        tmp_path: Path) -> None:
    entries = [
        account(server, "meow", "meowload", Reply(401, {"message": MEOW_401_ZH})),
        account(server, "uw", "unwatermark", Reply(200, UW_800002_ZH)),
        # The document's own body: its Chinese text cannot be repaired, so the English one is shown.
        account(server, "uw-doc", "unwatermark", Reply(200, UW_800002)),
    ]
    config = write_config(tmp_path / "zh.toml", entries, language="zh")
    cli.seed_keys({"meow": "k-meow", "uw": "k-uw", "uw-doc": "k-uw-doc"})
    status, payload, _, _ = cli.check_json(config=config)
    got = by_id(payload)
    assert_entry(got["meow"], expected("meow", "meowload", "error", error=("auth", MEOW_401_ZH, 401)))
    assert_entry(got["uw"], expected("uw", "unwatermark", "error", error=("auth", "用户api key不存在", 200)))
    assert_entry(got["uw-doc"], expected("uw-doc", "unwatermark", "error",
                                         error=("auth", "User api key not exist.", 200)))
    assert status == 3
    (request,) = server.requests_to(route("meow", "meowload"))
    assert request.headers.get("accept-language", "").lower().startswith("zh")


@pytest.mark.parametrize(("environment", "asked"), [
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, even when it is C
    ({"LC_ALL": "C.UTF-8", "LANGUAGE": "zh_CN:en", "LANG": "zh_CN.UTF-8"}, "en"),  # LANGUAGE ignored under C
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"),  # LANGUAGE's first entry, locale not C
    ({"LANG": "en_US.UTF-8", "LANGUAGE": ":de:zh"}, "de"),
    ({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),  # LC_MESSAGES before LANG
    ({"LC_ALL": "de_DE.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "de"),  # LC_ALL before LC_MESSAGES
    ({"LANGUAGE": "zh_CN"}, "en"),  # no locale at all is C: LANGUAGE does not apply
])
def test_language_auto_follows_the_locale_precedence(cli: Cli, server: FakeServer, tmp_path: Path,
                                                     environment: dict[str, str], asked: str) -> None:
    config = write_config(tmp_path / "auto.toml",
                          [account(server, "meow", "meowload", Reply(200, {"availableCredits": 50000}))],
                          language="auto")
    cli.seed_keys({"meow": "k-meow"})
    unset = {name: "" for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    proc = cli.run("check", "--json", config=config, extra_env={**unset, **environment})
    assert proc.returncode == 0, proc.stderr
    (request,) = server.requests_to(route("meow", "meowload"))
    assert request.headers["accept-language"] == asked


# ----------------------------------------------------------------------------- exit status, selection

def test_exit_status_order_and_account_selection(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    meow = "meowload"
    entries = [
        account(server, "e-ok", meow, Reply(200, {"availableCredits": 282539})),
        account(server, "e-low", meow, Reply(200, {"availableCredits": 150})),
        account(server, "e-exh", meow, Reply(402, {"message": "API call quota used up"})),
        account(server, "e-err", meow, Reply(401, {"message": "Invalid or expired API Key"})),
        account(server, "e-off", meow, Reply(200, {"availableCredits": 99999}), enabled=False),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({e["id"]: f"key-{e['id']}" for e in entries})

    def check(*ids: str) -> tuple[int, list[str], dict[str, str]]:
        args = [a for i in ids for a in ("--account", i)]
        status, payload, _, _ = cli.check_json(*args, config=config)
        return status, [e["id"] for e in payload["accounts"]], {e["id"]: e["state"] for e in payload["accounts"]}

    assert check("e-ok") == (0, ["e-ok"], {"e-ok": "ok"})
    assert check("e-ok", "e-low")[0] == 1
    assert check("e-low", "e-err") == (3, ["e-low", "e-err"], {"e-low": "low", "e-err": "error"})
    assert check("e-err", "e-exh")[0] == 2
    assert check("e-low", "e-exh")[0] == 2

    # All enabled accounts: the disabled one is neither fetched nor listed.
    status, ids, states = check()
    assert status == 2
    assert ids == ["e-ok", "e-low", "e-exh", "e-err"]
    assert states == {"e-ok": "ok", "e-low": "low", "e-exh": "exhausted", "e-err": "error"}
    assert server.requests_to(route("e-off", meow)) == []

    # Named, a disabled account is fetched and listed.
    status, ids, states = check("e-off")
    assert (status, ids, states) == (0, ["e-off"], {"e-off": "ok"})
    assert len(server.requests_to(route("e-off", meow))) == 1

    # An id that is not in the config: bad usage, nothing fetched.
    seen = len(server.requests)
    proc = cli.run("check", "--json", "--account", "e-ok", "--account", "no-such-account", config=config)
    assert_usage_error(proc, "check --account no-such-account")
    assert len(server.requests) == seen


# ----------------------------------------------------------------------------- table

def test_check_reads_what_a_provider_review_found(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    """Overdrawn balances, SmarterBot's Total -1 and its Code, SociaVault without a status, and
    a 404/403 page from a proxy or a wrong base URL (not the provider's "bad key")."""
    html_404 = "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nginx</body></html>"
    entries = [
        account(server, "meow-over", "meowload", Reply(200, {"availableCredits": -250})),
        account(server, "uw-over", "unwatermark", Reply(200, {**UW_OK, "result": {"user_credits": "-3.5"}})),
        account(server, "sb-total", "smarterbot",
                Reply(200, {**SB_UNLIMITED, "Data": {"Total": -1, "Used": 243, "Remain": 757}})),
        account(server, "sb-code", "smarterbot", Reply(200, {**SB_UNLIMITED, "Code": 401, "Message": "Key expired"})),
        account(server, "sv-nostatus", "sociavault", Reply(200, {"credits": 950, "subscriptionStatus": None}),
                thresholds=[100, 10, 0]),
        account(server, "sv-proxy", "sociavault", Reply(404, html_404, {"Content-Type": "text/html"})),
        account(server, "meow-proxy", "meowload", Reply(403, html_404, {"Content-Type": "text/html"})),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({e["id"]: f"key-{e['id']}" for e in entries})
    status, payload, _, _ = cli.check_json(config=config)
    assert status == 2
    got = by_id(payload)
    assert_entry(got["meow-over"], expected("meow-over", "meowload", "exhausted", remaining=-250))
    assert_entry(got["uw-over"], expected("uw-over", "unwatermark", "exhausted", remaining=-3.5))
    assert_entry(got["sb-total"], expected("sb-total", "smarterbot", "low", remaining=757, used=243, threshold=1000))
    assert_entry(got["sb-code"], expected("sb-code", "smarterbot", "error", error=("auth", "Key expired", 200)))
    assert_entry(got["sv-nostatus"], expected("sv-nostatus", "sociavault", "ok", remaining=950))
    for account_id, http_status in (("sv-proxy", 404), ("meow-proxy", 403)):
        error = got[account_id]["error"]
        assert (got[account_id]["state"], error["kind"], error["http_status"]) == ("error", "bad_response",
                                                                                     http_status)
        assert "not the provider's answer" not in error["message"]  # names the provider
        assert "check the base URL" in error["message"]

    proc = cli.run("check", config=config, extra_env={"LC_ALL": "C.UTF-8"})
    (over,) = [line for line in proc.stdout.splitlines() if line.startswith("MeowLoad ") and "Used up" in line]
    assert "-250 credits" in over


def test_check_says_until_when_a_rate_limited_account_waits(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    entries = [account(server, "meow-busy", "meowload",
                       Reply(429, {"message": "quota used"}, {"Retry-After": format_datetime(until, usegmt=True)}))]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({"meow-busy": "key-meow-busy"})
    proc = cli.run("check", config=config, extra_env={"TZ": "UTC", "LC_ALL": "C.UTF-8"})
    assert proc.returncode == 3, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("MeowLoad ")]
    assert f"rate limited until {until:%H:%M}: quota used" in row
    assert "retrying in" not in row


def test_table_is_aligned_with_grouped_numbers(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    entries = [
        account(server, "t-meow", "meowload", Reply(200, {"availableCredits": 282539}), label="Main"),
        account(server, "t-bot", "smarterbot", Reply(200, SB_UNLIMITED), label="Support bot"),
        account(server, "t-vault", "sociavault", Reply(200, SV_OK), label="Vault", thresholds=[100, 10, 0]),
        account(server, "t-broken", "meowload", Reply(401, {"message": "Invalid or expired API Key"}),
                label="Broken"),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({e["id"]: f"key-{e['id']}" for e in entries})
    proc = cli.run("check", config=config, extra_env={"LC_ALL": "C.UTF-8"})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    rows = {}
    for label in ("Main", "Support bot", "Vault", "Broken"):
        (line,) = [x for x in lines if x.startswith(label + " ")]
        rows[label] = line
    assert "282,539" in rows["Main"]
    assert "243 used · no limit" in rows["Support bot"]
    assert "950" in rows["Vault"]
    assert re.search(r"\bError\b", rows["Broken"])
    assert "Key refused: Invalid or expired API Key" in rows["Broken"]  # plain words, not "auth:"

    providers = {"Main": "MeowLoad", "Support bot": "SmarterBot", "Vault": "SociaVault", "Broken": "MeowLoad"}
    states = {"Main": "OK", "Support bot": "OK", "Vault": "OK", "Broken": "Error"}
    provider_at, state_at = set(), set()
    for label, line in rows.items():
        start = line.index(providers[label], len(label))
        provider_at.add(start)
        after = start + len(providers[label])
        match = re.search(rf"\b{states[label]}\b", line[after:])
        assert match, line
        state_at.add(after + match.start())
    assert len(provider_at) == 1, rows
    assert len(state_at) == 1, rows
    balances = {"Main": "282,539", "Support bot": "243 used · no limit", "Vault": "950"}
    starts, ends = set(), set()
    for label, text in balances.items():
        line = rows[label]
        start = line.index(text)
        gap = line.find("  ", start)  # the cell ends at the column gap (or the line's end)
        starts.add(start)
        ends.add(gap if gap >= 0 else len(line))
    assert len(starts) == 1 or len(ends) == 1, rows


# ----------------------------------------------------------------------------- usage errors

def test_usage_errors_exit_64_briefly(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [account(server, "meow-main", "meowload")], language="en")
    original = config.read_bytes()
    cases: list[tuple[str, list[str], str]] = [
        ("unknown command", ["frobnicate"], ""),
        ("unknown option", ["check", "--bogus"], ""),
        ("unknown global option", ["--no-such-flag", "check"], ""),
        ("missing provider and --id", ["accounts", "add"], ""),
        ("missing --account value", ["check", "--account"], ""),
        ("missing key set id", ["key", "set"], "sk-whatever\n"),
        ("missing remove id", ["accounts", "remove"], ""),
        ("id in use", ["accounts", "add", "meowload", "--id", "meow-main"], ""),
        ("unknown provider", ["accounts", "add", "nosuchprovider", "--id", "other"], ""),
        ("bad thresholds", ["accounts", "add", "meowload", "--id", "t-bad", "--thresholds", "1000,ten,0"], ""),
        ("http base url off loopback", ["accounts", "add", "meowload", "--id", "u-bad", "--base-url",
                                        "http://example.com"], ""),
        ("remove unknown id", ["accounts", "remove", "nope"], ""),
        ("key set unknown id", ["key", "set", "nope"], "sk-whatever\n"),
        # An unknown but valid id is not an error for key delete: it reaches a key left by a removed account.
        ("key delete something that is no id", ["key", "delete", "Not An Id"], ""),
    ]
    for what, args, stdin in cases:
        assert_usage_error(cli.run(*args, stdin=stdin, config=config), what)
    assert config.read_bytes() == original
    assert cli.stored_key("nope") is None


def test_key_on_the_command_line_is_refused_and_not_echoed(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [account(server, "meow-main", "meowload")], language="en")
    proc = cli.run("key", "set", "meow-main", "sk-ARGV-secret-991", config=config)
    assert_usage_error(proc, "key set with the key in argv")
    assert cli.stored_key("meow-main") is None
    assert "sk-ARGV-secret-991" not in proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- config files

BAD_TOML = (b'# Credit Tray test config\nlanguage = "en"\n\n[[accounts]]\nid = "meow-main"\n'
            b'provider = "meowload"\nlabel = "Main account\n')  # unterminated string on line 7
NOT_UTF8 = (b'language = "en"\n[[accounts]]\nid = "meow-main"\nprovider = "meowload"\n'
            b'label = "Caf\xe9"\n')  # Latin-1 on line 5


@pytest.mark.parametrize(("content", "line"), [(BAD_TOML, 7), (NOT_UTF8, 5)], ids=["bad-toml", "not-utf8"])
def test_unreadable_config_stops_every_command(cli: Cli, content: bytes, line: int) -> None:
    # Let the product create its config where it keeps it, then break that file.
    proc = cli.run("accounts", "add", "meowload", "--id", "meow-main")
    assert proc.returncode == 0, proc.stderr
    (path,) = config_files(cli)
    path.write_bytes(content)
    listing = sorted(p.name for p in path.parent.iterdir())
    commands: list[tuple[list[str], str]] = [
        (["check"], ""),
        (["check", "--json"], ""),
        (["accounts", "list"], ""),
        (["accounts", "list", "--json"], ""),
        (["accounts", "add", "sociavault", "--id", "vault"], ""),
        (["accounts", "remove", "meow-main"], ""),
        (["key", "set", "meow-main"], "sk-config-test\n"),
        (["key", "delete", "meow-main"], ""),
        (["providers"], ""),
    ]
    for args, stdin in commands:
        proc = cli.run(*args, stdin=stdin)
        what = " ".join(args)
        assert proc.returncode == 78, f"{what}: exit {proc.returncode} {proc.stderr!r}"
        lines = stderr_lines(proc)
        assert len(lines) == 1, f"{what}: {proc.stderr!r}"
        assert str(path) in lines[0], f"{what}: the file is not named: {lines[0]!r}"
        assert re.search(rf"(:{line}\b|\bline {line}\b)", lines[0]), f"{what}: no line {line}: {lines[0]!r}"
        assert path.read_bytes() == content, f"{what} changed the file"
    assert sorted(p.name for p in path.parent.iterdir()) == listing
    assert cli.stored_key("meow-main") is None


def test_invalid_accounts_are_config_errors_and_the_rest_still_work(cli: Cli, server: FakeServer,
                                                                     tmp_path: Path) -> None:
    entries = [
        account(server, "good-a", "meowload", Reply(200, {"availableCredits": 282539})),
        account(server, "bad-provider", "nosuch"),
        {**account(server, "dup-target", "sociavault", Reply(200, SV_OK)), "id": "good-a"},
        {"id": "bad-url", "provider": "meowload", "base_url": "http://example.com"},
        account(server, "bad-thresholds", "meowload", Reply(200, {"availableCredits": 5}),
                thresholds=["1000", "10"]),
        account(server, "good-b", "unwatermark", Reply(200, UW_OK), thresholds=[500, 100, 0]),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({i: f"key-{i}" for i in ("good-a", "bad-provider", "bad-url", "bad-thresholds", "good-b")})

    status, payload, before, after = cli.check_json(config=config)
    accounts = payload["accounts"]
    assert [e["id"] for e in accounts] == ["good-a", "bad-provider", "good-a", "bad-url", "bad-thresholds",
                                           "good-b"]
    assert_entry(accounts[0], expected("good-a", "meowload", "ok", remaining=282539))
    fresh(accounts[0], before, after)
    assert_entry(accounts[5], expected("good-b", "unwatermark", "ok", remaining=1234))
    fresh(accounts[5], before, after)

    def assert_config_error(entry: dict[str, Any], hint: str) -> None:
        assert entry["state"] == "error", entry
        assert entry["error"]["kind"] == "config", entry
        assert entry["error"]["http_status"] is None, entry
        assert hint in entry["error"]["message"].lower(), entry
        assert (entry["remaining"], entry["fetched_at"]) == (None, None), entry

    assert_config_error(accounts[1], "nosuch")
    assert_config_error(accounts[3], "https")
    assert_config_error(accounts[4], "threshold")
    assert status == 3
    assert server.requests_to(route("dup-target", "sociavault")) == []
    assert server.requests_to(route("bad-thresholds", "meowload")) == []
    assert server.requests_to(route("bad-provider", "meowload")) == []
    assert len(server.requests_to(route("good-a", "meowload"))) == 1
    # The other commands keep working on such a file.
    assert [e["id"] for e in cli.list_json(config=config)][:1] == ["good-a"]
    # The entry reusing id "good-a" is its own config error, not a second copy of the first account.
    assert_config_error(accounts[2], "good-a")


def test_missing_config_means_no_accounts_and_add_creates_it(cli: Cli) -> None:
    status, payload, _, _ = cli.check_json()
    assert (status, payload["accounts"]) == (3, [])  # nothing checked: UNKNOWN, not OK
    proc = cli.run("check")
    assert proc.returncode == 3, proc.stderr
    assert cli.list_json() == []

    proc = cli.run("accounts", "add", "meowload", "--id", "meow-main")
    assert proc.returncode == 0, proc.stderr
    (path,) = config_files(cli)
    data = tomllib.loads(path.read_text("utf-8"))
    assert [(a["id"], a["provider"]) for a in data["accounts"]] == [("meow-main", "meowload")]
    (entry,) = cli.list_json()
    assert {k: entry[k] for k in LIST_FIELDS} == {
        "id": "meow-main", "provider": "meowload", "label": "MeowLoad", "base_url": "https://api.meowload.net",
        "thresholds": MEOWLOAD_THRESHOLDS, "enabled": True, "has_key": False}


# ----------------------------------------------------------------------------- accounts and keys

COMMENTED = """\
# My Credit Tray settings: keep this comment
refresh_minutes = 5  # check every five minutes
language = "en"

# the main MeowLoad account
[[accounts]]
id = "meow-main"
provider = "meowload"
label = "Main"   # shown in the tray
"""


def test_accounts_add_list_remove(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(COMMENTED, encoding="utf-8")
    proc = cli.run("accounts", "add", "smarterbot", "--id", "bot", "--label", "Support bot", "--base-url",
                   server.url, "--thresholds", "1000,100,0", config=config)
    assert proc.returncode == 0, proc.stderr
    text = config.read_text("utf-8")
    for comment in ("# My Credit Tray settings: keep this comment", "# check every five minutes",
                    "# the main MeowLoad account", "# shown in the tray"):
        assert comment in text, f"lost {comment!r}:\n{text}"
    data = tomllib.loads(text)
    assert data["refresh_minutes"] == 5
    assert [a["id"] for a in data["accounts"]] == ["meow-main", "bot"]

    listed = {e["id"]: e for e in cli.list_json(config=config)}
    assert {k: listed["meow-main"][k] for k in LIST_FIELDS} == {
        "id": "meow-main", "provider": "meowload", "label": "Main", "base_url": "https://api.meowload.net",
        "thresholds": MEOWLOAD_THRESHOLDS, "enabled": True, "has_key": False}
    assert {k: listed["bot"][k] for k in LIST_FIELDS} == {
        "id": "bot", "provider": "smarterbot", "label": "Support bot", "base_url": server.url,
        "thresholds": [1000, 100, 0], "enabled": True, "has_key": False}

    assert cli.run("key", "set", "bot", stdin="sk-bot-secret-42\n", config=config).returncode == 0
    assert {e["id"]: e["has_key"] for e in cli.list_json(config=config)} == {"meow-main": False, "bot": True}

    proc = cli.run("accounts", "remove", "bot", config=config)
    assert proc.returncode == 0, proc.stderr
    assert [e["id"] for e in cli.list_json(config=config)] == ["meow-main"]
    assert cli.stored_key("bot") is None
    assert "# shown in the tray" in config.read_text("utf-8")

    # The same id again starts without a key.
    assert cli.run("accounts", "add", "smarterbot", "--id", "bot", config=config).returncode == 0
    listed = {e["id"]: e for e in cli.list_json(config=config)}
    assert listed["bot"]["has_key"] is False
    assert (listed["bot"]["label"], listed["bot"]["base_url"]) == ("SmarterBot", "https://chat.smarterbot.ai")
    assert all("sk-bot-secret-42" not in out for out in cli.outputs)


def test_accounts_add_with_empty_thresholds_writes_an_empty_list_and_means_no_alerts(
        cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    proc = cli.run("accounts", "add", "meowload", "--id", "quiet", "--base-url", server.url + "/quiet",
                   "--thresholds", "", config=config)
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads(config.read_text("utf-8"))["accounts"][0]["thresholds"] == []
    assert cli.list_json(config=config)[0]["thresholds"] == []
    # A balance below every default threshold is still "ok": the user asked for no levels at all.
    server.route(route("quiet", "meowload"), Reply(200, {"availableCredits": 50}))
    cli.seed_keys({"quiet": "key-quiet"})
    status, payload, _, _ = cli.check_json(config=config)
    assert (status, payload["accounts"][0]["state"], payload["accounts"][0]["threshold"]) == (0, "ok", None)


def test_key_set_reads_stdin_stripped_and_key_delete(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    secret = "sk-live-ABC123"
    entries = [
        account(server, "meow-main", "meowload", Reply(200, {"availableCredits": 282539})),
        account(server, "meow-two", "meowload", Reply(200, {"availableCredits": 282539})),
    ]
    config = write_config(tmp_path / "config.toml", entries, language="en")

    proc = cli.run("key", "set", "meow-main", stdin=f"\n\t  {secret}  \r\n\n", config=config)
    assert proc.returncode == 0, proc.stderr
    status, payload, _, _ = cli.check_json("--account", "meow-main", config=config)
    assert (status, payload["accounts"][0]["state"]) == (0, "ok")
    (request,) = server.requests_to(route("meow-main", "meowload"))
    assert request.headers["x-api-key"] == secret

    # Empty or blank input stores nothing, and does not replace a stored key.
    for blank in ("", "   \n\t\n"):
        proc = cli.run("key", "set", "meow-two", stdin=blank, config=config)
        assert proc.returncode != 0, f"blank key {blank!r} accepted"
        proc = cli.run("key", "set", "meow-main", stdin=blank, config=config)
        assert proc.returncode != 0, f"blank key {blank!r} accepted"
    assert cli.stored_key("meow-two") is None
    assert cli.stored_key("meow-main") == secret
    assert {e["id"]: e["has_key"] for e in cli.list_json(config=config)} == {"meow-main": True, "meow-two": False}

    proc = cli.run("key", "delete", "meow-main", config=config)
    assert proc.returncode == 0, proc.stderr
    assert cli.stored_key("meow-main") is None
    status, payload, _, _ = cli.check_json("--account", "meow-main", config=config)
    entry = payload["accounts"][0]
    assert (status, entry["state"], entry["error"]["kind"], entry["error"]["http_status"]) == (
        3, "error", "no_key", None)
    assert len(server.requests_to(route("meow-main", "meowload"))) == 1  # not fetched without a key
    assert all(secret not in out for out in cli.outputs)


@pytest.mark.parametrize("pasted", ["sk-live-ÄBC123", "sk-live ABC123", "sk‐live‐ABC123", "Bearer sk-live-ABC123"])
def test_key_set_refuses_a_key_with_non_ascii_or_spaces_inside(cli: Cli, server: FakeServer, tmp_path: Path,
                                                                pasted: str) -> None:
    config = write_config(tmp_path / "config.toml", [account(server, "meow-main", "meowload")])
    proc = cli.run("key", "set", "meow-main", stdin=pasted + "\n", config=config)
    assert proc.returncode == 65, proc.stderr
    (line,) = stderr_lines(proc)
    assert line.startswith("credit-tray: not an API key: ")
    assert line.endswith("nothing stored")
    assert pasted not in proc.stdout + proc.stderr
    assert cli.stored_key("meow-main") is None


def test_a_stored_key_that_cannot_be_sent_is_a_no_key_error_and_nothing_is_sent(cli: Cli, server: FakeServer,
                                                                                tmp_path: Path) -> None:
    """Stored before keys were checked (or by another tool): a clear no_key, not "unexpected answer"."""
    entries = [account(server, "meow-main", "meowload", Reply(200, {"availableCredits": 5000})),
               account(server, "meow-two", "meowload", Reply(200, {"availableCredits": 5000}))]
    config = write_config(tmp_path / "config.toml", entries, language="en")
    cli.seed_keys({"meow-main": "sk-live-ÄBC123", "meow-two": "sk-live ABC123"})
    status, payload, _, _ = cli.check_json(config=config)
    assert status == 3
    for entry in payload["accounts"]:
        assert (entry["state"], entry["error"]["kind"], entry["error"]["http_status"]) == ("error", "no_key", None)
        assert entry["error"]["message"].startswith("the stored API key cannot be used: it has ")
        assert entry["error"]["message"].endswith("store it again with 'credit-tray key set ID' or in Settings")
    assert server.requests == []
    assert all("ÄBC123" not in out and "live ABC" not in out for out in cli.outputs)


# ----------------------------------------------------------------------------- providers, version

def test_providers_json(cli: Cli) -> None:
    proc = cli.run("providers", "--json")
    assert proc.returncode == 0, proc.stderr
    entries = [e for e in json.loads(proc.stdout) if e["kind"] == "built-in"]  # presets: test_cli_custom.py
    assert [e["id"] for e in entries] == ["meowload", "smarterbot", "sociavault", "unwatermark"]
    for entry in entries:
        assert set(entry) >= {"id", "name", "base_url", "unit", "thresholds", "top_up_url"}
        assert entry["name"] == NAMES[entry["id"]]
        assert entry["base_url"] == DEFAULT_BASE_URLS[entry["id"]]
        assert entry["unit"] == UNITS[entry["id"]]
        assert entry["thresholds"]
        assert all(isinstance(t, int | float) and not isinstance(t, bool) and t >= 0 for t in entry["thresholds"])
        assert isinstance(entry["top_up_url"], str)
        assert entry["top_up_url"].startswith("https://")
    assert entries[0]["thresholds"] == MEOWLOAD_THRESHOLDS
    assert cli.run("providers").returncode == 0


def test_version(cli: Cli) -> None:
    proc = cli.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert version("credit-tray") in proc.stdout


# ----------------------------------------------------------------------------- the key-leak search

def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def test_canary_key_never_leaks(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    other = FakeServer().start()  # a host a redirect points at; it must never hear from us
    try:
        _leak_session(cli, server, other, tmp_path)
    finally:
        other.stop()


def _leak_session(cli: Cli, server: FakeServer, other: FakeServer, tmp_path: Path) -> None:
    ids = {"leak-meow": "meowload", "leak-bot": "smarterbot", "leak-vault": "sociavault", "leak-uw": "unwatermark"}
    config = tmp_path / "leak.toml"
    for account_id, provider in ids.items():
        args = ["accounts", "add", provider, "--id", account_id, "--base-url", f"{server.url}/{account_id}"]
        assert cli.run(*args, config=config).returncode == 0
        assert cli.run("key", "set", account_id, stdin=f"{CANARY}\n", config=config).returncode == 0

    def script(meow: Reply, bot: Reply, vault: Reply, uw: Reply) -> None:
        for (account_id, provider), reply in zip(ids.items(), (meow, bot, vault, uw), strict=True):
            server.route(route(account_id, provider), reply)

    html = f"<html><body><h1>Error</h1><p>key {CANARY} rejected</p></body></html>"
    sessions = [
        # Providers echoing the key in their own error messages; an HTML 500; a reset connection.
        (Reply(401, {"message": f"API Key {CANARY} 错误,请检查 API Key 是否正确"}),
         Reply(200, sb_envelope_error(401, f"Invalid secret key: {CANARY}")),
         Reply(500, html, {"Content-Type": "text/html"}),
         Reply(reset=True)),
        # All good.
        (Reply(200, {"availableCredits": 282539}), Reply(200, SB_UNLIMITED), Reply(200, SV_OK), Reply(200, UW_OK)),
        # Cut off mid-body; rate limited; redirected to another host; an HTML page with status 200.
        (Reply(200, b'{"availableCredits": 28', close_after=10),
         Reply(429, {"Message": f"slow down {CANARY}"}, {"Retry-After": "1"}),
         Reply(302, b"", {"Location": f"{other.url}/steal?key={CANARY}"}),
         Reply(200, html, {"Content-Type": "text/html"})),
        # Not JSON at all; a 5xx; user not found; 800002 with the key in the message.
        (Reply(200, f"key={CANARY}; credits=12", {"Content-Type": "text/plain"}),
         Reply(503, {"Message": f"backend down for {CANARY}"}),
         Reply(404, {"error": f"User not found for key {CANARY}"}),
         Reply(200, {"code": 800002, "message": {"en": f"User api key {CANARY} not exist.", "zh": "用户api key不存在"},
                     "result": None})),
    ]
    for index, replies in enumerate(sessions):
        script(*replies)
        proc = cli.run("check", *(["--json"] if index % 2 == 0 else []), config=config)
        assert proc.returncode in (0, 1, 2, 3), proc.stderr
    proc = cli.run("check", "--json", "--account", "leak-vault", config=config)
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["accounts"][0]["error"]["kind"] == "auth"
    for args in (["accounts", "list"], ["accounts", "list", "--json"], ["providers"]):
        assert cli.run(*args, config=config).returncode == 0
    assert cli.run("key", "set", "no-such", stdin=f"{CANARY}\n", config=config).returncode == 64
    assert cli.run("key", "delete", "leak-uw", config=config).returncode == 0
    assert cli.run("accounts", "remove", "leak-bot", config=config).returncode == 0
    assert cli.run("check", config=config).returncode in (1, 2, 3)

    # The canary went to the configured server only, in the documented header only.
    assert other.requests == []
    header = {"meowload": "x-api-key", "smarterbot": "authorization", "sociavault": "x-api-key",
              "unwatermark": "zf-api-key"}
    carried = set()
    for request in server.requests:
        owner = request.path.split("/")[1]
        assert owner in ids, request.path
        assert CANARY not in request.path
        assert CANARY.encode() not in request.body
        for name, value in request.headers.items():
            if CANARY in value:
                assert name == header[ids[owner]], (owner, name)
                carried.add(owner)
    assert carried == set(ids)  # the search below is not vacuous: every account did send the key

    # Nothing printed and no file written holds it, bar the throwaway keyring's own file.
    for out in cli.outputs:
        assert CANARY not in out, out
        assert "7f3a9c" not in out, out
    assert cli.keyring_file.is_file()
    state_files = [p for p in files_under(Path(cli.env["XDG_DATA_HOME"])) if p != cli.keyring_file]
    assert state_files, "no state was persisted in the data dir"
    searched = []
    for path in files_under(tmp_path):
        if path == cli.keyring_file:
            continue
        data = path.read_bytes()
        searched.append(path)
        assert CANARY.encode() not in data, f"the key is in {path}"
        assert b"7f3a9c" not in data, f"part of the key is in {path}"
    assert config in searched
    assert set(state_files) <= set(searched)


def test_check_has_twenty_accounts_in_flight_at_once_and_at_most_eight_per_host(cli: Cli, tmp_path: Path) -> None:
    """20 accounts spread over 4 hosts are all asked in one round; one host never gets more than 8 at once.

    Every answer is held until the test has seen the requests it expects, so a fetcher that
    waits for one answer before sending the next request would never get there.
    """
    gate = threading.Event()
    hosts = [FakeServer().start() for _ in range(5)]
    try:
        accounts = []
        for n in range(20):  # 5 per host on the first four
            accounts.append(account(hosts[n % 4], f"spread-{n}", "meowload",
                                    Reply(200, {"availableCredits": 5000 + n}, gate=gate)))
        for n in range(12):  # and a crowd on the fifth
            accounts.append(account(hosts[4], f"crowd-{n}", "meowload",
                                    Reply(200, {"availableCredits": 7000 + n}, gate=gate)))
        config = write_config(tmp_path / "config.toml", accounts)
        cli.seed_keys({a["id"]: f"sk-many-{a['id']}" for a in accounts})
        proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), "check", "--json"],
                                env=cli.env, cwd=cli.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while sum(len(h.requests) for h in hosts) < 28 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            waiting = [len(h.requests) for h in hosts]
            time.sleep(0.3)  # room for a 9th request to the crowded host, if anything would send it
            crowd_waiting = len(hosts[4].requests)
        finally:
            gate.set()
            out, err = proc.communicate(timeout=60)
        assert waiting == [5, 5, 5, 5, 8], waiting
        assert crowd_waiting == 8
        assert hosts[4].max_in_flight == 8
        assert "Traceback" not in err
        payload = json.loads(out)
        assert [a["id"] for a in payload["accounts"]] == [a["id"] for a in accounts]
        assert all(a["error"] is None for a in payload["accounts"]), payload
    finally:
        for host in hosts:
            host.stop()


def test_commands_that_fetch_nothing_import_neither_httpx_nor_keyring(cli: Cli) -> None:
    """Each command imports what it uses: listing providers needs no HTTP client, keyring or package metadata."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tray_app", "providers"], env=cli.env,
                          cwd=cli.cwd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "meowload" in proc.stdout.lower()
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "tray_app.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in ("httpx", "httpcore", "keyring", "PySide6")}
    assert "importlib.metadata" not in imported
    version_run = cli.run("--version")
    assert version_run.stdout.strip() == f"credit-tray {version('credit-tray')}"


def test_a_reader_that_leaves_early_gets_no_complaint(cli: Cli) -> None:
    """`credit-tray providers | head -1`: the pipe closes under the writer; it stops quietly, as `ls | head` does."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already gone: the first write fails, every time
    try:
        proc = subprocess.run([sys.executable, "-m", "tray_app", "providers"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=cli.env, cwd=cli.cwd, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141
