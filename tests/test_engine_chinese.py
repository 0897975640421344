"""The engine's own words in Chinese: errors made on the worker thread, custom-provider checks, Waybar.

Each message is looked up in the catalogue when the error is made, so a refresh run after the
language changed speaks the new language, and nothing stored (the history's error kinds, the
JSON's codes) changes with it. Provider and field names stay as they are.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import keyring
import pytest

from tests.fakeserver import MEOWLOAD_PATH, FakeServer, Reply
from tray_app import i18n, waybar
from tray_app.cli import result_json
from tray_app.config import load
from tray_app.engine import Engine, RefreshReport
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import SERVICE, KeyStore
from tray_app.model import AccountResult, AccountState, ErrorDetail, ErrorKind
from tray_app.providers.custom import FIELDS, SpecError, schema_markdown, spec_from_table

POLICY = FetchPolicy(attempt_timeout=2.0, max_attempts=1, total_timeout=3.0)
HTML_404 = "<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "providers" / "custom.md"


@pytest.fixture(autouse=True)
def catalogue_compiled() -> None:
    """The Chinese catalogue is built by set-up (scripts/setup.sh); without it there is nothing to test."""
    assert i18n.set_language("zh"), "no compiled catalogue: run scripts/translations.py compile"
    i18n.set_language("en")


def write_config(path: Path, server: FakeServer, ids: list[str]) -> Path:
    """MeowLoad accounts, each behind its own path prefix on the server (``/ID/openapi/…``)."""
    lines = []
    for account_id in ids:
        lines += ["[[accounts]]", f'id = "{account_id}"', 'provider = "meowload"',
                  f'base_url = "{server.url}/{account_id}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refresh_on_a_worker(engine: Engine) -> RefreshReport:
    """One refresh the way the tray runs it: its own event loop on another thread."""
    reports: list[RefreshReport] = []
    failures: list[BaseException] = []

    def work() -> None:
        async def go() -> RefreshReport:
            try:
                config = engine.load_config()
                return await engine.refresh(config, engine.select(config), language="en")
            finally:
                await engine.aclose()

        try:
            reports.append(asyncio.run(go()))
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=work, name="credit-tray-worker")
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert not failures, failures
    return reports[0]


def result_of(report: RefreshReport, account_id: str) -> AccountResult:
    (result,) = [r for r in report.results if r.account_id == account_id]
    return result


@pytest.fixture
def engine(server: FakeServer, isolated_env: dict[str, str], tmp_path: Path) -> Engine:
    """Two MeowLoad accounts on the loopback server: ``good`` answers, ``proxied`` gets a proxy's 401 page."""
    config = write_config(tmp_path / "config.toml", server, ["good", "proxied"])
    keys = KeyStore()
    keys.set("good", "meow-key-good-0001")
    keys.set("proxied", "meow-key-proxied-0002")
    return Engine(config, keys=keys, history=HistoryStore(tmp_path / "history.sqlite3"), policy=POLICY)


def answer(server: FakeServer, good: Reply, proxied: Reply) -> None:
    server.route(f"/good{MEOWLOAD_PATH}", good)
    server.route(f"/proxied{MEOWLOAD_PATH}", proxied)


# --------------------------------------------------------------------------- errors made on the worker thread

def test_a_refusal_that_is_not_the_providers_is_worded_in_the_language_set_when_it_is_made(
        server: FakeServer, engine: Engine, tmp_path: Path) -> None:
    answer(server, Reply(200, {"availableCredits": 1500}), Reply(401, HTML_404, {"Content-Type": "text/html"}))

    i18n.set_language("zh")  # as Settings does, on the GUI thread; the refresh runs on the worker
    chinese = result_of(refresh_on_a_worker(engine), "proxied")
    i18n.set_language("en")  # switched back: the next refresh of the same engine speaks English
    english = result_of(refresh_on_a_worker(engine), "proxied")

    assert chinese.error is not None
    assert english.error is not None
    assert chinese.error.message == ("HTTP 401 返回的是 HTML 页面，不是 MeowLoad 的响应：请检查基础 URL 或中间的代理")
    assert english.error.message == ("HTTP 401 with an HTML page that is not MeowLoad's answer: "
                                     "check the base URL or the proxy in between")
    # What code reads is the same in both: the kind, the status, the state.
    assert (chinese.error.kind, chinese.error.http_status, chinese.state) == \
           (english.error.kind, english.error.http_status, english.state) == \
           (ErrorKind.BAD_RESPONSE, 401, AccountState.ERROR)


