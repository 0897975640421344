"""Fetching balances over HTTP: bounded in time and size, retried with care, key-safe.

One ``httpx.AsyncClient`` serves every account (connection reuse); accounts run
concurrently, up to ``max_in_flight`` at once and ``per_host`` at once to any one origin.
Each attempt is bounded as a whole (a server that drips a byte a second cannot hold us
past it), each account by a total budget.
Redirects are followed only within the same origin: an API key never travels to a
host the user did not configure.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import httpx

from tray_app.config import base_url_problem
from tray_app.keys import key_problem
from tray_app.logs import redact
from tray_app.model import KEY_UNUSABLE, TRANSIENT_KINDS, ErrorKind, FetchError, Outcome, utc_now, whole_seconds
from tray_app.providers.base import HttpAnswer, Provider, clean_message, interpret

MAX_BODY = 1024 * 1024
REDACTED = "[API key]"
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchPolicy:
    attempt_timeout: float = 10.0
    max_attempts: int = 3
    total_timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    #: Retry-After longer than this is reported (and honoured by the next refresh), not slept through.
    max_retry_wait: float = 10.0
    #: Least wait before asking again after a 429 without Retry-After, doubled each time: the server
    #: said "too many", so two more requests within a second would be more of the same.
    rate_limit_wait: float = 1.0
    max_body: int = MAX_BODY
    #: Requests in flight at once, all hosts together: 20 accounts fit in one round.
    max_in_flight: int = 32
    #: Requests in flight at once to one origin (scheme, host, port): polite to each provider's server.
    per_host: int = 8


INVALID_REDIRECT = "redirected to an invalid address; not followed, the key was not sent"


class _UnusableAnswer(Exception):
    """A response arrived (so it has a status) but cannot be used: too big, broken, or sent elsewhere."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    parts = urlsplit(str(url))
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _network_message(exc: httpx.TransportError, host: str) -> FetchError:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, httpx.ConnectError) and ("certificate" in lowered or "ssl" in lowered):
        return FetchError(ErrorKind.NETWORK, f"secure connection to {host} failed: its TLS certificate is not valid")
    if "refused" in lowered:
        return FetchError(ErrorKind.NETWORK, f"{host} refused the connection")
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return FetchError(ErrorKind.NETWORK, f"{host} could not be found (DNS)")
    if isinstance(exc, httpx.ConnectError):
        return FetchError(ErrorKind.NETWORK, f"could not connect to {host}")
    return FetchError(ErrorKind.NETWORK, f"the connection to {host} broke before the answer was complete")


def _scrub(text: str, key: str) -> str:
    """``text`` without the key: whole, in any escaping, as a long piece, or cut short at the end."""
    text = redact(text, [key], marker=REDACTED)
    if text.endswith("…"):  # a message cut to length may end in the first characters of the key
        body = text[:-1]
        for size in range(min(len(key), len(body)), 3, -1):
            if body.endswith(key[:size]):
                return body[:-size] + REDACTED + "…"
    return text


def _scrubbed(outcome: Outcome, key: str) -> Outcome:
    """The outcome with every text the server chose freed of the key (however it was escaped)."""
    if not key:
        return outcome
    if isinstance(outcome, FetchError):
        message = _scrub(outcome.message, key)
        return replace(outcome, message=message) if message != outcome.message else outcome
    fields = {name: getattr(outcome, name) for name in ("subscription_status", "subscription_id", "unit")}
    scrubbed = {name: _scrub(value, key) for name, value in fields.items() if value}
    dirty: dict[str, Any] = {name: value for name, value in scrubbed.items() if value != fields[name]}
    if any(_scrub(each.unit, key) != each.unit for each in outcome.balances):
        dirty["balances"] = tuple(replace(each, unit=_scrub(each.unit, key)) for each in outcome.balances)
    return replace(outcome, **dirty) if dirty else outcome


