"""A real HTTP server on loopback that speaks whatever a test scripts.

Each path gets a queue of ``Reply`` objects (the last one repeats); every request is
recorded with its method, path, headers and body, so tests can check what was sent
and to whom. Replies can be slow, drip bytes, close the connection early or reset it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip: float | None = None  # seconds between single bytes of the body
    close_after: int | None = None  # send this many body bytes, then close (promising more)
    reset: bool = False  # abort the connection (RST) without answering
    gate: threading.Event | None = None  # hold the answer until the test opens the gate (at most 30 s)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    #: The query string as sent (without the '?'), empty when there was none.
    query: str = ""


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 would drop simultaneous connects and hide real concurrency.
    request_queue_size = 64
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up on a slow or dripping reply is what those tests do; stay quiet."""


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it every small answer waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                server._record(Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()},
                                        body, time.monotonic(), query))
                reply = server._next(path)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._send(reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if reply.gate is not None:
                    reply.gate.wait(30)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                data = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if reply.close_after is not None:
                    self.wfile.write(data[: reply.close_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if reply.drip:
                    for i in range(len(data)):
                        if server._stopping.wait(reply.drip):
                            return
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._routes[path] = list(replies)

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self._routes.get(path)
            if not queue:
                return Reply(404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# The documented paths, so tests read like the provider documents.
MEOWLOAD_PATH = "/openapi/available-credits"
SMARTERBOT_PATH = "/chat/Chatbot/GetMessageCreditsUsage"
SOCIAVAULT_PATH = "/v1/credits"
UNWATERMARK_PATH = "/api/unwatermark/api/v1/get-credits-balance"
PATHS = {
    "meowload": MEOWLOAD_PATH,
    "smarterbot": SMARTERBOT_PATH,
    "sociavault": SOCIAVAULT_PATH,
    "unwatermark": UNWATERMARK_PATH,
}

# The documents' own success examples (SmarterBot's with a finite balance; its -1 example is separate).
SUCCESS_BODY: dict[str, Any] = {
    "meowload": {"availableCredits": 282539},
    "smarterbot": {"Data": {"Total": 5000, "Used": 243, "Remain": 4757}, "Version": "1.0.0", "Success": True,
                   "Code": 200, "Message": ""},
    "sociavault": {"credits": 950, "subscriptionStatus": "active", "subscriptionId": "sub_1234567890"},
    "unwatermark": {"code": 100000, "message": {}, "result": {"user_credits": "1234"}},
}
