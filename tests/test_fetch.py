"""Fetcher and Engine against a real HTTP server on loopback (no mocked transport).

Every provider's request is checked as the server received it; every way a server can
answer (or fail to) must end in a reading or a typed error within a bounded time,
without the API key ever going to a host the user did not configure.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import MEOWLOAD_PATH, PATHS, SOCIAVAULT_PATH, SUCCESS_BODY, UNWATERMARK_PATH, FakeServer, Reply
from tray_app.config import endpoint_url
from tray_app.engine import Engine, RefreshReport
from tray_app.fetch import Fetcher, FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import AccountResult, AccountState, AlertKind, ErrorKind, FetchError, Outcome, Reading
from tray_app.providers import BUILT_INS, PROVIDERS

KEY = "ctk-canary-7Qm2Zx9vLr4Tn8Wb3Kd6"
MiB = 1024 * 1024

#: Small budgets so the suite is fast: a 0.5 s attempt, at most 3 attempts, 2 s per account.
POLICY = FetchPolicy(attempt_timeout=0.5, max_attempts=3, total_timeout=2.0, backoff_base=0.01, backoff_max=0.05,
                     max_retry_wait=1.5, rate_limit_wait=0.01)
#: For servers that never finish: 0.4 s attempts, 1.3 s per account.
TIMEOUT_POLICY = FetchPolicy(attempt_timeout=0.4, max_attempts=3, total_timeout=1.3, backoff_base=0.01,
                             backoff_max=0.05)
#: For the engine tests, whose server answers after up to 0.6 s on purpose.
ENGINE_POLICY = FetchPolicy(attempt_timeout=2.0, max_attempts=3, total_timeout=3.0, backoff_base=0.01,
                            backoff_max=0.05, max_retry_wait=1.5)
#: A bound that only a broken timeout can exceed (the budget plus scheduling slack).
MARGIN = 1.0

# remaining, used, total, unlimited, subscription status, subscription id
EXPECTED_READING: dict[str, tuple[Any, ...]] = {
    "meowload": (Decimal(282539), None, None, False, None, None),
    "smarterbot": (Decimal(4757), Decimal(243), Decimal(5000), False, None, None),
    "sociavault": (Decimal(950), None, None, False, "active", "sub_1234567890"),
    "unwatermark": (Decimal(1234), None, None, False, None, None),
}
# method, auth header exactly as documented, body
EXPECTED_REQUEST: dict[str, tuple[str, str, bytes]] = {
    "meowload": ("GET", "x-api-key", b""),
    "smarterbot": ("GET", "Authorization", b"{}"),
    "sociavault": ("GET", "X-API-Key", b""),
    "unwatermark": ("POST", "ZF-API-KEY", b""),
}
ALL = sorted(BUILT_INS)  # the seed providers; presets have tests of their own (test_presets.py)
HTML = "<!DOCTYPE html><html><head><title>Oops</title></head><body><h1>Something went wrong</h1></body></html>"


# --------------------------------------------------------------------------- helpers

def fetch(provider_id: str, url: str, *, key: str = KEY, language: str = "en", policy: FetchPolicy = POLICY,
          guard: float | None = None) -> Outcome:
    """One fetch in its own event loop; ``guard`` stops a hanging fetch (TimeoutError fails the test)."""

    async def go() -> Outcome:
        async with Fetcher(policy) as fetcher:
            return await asyncio.wait_for(fetcher.fetch(PROVIDERS[provider_id], url, key, language), guard)

    return asyncio.run(go())


def timed_fetch(provider_id: str, url: str, policy: FetchPolicy = POLICY) -> tuple[Outcome, float]:
    start = time.monotonic()
    outcome = fetch(provider_id, url, policy=policy, guard=policy.total_timeout + 2 * MARGIN)
    return outcome, time.monotonic() - start


def url_for(server: FakeServer, provider_id: str) -> str:
    return server.url + PATHS[provider_id]


def error(outcome: Outcome) -> FetchError:
    assert isinstance(outcome, FetchError), f"expected a typed error, got {outcome!r}"
    return outcome


def reading(outcome: Outcome) -> Reading:
    assert isinstance(outcome, Reading), f"expected a reading, got {outcome!r}"
    return outcome


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture
def other() -> Iterator[FakeServer]:
    """A second loopback server: another host as far as the key is concerned."""
    with FakeServer() as fake:
        yield fake


def write_config(path: Path, accounts: list[dict[str, Any]], *, language: str | None = None) -> Path:
    lines = [f'language = "{language}"'] if language else []
    for account in accounts:
        lines.append("[[accounts]]")
        lines.extend(f"{name} = {json.dumps(value)}" for name, value in account.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refresh(config_path: Path, state_path: Path, *, language: str | None = "en",
            policy: FetchPolicy = ENGINE_POLICY) -> tuple[RefreshReport, list[AccountResult]]:
    """One refresh by a fresh Engine (a fresh process, as far as memory goes)."""

    async def go() -> tuple[RefreshReport, list[AccountResult]]:
        engine = Engine(config_path, keys=KeyStore(), history=HistoryStore(state_path),
                        notifier="tray", policy=policy)
        seen: list[AccountResult] = []
        try:
            config = engine.load_config()
            report = await engine.refresh(config, engine.select(config), seen.append, language=language)
        finally:
            await engine.aclose()
        return report, seen

    return asyncio.run(go())


def refreshes_by_one_engine(config_path: Path, state_path: Path, policy: FetchPolicy, *,
                            pauses: list[float]) -> list[RefreshReport]:
    """Refreshes by one Engine, as the tray makes them: one for each of ``pauses``, after waiting that long."""

    async def go() -> list[RefreshReport]:
        engine = Engine(config_path, keys=KeyStore(), history=HistoryStore(state_path), policy=policy)
        try:
            config = engine.load_config()
            reports = []
            for pause in pauses:
                await asyncio.sleep(pause)
                reports.append(await engine.refresh(config, engine.select(config), language="en"))
            return reports
        finally:
            await engine.aclose()

    return asyncio.run(go())


def only(report: RefreshReport) -> AccountResult:
    assert len(report.results) == 1
    return report.results[0]


# --------------------------------------------------------------------------- requests to the letter

@pytest.mark.parametrize(("provider_id", "base_suffix"), [
    *((p, suffix) for p in ALL for suffix in ("", "/prefix")),
    ("unwatermark", "/prefix/"),  # a trailing slash on base_url gives no empty path segment
])
def test_request_as_received_by_the_server(server: FakeServer, provider_id: str, base_suffix: str) -> None:
    prefix = base_suffix.rstrip("/")
    server.route(prefix + PATHS[provider_id], Reply(200, SUCCESS_BODY[provider_id]))
    url = endpoint_url(PROVIDERS[provider_id].url, server.url + base_suffix)

    reading(fetch(provider_id, url, language="zh"))

    method, header, body = EXPECTED_REQUEST[provider_id]
    assert len(server.requests) == 1
    sent = server.requests[0]
    assert sent.method == method
    assert sent.path == prefix + PATHS[provider_id]
    assert sent.headers[header.lower()] == KEY  # the bare key: no "Bearer", no quoting
    assert [name for name, value in sent.headers.items() if KEY in value] == [header.lower()]
    assert sent.body == body
    assert KEY.encode() not in sent.body
    assert "transfer-encoding" not in sent.headers
    assert sent.headers.get("content-length", "0") == str(len(body))
    if provider_id == "meowload":
        assert sent.headers["accept-language"] == "zh"


class RawCapture:
    """A one-shot loopback HTTP server that keeps the request head byte for byte (header case included)."""

    def __init__(self, answer: bytes) -> None:
        self._answer = answer
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self._sock.settimeout(5)
        self.head = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.head = data.split(b"\r\n\r\n", 1)[0]
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         + f"Content-Length: {len(self._answer)}\r\n\r\n".encode() + self._answer)

    def close(self) -> None:
        self._thread.join(5)
        self._sock.close()


@pytest.mark.parametrize("provider_id", ALL)
def test_auth_header_name_is_spelled_as_documented(provider_id: str) -> None:
    capture = RawCapture(json.dumps(SUCCESS_BODY[provider_id]).encode())
    try:
        reading(fetch(provider_id, capture.url + PATHS[provider_id]))
    finally:
        capture.close()
    method, header, _ = EXPECTED_REQUEST[provider_id]
    lines = capture.head.decode("latin-1").split("\r\n")
    assert lines[0] == f"{method} {PATHS[provider_id]} HTTP/1.1"
    assert f"{header}: {KEY}" in lines[1:]


# --------------------------------------------------------------------------- success through the server

@pytest.mark.parametrize("provider_id", ALL)
def test_success_reading_through_the_server(server: FakeServer, provider_id: str) -> None:
    server.route(PATHS[provider_id], Reply(200, SUCCESS_BODY[provider_id]))
    got = reading(fetch(provider_id, url_for(server, provider_id)))
    assert (got.remaining, got.used, got.total, got.unlimited, got.subscription_status,
            got.subscription_id) == EXPECTED_READING[provider_id]
    assert got.unit == PROVIDERS[provider_id].unit
    assert got.fetched_at.tzinfo is not None
    assert len(server.requests) == 1


def test_smarterbot_unlimited_through_the_server(server: FakeServer) -> None:
    body = {"Data": {"Total": -1, "Used": 243, "Remain": -1}, "Version": "1.0.0", "Success": True, "Code": 200,
            "Message": ""}
    server.route(PATHS["smarterbot"], Reply(200, body))
    got = reading(fetch("smarterbot", url_for(server, "smarterbot")))
    assert got.unlimited is True
    assert got.remaining is None
    assert got.total is None
    assert got.used == Decimal(243)
    assert got.exhausted is False


def test_gzip_encoded_answer_is_read(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(200, gzip.compress(b'{"availableCredits": 42}'),
                                      {"Content-Encoding": "gzip"}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(42)


def test_loopback_by_name_is_allowed_over_http(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 17}))
    got = fetch("meowload", f"http://localhost:{server.port}{MEOWLOAD_PATH}")
    assert reading(got).remaining == Decimal(17)


# --------------------------------------------------------------------------- retries

def test_5xx_retried_until_success(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(500, {"message": "busy"}), Reply(500, {"message": "busy"}),
                 Reply(200, {"availableCredits": 777}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(777)
    assert len(server.requests) == 3


def test_5xx_every_time_is_server_error_after_max_attempts(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(500, {"message": "服务器内部错误"}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.SERVER
    assert got.http_status == 500
    assert got.message == "服务器内部错误"
    assert len(server.requests) == 3


def test_503_flapping_recovers(server: FakeServer) -> None:
    server.route(SOCIAVAULT_PATH, Reply(503, HTML, {"Content-Type": "text/html"}),
                 Reply(200, SUCCESS_BODY["sociavault"]))
    assert reading(fetch("sociavault", url_for(server, "sociavault"))).remaining == Decimal(950)
    assert len(server.requests) == 2


NOT_RETRIED = [
    # provider, reply, expected kind (None: a reading of 0), expected message or None
    pytest.param("meowload", Reply(401, {"message": "API Key 错误,请检查 API Key 是否正确"}), ErrorKind.AUTH,
                 "API Key 错误,请检查 API Key 是否正确", id="meowload-401"),
    pytest.param("meowload", Reply(403, {"message": "forbidden"}), ErrorKind.AUTH, "forbidden", id="meowload-403"),
    pytest.param("meowload", Reply(400, {"message": "bad request"}), ErrorKind.REQUEST, "bad request",
                 id="meowload-400"),
    pytest.param("meowload", Reply(422, {"message": "wrong parameter"}), ErrorKind.REQUEST, "wrong parameter",
                 id="meowload-422"),
    pytest.param("meowload", Reply(200, b'{"availableCredits": 12'), ErrorKind.BAD_RESPONSE, None,
                 id="meowload-bad-json"),
    pytest.param("meowload", Reply(200, {"availableCredits": "12"}), ErrorKind.BAD_RESPONSE, None,
                 id="meowload-string-number"),
    pytest.param("meowload", Reply(402, {"message": "credits exhausted"}), None, None, id="meowload-402"),
    pytest.param("sociavault", Reply(402, {"error": "Payment Required"}), None, None, id="sociavault-402"),
    pytest.param("sociavault", Reply(401, {"error": "Invalid API key"}), ErrorKind.AUTH, "Invalid API key",
                 id="sociavault-401"),
    pytest.param("sociavault", Reply(404, {"error": "User not found"}), ErrorKind.AUTH, "User not found",
                 id="sociavault-404"),
    pytest.param("unwatermark", Reply(200, {"code": 800002, "message": {"en": "User api key not exist.",
                                                                         "zh": "用户api key不存在"},
                                            "result": None}),
                 ErrorKind.AUTH, "User api key not exist.", id="unwatermark-800002"),
    pytest.param("smarterbot", Reply(200, {"Data": None, "Version": "1.0.0", "Success": False, "Code": 401,
                                           "Message": "Invalid secret key"}),
                 ErrorKind.AUTH, "Invalid secret key", id="smarterbot-envelope-401"),
]


@pytest.mark.parametrize(("provider_id", "reply", "kind", "message"), NOT_RETRIED)
def test_not_retried(server: FakeServer, provider_id: str, reply: Reply, kind: ErrorKind | None,
                     message: str | None) -> None:
    # A success is queued behind the failure: a retry would turn the outcome into that reading.
    server.route(PATHS[provider_id], reply, Reply(200, SUCCESS_BODY[provider_id]))
    got = fetch(provider_id, url_for(server, provider_id))
    assert len(server.requests) == 1
    if kind is None:
        assert reading(got).remaining == Decimal(0)
        assert reading(got).exhausted is True
    else:
        assert error(got).kind is kind
        assert error(got).http_status == reply.status
        if message is not None:
            assert error(got).message == message


def test_429_with_retry_after_zero_is_retried(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "slow down"}, {"Retry-After": "0"}),
                 Reply(200, {"availableCredits": 5150}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(5150)
    assert len(server.requests) == 2


def test_429_without_retry_after_retried_then_reported(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "too many"}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.RATE_LIMITED
    assert got.http_status == 429
    assert got.message == "too many"
    assert len(server.requests) == 3


def test_429_without_retry_after_is_not_retried_twice_within_a_second(server: FakeServer) -> None:
    """The server said "too many": the default backoff waits at least a second, then two, between asks."""
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "too many"}))
    policy = FetchPolicy(attempt_timeout=2.0, max_attempts=3, total_timeout=10.0)
    got = error(fetch("meowload", url_for(server, "meowload"), policy=policy))
    assert got.kind is ErrorKind.RATE_LIMITED
    first, second, third = server.requests
    # Lower bounds only: a loaded machine can make the waits longer, never shorter.
    assert second.at - first.at >= 0.99
    assert third.at - second.at >= 1.99


def test_429_retry_after_is_honoured_before_the_next_attempt(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "wait"}, {"Retry-After": "1"}),
                 Reply(200, {"availableCredits": 9}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(9)
    first, second = server.requests
    # A lower bound: the server asked for a second and must get at least (almost) that.
    assert second.at - first.at >= 0.9


def test_429_retry_after_beyond_max_wait_is_reported_at_once(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "quota"}, {"Retry-After": "60"}),
                 Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.RATE_LIMITED
    assert got.retry_after == 60.0
    assert got.http_status == 429
    assert len(server.requests) == 1


def test_429_retry_after_as_http_date_in_the_future(server: FakeServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "later"}, {"Retry-After": when}),
                 Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.RATE_LIMITED
    assert got.retry_after is not None
    assert 3500 <= got.retry_after <= 3600
    assert len(server.requests) == 1


def test_429_retry_after_as_http_date_in_the_past_is_retried(server: FakeServer) -> None:
    when = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "now"}, {"Retry-After": when}),
                 Reply(200, {"availableCredits": 31}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(31)
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- no response at all

def test_connection_refused_is_network() -> None:
    got = error(fetch("meowload", f"http://127.0.0.1:{closed_port()}{MEOWLOAD_PATH}"))
    assert got.kind is ErrorKind.NETWORK
    assert got.http_status is None


@pytest.mark.parametrize("provider_id", ALL)
def test_reset_is_network(server: FakeServer, provider_id: str) -> None:
    server.route(PATHS[provider_id], Reply(reset=True))
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert got.kind is ErrorKind.NETWORK
    assert got.http_status is None
    assert len(server.requests) == 3  # transient: retried


def test_reset_then_success_recovers(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(reset=True), Reply(200, {"availableCredits": 64}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(64)
    assert len(server.requests) == 2


@pytest.mark.parametrize("provider_id", ALL)
def test_body_cut_short_is_network(server: FakeServer, provider_id: str) -> None:
    server.route(PATHS[provider_id], Reply(200, SUCCESS_BODY[provider_id], close_after=5))
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert got.kind is ErrorKind.NETWORK
    assert got.http_status is None


def test_server_that_never_answers_is_timeout(server: FakeServer) -> None:
    server.route(UNWATERMARK_PATH, Reply(200, SUCCESS_BODY["unwatermark"], delay=30))
    got, elapsed = timed_fetch("unwatermark", url_for(server, "unwatermark"), TIMEOUT_POLICY)
    assert error(got).kind is ErrorKind.TIMEOUT
    assert error(got).http_status is None
    assert elapsed < TIMEOUT_POLICY.total_timeout + MARGIN
    assert 1 <= len(server.requests) <= TIMEOUT_POLICY.max_attempts


def test_timeout_message_says_whole_seconds(server: FakeServer) -> None:
    # What is left of the account's budget is rarely a round number: "within 0.6 s" would read "0.6",
    # and a real budget gives "8.6624 s".
    policy = FetchPolicy(attempt_timeout=5.0, max_attempts=1, total_timeout=0.6)
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 1}, delay=30))
    got = error(fetch("meowload", url_for(server, "meowload"), policy=policy, guard=5))
    assert got.kind is ErrorKind.TIMEOUT
    assert got.message == "no answer within 1 s"


def test_timeout_then_success_recovers(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 1}, delay=5),
                 Reply(200, {"availableCredits": 2}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(2)
    assert len(server.requests) == 2


def test_drip_server_is_timeout_bounded_per_attempt(server: FakeServer) -> None:
    # Each byte arrives well within the per-read timeout, so only a bound on the whole attempt stops it.
    body = {**SUCCESS_BODY["meowload"], "pad": "x" * 2000}
    server.route(MEOWLOAD_PATH, Reply(200, body, drip=0.2))
    got, elapsed = timed_fetch("meowload", url_for(server, "meowload"), TIMEOUT_POLICY)
    assert error(got).kind is ErrorKind.TIMEOUT
    assert elapsed < TIMEOUT_POLICY.total_timeout + MARGIN


def test_total_budget_caps_the_attempts(server: FakeServer) -> None:
    policy = FetchPolicy(attempt_timeout=0.6, max_attempts=3, total_timeout=0.7, backoff_base=0.01,
                         backoff_max=0.05)
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 1}, delay=30))
    got, elapsed = timed_fetch("meowload", url_for(server, "meowload"), policy)
    assert error(got).kind is ErrorKind.TIMEOUT
    # Three full attempts would take 1.8 s; the account's budget is 0.7 s.
    assert elapsed < policy.total_timeout + 0.8


# --------------------------------------------------------------------------- bounded, well-formed bodies

def _padded(size: int) -> bytes:
    head, tail = b'{"availableCredits": 5, "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_body_over_1_mib_is_bad_response(server: FakeServer) -> None:
    # Valid JSON with a balance: only the size limit can refuse it.
    server.route(MEOWLOAD_PATH, Reply(200, _padded(MiB + 1)), Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert len(server.requests) == 1


def test_body_of_exactly_1_mib_is_read(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(200, _padded(MiB)))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(5)


def test_5_mib_body_for_a_post_provider_is_bad_response(server: FakeServer) -> None:
    body = b'{"code": 100000, "message": {}, "result": {"user_credits": "1"}, "pad": "' + b"y" * (5 * MiB) + b'"}'
    server.route(UNWATERMARK_PATH, Reply(200, body))
    got = error(fetch("unwatermark", url_for(server, "unwatermark")))
    assert got.kind is ErrorKind.BAD_RESPONSE


def test_gzip_bomb_is_bad_response(server: FakeServer) -> None:
    bomb = gzip.compress(_padded(8 * MiB), compresslevel=9)
    assert len(bomb) < 64 * 1024  # a few KB on the wire
    server.route(MEOWLOAD_PATH, Reply(200, bomb, {"Content-Encoding": "gzip"}), Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert len(server.requests) == 1


@pytest.mark.parametrize("provider_id", ALL)
def test_html_page_with_200_is_bad_response(server: FakeServer, provider_id: str) -> None:
    server.route(PATHS[provider_id], Reply(200, HTML, {"Content-Type": "text/html"}))
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert got.http_status == 200
    assert "<" not in got.message  # the page never reaches the user's menu
    assert len(server.requests) == 1


@pytest.mark.parametrize("provider_id", ALL)
def test_503_html_page_is_server(server: FakeServer, provider_id: str) -> None:
    server.route(PATHS[provider_id], Reply(503, HTML, {"Content-Type": "text/html"}))
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert got.kind is ErrorKind.SERVER
    assert got.http_status == 503
    assert "<" not in got.message


def test_broken_gzip_body_is_bad_response(server: FakeServer) -> None:
    broken = Reply(200, b"\x1f\x8b\x08\x00 definitely not deflate data", {"Content-Encoding": "gzip"})
    server.route(MEOWLOAD_PATH, broken, Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert len(server.requests) == 1


@pytest.mark.parametrize(("case", "status"), [("over-1-mib", 200), ("gzip-bomb", 200), ("broken-gzip", 200),
                                              ("foreign-redirect", 302)])
def test_http_status_is_kept_for_errors_found_after_the_status_line(server: FakeServer, other: FakeServer, case: str,
                                                                    status: int) -> None:
    # Spec: http_status is the status of the response that carried the error (null only with no response).
    replies = {
        "over-1-mib": Reply(200, _padded(2 * MiB)),
        "gzip-bomb": Reply(200, gzip.compress(_padded(4 * MiB)), {"Content-Encoding": "gzip"}),
        "broken-gzip": Reply(200, b"\x1f\x8b\x08\x00 not deflate data", {"Content-Encoding": "gzip"}),
        "foreign-redirect": Reply(302, b"", {"Location": other.url + MEOWLOAD_PATH}),
    }
    server.route(MEOWLOAD_PATH, replies[case])
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert got.http_status == status


# --------------------------------------------------------------------------- redirects and hosts

@pytest.mark.parametrize(("provider_id", "status"), [
    *(("meowload", status) for status in (301, 302, 303, 307, 308)),
    ("smarterbot", 302), ("sociavault", 307), ("unwatermark", 307), ("unwatermark", 302),
])
def test_redirect_to_another_host_is_not_followed(server: FakeServer, other: FakeServer, provider_id: str,
                                                  status: int) -> None:
    path = PATHS[provider_id]
    other.route(path, Reply(200, SUCCESS_BODY[provider_id]))
    server.route(path, Reply(status, b"", {"Location": other.url + path}))
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert other.requests == []  # the key never reached the other host
    assert len(server.requests) == 1


def test_redirect_from_127_0_0_1_to_localhost_is_another_host(server: FakeServer, other: FakeServer) -> None:
    # Same machine, but a different host name: a redirect there must not carry the key.
    server.route(MEOWLOAD_PATH, Reply(302, b"", {"Location": f"http://localhost:{server.port}/elsewhere"}))
    server.route("/elsewhere", Reply(200, {"availableCredits": 1}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert server.requests_to("/elsewhere") == []


def test_redirect_to_localhost_of_another_server_is_not_followed(server: FakeServer, other: FakeServer) -> None:
    server.route(SOCIAVAULT_PATH, Reply(307, b"", {"Location": f"http://localhost:{other.port}{SOCIAVAULT_PATH}"}))
    other.route(SOCIAVAULT_PATH, Reply(200, SUCCESS_BODY["sociavault"]))
    got = error(fetch("sociavault", url_for(server, "sociavault")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert other.requests == []


def test_same_origin_redirect_is_followed_with_the_key(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(302, b"", {"Location": "/moved"}))
    server.route("/moved", Reply(200, {"availableCredits": 4321}))
    assert reading(fetch("meowload", url_for(server, "meowload"))).remaining == Decimal(4321)
    moved = server.requests_to("/moved")
    assert len(moved) == 1
    assert moved[0].method == "GET"
    assert moved[0].headers["x-api-key"] == KEY


def test_same_origin_307_keeps_the_post(server: FakeServer) -> None:
    server.route(UNWATERMARK_PATH, Reply(307, b"", {"Location": server.url + "/v2/balance"}))
    server.route("/v2/balance", Reply(200, SUCCESS_BODY["unwatermark"]))
    assert reading(fetch("unwatermark", url_for(server, "unwatermark"))).remaining == Decimal(1234)
    moved = server.requests_to("/v2/balance")
    assert len(moved) == 1
    assert moved[0].method == "POST"
    assert moved[0].headers["zf-api-key"] == KEY
    assert moved[0].body == b""


def test_redirect_loop_ends_in_bad_response(server: FakeServer) -> None:
    server.route(MEOWLOAD_PATH, Reply(302, b"", {"Location": MEOWLOAD_PATH}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    assert got.kind is ErrorKind.BAD_RESPONSE
    assert 2 <= len(server.requests) <= 12


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Any name lookup or connect attempt is recorded and fails."""
    calls: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("the network was used")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return calls


