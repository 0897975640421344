"""``credit-tray serve``: a headless Prometheus exporter for servers (no Qt).

It refreshes on its own schedule (the config's ``refresh_minutes``; SIGHUP for "now", which
also rereads the config) and answers every scrape from the last results, so however often
Prometheus scrapes, the providers see one request per account per interval. It listens on
127.0.0.1:9731 unless ``--listen`` names another address. Keys come from the keyring or from
the accounts' ``key_file``; never from the command line.

The HTTP side is ``prometheus_client``'s WSGI app on a threaded ``wsgiref`` server in a
background thread; the refresh loop is asyncio on the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from tray_app import APP_ID
from tray_app.config import Config, ConfigFileError
from tray_app.engine import Engine, RefreshReport
from tray_app.i18n import _
from tray_app.logs import RedactKeys
from tray_app.metrics import Snapshot, SnapshotCollector, registry_for
from tray_app.model import AccountResult
from tray_app.providers.base import is_loopback_host

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
#: Fixed so the scrape target (and its ``instance`` label) never changes between restarts.
DEFAULT_PORT = 9731
DEFAULT_LISTEN = f"{DEFAULT_HOST}:{DEFAULT_PORT}"
#: /healthz turns 503 when no refresh has finished for this long beyond the interval.
STALL_SLACK_S = 120.0

StartResponse = Callable[..., Any]


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) → (host, port); ValueError with the reason."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(_("--listen {value!r} is not HOST:PORT (e.g. {example} or [::1]:{port})").format(
            value=text, example=DEFAULT_LISTEN, port=DEFAULT_PORT))
    return host, int(port_text)


class _QuietHandler(WSGIRequestHandler):
    """No line per scrape on stderr (a scrape every few seconds would drown the journal)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # A burst of scrapes must not be refused by socketserver's default backlog of 5.
    request_queue_size = 64


def _server_class(host: str) -> type[_Server]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(_Server):
        address_family = family

    return Server


