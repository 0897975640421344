"""Hostile and faulty servers, for every provider, through the real engine on loopback.

Each case scripts one misbehaving server for an account of every provider, next to a
healthy account of every provider on another server, and runs one real refresh
(``Engine.refresh``: keyring, fetcher, parsers, alert memory, state file). Every hostile
account must end in the expected typed error, or the correct reading where the server
recovers, within its time budget; every healthy account must read correctly and arrive
without waiting for the hostile ones; and no key may reach a host it does not belong to.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_support import (
    ALL,
    HTML,
    KEY_HEADER,
    SUCCESS_BODY,
    SUCCESS_REMAINING,
    Blackhole,
    MiB,
    RawServer,
    endless_body,
    make_cert,
    padded_success,
    reset_mid_body,
    route_for,
    serve_tls,
    store_keys,
    success_json,
    write_config,
)
from tray_app.engine import Engine
from tray_app.fetch import Fetcher, FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.model import AccountResult, AccountState, ErrorKind, FetchError, Outcome, Reading
from tray_app.providers import PROVIDERS

CANARY = "ctk-hostile-canary-Zq81Lm4Xw7"
#: Small budgets: 0.5 s per attempt, 3 attempts, 1.5 s per account.
POLICY = FetchPolicy(attempt_timeout=0.5, max_attempts=3, total_timeout=1.5, backoff_base=0.01, backoff_max=0.05,
                     max_retry_wait=1.5)
#: Scheduling slack on top of a budget; only a missing bound can exceed it.
MARGIN = 1.0
#: A healthy account on a healthy server answers at once; it must not wait for a hostile neighbour.
HEALTHY_BOUND = 0.75


def key_of(account_id: str) -> str:
    return f"{CANARY}-{account_id}"


# --------------------------------------------------------------------------- the hostile cases

@dataclass
class Servers:
    hostile: FakeServer
    other: FakeServer  # another host, only ever a redirect target
    tmp: Path
    extra: list[Any] = field(default_factory=list)  # raw servers and blackholes to close

    def account_url(self, server_url: str, account_id: str) -> str:
        return f"{server_url}/{account_id}"


@dataclass(frozen=True)
class Case:
    name: str
    #: Scripts the hostile side for one provider's account; returns that account's base_url.
    setup: Callable[[Servers, str, str], str]
    #: The expected error kind, or None for the provider's documented success reading.
    kind: ErrorKind | None
    #: What the error message must mention (lower case), if anything.
    says: str = ""
    #: The server asked for this long before a retry: the reading may not come sooner.
    at_least: float = 0.0
    check: Callable[[FetchError], None] | None = None


def scripted(*replies: Callable[[str], Reply]) -> Callable[[Servers, str, str], str]:
    def setup(servers: Servers, provider_id: str, account_id: str) -> str:
        servers.hostile.route(route_for(account_id, provider_id), *(make(provider_id) for make in replies))
        return servers.account_url(servers.hostile.url, account_id)

    return setup


def ok(provider_id: str) -> Reply:
    return Reply(200, SUCCESS_BODY[provider_id])


def blackhole(servers: Servers, provider_id: str, account_id: str) -> str:
    hole = Blackhole()
    servers.extra.append(hole)
    return f"http://127.0.0.1:{hole.port}/{account_id}"


def raw(behaviour: Callable[..., None]) -> Callable[[Servers, str, str], str]:
    def setup(servers: Servers, provider_id: str, account_id: str) -> str:
        server = RawServer(behaviour)
        servers.extra.append(server)
        return f"{server.url}/{account_id}"

    return setup


def redirect(status: int, target: str) -> Callable[[Servers, str, str], str]:
    def setup(servers: Servers, provider_id: str, account_id: str) -> str:
        path = route_for(account_id, provider_id)
        host = {"ip": f"127.0.0.1:{servers.other.port}", "name": f"localhost:{servers.other.port}"}[target]
        # The other host would answer with a reading: following the redirect would "work".
        servers.other.route(path, ok(provider_id))
        servers.hostile.route(path, Reply(status, b"", {"Location": f"http://{host}{path}?key={CANARY}"}),
                              ok(provider_id))
        return servers.account_url(servers.hostile.url, account_id)

    return setup


def gzip_bomb(provider_id: str) -> Reply:
    return Reply(200, _bomb(), {"Content-Encoding": "gzip"})


_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """64 MiB of valid-looking JSON in about 64 KB of gzip (built once)."""
    if not _BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        parts = [packer.compress(b'{"availableCredits": 5, "pad": "')]
        block = b"x" * MiB
        parts += [packer.compress(block) for _ in range(64)]
        parts.append(packer.compress(b'"}') + packer.flush())
        _BOMB.append(b"".join(parts))
    return _BOMB[0]


def wrong_types(provider_id: str) -> Reply:
    bodies = {
        "meowload": b'{"availableCredits": "282539"}',
        "smarterbot": b'{"Data": {"Total": "5000", "Used": 243, "Remain": "4757"}, "Success": true, "Code": 200}',
        "sociavault": b'{"credits": "950", "subscriptionStatus": "active"}',
        "unwatermark": b'{"code": 100000, "message": {}, "result": {"user_credits": ["1234"]}}',
    }
    return Reply(200, bodies[provider_id])


def http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + delta, usegmt=True)


def _retry_after_is(low: float, high: float) -> Callable[[FetchError], None]:
    def check(error: FetchError) -> None:
        assert error.http_status == 429
        assert error.retry_after is not None
        assert low <= error.retry_after <= high, error.retry_after

    return check


def _no_certificate(error: FetchError) -> None:
    assert error.http_status is None


def tls(kind: str) -> Callable[[Servers, str, str], str]:
    """An HTTPS server whose certificate no client should accept."""

    def setup(servers: Servers, provider_id: str, account_id: str) -> str:
        if kind == "self-signed":
            cert = make_cert("127.0.0.1", ["127.0.0.1", "localhost"])
        else:  # "expired", self-signed too: either reason suffices for a refusal
            cert = make_cert("127.0.0.1", ["127.0.0.1", "localhost"], expired=True)
        server = serve_tls(FakeServer(), cert, servers.tmp / f"tls-{account_id}")
        server.route(route_for(account_id, provider_id), ok(provider_id))
        server.start()
        servers.extra.append(server)
        return f"https://127.0.0.1:{server.port}/{account_id}"

    return setup


CASES = [
    Case("connect-timeout", blackhole, ErrorKind.TIMEOUT),
    Case("no-answer", scripted(lambda p: Reply(200, SUCCESS_BODY[p], delay=30)), ErrorKind.TIMEOUT),
    Case("headers-then-silence", scripted(lambda p: Reply(200, SUCCESS_BODY[p], drip=30)), ErrorKind.TIMEOUT),
    # Bytes arrive faster than any per-read timeout: only the bound on the whole attempt stops it.
    Case("drip-10-bytes-a-second", scripted(lambda p: Reply(200, padded_success(p, 4000), drip=0.1)),
         ErrorKind.TIMEOUT),
    Case("drip-1-byte-a-second", scripted(lambda p: Reply(200, padded_success(p, 4000), drip=1.0)),
         ErrorKind.TIMEOUT),
    Case("reset-before-answer", scripted(lambda p: Reply(reset=True)), ErrorKind.NETWORK),
    Case("reset-mid-body", raw(reset_mid_body), ErrorKind.NETWORK),
    Case("closed-mid-body", scripted(lambda p: Reply(200, SUCCESS_BODY[p], close_after=7)), ErrorKind.NETWORK),
    Case("5-mib-body", scripted(lambda p: Reply(200, padded_success(p, 5 * MiB))), ErrorKind.BAD_RESPONSE,
         "larger"),
    Case("5-mib-body-without-length", raw(endless_body(5 * MiB)), ErrorKind.BAD_RESPONSE, "larger"),
    Case("gzip-bomb", scripted(gzip_bomb), ErrorKind.BAD_RESPONSE, "larger"),
    Case("invalid-json", scripted(lambda p: Reply(200, success_json(p)[:-3])), ErrorKind.BAD_RESPONSE, "not json"),
    Case("wrong-types", scripted(wrong_types), ErrorKind.BAD_RESPONSE, "not a number"),
    Case("html-200", scripted(lambda p: Reply(200, HTML, {"Content-Type": "text/html"})), ErrorKind.BAD_RESPONSE,
         "html"),
    Case("429-retry-after-seconds", scripted(lambda p: Reply(429, {"message": "slow"}, {"Retry-After": "1"}), ok),
         None, at_least=0.9),
    Case("429-retry-after-seconds-too-long",
         scripted(lambda p: Reply(429, {"message": "slow"}, {"Retry-After": "120"}), ok),
         ErrorKind.RATE_LIMITED, check=_retry_after_is(120, 120)),
    Case("429-retry-after-http-date",
         scripted(lambda p: Reply(429, {"message": "later"}, {"Retry-After": http_date(timedelta(hours=1))}), ok),
         ErrorKind.RATE_LIMITED, check=_retry_after_is(3500, 3600)),
    Case("429-retry-after-http-date-past",
         scripted(lambda p: Reply(429, {"message": "now"}, {"Retry-After": http_date(-timedelta(minutes=5))}), ok),
         None),
    Case("503-flapping", scripted(lambda p: Reply(503, HTML, {"Content-Type": "text/html"}), ok,
                                  lambda p: Reply(503, HTML, {"Content-Type": "text/html"}), ok), None),
    Case("503-every-time", scripted(lambda p: Reply(503, HTML, {"Content-Type": "text/html"})), ErrorKind.SERVER),
    Case("301-to-another-host", redirect(301, "ip"), ErrorKind.BAD_RESPONSE, "another host"),
    Case("302-to-another-host", redirect(302, "ip"), ErrorKind.BAD_RESPONSE, "another host"),
    Case("307-to-another-host", redirect(307, "name"), ErrorKind.BAD_RESPONSE, "another host"),
    Case("tls-self-signed", tls("self-signed"), ErrorKind.NETWORK, "certificate", check=_no_certificate),
    Case("tls-expired", tls("expired"), ErrorKind.NETWORK, "certificate", check=_no_certificate),
]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    with FakeServer() as hostile, FakeServer() as other:
        made = Servers(hostile, other, tmp_path)
        try:
            yield made
        finally:
            for extra in made.extra:
                extra.close() if hasattr(extra, "close") else extra.stop()


def run_refresh(config: Path, state: Path) -> tuple[list[AccountResult], dict[str, float], float]:
    """One refresh by a fresh engine: the results, when each arrived (s after start), the total time."""

    async def go() -> tuple[list[AccountResult], dict[str, float], float]:
        engine = Engine(config, keys=KeyStore(), history=HistoryStore(state), notifier="tray", policy=POLICY)
        arrived: dict[str, float] = {}
        start = time.monotonic()
        try:
            cfg = engine.load_config()
            report = await asyncio.wait_for(
                engine.refresh(cfg, engine.select(cfg), lambda r: arrived.setdefault(r.account_id,
                                                                                     time.monotonic() - start),
                               language="en"),
                POLICY.total_timeout + 10)
        finally:
            await engine.aclose()
        return list(report.results), arrived, time.monotonic() - start

    return asyncio.run(go())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_server_for_every_provider(case: Case, servers: Servers, isolated_env: dict[str, str],
                                           tmp_path: Path) -> None:
    accounts: list[dict[str, Any]] = []
    with FakeServer() as healthy:
        for provider_id in ALL:
            bad, good = f"bad-{provider_id}", f"good-{provider_id}"
            accounts.append({"id": bad, "provider": provider_id, "base_url": case.setup(servers, provider_id, bad)})
            healthy.route(route_for(good, provider_id), ok(provider_id))
            accounts.append({"id": good, "provider": provider_id, "base_url": f"{healthy.url}/{good}"})
        config = write_config(tmp_path / "config.toml", accounts, language="en")
        store_keys({a["id"]: key_of(a["id"]) for a in accounts})

        results, arrived, elapsed = run_refresh(config, tmp_path / "history.sqlite3")

    by_id = {r.account_id: r for r in results}
    assert sorted(by_id) == sorted(a["id"] for a in accounts)
    for provider_id in ALL:
        good = by_id[f"good-{provider_id}"]
        assert good.error is None, (provider_id, good.error)
        assert good.reading is not None
        assert good.reading.remaining == SUCCESS_REMAINING[provider_id]
        assert arrived[good.account_id] < HEALTHY_BOUND, (provider_id, arrived[good.account_id])

        bad = by_id[f"bad-{provider_id}"]
        assert arrived[bad.account_id] < POLICY.total_timeout + MARGIN + case.at_least, (provider_id, arrived)
        if case.kind is None:
            assert bad.error is None, (provider_id, bad.error)
            assert bad.reading is not None
            assert bad.reading.remaining == SUCCESS_REMAINING[provider_id]
            assert arrived[bad.account_id] >= case.at_least, (provider_id, arrived[bad.account_id])
        else:
            assert bad.state is AccountState.ERROR
            assert bad.error is not None, provider_id
            assert bad.error.kind is case.kind, (provider_id, bad.error)
            assert case.says in bad.error.message.lower(), (provider_id, bad.error.message)
            assert bad.error.message
            assert "<" not in bad.error.message
            if case.check is not None:
                case.check(bad.error)
        assert CANARY not in repr(bad)
    assert elapsed < POLICY.total_timeout + MARGIN + case.at_least

    # A redirect never takes the key along: the other host heard nothing at all.
    assert servers.other.requests == []
    # Every key that did arrive came to its own account's path, in its documented header only.
    for request in [*servers.hostile.requests, *(r for e in servers.extra for r in getattr(e, "requests", []))]:
        owner = getattr(request, "path", None)
        if owner is None:
            continue
        account_id = owner.split("/")[1]
        for name, value in request.headers.items():
            if CANARY in value:
                assert value == key_of(account_id)
                assert name == KEY_HEADER[account_id.removeprefix("bad-")]


# --------------------------------------------------------------------------- one fetch at a time

def fetch(provider_id: str, url: str, *, policy: FetchPolicy = POLICY,
          verify: ssl.SSLContext | bool = True) -> Outcome:
    async def go() -> Outcome:
        async with Fetcher(policy, verify=verify) as fetcher:
            return await asyncio.wait_for(fetcher.fetch(PROVIDERS[provider_id], url, CANARY, "en"),
                                          policy.total_timeout + 2 * MARGIN)

    return asyncio.run(go())


def bad_response(outcome: Outcome) -> FetchError:
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind is ErrorKind.BAD_RESPONSE, outcome
    return outcome


#: The balance field of each provider's success body, with a raw JSON literal in its place.
BALANCE_TEMPLATE = {
    "meowload": '{"availableCredits": %s}',
    "smarterbot": '{"Data": {"Total": 5000, "Used": 243, "Remain": %s}, "Version": "1.0.0", "Success": true, '
                  '"Code": 200, "Message": ""}',
    "sociavault": '{"credits": %s, "subscriptionStatus": "active", "subscriptionId": null}',
    "unwatermark": '{"code": 100000, "message": {}, "result": {"user_credits": %s}}',
}
# JSON literals no provider documents as a balance (Unwatermark's string of digits is checked apart).
WRONG_BALANCES = ['"12"', "NaN", "Infinity", "-Infinity", "1e308", "1e16", "null", '{"value": 12}',
                  "[12]", "true", '""', '"12 credits"', '"NaN"', '"1e308"', '"0x10"', '"١٢"']


@pytest.mark.parametrize(("provider_id", "literal"), [
    (p, literal) for literal in WRONG_BALANCES for p in ALL
    if (p, literal) != ("unwatermark", '"12"')  # documented as a string of digits: checked below
] + [("sociavault", "-0.5")])  # SociaVault's credits are whole numbers
def test_wrong_balance_types_are_bad_response(server: FakeServer, provider_id: str, literal: str) -> None:
    server.route(PATHS[provider_id], Reply(200, (BALANCE_TEMPLATE[provider_id] % literal).encode()))
    outcome = fetch(provider_id, server.url + PATHS[provider_id])
    assert bad_response(outcome).http_status == 200
    assert len(server.requests) == 1  # a broken answer is not retried


@pytest.mark.parametrize("provider_id", ALL)
@pytest.mark.parametrize(("literal", "expected"), [("12", 12), ("0", 0), ("12.5", Decimal("12.5")),
                                                   ("1000000000000000", 10**15),
                                                   ("-5", -5), ("-0.5", Decimal("-0.5"))])  # overdrawn
def test_plain_numbers_read_exactly(server: FakeServer, provider_id: str, literal: str, expected: Any) -> None:
    """The positive control for the test above: the same template with a plain number reads it."""
    if provider_id == "sociavault" and "." in literal:
        literal = "12"  # documented as an integer
        expected = 12
    server.route(PATHS[provider_id], Reply(200, (BALANCE_TEMPLATE[provider_id] % literal).encode()))
    outcome = fetch(provider_id, server.url + PATHS[provider_id])
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal(expected)


def test_unwatermark_string_balance_reads_exactly(server: FakeServer) -> None:
    server.route(PATHS["unwatermark"], Reply(200, (BALANCE_TEMPLATE["unwatermark"] % '"12"').encode()))
    outcome = fetch("unwatermark", server.url + PATHS["unwatermark"])
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal(12)


WRONG_ENVELOPES = {
    "smarterbot": ['{"Data": {"Total": 5000, "Used": 243, "Remain": 4757}, "Success": "true", "Code": 200}',
                   '{"Data": [5000, 243, 4757], "Success": true, "Code": 200}',
                   '{"Data": {"Total": 5000, "Used": "243", "Remain": 4757}, "Success": true, "Code": 200}'],
    "sociavault": ['{"credits": 950, "subscriptionStatus": 1}',
                   '{"credits": 950, "subscriptionStatus": {"value": "active"}}'],
    "unwatermark": ['{"code": "100000", "result": {"user_credits": "12"}}',
                    '{"code": 100000, "result": "12"}', '{"code": true, "result": {"user_credits": "12"}}'],
    "meowload": ['[{"availableCredits": 12}]', '{"availableCredits": {"availableCredits": 12}}', '"12"'],
}


@pytest.mark.parametrize(("provider_id", "body"), [(p, b) for p, bodies in WRONG_ENVELOPES.items() for b in bodies])
def test_wrong_envelope_types_are_bad_response(server: FakeServer, provider_id: str, body: str) -> None:
    server.route(PATHS[provider_id], Reply(200, body.encode()))
    bad_response(fetch(provider_id, server.url + PATHS[provider_id]))


# --------------------------------------------------------------------------- bombs: memory stays bounded

def _deflate_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    return b"".join([packer.compress(b'{"availableCredits": 5, "pad": "'), *(packer.compress(b"y" * MiB)
                                                                           for _ in range(64)), packer.flush()])


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "gzip": (_bomb, "gzip"),
    "deflate": (_deflate_bomb, "deflate"),
    "gzip-in-gzip": (lambda: gzip.compress(_bomb(), 9), "gzip, gzip"),
}


@pytest.mark.parametrize("provider_id", ALL)
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_compression_bomb_is_refused_with_bounded_memory(server: FakeServer, provider_id: str, bomb: str) -> None:
    """httpx inflates each network chunk whole: 64 KB of gzip can be 64 MiB. Ours stops within the limit."""
    make, encoding = BOMBS[bomb]
    body = make()
    assert len(body) < 200 * 1024  # small on the wire
    server.route(PATHS[provider_id], Reply(200, body, {"Content-Encoding": encoding}), ok(provider_id))
    tracemalloc.start()
    try:
        start = time.monotonic()
        outcome = fetch(provider_id, server.url + PATHS[provider_id])
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = bad_response(outcome)
    assert "larger than" in error.message
    assert len(server.requests) == 1
    # The body limit is 1 MiB; holding it and joining it costs 2 MiB. 64 MiB of JSON never materialises.
    print(f"\n{bomb} bomb for {provider_id}: peak {peak / MiB:.2f} MiB, {elapsed * 1000:.0f} ms")
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert elapsed < 3.0


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "gzip, gzip", "identity", "GZIP"])
def test_compressed_answers_within_the_limit_are_read(server: FakeServer, encoding: str) -> None:
    """The positive control: honest compressed answers (even dripped a byte at a time) still read."""
    data = json.dumps({"availableCredits": 4321, "pad": "z" * 5000}).encode()
    if encoding.lower() == "gzip":
        body = gzip.compress(data)
    elif encoding == "deflate":
        body = zlib.compress(data)
    elif encoding == "deflate-raw":
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, encoding = packer.compress(data) + packer.flush(), "deflate"
    elif encoding == "gzip, gzip":
        body = gzip.compress(gzip.compress(data))
    else:
        body = data
    server.route(PATHS["meowload"], Reply(200, body, {"Content-Encoding": encoding}))
    outcome = fetch("meowload", server.url + PATHS["meowload"])
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == Decimal(4321)


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", gzip.compress(b'{"availableCredits": 5}')[:-12]),  # cut short
    ("gzip", b'{"availableCredits": 5}'),  # says gzip, is not
    ("deflate", b"\x78\x9c\xff\xff\xff"),
    ("br", b'{"availableCredits": 5}'),  # never asked for
    ("zstd", b'{"availableCredits": 5}'),
])
def test_broken_or_unasked_compression_is_bad_response(server: FakeServer, encoding: str, body: bytes) -> None:
    server.route(PATHS["meowload"], Reply(200, body, {"Content-Encoding": encoding}))
    bad_response(fetch("meowload", server.url + PATHS["meowload"]))


def test_only_encodings_we_can_undo_are_asked_for(server: FakeServer) -> None:
    server.route(PATHS["meowload"], ok("meowload"))
    fetch("meowload", server.url + PATHS["meowload"])
    (request,) = server.requests
    offered = {part.split(";")[0].strip() for part in request.headers["accept-encoding"].split(",")}
    assert offered <= {"gzip", "deflate", "identity"}


# --------------------------------------------------------------------------- TLS, with a positive control

@pytest.fixture(scope="module")
def authority() -> Any:
    return make_cert("Credit Tray Test CA", [], ca=True)


def _tls_server(tmp_path: Path, cert: Any) -> FakeServer:
    server = serve_tls(FakeServer(), cert, tmp_path / "tls")
    server.route(PATHS["meowload"], ok("meowload"))
    return server.start()


def _trusting(authority: Any) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=authority.cert_pem.decode())


def test_tls_server_with_a_trusted_certificate_is_read(tmp_path: Path, authority: Any) -> None:
    """Without this, the refusals below could be any broken TLS server."""
    server = _tls_server(tmp_path, make_cert("localhost", ["localhost"], issuer=authority))
    try:
        outcome = fetch("meowload", f"https://localhost:{server.port}{PATHS['meowload']}",
                        verify=_trusting(authority))
    finally:
        server.stop()
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == SUCCESS_REMAINING["meowload"]
    assert server.requests[0].headers["x-api-key"] == CANARY


@pytest.mark.parametrize("problem", ["wrong-host", "expired", "self-signed-with-default-trust"])
def test_tls_certificate_problems_are_refused_before_the_key_is_sent(tmp_path: Path, authority: Any,
                                                                     problem: str) -> None:
    verify: ssl.SSLContext | bool = _trusting(authority)
    if problem == "wrong-host":
        cert = make_cert("elsewhere.example", ["elsewhere.example"], issuer=authority)
    elif problem == "expired":
        cert = make_cert("localhost", ["localhost"], issuer=authority, expired=True)
    else:
        cert, verify = make_cert("localhost", ["localhost", "127.0.0.1"]), True
    server = _tls_server(tmp_path, cert)
    try:
        start = time.monotonic()
        outcome = fetch("meowload", f"https://localhost:{server.port}{PATHS['meowload']}", verify=verify)
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind is ErrorKind.NETWORK
    assert outcome.message == "secure connection to localhost failed: its TLS certificate is not valid"
    assert server.requests == []  # no request (so no key) ever got through the handshake
    assert elapsed < POLICY.total_timeout + MARGIN


# --------------------------------------------------------------------------- redirects within the same host

#: method and body each provider documents (what a same-host redirect must repeat)
DOCUMENTED_REQUEST = {"meowload": ("GET", b""), "smarterbot": ("GET", b"{}"), "sociavault": ("GET", b""),
                      "unwatermark": ("POST", b"")}


@pytest.mark.parametrize("provider_id", ALL)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_same_host_redirect_repeats_the_documented_request(server: FakeServer, provider_id: str,
                                                           status: int) -> None:
    server.route(PATHS[provider_id], Reply(status, b"", {"Location": "/moved" + PATHS[provider_id]}))
    server.route("/moved" + PATHS[provider_id], ok(provider_id))
    outcome = fetch(provider_id, server.url + PATHS[provider_id])
    assert isinstance(outcome, Reading), outcome
    assert outcome.remaining == SUCCESS_REMAINING[provider_id]
    (moved,) = server.requests_to("/moved" + PATHS[provider_id])
    method, body = DOCUMENTED_REQUEST[provider_id]
    if status in (301, 302) and method == "POST":
        method, body = "GET", b""  # what every client does with a POST on 301/302
    assert (moved.method, moved.body) == (method, body)
    assert moved.headers[KEY_HEADER[provider_id]] == CANARY
    assert moved.headers.get("content-length", "0") == str(len(body))