@pytest.mark.parametrize("url", [
    "http://example.com/openapi/available-credits",
    "http://10.1.2.3:8080/openapi/available-credits",
    "http://192.168.1.10/openapi/available-credits",
    "http://127.0.0.1.example.com/openapi/available-credits",
    "http://localhost.example.com/openapi/available-credits",
    "ftp://127.0.0.1/openapi/available-credits",
])
def test_plain_http_off_loopback_is_a_config_error_without_network(no_network: list[tuple[Any, ...]],
                                                                   url: str) -> None:
    got = error(fetch("meowload", url))
    assert got.kind is ErrorKind.CONFIG
    assert no_network == []


@pytest.mark.parametrize("host", ["[::1]", "127.5.6.7"])
def test_plain_http_on_any_loopback_address_is_allowed(host: str) -> None:
    # Nothing listens there: the point is that it is attempted (network), not refused as config.
    got = error(fetch("meowload", f"http://{host}:{closed_port()}{MEOWLOAD_PATH}"))
    assert got.kind is ErrorKind.NETWORK


# --------------------------------------------------------------------------- keys never come back

KEY_ECHOES = [
    pytest.param("meowload", Reply(401, {"message": f"API key {KEY} is invalid"}), id="meowload-401"),
    pytest.param("meowload", Reply(500, {"message": f"crash while handling {KEY}"}), id="meowload-500"),
    pytest.param("smarterbot", Reply(200, {"Data": None, "Success": False, "Code": 401, "Version": "1.0.0",
                                           "Message": f"Secret key {KEY} not recognised"}), id="smarterbot-envelope"),
    pytest.param("sociavault", Reply(401, {"error": f"Invalid API key: {KEY}"}), id="sociavault-401"),
    pytest.param("unwatermark", Reply(200, {"code": 800002, "message": {"en": f"User api key {KEY} not exist."},
                                            "result": None}), id="unwatermark-800002"),
]