class Fetcher:
    """Runs balance requests; create and use it inside one event loop, then ``aclose`` it."""

    def __init__(self, policy: FetchPolicy | None = None, *, verify: ssl.SSLContext | bool = True) -> None:
        self.policy = policy or FetchPolicy()
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.policy.attempt_timeout),
            limits=httpx.Limits(max_connections=self.policy.max_in_flight, max_keepalive_connections=8),
            verify=verify,
            headers={"User-Agent": "credit-tray", "Accept-Encoding": ACCEPT_ENCODING},
            # No cookies: one client serves every account, and a cookie set for one account's
            # request (a session, or a key echoed back) must not ride along with another's.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        self._slots = asyncio.Semaphore(self.policy.max_in_flight)
        self._host_slots: dict[tuple[str, str, int | None], asyncio.Semaphore] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        """One account's balance, retried within its budget; never raises for network trouble."""
        problem = base_url_problem(url)
        if problem:
            return FetchError(ErrorKind.CONFIG, problem)
        if key and (problem := key_problem(key)):  # stored before keys were checked where they are entered
            return FetchError(ErrorKind.NO_KEY, f"{KEY_UNUSABLE}: {problem}; store it again with "
                                                "'credit-tray key set ID' or in Settings")
        origin = _origin(url)  # redirects are followed within the same origin only
        host_slots = self._host_slots.setdefault(origin, asyncio.Semaphore(self.policy.per_host))
        async with host_slots, self._slots:
            outcome = await self._with_retries(provider, url, key, language)
        return _scrubbed(outcome, key)

    async def _with_retries(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        policy = self.policy
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.total_timeout
        outcome: Outcome = FetchError(ErrorKind.TIMEOUT, f"no answer within {whole_seconds(policy.total_timeout)} s")
        for attempt in range(policy.max_attempts):
            budget = deadline - loop.time()
            if budget <= 0:
                break
            limit = min(policy.attempt_timeout, budget)
            try:
                outcome = await asyncio.wait_for(self._attempt(provider, url, key, language), limit)
            except TimeoutError:
                outcome = FetchError(ErrorKind.TIMEOUT, f"no answer within {whole_seconds(limit)} s")
            if not isinstance(outcome, FetchError) or outcome.kind not in TRANSIENT_KINDS:
                return outcome
            if attempt + 1 >= policy.max_attempts:
                break
            delay = min(policy.backoff_max, policy.backoff_base * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
            if outcome.retry_after is not None:
                if outcome.retry_after > policy.max_retry_wait:
                    break
                delay = max(delay, outcome.retry_after)
            elif outcome.kind is ErrorKind.RATE_LIMITED:
                delay = max(delay, policy.rate_limit_wait * 2**attempt)
            if loop.time() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        return outcome

    async def probe(self, provider: Provider, url: str, key: str, language: str) -> tuple[HttpAnswer | None, Outcome]:
        """One attempt without retries, for Settings' Test: the answer (key redacted) beside what it means."""
        problem = base_url_problem(url)
        if problem:
            return None, FetchError(ErrorKind.CONFIG, problem)
        if key and (problem := key_problem(key)):
            return None, FetchError(ErrorKind.NO_KEY, f"{KEY_UNUSABLE}: {problem}")
        try:
            exchanged = await asyncio.wait_for(self._exchange(provider, url, key, language),
                                               self.policy.attempt_timeout)
        except TimeoutError:
            waited = whole_seconds(self.policy.attempt_timeout)
            exchanged = FetchError(ErrorKind.TIMEOUT, f"no answer within {waited} s")
        if isinstance(exchanged, FetchError):
            return None, _scrubbed(exchanged, key)
        return exchanged, _scrubbed(interpret(provider, exchanged, language, utc_now()), key)

    async def _attempt(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        exchanged = await self._exchange(provider, url, key, language)
        if isinstance(exchanged, FetchError):
            return exchanged
        return interpret(provider, exchanged, language, utc_now())

    async def _exchange(self, provider: Provider, url: str, key: str, language: str) -> HttpAnswer | FetchError:
        """One request and its complete answer (the key taken out of it), or why there is none."""
        request_spec = provider.build_request(key, language)
        host = urlsplit(url).hostname or url
        request = self._client.build_request(
            request_spec.method, url, headers=dict(request_spec.headers), content=request_spec.content,
            params=dict(request_spec.params) if request_spec.params else None,
        )
        try:
            answer = await self._send(request)
        except httpx.TimeoutException:
            return FetchError(ErrorKind.TIMEOUT, f"{host} did not answer in time")
        except _UnusableAnswer as unusable:
            return FetchError(ErrorKind.BAD_RESPONSE, unusable.message, unusable.status)
        except httpx.TransportError as exc:
            return _network_message(exc, host)
        if key:  # a server echoing the key must not get it into a message we show or store
            answer = replace(answer, body=answer.body.replace(key.encode(), REDACTED.encode()))
        return answer

    async def _send(self, request: httpx.Request) -> HttpAnswer:
        status = 0
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = await self._client.send(request, stream=True)
            except (UnicodeError, httpx.InvalidURL):  # httpx reading a Location with an "xn--" host that is not IDNA
                raise _UnusableAnswer(INVALID_REDIRECT, None) from None
            try:
                if response.next_request is not None:
                    target = response.next_request
                    try:
                        elsewhere, where = _origin(target.url) != _origin(request.url), target.url.host or "?"
                    except (UnicodeError, httpx.InvalidURL):  # e.g. an "xn--" host that is not valid IDNA
                        raise _UnusableAnswer(INVALID_REDIRECT, response.status_code) from None
                    if elsewhere:
                        raise _UnusableAnswer(f"redirected to another host ({where}); "
                                              "not followed, the key was not sent", response.status_code)
                    method = request.method if response.status_code in (307, 308) else target.method
                    # Same method, same request (SmarterBot's GET carries a body); a 303 or a POST
                    # turned GET drops the body and the headers describing it.
                    same = method == request.method
                    forwarded = httpx.Headers(request.headers)
                    if not same:
                        for name in ("content-length", "content-type", "transfer-encoding"):
                            if name in forwarded:
                                del forwarded[name]
                    request = self._client.build_request(
                        method, target.url, headers=forwarded, content=request.content if same else None
                    )
                    status = response.status_code
                    continue
                body = await self._read_bounded(response)
                headers = {k.lower(): v for k, v in response.headers.items()}
                return HttpAnswer(response.status_code, headers, body)
            finally:
                await response.aclose()
        raise _UnusableAnswer("too many redirects", status)

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        """The decoded body, refusing more than ``max_body`` bytes on the wire or decoded.

        The raw bytes are decompressed here in steps of at most ``_DECODE_STEP`` bytes, so a
        gzip bomb costs at most about ``max_body`` of memory: httpx would inflate each network
        chunk whole, and 64 KiB of gzip can hold 64 MiB.
        """
        limit = self.policy.max_body
        status = response.status_code
        too_large = _UnusableAnswer(f"the answer is larger than {limit // 1024} KiB", status)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large  # compressed or not, a body this large on the wire is refused unread
        decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), limit, status)
        chunks: list[bytes] = []
        async for raw in response.aiter_raw():  # undecoded: the decoder bounds the wire size too
            chunks.extend(decoder.feed(raw))
        decoder.finish()
        return b"".join(chunks)


#: Largest piece inflated at once; bounds the memory a compressed body can claim per step.
_DECODE_STEP = 64 * 1024
_GZIP = ("gzip", "x-gzip")
#: What we tell servers we can undo; anything else in Content-Encoding is refused.
ACCEPT_ENCODING = "gzip, deflate"


class _BoundedDecoder:
    """Undoes ``Content-Encoding`` (gzip, deflate, identity) one bounded step at a time.

    Each layer's output counts against ``limit``, so neither a bomb nor a bomb inside a
    bomb makes us hold more than ``limit`` plus one step.
    """

    def __init__(self, content_encoding: str, limit: int, status: int) -> None:
        self._limit, self._status = limit, status
        names = [n.strip().lower() for n in content_encoding.split(",")]
        names = [n for n in names if n and n != "identity"]
        unknown = [n for n in names if n not in (*_GZIP, "deflate")]
        if unknown:
            raise _UnusableAnswer(f"the answer is compressed in a way that was not asked for "
                                  f"({clean_message(unknown[0])[:20]})", status)
        # Encodings are applied in the order listed, so they are undone in reverse.
        self._names = list(reversed(names))
        self._layers: list[Any] = [None] * len(self._names)
        self._heads = [b""] * len(self._names)  # the first bytes of a deflate layer, until it can be told apart
        self._sizes = [0] * (len(self._names) + 1)

    def _broken(self) -> _UnusableAnswer:
        return _UnusableAnswer("the answer's compressed body is broken", self._status)

    def _layer(self, index: int, first: bytes) -> Any:
        """Layer ``index``, made on its first two bytes; None while fewer have arrived."""
        layer = self._layers[index]
        if layer is None:
            if self._names[index] in _GZIP:
                wbits = zlib.MAX_WBITS | 16
            elif len(first) < 2:
                return None
            else:  # "deflate" means zlib-wrapped, but some servers send raw deflate (httpx takes both)
                zlib_header = (first[0] & 0x0F) == 8 and int.from_bytes(first[:2], "big") % 31 == 0
                wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
            layer = self._layers[index] = zlib.decompressobj(wbits)
        return layer

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        """Feed ``data`` to layer ``index``; yield what leaves the last layer, a bounded piece at a time."""
        self._sizes[index] += len(data)
        if self._sizes[index] > self._limit:
            raise _UnusableAnswer(f"the answer is larger than {self._limit // 1024} KiB", self._status)
        if index == len(self._names):
            yield data
            return
        pending = data
        if self._layers[index] is None:
            pending = self._heads[index] = self._heads[index] + data
        layer = self._layer(index, pending)
        if layer is None:
            return
        while True:
            try:
                out = layer.decompress(pending, _DECODE_STEP)
            except zlib.error:
                raise self._broken() from None
            pending = layer.unconsumed_tail
            if out:
                yield from self._through(index + 1, out)
            if not pending and len(out) < _DECODE_STEP:
                return

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data) if data else iter(())

    def finish(self) -> None:
        """A compressed stream that stopped before its end marker was cut short."""
        started = [layer is not None or head for layer, head in zip(self._layers, self._heads, strict=True)]
        if any(begun and (layer is None or not layer.eof)
               for begun, layer in zip(started, self._layers, strict=True)):
            raise self._broken()