@pytest.mark.parametrize(("reply", "chinese", "english"), [
    (Reply(200, "<html><body>Maintenance</body></html>", {"Content-Type": "text/html"}),
     "响应是 HTML 页面，不是 JSON", "the answer is an HTML page, not JSON"),
    (Reply(200, {"credits": 5}), "缺少 availableCredits", "availableCredits is missing"),
    (Reply(200, {"availableCredits": "lots"}), "availableCredits 不是数字", "availableCredits is not a number"),
    (Reply(429, {"unexpected": True}), "请求过于频繁（HTTP 429）", "too many requests (HTTP 429)"),
])
def test_an_odd_answer_gives_our_message_in_each_language(server: FakeServer, engine: Engine, reply: Reply,
                                                          chinese: str, english: str) -> None:
    answer(server, reply, reply)
    messages = {}
    for language in ("zh", "en"):
        i18n.set_language(language)
        result = result_of(refresh_on_a_worker(engine), "good")
        assert result.error is not None
        messages[language] = result.error.message
    assert messages == {"zh": chinese, "en": english}


def test_our_own_network_words_are_chinese(isolated_env: dict[str, str], tmp_path: Path) -> None:
    with FakeServer() as gone:
        url = gone.url
    config = tmp_path / "config.toml"
    config.write_text(f'[[accounts]]\nid = "meow"\nprovider = "meowload"\nbase_url = "{url}"\n', encoding="utf-8")
    KeyStore().set("meow", "meow-key-0001")
    engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "h.sqlite3"), policy=POLICY)

    i18n.set_language("zh")
    result = result_of(refresh_on_a_worker(engine), "meow")

    assert result.error is not None
    assert result.error.kind is ErrorKind.NETWORK
    assert result.error.message == "无法连接 127.0.0.1"


def test_a_stored_key_that_cannot_be_sent_is_told_apart_by_its_detail_not_its_words(
        server: FakeServer, isolated_env: dict[str, str], tmp_path: Path) -> None:
    """The menu words an unusable key differently from a missing one: code tests ``detail``, never the message."""
    config = write_config(tmp_path / "config.toml", server, ["good"])
    keyring.set_password(SERVICE, "good", "sk-live ÄBC123")  # stored by another tool, before keys were checked
    engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "h.sqlite3"), policy=POLICY)
    errors = {}
    for language in ("zh", "en"):
        i18n.set_language(language)
        error = result_of(refresh_on_a_worker(engine), "good").error
        assert error is not None
        errors[language] = error
    assert errors["zh"].message.startswith("已保存的 API 密钥无法使用：")
    assert errors["zh"].message.endswith("；请用“credit-tray key set ID”或在设置中重新保存")
    assert errors["en"].message.startswith("the stored API key cannot be used: ")
    assert {(e.kind, e.detail) for e in errors.values()} == {(ErrorKind.NO_KEY, ErrorDetail.KEY_UNUSABLE)}
    assert server.requests == []