@pytest.mark.parametrize(("provider_id", "reply"), KEY_ECHOES)
def test_key_echoed_in_a_provider_message_is_replaced(server: FakeServer, provider_id: str, reply: Reply) -> None:
    server.route(PATHS[provider_id], reply)
    got = error(fetch(provider_id, url_for(server, provider_id)))
    assert KEY not in repr(got)
    assert KEY not in str(got)
    assert got.message  # the rest of the provider's words are kept


def test_key_echoed_at_the_end_of_a_long_message_leaks_no_fragment(server: FakeServer) -> None:
    # The message is cut to a bounded length; the cut must not leave a piece of the key behind.
    server.route(MEOWLOAD_PATH, Reply(401, {"message": "x" * 285 + " " + KEY}))
    got = error(fetch("meowload", url_for(server, "meowload")))
    fragments = {KEY[i:i + 10] for i in range(len(KEY) - 9)}
    assert not [f for f in fragments if f in got.message], got.message


def test_key_echoed_in_a_reading_field_is_not_returned(server: FakeServer) -> None:
    server.route(SOCIAVAULT_PATH, Reply(200, {"credits": 950, "subscriptionStatus": "active",
                                              "subscriptionId": KEY}))
    got = fetch("sociavault", url_for(server, "sociavault"))
    assert KEY not in repr(got)


