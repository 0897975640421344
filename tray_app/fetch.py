"""Fetching balances over HTTP: bounded in time and size, retried with care, key-safe.

One ``httpx.AsyncClient`` serves every account (connection reuse); accounts run
concurrently under a semaphore. Each attempt is bounded as a whole (a server that
drips a byte a second cannot hold us past it), each account by a total budget.
Redirects are followed only within the same origin: an API key never travels to a
host the user did not configure.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from tray_app.config import base_url_problem
from tray_app.model import TRANSIENT_KINDS, ErrorKind, FetchError, Outcome, utc_now
from tray_app.providers.base import HttpAnswer, Provider, interpret

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
    max_body: int = MAX_BODY
    concurrency: int = 8


class _UnusableAnswer(Exception):
    """A response arrived (so it has a status) but cannot be used: too big, broken, or sent elsewhere."""

    def __init__(self, message: str, status: int) -> None:
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


def _scrubbed(outcome: Outcome, key: str) -> Outcome:
    """The outcome with every text the server chose freed of the key (however it was escaped)."""
    if not key:
        return outcome
    if isinstance(outcome, FetchError):
        return replace(outcome, message=outcome.message.replace(key, REDACTED)) if key in outcome.message else outcome
    fields = {name: getattr(outcome, name) for name in ("subscription_status", "subscription_id", "unit")}
    dirty = {name: value.replace(key, REDACTED) for name, value in fields.items() if value and key in value}
    return replace(outcome, **dirty) if dirty else outcome


class Fetcher:
    """Runs balance requests; create and use it inside one event loop, then ``aclose`` it."""

    def __init__(self, policy: FetchPolicy | None = None, *, verify: ssl.SSLContext | bool = True) -> None:
        self.policy = policy or FetchPolicy()
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.policy.attempt_timeout),
            limits=httpx.Limits(max_connections=max(16, self.policy.concurrency * 2), max_keepalive_connections=8),
            verify=verify,
            headers={"User-Agent": "credit-tray"},
        )
        self._slots = asyncio.Semaphore(self.policy.concurrency)

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
        async with self._slots:
            outcome = await self._with_retries(provider, url, key, language)
        return _scrubbed(outcome, key)

    async def _with_retries(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        policy = self.policy
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.total_timeout
        outcome: Outcome = FetchError(ErrorKind.TIMEOUT, f"no answer within {policy.total_timeout:g} s")
        for attempt in range(policy.max_attempts):
            budget = deadline - loop.time()
            if budget <= 0:
                break
            limit = min(policy.attempt_timeout, budget)
            try:
                outcome = await asyncio.wait_for(self._attempt(provider, url, key, language), limit)
            except TimeoutError:
                outcome = FetchError(ErrorKind.TIMEOUT, f"no answer within {limit:g} s")
            if not isinstance(outcome, FetchError) or outcome.kind not in TRANSIENT_KINDS:
                return outcome
            if attempt + 1 >= policy.max_attempts:
                break
            delay = min(policy.backoff_max, policy.backoff_base * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
            if outcome.retry_after is not None:
                if outcome.retry_after > policy.max_retry_wait:
                    break
                delay = max(delay, outcome.retry_after)
            if loop.time() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        return outcome

    async def _attempt(self, provider: Provider, url: str, key: str, language: str) -> Outcome:
        request_spec = provider.build_request(key, language)
        host = urlsplit(url).hostname or url
        request = self._client.build_request(
            request_spec.method, url, headers=dict(request_spec.headers), content=request_spec.content
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
        return interpret(provider, answer, language, utc_now())

    async def _send(self, request: httpx.Request) -> HttpAnswer:
        status = 0
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._client.send(request, stream=True)
            try:
                if response.next_request is not None:
                    target = response.next_request
                    if _origin(target.url) != _origin(request.url):
                        raise _UnusableAnswer(f"redirected to another host ({target.url.host or '?'}); "
                                              "not followed, the key was not sent", response.status_code)
                    request = self._client.build_request(
                        request.method if response.status_code in (307, 308) else target.method,
                        target.url,
                        headers=request.headers,
                        content=request.content if response.status_code in (307, 308) else None,
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
        """The decoded body, refusing more than ``max_body`` bytes (a gzip bomb stops at the limit too)."""
        limit = self.policy.max_body
        too_large = _UnusableAnswer(f"the answer is larger than {limit // 1024} KiB", response.status_code)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
        except httpx.DecodingError:
            raise _UnusableAnswer("the answer's compressed body is broken", response.status_code) from None
        return b"".join(chunks)
