"""A long run: 10,000 refresh cycles against loopback servers with a mix of failures.

The tray's own refresh worker (``RefreshWorker.refresh``: config, keyring, engine, fetcher,
alert memory, state file) is driven in a tight loop instead of by its timer. The servers
run in another process so that only the client is measured: after a warm-up, resident
memory may grow by less than 5 MB over the cycles, and threads, open files and sockets
may not grow at all.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.reliability_support import (
    open_fds,
    rss_bytes,
    socket_count,
    store_keys,
    thread_count,
    write_config,
)
from tray_app.engine import Engine
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import AccountResult, ErrorKind
from tray_app.ui.worker import RefreshWorker

ROOT = Path(__file__).resolve().parents[1]
CYCLES = int(os.environ.get("LONGRUN_CYCLES", "10000"))
WARM_UP = 1_000
MiB = 1024 * 1024

# The servers: each account's path answers from its own repeating list, in order.
SERVER = textwrap.dedent('''
    import gzip, itertools, socket, sys, zlib
    from tests import fakeserver
    from tests.fakeserver import FakeServer, PATHS, Reply

    # The handler writes the head and the body in two sends; without TCP_NODELAY each answer would
    # wait out the client's delayed ACK (40 ms) and 10,000 cycles would take most of an hour.
    plain_get_request = fakeserver._Server.get_request

    def get_request(self):
        conn, address = plain_get_request(self)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

    fakeserver._Server.get_request = get_request

    OK = {
        "meowload": {"availableCredits": 282539},
        "smarterbot": {"Data": {"Total": 5000, "Used": 243, "Remain": 4757}, "Version": "1.0.0",
                       "Success": True, "Code": 200, "Message": ""},
        "sociavault": {"credits": 950, "subscriptionStatus": "active", "subscriptionId": "sub_1"},
        "unwatermark": {"code": 100000, "message": {}, "result": {"user_credits": "1234"}},
    }
    html = "<html><body>Bad Gateway</body></html>"
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = bomb.compress(b"{" + b" " * (3 * 1024 * 1024 // 2)) + bomb.flush()
    other = FakeServer().start()  # another host: redirects point here; it must never be asked
    # Transient failures come in pairs so that both attempts fail and the failure is what is reported.
    MIX = {
        "m-ok": ("meowload", [Reply(200, OK["meowload"])] * 498 + [Reply(200, OK["meowload"], delay=0.5)] * 2),
        "b-mix": ("smarterbot", [Reply(200, OK["smarterbot"]), Reply(500, {"Message": "busy"}),
                                 Reply(500, {"Message": "busy"}),
                                 Reply(200, {"Data": None, "Success": False, "Code": 401, "Message": "bad key"}),
                                 Reply(429, {"Message": "slow"}, {"Retry-After": "0"}),
                                 Reply(429, {"Message": "slow"}, {"Retry-After": "0"}), Reply(200, b"{not json"),
                                 Reply(200, OK["smarterbot"], {"Connection": "close"})]),
        "v-mix": ("sociavault", [Reply(200, OK["sociavault"]), Reply(200, html, {"Content-Type": "text/html"}),
                                 Reply(reset=True), Reply(reset=True), Reply(404, {"error": "User not found"}),
                                 Reply(402, {"error": "Payment Required"}),
                                 Reply(200, OK["sociavault"], close_after=9),
                                 Reply(200, OK["sociavault"], close_after=9)]),
        "u-mix": ("unwatermark", [Reply(200, OK["unwatermark"]),
                                  Reply(200, gzip.compress(str(OK["unwatermark"]).replace("'", '"').encode()),
                                        {"Content-Encoding": "gzip"}),
                                  Reply(200, bomb, {"Content-Encoding": "gzip"}),
                                  Reply(302, b"", {"Location": other.url + "/steal"}),
                                  Reply(200, {"code": 800002, "message": {"en": "User api key not exist."},
                                              "result": None})]),
    }

    class Cycling(FakeServer):
        def __init__(self):
            super().__init__()
            self._cycles = {}
            for account_id, (provider, replies) in MIX.items():
                self._cycles[f"/{account_id}{PATHS[provider]}"] = itertools.cycle(replies)

        def _next(self, path):
            with self._lock:
                return next(self._cycles[path])

        def _record(self, request):
            pass  # 60,000 requests: keep no log

    server = Cycling().start()
    print(server.url, other.port, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    if other.requests:
        print("the other host was asked", flush=True)
        sys.exit(1)
''')


def test_ten_thousand_refresh_cycles_leak_no_memory_threads_files_or_sockets(qapp: QApplication,
                                                                          isolated_env: dict[str, str],
                                                                          tmp_path: Path) -> None:
    servers = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert servers.stdin is not None
    assert servers.stdout is not None
    try:
        url, _ = servers.stdout.readline().split()
        closed = pytest.importorskip("socket").socket()
        closed.bind(("127.0.0.1", 0))
        refused_port = closed.getsockname()[1]
        closed.close()
        accounts = [
            {"id": "m-ok", "provider": "meowload", "base_url": f"{url}/m-ok"},
            {"id": "b-mix", "provider": "smarterbot", "base_url": f"{url}/b-mix"},
            {"id": "v-mix", "provider": "sociavault", "base_url": f"{url}/v-mix"},
            {"id": "u-mix", "provider": "unwatermark", "base_url": f"{url}/u-mix"},
            {"id": "r-refused", "provider": "meowload", "base_url": f"http://127.0.0.1:{refused_port}"},
            {"id": "n-nokey", "provider": "sociavault", "base_url": f"{url}/n-nokey"},  # no key stored
            {"id": "x-bad", "provider": "nosuchprovider"},  # a config error every time
        ]
        config = write_config(tmp_path / "config.toml", accounts, language="en", refresh_minutes=1)
        store_keys({a["id"]: f"sk-long-{a['id']}" for a in accounts if a["id"] not in ("n-nokey", "x-bad")})
        policy = FetchPolicy(attempt_timeout=0.25, max_attempts=2, total_timeout=0.6, backoff_base=0.001,
                             backoff_max=0.002, max_retry_wait=0.01)
        engine = Engine(config, keys=KeyStore(), history=HistoryStore(tmp_path / "history.sqlite3"),
                        notifier="tray", policy=policy)
        worker = RefreshWorker(engine)  # the tray's worker object, driven here without its timer
        seen: dict[str, set[str]] = {}

        def record(result: AccountResult) -> None:
            seen.setdefault(result.account_id, set()).add(result.error.kind if result.error else "reading")

        worker.resultReady.connect(record)
        reports: list[int] = []
        worker.refreshFinished.connect(lambda report: reports.append(len(report.results)) if report else None)

        fetching = ["m-ok", "b-mix", "v-mix", "u-mix"]
        cheap = ["r-refused", "n-nokey", "x-bad"]  # no HTTP answer to wait for
        expected: list[int] = []

        def cycles(count: int) -> None:
            # Like the tray: mostly one account at a time ("Refresh this account", a Retry-After),
            # and every 25th cycle all of them (the timer).
            for _ in range(count):
                n = len(expected)
                ids = None if n % 25 == 0 else [fetching[n % len(fetching)], cheap[n % len(cheap)]]
                expected.append(len(accounts) if ids is None else len(ids))
                worker.refresh(ids)

        started = time.monotonic()
        cycles(WARM_UP)
        gc.collect()
        base = (rss_bytes(), thread_count(), len(open_fds()), socket_count())
        samples = []
        for _ in range((CYCLES - WARM_UP) // 1000):
            cycles(1000)
            gc.collect()
            samples.append((rss_bytes(), thread_count(), len(open_fds()), socket_count()))
        took = time.monotonic() - started
        worker.close()
    finally:
        assert servers.stdin is not None
        servers.stdin.close()
        servers.wait(10)
    end = samples[-1]
    growth = (end[0] - base[0]) / MiB
    print(f"\n{CYCLES} cycles in {took:.0f} s; RSS {base[0] / MiB:.1f} -> {end[0] / MiB:.1f} MiB "
          f"({growth:+.2f}); threads {base[1]} -> {end[1]}; fds {base[2]} -> {end[2]}; sockets {base[3]} -> {end[3]}")
    print("samples (RSS MiB, threads, fds, sockets):",
          [(round(s[0] / MiB, 1), s[1], s[2], s[3]) for s in samples])
    assert servers.returncode == 0  # the other host (redirect target) was never asked
    assert reports == expected  # every cycle completed, every account asked for reported
    assert len(reports) == CYCLES
    # The mix really was mixed: readings and each kind of failure, again and again.
    assert seen["m-ok"] == {"reading", ErrorKind.TIMEOUT}
    assert seen["b-mix"] == {"reading", ErrorKind.SERVER, ErrorKind.AUTH, ErrorKind.RATE_LIMITED,
                             ErrorKind.BAD_RESPONSE}
    assert seen["v-mix"] == {"reading", ErrorKind.BAD_RESPONSE, ErrorKind.NETWORK, ErrorKind.AUTH}
    assert seen["u-mix"] == {"reading", ErrorKind.BAD_RESPONSE, ErrorKind.AUTH}
    assert seen["r-refused"] == {ErrorKind.NETWORK}
    assert seen["n-nokey"] == {ErrorKind.NO_KEY}
    assert seen["x-bad"] == {ErrorKind.CONFIG}
    assert growth < 5.0, f"RSS grew {growth:.2f} MiB"
    assert max(s[1] for s in samples) <= base[1], "threads grew"
    assert max(s[2] for s in samples) <= base[2], "open files grew"
    assert max(s[3] for s in samples) <= base[3], "sockets grew"