# --------------------------------------------------------------------------- the engine

def _meow_accounts(server: FakeServer, ids: list[str]) -> list[dict[str, Any]]:
    return [{"id": i, "provider": "meowload", "base_url": f"{server.url}/{i}"} for i in ids]


def _store_keys(ids: list[str]) -> None:
    store = KeyStore()
    for account_id in ids:
        store.set(account_id, f"{KEY}-{account_id}")


def test_engine_fetches_ten_accounts_concurrently(server: FakeServer, isolated_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    ids = [f"acct-{n}" for n in range(10)]
    for n, account_id in enumerate(ids):
        server.route(f"/{account_id}{MEOWLOAD_PATH}", Reply(200, {"availableCredits": 50000 + n}, delay=0.4))
    config = write_config(tmp_path / "config.toml", _meow_accounts(server, ids))
    _store_keys(ids)

    report, seen = refresh(config, tmp_path / "history.sqlite3")

    assert server.max_in_flight >= 8
    assert sorted(r.account_id for r in seen) == sorted(ids)  # each callback once
    assert [r.account_id for r in report.results] == ids
    for n, result in enumerate(report.results):
        assert result.error is None
        assert result.reading is not None
        assert result.reading.remaining == Decimal(50000 + n)
        assert result.state is AccountState.OK
    # Each account's own key, to its own URL.
    for account_id in ids:
        (sent,) = server.requests_to(f"/{account_id}{MEOWLOAD_PATH}")
        assert sent.headers["x-api-key"] == f"{KEY}-{account_id}"


def test_engine_slow_account_does_not_hold_back_the_fast_ones(server: FakeServer, isolated_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    ids = ["slow", "fast-1", "fast-2", "fast-3"]
    server.route(f"/slow{MEOWLOAD_PATH}", Reply(200, {"availableCredits": 50000}, delay=0.6))
    for account_id in ids[1:]:
        server.route(f"/{account_id}{MEOWLOAD_PATH}", Reply(200, {"availableCredits": 60000}))
    config = write_config(tmp_path / "config.toml", _meow_accounts(server, ids))
    _store_keys(ids)

    report, seen = refresh(config, tmp_path / "history.sqlite3")

    order = [r.account_id for r in seen]
    assert sorted(order[:3]) == ["fast-1", "fast-2", "fast-3"]
    assert order[3] == "slow"
    assert [r.account_id for r in report.results] == ids  # the report keeps config order
    assert report.results[0].reading is not None
    assert report.results[0].reading.remaining == Decimal(50000)


def test_engine_reads_every_provider_through_a_base_url_prefix(server: FakeServer, isolated_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    accounts = [{"id": f"{p}-1", "provider": p, "base_url": f"{server.url}/mirror"} for p in ALL]
    for provider_id in ALL:
        server.route(f"/mirror{PATHS[provider_id]}", Reply(200, SUCCESS_BODY[provider_id]))
    config = write_config(tmp_path / "config.toml", accounts, language="zh")
    _store_keys([a["id"] for a in accounts])

    report, _ = refresh(config, tmp_path / "history.sqlite3", language=None)  # the config's language

    for provider_id, result in zip(ALL, report.results, strict=True):
        assert result.error is None, result.error
        assert result.reading is not None
        got = result.reading
        assert (got.remaining, got.used, got.total, got.unlimited, got.subscription_status,
                got.subscription_id) == EXPECTED_READING[provider_id]
        method, header, body = EXPECTED_REQUEST[provider_id]
        (sent,) = server.requests_to(f"/mirror{PATHS[provider_id]}")
        assert (sent.method, sent.headers[header.lower()], sent.body) == (method, f"{KEY}-{provider_id}-1", body)
    (meow,) = server.requests_to(f"/mirror{MEOWLOAD_PATH}")
    assert meow.headers["accept-language"] == "zh"
    assert len(server.requests) == 4


def test_engine_bad_account_is_a_config_error_and_others_still_work(server: FakeServer,
                                                                    isolated_env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    accounts = [
        {"id": "offsite", "provider": "meowload", "base_url": "http://example.com"},
        {"id": "nobody", "provider": "nosuchprovider"},
        {"id": "good", "provider": "meowload", "base_url": server.url},
    ]
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 20000}))
    config = write_config(tmp_path / "config.toml", accounts)
    _store_keys(["offsite", "nobody", "good"])

    report, seen = refresh(config, tmp_path / "history.sqlite3")

    offsite, nobody, good = report.results
    assert offsite.state is AccountState.ERROR
    assert offsite.error is not None
    assert offsite.error.kind is ErrorKind.CONFIG
    assert nobody.error is not None
    assert nobody.error.kind is ErrorKind.CONFIG
    assert good.error is None
    assert good.reading is not None
    assert good.reading.remaining == Decimal(20000)
    assert len(seen) == 3
    assert len(server.requests) == 1


def test_engine_keeps_the_last_good_reading_after_a_failure(server: FakeServer, isolated_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    state = tmp_path / "history.sqlite3"
    _store_keys(["meow"])
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 50000}))
    first = only(refresh(config, state)[0])
    assert first.state is AccountState.OK
    assert first.reading is not None

    server.route(MEOWLOAD_PATH, Reply(500, HTML, {"Content-Type": "text/html"}))
    second = only(refresh(config, state)[0])  # a new Engine: the last balance comes from the history

    assert second.state is AccountState.ERROR
    assert second.error is not None
    assert second.error.kind is ErrorKind.SERVER
    assert second.error.http_status == 500
    assert second.reading is not None
    assert second.reading.remaining == Decimal(50000)
    assert second.reading.fetched_at == first.reading.fetched_at


