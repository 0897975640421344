"""``credit-tray serve`` under scrape load: RATE scrapes a second for SECONDS seconds from loopback.

Measures each scrape's latency (connect to last byte, a new connection each time as the
server closes it) and counts the requests the provider saw meanwhile (must be 0: scrapes are
answered from the last refresh). Baseline in the same run: Python's own ThreadingHTTPServer
handing out the same metrics as prepared bytes, the floor for an HTTP server in Python here.

    python bench/serve.py [RATE] [SECONDS] [ACCOUNTS]
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeserver import PATHS, FakeServer, Reply  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> tuple[float, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/metrics", headers={"Accept": "text/plain"})
    body = conn.getresponse().read()
    conn.close()
    return time.perf_counter() - started, body


def load(port: int, rate: float, seconds: float) -> list[float]:
    """Scrapes started on a fixed schedule (open loop), so a slow answer cannot slow the load down."""
    count = int(rate * seconds)
    latencies: list[float] = [0.0] * count
    start = time.perf_counter() + 0.1

    def one(index: int) -> None:
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        latencies[index], body = scrape(port)
        assert b"credittray_balance" in body

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    return latencies


def summary(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p = statistics.quantiles(ms, n=100)
    return f"{name:<34} {len(ms):>6} {p[49]:>7.2f} {p[89]:>7.2f} {p[98]:>7.2f} {ms[-1]:>7.2f}"


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 100
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    accounts = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    home = Path(tempfile.mkdtemp())
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "XDG_STATE_HOME": str(home / "state"),
           "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    with FakeServer() as server:
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1234}))
        config = home / "config.toml"
        config.write_text("".join(f'[[accounts]]\nid = "a{i}"\nprovider = "meowload"\nbase_url = "{server.url}"\n\n'
                                  for i in range(accounts)))
        subprocess.run([sys.executable, "-c", "import keyring, sys\n"
                        "for i in range(int(sys.argv[1])): keyring.set_password('credit-tray', f'a{i}', f'sk-{i}')",
                        str(accounts)], env=env, check=True)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), "serve",
                                 "--listen", f"127.0.0.1:{port}"], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while len(server.requests) < accounts or b"credittray_refresh_success" not in _try(port):
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not start")
                time.sleep(0.05)
            metrics = scrape(port)[1]
            before = len(server.requests)
            served = load(port, rate, seconds)
            extra = len(server.requests) - before
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)

    class Static(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(metrics)))
            self.end_headers()
            self.wfile.write(metrics)

        def log_message(self, *args: Any) -> None:
            pass

    static = ThreadingHTTPServer(("127.0.0.1", 0), Static)
    static.daemon_threads = True
    threading.Thread(target=static.serve_forever, daemon=True).start()
    baseline = load(static.server_address[1], rate, seconds)
    static.shutdown()

    print(f"{rate:g} scrapes/s for {seconds:g} s, {accounts} accounts ({len(metrics)} bytes of metrics); ms:")
    print(f"{'':<34} {'scrapes':>6} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    print(summary("credit-tray serve", served))
    print(summary("baseline: static ThreadingHTTPServer", baseline))
    print(f"provider requests during the load: {extra}")


def _try(port: int) -> bytes:
    try:
        return scrape(port)[1]
    except OSError:
        return b""


if __name__ == "__main__":
    main()
