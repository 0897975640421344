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
from tray_app.i18n import _
from tray_app.keys import key_problem
from tray_app.logs import redact
from tray_app.model import (
    KEY_UNUSABLE,
    TRANSIENT_KINDS,
    ErrorDetail,
    ErrorKind,
    FetchError,
    Outcome,
    utc_now,
    whole_seconds,
)
from tray_app.providers.base import HttpAnswer, Provider, clean_message, interpret

MAX_BODY = 1024 * 1024
#: What a key echoed by a server becomes; also in the raw answer Settings' Test shows, so it stays one token.
REDACTED = "[API key]"  # untranslated: a marker in raw server text, not a sentence
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


def _invalid_redirect() -> str:
    return _("redirected to an invalid address; not followed, the key was not sent")


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
        message = _("secure connection to {host} failed: its TLS certificate is not valid")
    elif "refused" in lowered:
        message = _("{host} refused the connection")
    elif "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        message = _("{host} could not be found (DNS)")
    elif isinstance(exc, httpx.ConnectError):
        message = _("could not connect to {host}")
    else:
        message = _("the connection to {host} broke before the answer was complete")
    return FetchError(ErrorKind.NETWORK, message.format(host=host))


def _no_answer_within(seconds: float) -> str:
    return _("no answer within {seconds} s").format(seconds=whole_seconds(seconds))


def _too_large(limit: int) -> str:
    return _("the answer is larger than {size} KiB").format(size=limit // 1024)


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
            return FetchError(ErrorKind.NO_KEY, _("{unusable}: {problem}; store it again with "
                                                  "'credit-tray key set ID' or in Settings").format(
                unusable=_(KEY_UNUSABLE), problem=problem), detail=ErrorDetail.KEY_UNUSABLE)
        origin = _origin(url)  # redirects are followed within the same origin only
        host_slots = self._host_slots.setdefault(origin, asyncio.Semaphore(self.policy.per_host))
        async with host_slots, self._slots:
            outcome = await self._with_retries(provider, url, key, language)
        return _scrubbed(outcome, key)

    async def _with_retries(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        policy = self.policy
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.total_timeout
        outcome: Outcome = FetchError(ErrorKind.TIMEOUT, _no_answer_within(policy.total_timeout))
        for attempt in range(policy.max_attempts):
            budget = deadline - loop.time()
            if budget <= 0:
                break
            limit = min(policy.attempt_timeout, budget)
            try:
                outcome = await asyncio.wait_for(self._attempt(provider, url, key, language), limit)
            except TimeoutError:
                outcome = FetchError(ErrorKind.TIMEOUT, _no_answer_within(limit))
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
            return None, FetchError(ErrorKind.NO_KEY, _("{unusable}: {problem}").format(
                unusable=_(KEY_UNUSABLE), problem=problem), detail=ErrorDetail.KEY_UNUSABLE)
        try:
            exchanged = await asyncio.wait_for(self._exchange(provider, url, key, language),
                                               self.policy.attempt_timeout)
        except TimeoutError:
            exchanged = FetchError(ErrorKind.TIMEOUT, _no_answer_within(self.policy.attempt_timeout))
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
            return FetchError(ErrorKind.TIMEOUT, _("{host} did not answer in time").format(host=host))
        except _UnusableAnswer as unusable:
            return FetchError(ErrorKind.BAD_RESPONSE, unusable.message, unusable.status)
        except httpx.TransportError as exc:
            return _network_message(exc, host)
        if key:  # a server echoing the key must not get it into a message we show or store
            answer = replace(answer, body=answer.body.replace(key.encode(), REDACTED.encode()))
        return answer

    async def _send(self, request: httpx.Request) -> HttpAnswer:
        status = 0
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = await self._client.send(request, stream=True)
            except (UnicodeError, httpx.InvalidURL):  # httpx reading a Location with an "xn--" host that is not IDNA
                raise _UnusableAnswer(_invalid_redirect(), None) from None
            try:
                if response.next_request is not None:
                    target = response.next_request
                    try:
                        elsewhere, where = _origin(target.url) != _origin(request.url), target.url.host or "?"
                    except (UnicodeError, httpx.InvalidURL):  # e.g. an "xn--" host that is not valid IDNA
                        raise _UnusableAnswer(_invalid_redirect(), response.status_code) from None
                    if elsewhere:
                        raise _UnusableAnswer(_("redirected to another host ({host}); not followed, the key was "
                                                "not sent").format(host=where), response.status_code)
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
        raise _UnusableAnswer(_("too many redirects"), status)

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        """The decoded body, refusing more than ``max_body`` bytes on the wire or decoded.

        The raw bytes are decompressed here in steps of at most ``_DECODE_STEP`` bytes, so a
        gzip bomb costs at most about ``max_body`` of memory: httpx would inflate each network
        chunk whole, and 64 KiB of gzip can hold 64 MiB.
        """
        limit = self.policy.max_body
        status = response.status_code
        too_large = _UnusableAnswer(_too_large(limit), status)
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
ACCEPT_ENCODING = "gzip, deflate"  # untranslated: HTTP header value


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
            raise _UnusableAnswer(_("the answer is compressed in a way that was not asked for ({encoding})").format(
                encoding=clean_message(unknown[0])[:20]), status)
        # Encodings are applied in the order listed, so they are undone in reverse.
        self._names = list(reversed(names))
        self._layers: list[Any] = [None] * len(self._names)
        self._heads = [b""] * len(self._names)  # the first bytes of a deflate layer, until it can be told apart
        self._sizes = [0] * (len(self._names) + 1)

    def _broken(self) -> _UnusableAnswer:
        return _UnusableAnswer(_("the answer's compressed body is broken"), self._status)

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
            raise _UnusableAnswer(_too_large(self._limit), self._status)
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
