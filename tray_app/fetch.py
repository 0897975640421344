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
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tray_app.config import base_url_problem
from tray_app.model import TRANSIENT_KINDS, ErrorKind, FetchError, Outcome, utc_now
from tray_app.providers.base import HttpAnswer, Provider, interpret

MAX_BODY = 1024 * 1024
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


class _BodyTooLarge(Exception):
    pass


class _ForeignRedirect(Exception):
    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


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
        if isinstance(outcome, FetchError) and key and key in outcome.message:
            outcome = FetchError(outcome.kind, outcome.message.replace(key, "[API key]"), outcome.http_status,
                                 outcome.retry_after)
        return outcome

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
        except _BodyTooLarge:
            return FetchError(ErrorKind.BAD_RESPONSE, f"the answer is larger than {self.policy.max_body // 1024} KiB")
        except _ForeignRedirect as redirect:
            return FetchError(ErrorKind.BAD_RESPONSE,
                              f"redirected to another host ({redirect.host}); not followed, the key was not sent")
        except httpx.DecodingError:
            return FetchError(ErrorKind.BAD_RESPONSE, "the answer's compressed body is broken")
        except httpx.TransportError as exc:
            return _network_message(exc, host)
        return interpret(provider, answer, language, utc_now())

    async def _send(self, request: httpx.Request) -> HttpAnswer:
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._client.send(request, stream=True)
            try:
                if response.next_request is not None:
                    target = response.next_request
                    if _origin(target.url) != _origin(request.url):
                        raise _ForeignRedirect(target.url.host or "?")
                    request = self._client.build_request(
                        request.method if response.status_code in (307, 308) else target.method,
                        target.url,
                        headers=request.headers,
                        content=request.content if response.status_code in (307, 308) else None,
                    )
                    continue
                body = await self._read_bounded(response)
                headers = {k.lower(): v for k, v in response.headers.items()}
                return HttpAnswer(response.status_code, headers, body)
            finally:
                await response.aclose()
        raise _ForeignRedirect("too many redirects")

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        limit = self.policy.max_body
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)
