"""Secrets: canary keys through a whole tray session never show up anywhere but their own request.

The session runs the real tray controller, worker thread, engine and file log (at DEBUG,
with httpx and httpcore at DEBUG too) against one loopback server per account, through
failures that echo the key back in every way a server can, successes that cross
thresholds and notify, a redirect to another host, a crash of the worker's refresh and a
crash inside a parser. Afterwards every file under the test's home, everything printed,
every notification and every menu text and tooltip seen during the session is searched for
each key and for every 12-character piece of one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_support import KEY_HEADER, store_keys, write_config
from tests.reliability_tray import MakeTray, everything_shown, make_tray, refresh, start  # noqa: F401
from tray_app.fetch import FetchPolicy
from tray_app.logs import FRAGMENT, setup_file_logging
from tray_app.providers import PROVIDERS
from tray_app.texts import Notice

CANARY = "ctk-CANARY-4f9e2b7d1a"
ACCOUNTS = {"cm": "meowload", "cb": "smarterbot", "cv": "sociavault", "cu": "unwatermark"}
KEYS = {account_id: f"{CANARY}-{account_id}-Qx7" for account_id in ACCOUNTS}
POLICY = FetchPolicy(attempt_timeout=1.0, max_attempts=2, total_timeout=2.0, backoff_base=0.01, backoff_max=0.02,
                     max_retry_wait=0.5)


def pieces(key: str) -> set[str]:
    width = min(FRAGMENT, len(key))
    return {key[i:i + width] for i in range(len(key) - width + 1)}


ALL_PIECES = set().union(*(pieces(k) for k in KEYS.values()))


def leaks(text: str) -> list[str]:
    return sorted(p for p in ALL_PIECES if p in text)


def json_escaped(text: str) -> str:
    """Every character as a \\uXXXX escape: the raw body never contains the text itself."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def raw_json(template: str, **fields: str) -> bytes:
    return template.format(**fields).encode()


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[tuple[Path, list[Any]]]:
    """The app's own log file at DEBUG, httpx and httpcore included; removed again afterwards."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("httpx").level, logging.getLogger("httpcore").level)
    sources: list[Any] = []

    def known() -> list[str]:
        return [k for source in sources for k in source()]

    path = setup_file_logging(tmp_path / "home" / ".local" / "state" / "credit-tray" / "log", known,
                              level=logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.DEBUG)
    try:
        yield path, sources
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
        logging.getLogger("httpx").setLevel(before[2])
        logging.getLogger("httpcore").setLevel(before[3])


def test_canary_keys_never_leak_through_a_whole_tray_session(qtbot, make_tray: MakeTray,  # noqa: F811
                                                             isolated_env: dict[str, str], tmp_path: Path,
                                                             debug_log: tuple[Path, list[Any]],
                                                             monkeypatch: pytest.MonkeyPatch, capfd) -> None:
    log_path, key_sources = debug_log
    servers = {account_id: FakeServer().start() for account_id in ACCOUNTS}
    elsewhere = FakeServer().start()  # redirect target: another host, must never hear from us
    try:
        hosts = {"cm": "127.0.0.1", "cb": "localhost", "cv": "127.0.0.1", "cu": "localhost"}
        accounts = [{"id": a, "provider": p, "label": "Leak", "base_url": f"http://{hosts[a]}:{servers[a].port}/{a}"}
                    for a, p in ACCOUNTS.items()]
        config = write_config(tmp_path / "config.toml", accounts, language="en")
        store_keys(KEYS)
        controller = make_tray(config, policy=POLICY)
        key_sources.append(controller.engine.keys.known_keys)
        notices: list[Notice] = []
        controller.notified.connect(notices.append)
        shown: list[str] = []

        def script(**replies: Reply) -> None:
            for account_id, reply in replies.items():
                servers[account_id].route(f"/{account_id}{PATHS[ACCOUNTS[account_id]]}", reply)

        def step() -> None:
            refresh(qtbot, controller)
            shown.append(everything_shown(controller))
            shown.append(repr(controller.results))

        k = KEYS
        html = "<html><body><h1>Error</h1><p>key {key} rejected</p></body></html>"
        # 1. Everything fails, most answers echoing the key: in a message, an HTML page, JSON escapes,
        #    a long message whose cut would leave a piece of the key, and a reset connection.
        script(cm=Reply(401, raw_json('{{"message": "API Key {k} \\u9519\\u8bef"}}', k=json_escaped(k["cm"]))),
               cb=Reply(200, raw_json('{{"Data": null, "Success": false, "Code": 401, "Message": "{m}"}}',
                                      m="x" * 282 + " " + json_escaped(k["cb"]))),  # the cut keeps 16 of its characters
               cv=Reply(500, html.format(key=k["cv"]), {"Content-Type": "text/html"}),
               cu=Reply(reset=True))
        start(qtbot, controller)
        shown.append(everything_shown(controller))
        # 2. Everything succeeds, below a threshold: one summary notification.
        script(cm=Reply(200, {"availableCredits": 1500}),
               cb=Reply(200, {"Data": {"Total": 5000, "Used": 4900, "Remain": 100}, "Version": "1.0.0",
                              "Success": True, "Code": 200, "Message": ""}),
               cv=Reply(200, {"credits": 50, "subscriptionStatus": f"past_due {k['cv']}", "subscriptionId": k["cv"]}),
               cu=Reply(200, {"code": 100000, "message": {}, "result": {"user_credits": "10"}}))
        step()
        # 3. A redirect to another host with the key in its URL, a 429 quoting the key, an HTML 200,
        #    and an unknown-key answer quoting it (an auth alert, whose notification quotes the message).
        script(cm=Reply(302, b"", {"Location": f"{elsewhere.url}/steal?key={quote(k['cm'])}"}),
               cb=Reply(429, {"Message": f"slow down {k['cb']}"}, {"Retry-After": "7200"}),
               cv=Reply(200, html.format(key=k["cv"]), {"Content-Type": "text/html"}),
               cu=Reply(200, {"code": 800002, "message": {"en": f"User api key {k['cu']} not exist."},
                              "result": None}))
        step()
        # 4. The worker's refresh crashes with a key in the exception.
        real_refresh = controller.engine.refresh

        async def crashing_refresh(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"internal failure while using {k['cm']} and {quote(k['cb'], safe='')}")

        monkeypatch.setattr(controller.engine, "refresh", crashing_refresh)
        step()
        monkeypatch.setattr(controller.engine, "refresh", real_refresh)
        # 5. A parser crashes with the key in its exception; another server sends the key in a header.
        def crashing_parse(answer: Any, language: str, now: Any) -> Any:
            raise ValueError(f"cannot parse the answer for {k['cv']}")

        monkeypatch.setitem(PROVIDERS, "sociavault", replace(PROVIDERS["sociavault"], parse=crashing_parse))
        script(cv=Reply(200, {"credits": 10, "subscriptionStatus": "active"}),
               cu=Reply(401, {"message": "refused"}, {"X-Your-Key": k["cu"], "Set-Cookie": f"key={k['cu']}"}))
        step()
        monkeypatch.undo()
        # 6. Good again, then the app's own log is handed keys directly, in every spelling.
        script(cm=Reply(200, {"availableCredits": 50000}),
               cb=Reply(200, {"Data": {"Total": -1, "Used": 1, "Remain": -1}, "Version": "1.0.0",
                              "Success": True, "Code": 200, "Message": ""}),
               cv=Reply(200, {"credits": 5000, "subscriptionStatus": "active"}),
               cu=Reply(200, {"code": 100000, "message": {}, "result": {"user_credits": "5000"}}))
        step()
        app_log = logging.getLogger("tray_app.session")
        app_log.debug("debug: key %s, url-encoded %s, json %s", k["cm"], quote(k["cb"], safe=""),
                      json.dumps({"key": k["cv"]}))
        app_log.info("cut short: %s…", k["cu"][:14])
        try:
            raise KeyError(k["cu"])
        except KeyError:
            app_log.exception("a traceback holding %r", k["cm"])
        app_log.warning("with a stack", stack_info=True, extra={"key": k["cb"]})
        controller.shutdown()
    finally:
        for server in (*servers.values(), elsewhere):
            server.stop()

    # The search is not vacuous: each key did go out, alerts did notify, the crash was logged.
    for account_id, server in servers.items():
        assert any(r.headers.get(KEY_HEADER[ACCOUNTS[account_id]]) == KEYS[account_id] for r in server.requests)
    assert len(notices) >= 2
    log_text = log_path.read_text("utf-8")
    assert "refresh failed" in log_text
    assert "Traceback" in log_text
    assert "[redacted]" in log_text
    assert "internal error while checking cv" in log_text or "internal error while refreshing cv" in log_text

    # Each key went to its own account's host only, in the documented header only.
    assert elsewhere.requests == []
    for account_id, server in servers.items():
        for request in server.requests:
            assert request.path.startswith(f"/{account_id}/")
            for name, value in request.headers.items():
                if CANARY in value:
                    assert (name, value) == (KEY_HEADER[ACCOUNTS[account_id]], KEYS[account_id])
            assert not leaks(request.path)
            assert not leaks(request.body.decode("latin-1"))

    # Nowhere else: notifications, menus and tooltips, the process's output, and every file.
    for notice in notices:
        assert not leaks(f"{notice.title}\n{notice.body}"), notice
    for text in shown:
        assert not leaks(text), leaks(text)
    out, err = capfd.readouterr()
    assert not leaks(out + err), (out + err)[-2000:]
    keyring_dir = Path(isolated_env["XDG_DATA_HOME"]) / "python_keyring"
    searched = []
    for path in tmp_path.rglob("*"):
        if path.is_file() and keyring_dir not in path.parents:
            data = path.read_bytes().decode("latin-1")
            assert not leaks(data), (path, leaks(data))
            searched.append(path.name)
    assert {"config.toml", "history.sqlite3", "credit-tray.log"} <= set(searched)


def test_a_key_goes_to_its_own_host_only(isolated_env: dict[str, str], tmp_path: Path) -> None:
    """Two accounts of the same provider on two hosts, each redirecting to the other: no key crosses."""
    import asyncio

    from tray_app.engine import Engine
    from tray_app.history import HistoryStore
    from tray_app.keys import KeyStore

    with FakeServer() as first, FakeServer() as second:
        path = PATHS["meowload"]
        first.route(f"/a{path}", Reply(200, {"availableCredits": 1}))
        first.route(f"/x{path}", Reply(307, b"", {"Location": f"http://localhost:{second.port}/b{path}"}))
        second.route(f"/b{path}", Reply(200, {"availableCredits": 2}))
        second.route(f"/y{path}", Reply(301, b"", {"Location": f"{first.url}/a{path}"}))
        accounts = [
            {"id": "a", "provider": "meowload", "base_url": f"{first.url}/a"},
            {"id": "b", "provider": "meowload", "base_url": f"http://localhost:{second.port}/b"},
            {"id": "x", "provider": "meowload", "base_url": f"{first.url}/x"},  # first host, sent to second
            {"id": "y", "provider": "meowload", "base_url": f"{second.url}/y"},  # 127.0.0.1: the second host's IP
        ]
        keys = {a["id"]: f"{CANARY}-own-{a['id']}" for a in accounts}
        store_keys(keys)
        config = write_config(tmp_path / "config.toml", accounts)

        async def go() -> Any:
            engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "history.sqlite3"),
                        notifier="tray", policy=POLICY)
            try:
                cfg = engine.load_config()
                return await engine.refresh(cfg, engine.select(cfg), language="en")
            finally:
                await engine.aclose()

        report = asyncio.run(go())
        by_id = {r.account_id: r for r in report.results}
        assert by_id["a"].reading is not None
        assert by_id["a"].reading.remaining == 1
        assert by_id["b"].reading is not None
        assert by_id["b"].reading.remaining == 2
        assert by_id["x"].error is not None
        assert by_id["y"].error is not None
        for server, owners in ((first, {"a", "x"}), (second, {"b", "y"})):
            seen = {r.headers["x-api-key"] for r in server.requests}
            assert seen == {keys[o] for o in owners}, (server.url, seen)


def test_log_file_falls_back_to_a_scrubbed_stderr(tmp_path: Path, capfd) -> None:
    """If the log file cannot be opened, Python's last-resort handler would print records raw."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    root = logging.getLogger()
    before = list(root.handlers)
    key = KEYS["cm"]
    try:
        with pytest.raises(OSError):  # noqa: PT011
            setup_file_logging(blocker / "log", lambda: [key])
        logging.getLogger("tray_app.fallback").error("refresh failed for %s", key)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
    _, err = capfd.readouterr()
    assert "refresh failed for [redacted]" in err
    assert not leaks(err)
    assert os.path.isfile(blocker)