def test_nothing_stored_or_scripted_changes_with_the_language(server: FakeServer, engine: Engine,
                                                              tmp_path: Path) -> None:
    """The history keeps kinds and statuses; check --json differs only in the human ``message``."""
    good, proxied = Reply(200, {"availableCredits": 1500}), Reply(401, HTML_404, {"Content-Type": "text/html"})
    shown: dict[str, list[dict[str, Any]]] = {}
    for language in ("zh", "en"):
        i18n.set_language(language)
        answer(server, good, proxied)
        report = refresh_on_a_worker(engine)
        shown[language] = [result_json(r) for r in report.results]

    def without_times_and_words(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for entry in entries:
            entry = {k: v for k, v in entry.items() if k not in ("fetched_at", "runs_out_at")}
            if entry["error"]:
                entry["error"] = {k: v for k, v in entry["error"].items() if k != "message"}
            out.append(entry)
        return out

    assert without_times_and_words(shown["zh"]) == without_times_and_words(shown["en"])
    errors = {lang: next(e["error"] for e in entries if e["error"]) for lang, entries in shown.items()}
    assert errors["zh"]["kind"] == errors["en"]["kind"] == "bad_response"
    assert errors["zh"]["message"] != errors["en"]["message"]
    assert "MeowLoad" in errors["zh"]["message"]
    assert "基础 URL" in errors["zh"]["message"]
    json.dumps(shown)  # JSON as printed, Chinese included

    history = HistoryStore(tmp_path / "history.sqlite3")
    runs = {lang: history.errors(entry["id"]) for lang, entries in shown.items() for entry in entries
            if entry["error"]}
    history.close()
    (run,) = runs["zh"]
    assert (run.kind, run.http_status, run.count) == (ErrorKind.BAD_RESPONSE, 401, 2)  # one run: the same failure


# --------------------------------------------------------------------------- the custom provider's checks and form

@pytest.mark.parametrize(("table", "chinese", "english"), [
    ({"url": "http://api.example.com/b", "remaining": "data.balance"},
     "custom.url 必须使用 https（仅本机回环地址可用普通 http）",
     "custom.url must be https (plain http is allowed only on loopback)"),
    ({"url": "https://api.example.com/b", "remaining": "data[x]"},
     "custom.remaining 不是有效的路径：路径中的 [x] 既不是 [0] 这样的索引，也不是 [currency=USD] 这样的筛选条件",
     "custom.remaining is not a path: it has [x], which is neither an index like [0] nor a filter like "
     "[currency=USD]"),
    ({"url": "https://api.example.com/b", "remaining": "a", "thresholds": ["z"]},
     "custom.thresholds 中的 'z' 不是数字", "custom.thresholds has 'z', which is not a number"),
    ({"url": "https://api.example.com/b", "remaining": "a", "key_format": "Token"},
     'custom.key_format 必须包含 {key}，表示密钥的位置（例如 "Bearer {key}"）',
     'custom.key_format must contain {key}, where the key goes (e.g. "Bearer {key}")'),
    ({"url": "https://api.example.com/b", "colour": "red"},
     "custom.colour 不是自定义服务商的字段（已知字段：", "custom.colour is not a field of a custom provider (known: "),
])
def test_custom_provider_errors_in_chinese_keep_the_field_path(table: dict[str, Any], chinese: str,
                                                               english: str) -> None:
    words = {}
    for language in ("zh", "en"):
        i18n.set_language(language)
        with pytest.raises(SpecError) as caught:
            spec_from_table(table)
        words[language] = str(caught.value)
    assert words["zh"].startswith(chinese), words["zh"]
    assert words["en"].startswith(english), words["en"]


def test_a_config_with_a_broken_custom_provider_names_the_field_in_chinese(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nid = "mine"\nprovider = "custom"\n[accounts.custom]\n'
                      'url = "https://api.example.com/b"\nremaining = "data.balance"\nmethod = "PUT"\n',
                      encoding="utf-8")
    i18n.set_language("zh")
    (account,) = load(config).accounts
    assert account.problem is not None
    assert "custom.method 必须是以下之一：GET, POST" in account.problem


def test_the_forms_labels_and_help_follow_the_language_and_the_docs_stay_english() -> None:
    field = FIELDS["thresholds"]
    english = (field.label, field.help, field.section)
    i18n.set_language("zh")
    assert (field.label, field.help, field.section) == ("提醒阈值", "默认的提醒阈值，从高到低", "显示")
    with pytest.raises(SpecError) as caught:
        spec_from_table({"url": "https://api.example.com/b", "remaining": "a", "thresholds": ["z"]})
    assert caught.value.about(field.label) == "提醒阈值中的 'z' 不是数字"  # no space between Chinese words
    assert caught.value.problem == "中的 'z' 不是数字"  # what the form writes after the label today
    table = schema_markdown()  # docs/providers/custom.md: English whatever the interface speaks
    assert "| `thresholds` | Display | list of numbers |  | default alert levels, highest first |" in table
    assert table in DOCS.read_text(encoding="utf-8")
    i18n.set_language("en")
    assert (field.label, field.help, field.section) == english == (
        "Thresholds", "default alert levels, highest first", "Display")


# --------------------------------------------------------------------------- Waybar

def waybar_results(language: str, server: FakeServer, engine: Engine) -> list[AccountResult]:
    i18n.set_language(language)
    answer(server, Reply(200, {"availableCredits": 1500}), Reply(401, HTML_404, {"Content-Type": "text/html"}))
    return list(refresh_on_a_worker(engine).results)


def test_waybar_keys_and_class_do_not_change_with_the_language(server: FakeServer, engine: Engine) -> None:
    payloads = {}
    for language in ("zh", "en"):
        results = waybar_results(language, server, engine)
        payloads[language] = waybar.payload(results)
    assert set(payloads["zh"]) == set(payloads["en"]) == {"text", "tooltip", "class", "alt"}
    assert payloads["zh"]["class"] == payloads["en"]["class"] == "warning"  # 1,500 is below 2,000
    # ``text`` is the icon's number, read by a person: 1.5K in English, 1500 in Chinese (万 starts at 10,000).
    assert (payloads["zh"]["text"], payloads["en"]["text"]) == ("1500", "1.5K")

    i18n.set_language("zh")
    empty = waybar.payload([])
    assert (empty["text"], empty["class"]) == ("没有账户", "ok")
    i18n.set_language("en")
    assert waybar.payload([])["text"] == "no accounts"


def test_waybar_tooltip_is_read_in_chinese(server: FakeServer, engine: Engine) -> None:
    zh = waybar.payload(waybar_results("zh", server, engine))["tooltip"]
    en = waybar.payload(waybar_results("en", server, engine))["tooltip"]
    assert en == "MeowLoad: 1,500 credits (below 2,000)\nMeowLoad: Not MeowLoad's answer (HTTP 401): check the base URL"
    good, proxied = zh.split("\n")
    assert good.startswith("MeowLoad：1,500 ")  # the provider's name and the number as they are
    assert good.endswith("（低于 2,000）")
    assert proxied == "MeowLoad：这不是 MeowLoad 的响应（HTTP 401）：请检查基础 URL"