class Exporter:
    """The refresh loop and the HTTP server sharing one snapshot of the latest results."""

    def __init__(self, engine: Engine, config: Config, host: str, port: int) -> None:
        self.engine = engine
        self.config = config
        self.collector = SnapshotCollector(Snapshot(config, ()))
        self._metrics_app = make_wsgi_app(registry_for(self.collector))
        self._latest: dict[str, AccountResult] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._refresh: asyncio.Task[RefreshReport] | None = None
        self._started = time.monotonic()
        self._last_cycle: float | None = None
        self.hooks: Callable[[Config, RefreshReport, dict[str, AccountResult]], None] | None = None
        self.loopback = is_loopback_host(host)
        self.server = make_server(host, port, self._app, server_class=_server_class(host),
                                  handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="credit-tray-http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"

    # ------------------------------------------------------------------ HTTP
    def healthy(self) -> tuple[bool, str]:
        interval = self.config.refresh_minutes * 60
        now = time.monotonic()
        if self._last_cycle is None:
            if now - self._started > STALL_SLACK_S:
                return False, "the first refresh has not finished"  # untranslated: read by monitoring
            return True, "starting"
        if now - self._last_cycle > interval + STALL_SLACK_S:
            return False, f"no refresh finished for {now - self._last_cycle:.0f} s"  # untranslated: for monitoring
        return True, "ok"

    def _expected_host(self, environ: dict[str, Any]) -> bool:
        """On loopback, only requests addressed to loopback: a web page that points its own host name at
        127.0.0.1 (DNS rebinding) must not read the balances through the visitor's browser."""
        if not self.loopback:
            return True
        host = str(environ.get("HTTP_HOST", ""))
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback_host(name.strip("[]"))

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self._expected_host(environ):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])  # untranslated: HTTP
            return [b"this exporter answers requests addressed to loopback only\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed",  # untranslated: HTTP
                           [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")])  # untranslated: HTTP
            return [b"GET or HEAD only\n"]
        if path == "/metrics":
            return list(self._metrics_app(environ, start_response))
        if path == "/healthz":
            ok, why = self.healthy()
            start_response("200 OK" if ok else "503 Service Unavailable",  # untranslated: HTTP
                           [("Content-Type", "text/plain; charset=utf-8")])  # untranslated: HTTP
            return [f"{why}\n".encode()]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])  # untranslated: HTTP
            return [b"Credit Tray exporter: /metrics, /healthz\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])  # untranslated: HTTP
        return [b"not found: try /metrics\n"]

    # ------------------------------------------------------------------ refreshing
    def _publish(self) -> None:
        ids = [a.id for a in self.config.accounts]
        results = tuple(self._latest[i] for i in dict.fromkeys(ids) if i in self._latest)
        self.collector.update(Snapshot(self.config, results))

    def _on_result(self, result: AccountResult) -> None:
        self._latest[result.account_id] = result
        self._publish()

    def request_refresh(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Called on the loop (a signal handler): end the refresh under way and the loop."""
        self._stopping = True
        self._wake.set()
        if self._refresh is not None:
            self._refresh.cancel()

    async def _reload(self) -> None:
        try:
            self.config = await asyncio.to_thread(self.engine.load_config)
        except ConfigFileError as exc:
            log.error("config error (keeping the previous config): %s", exc)
        known = {a.id for a in self.config.accounts}
        for gone in set(self._latest) - known:
            del self._latest[gone]

    async def run(self) -> None:
        """Refresh now and then every interval (or at SIGHUP) until ``stop``."""
        self._thread.start()
        try:
            # What the history knew before this start, so a top-up while the exporter was down is still one.
            try:
                previous = await asyncio.to_thread(self.engine.last_known, self.config)
            except Exception as exc:
                log.error("could not read the last balances (%s)", type(exc).__name__)
                previous = {}
            first = True
            while not self._stopping:
                if not first:
                    await self._reload()
                    previous = dict(self._latest)
                first = False
                self._wake.clear()  # a SIGHUP from now on asks for one more refresh after this one
                accounts = self.engine.select(self.config)
                self._refresh = asyncio.ensure_future(
                    self.engine.refresh(self.config, accounts, on_result=self._on_result))
                try:
                    report = await self._refresh
                except asyncio.CancelledError:
                    break
                finally:
                    self._refresh = None
                self._publish()
                self._last_cycle = time.monotonic()
                for result in report.results:  # the reason behind refresh_success 0, for the journal
                    if result.error is not None:
                        log.warning("%s: %s", result.account_id, result.error)
                if report.save_error:
                    log.warning("%s", report.save_error)
                if self.hooks is not None:
                    try:
                        self.hooks(self.config, report, previous)
                    except Exception as exc:  # a hook bug must not stop the exporter
                        log.error("could not run the hooks (%s)", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.refresh_minutes * 60)
        finally:
            self.server.shutdown()
            self.server.server_close()
            await self.engine.aclose()


def setup_logging(engine: Engine) -> None:
    """Log to stderr (the journal under systemd), every known key scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactKeys(engine.keys.known_keys))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def serve(engine: Engine, config: Config, listen: str | None) -> int:
    """Run the exporter until SIGTERM or SIGINT; the exit status."""
    host, port = parse_listen(listen or DEFAULT_LISTEN)
    setup_logging(engine)
    try:
        exporter = Exporter(engine, config, host, port)
    except OSError as exc:
        sys.stderr.write(_("{program}: cannot listen on {host}:{port}: {problem}").format(
            program=APP_ID, host=host, port=port, problem=exc.strerror or exc) + "\n")
        return 69
    if not is_loopback_host(host):
        log.warning("listening on %s: anyone who can reach this address can read the balances", exporter.address)
    from tray_app.hooks import HookRunner

    runner = HookRunner(engine.keys.known_keys)
    exporter.hooks = runner.after_refresh

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, exporter.request_refresh)
        loop.add_signal_handler(signal.SIGTERM, exporter.stop)
        loop.add_signal_handler(signal.SIGINT, exporter.stop)
        log.info("serving /metrics on http://%s (refresh every %g min)", exporter.address,
                 config.refresh_minutes)
        await exporter.run()

    try:
        asyncio.run(main())
    finally:
        runner.stop()
    return 0