def test_cookies_set_for_one_account_never_reach_another(isolated_env: dict[str, str], tmp_path: Path) -> None:
    """One HTTP client serves every account; a cookie (a session, or the key echoed back) stays unsent."""
    import asyncio

    from tray_app.engine import Engine
    from tray_app.history import HistoryStore
    from tray_app.keys import KeyStore

    with FakeServer() as server:
        path = PATHS["meowload"]
        for account_id in ("one", "two"):
            server.route(f"/{account_id}{path}", Reply(200, {"availableCredits": 5}, {
                "Set-Cookie": f"session={account_id}-{KEYS['cm']}; Path=/"}))
        accounts = [{"id": a, "provider": "meowload", "base_url": f"{server.url}/{a}"} for a in ("one", "two")]
        store_keys({"one": KEYS["cm"], "two": KEYS["cb"]})
        config = write_config(tmp_path / "config.toml", accounts)

        async def go() -> None:
            engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "history.sqlite3"),
                        notifier="tray", policy=POLICY)
            try:
                cfg = engine.load_config()
                for _ in range(3):  # the same engine (one client, one pool) refreshing again and again
                    await engine.refresh(cfg, engine.select(cfg), language="en")
            finally:
                await engine.aclose()

        asyncio.run(go())
    assert len(server.requests) == 6
    assert [r for r in server.requests if "cookie" in r.headers] == []