def test_engine_alerts_once_per_crossing_across_restarts(server: FakeServer, isolated_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    # MeowLoad's thresholds: 10000, 2000, 300, 100, 0. Every step is a new Engine on the same history.
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    state = tmp_path / "history.sqlite3"
    _store_keys(["meow"])

    def step(reply: Reply) -> list[tuple[AlertKind, Decimal | None]]:
        server.route(MEOWLOAD_PATH, reply)
        report, _ = refresh(config, state)
        return [(a.kind, a.threshold) for a in report.alerts]

    ok = {"availableCredits": 50000}
    assert step(Reply(200, ok)) == []
    assert step(Reply(200, {"availableCredits": 5000})) == [(AlertKind.THRESHOLD, Decimal(10000))]
    assert step(Reply(200, {"availableCredits": 4000})) == []
    assert step(Reply(200, {"availableCredits": 4000})) == []
    # 2000 and 300 crossed in one step: one alert naming the lowest.
    assert step(Reply(200, {"availableCredits": 250})) == [(AlertKind.THRESHOLD, Decimal(300))]
    assert step(Reply(500, {"message": "down"})) == []  # a failure neither alerts nor re-arms
    assert step(Reply(200, {"availableCredits": 250})) == []
    assert step(Reply(200, {"availableCredits": 0})) == [(AlertKind.EXHAUSTED, None)]
    assert step(Reply(402, {"message": "exhausted"})) == []
    assert step(Reply(200, {"availableCredits": 20000})) == []  # top-up re-arms
    assert step(Reply(200, {"availableCredits": 5000})) == [(AlertKind.THRESHOLD, Decimal(10000))]


def test_engine_auth_failure_alerts_once_across_restarts(server: FakeServer, isolated_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    state = tmp_path / "history.sqlite3"
    _store_keys(["meow"])

    def step(reply: Reply) -> list[AlertKind]:
        server.route(MEOWLOAD_PATH, reply)
        return [a.kind for a in refresh(config, state)[0].alerts]

    assert step(Reply(401, {"message": "API Key 错误"})) == [AlertKind.AUTH]
    assert step(Reply(401, {"message": "API Key 错误"})) == []
    assert step(Reply(200, {"availableCredits": 50000})) == []
    assert step(Reply(401, {"message": "API Key 错误"})) == [AlertKind.AUTH]


def test_engine_does_not_ask_a_rate_limited_account_again_before_its_retry_after(
        server: FakeServer, isolated_env: dict[str, str], tmp_path: Path) -> None:
    """A Retry-After longer than the refresh interval holds for the tray's later refreshes (one Engine)."""
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url},
                                                    {"id": "other", "provider": "meowload",
                                                     "base_url": f"{server.url}/other"}])
    _store_keys(["meow", "other"])
    # Whole seconds: an HTTP date cannot say more.
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "quota"}, {"Retry-After": format_datetime(until, usegmt=True)}),
                 Reply(200, {"availableCredits": 5000}))
    server.route(f"/other{MEOWLOAD_PATH}", Reply(200, {"availableCredits": 7000}))
    policy = FetchPolicy(attempt_timeout=2.0, max_attempts=3, total_timeout=3.0, backoff_base=0.01,
                         max_retry_wait=1.0)
    reports = refreshes_by_one_engine(config, tmp_path / "history.sqlite3", policy, pauses=[0, 0, 0])
    assert len(server.requests_to(MEOWLOAD_PATH)) == 1  # asked once, not again within the hour
    assert len(server.requests_to(f"/other{MEOWLOAD_PATH}")) == 3  # the other account is not held back
    for report in reports:
        held = report.results[0].error
        assert held is not None
        assert (held.kind, held.message, held.http_status) == (ErrorKind.RATE_LIMITED, "quota", 429)
        assert held.retry_at is not None
        assert abs((held.retry_at - until).total_seconds()) <= 2


def test_engine_asks_a_rate_limited_account_again_once_its_retry_after_has_passed(
        server: FakeServer, isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    _store_keys(["meow"])
    server.route(MEOWLOAD_PATH, Reply(429, {"message": "wait"}, {"Retry-After": "2"}),
                 Reply(200, {"availableCredits": 5000}))
    policy = FetchPolicy(attempt_timeout=2.0, max_attempts=3, total_timeout=3.0, backoff_base=0.01,
                         max_retry_wait=0.5)
    first, held, after = (only(r) for r in refreshes_by_one_engine(config, tmp_path / "history.sqlite3", policy,
                                                                   pauses=[0, 0, 2.2]))
    assert first.error is not None
    assert first.error.kind is ErrorKind.RATE_LIMITED
    assert held.error is not None
    assert held.error.kind is ErrorKind.RATE_LIMITED
    assert after.error is None
    assert after.reading is not None
    assert after.reading.remaining == Decimal(5000)
    assert len(server.requests_to(MEOWLOAD_PATH)) == 2


def test_engine_never_returns_or_stores_a_key_echoed_by_the_provider(server: FakeServer,
                                                                      isolated_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", [{"id": "meow", "provider": "meowload", "base_url": server.url}])
    state = tmp_path / "history.sqlite3"
    key = f"{KEY}-meow"
    _store_keys(["meow"])
    server.route(MEOWLOAD_PATH, Reply(200, {"availableCredits": 50000}))
    refresh(config, state)
    server.route(MEOWLOAD_PATH, Reply(401, {"message": f"key {key} was revoked"}))

    report, seen = refresh(config, state)

    result = only(report)
    assert result.error is not None
    assert result.error.kind is ErrorKind.AUTH
    assert "revoked" in result.error.message
    assert key not in repr(report)
    assert key not in repr(seen)
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("history.sqlite3*"))
    assert stored
    assert key.encode() not in stored
