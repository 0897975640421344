"""One refresh: config → keys → concurrent fetches → states and alerts → persisted memory.

The CLI runs it once with ``asyncio.run``; the tray runs it on a worker thread's
event loop and gets each account's result through ``on_result`` as it arrives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import locale
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tray_app import alerts, paths
from tray_app.alerts import AlertMemory
from tray_app.config import Account, Config, load
from tray_app.fetch import Fetcher, FetchPolicy
from tray_app.keys import KeyStore, KeyUnavailable
from tray_app.model import (
    AccountResult,
    AccountState,
    Alert,
    ErrorKind,
    FetchError,
    Outcome,
    Reading,
    utc_now,
    whole_seconds,
)
from tray_app.state import StateStore

log = logging.getLogger(__name__)

ResultCallback = Callable[[AccountResult], None]

#: How long a refresh waits for the keyring (a locked one may be showing its password prompt).
KEY_TIMEOUT = 60.0
KEYRING_SILENT = ("key unavailable: the keyring did not answer (locked, or waiting for its password?): "
                  "unlock it, then refresh")


def resolve_language(setting: str) -> str:
    """The language to ask providers for: the setting, or the user's locale for ``auto``."""
    if setting != "auto":
        return setting
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(variable, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split(":")[0].split(".")[0].split("_")[0].lower() or "en"
    code = locale.getlocale()[0]
    return code.split("_")[0].lower() if code and code not in ("C", "POSIX") else "en"


@dataclass(frozen=True)
class RefreshReport:
    checked_at: datetime
    results: tuple[AccountResult, ...]
    alerts: tuple[Alert, ...]
    #: Why the balances and alert flags of this refresh could not be saved (disk full, read-only), if so.
    save_error: str | None = None


def internal_error(exc: BaseException, where: str) -> FetchError:
    """A bug turned into one account's error; only the exception's type, never its text (it may hold a key)."""
    return FetchError(ErrorKind.BAD_RESPONSE, f"internal error {where} ({type(exc).__name__}); see the log")


def failed_result(account: Account, error: FetchError, last_good: Reading | None, now: datetime) -> AccountResult:
    """An error result built without the provider or threshold logic, for when that logic is what broke."""
    return AccountResult(
        account_id=account.id,
        provider_id=account.provider_id,
        label=account.label,
        unit=last_good.unit if last_good else "credits",
        state=AccountState.ERROR,
        reading=last_good,
        error=error,
        threshold=None,
        checked_at=now,
    )


def make_result(account: Account, outcome: Outcome, last_good: Reading | None, now: datetime) -> AccountResult:
    provider = account.provider
    state, threshold = alerts.account_state(outcome, account.thresholds)
    return AccountResult(
        account_id=account.id,
        provider_id=account.provider_id,
        label=account.label,
        unit=provider.unit if provider else "credits",
        state=state,
        reading=outcome if isinstance(outcome, Reading) else last_good,
        error=outcome if isinstance(outcome, FetchError) else None,
        threshold=threshold,
        checked_at=now,
    )


class Engine:
    """Owns the key cache and the HTTP client for as long as the process runs."""

    #: A monotonic time after which an account still being checked is reported as a timeout, and the
    #: budget it came from (``check --timeout``); None: each account has only the fetch policy's limits.
    deadline: float | None = None
    budget_s: float | None = None

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        keys: KeyStore | None = None,
        state: StateStore | None = None,
        policy: FetchPolicy | None = None,
        key_timeout: float = KEY_TIMEOUT,
    ) -> None:
        self.config_path = config_path or paths.config_file()
        self.keys = keys or KeyStore()
        self.state = state or StateStore(paths.state_file())
        self.policy = policy or FetchPolicy()
        self.key_timeout = key_timeout
        self._fetcher: Fetcher | None = None
        self._fetcher_loop: asyncio.AbstractEventLoop | None = None
        #: Keyring reads still running (a locked keyring waiting for its password), one per account.
        self._key_reads: dict[str, concurrent.futures.Future[str | None]] = {}
        self._key_reads_lock = threading.Lock()

    def load_config(self) -> Config:
        return load(self.config_path)

    def _fetcher_for_loop(self) -> Fetcher:
        loop = asyncio.get_running_loop()
        if self._fetcher is None or self._fetcher_loop is not loop:
            self._fetcher = Fetcher(self.policy)
            self._fetcher_loop = loop
        return self._fetcher

    async def aclose(self) -> None:
        if self._fetcher is not None and self._fetcher_loop is asyncio.get_running_loop():
            await self._fetcher.aclose()
        self._fetcher = None

    def _start_key_read(self, account_id: str) -> concurrent.futures.Future[str | None]:
        """The account's keyring read: the one still running, or a new one on a daemon thread.

        Not ``asyncio.to_thread``: its executor is joined at exit, so a keyring that never
        answers would keep the process from quitting; and a refresh that gave up waiting
        must not start a second read behind the first.
        """
        with self._key_reads_lock:
            pending = self._key_reads.get(account_id)
            if pending is not None and not pending.done():
                return pending
            future: concurrent.futures.Future[str | None] = concurrent.futures.Future()

            def read() -> None:
                try:
                    future.set_result(self.keys.get(account_id))
                except BaseException as exc:  # handed to the awaiting refresh, which types it
                    future.set_exception(exc)

            self._key_reads[account_id] = future
            threading.Thread(target=read, name="credit-tray-keyring", daemon=True).start()
            return future

    async def _read_key(self, account_id: str) -> str | None:
        known, key = self.keys.peek(account_id)
        if known:
            return key
        future = self._start_key_read(account_id)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str | None] = loop.create_future()

        def settle() -> None:
            if waiter.done():
                return
            error = future.exception()
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(future.result())

        def done(_: concurrent.futures.Future[str | None]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed while the keyring was busy
                loop.call_soon_threadsafe(settle)

        future.add_done_callback(done)
        return await asyncio.wait_for(waiter, self.key_timeout)

    @staticmethod
    def select(config: Config, account_ids: Iterable[str] | None = None) -> list[Account]:
        """Enabled accounts, or exactly the named ones (disabled included) in config order."""
        if account_ids is None:
            return [a for a in config.accounts if a.enabled]
        wanted = set(account_ids)
        return [a for a in config.accounts if a.id in wanted]

    def set_budget(self, seconds: float | None) -> None:
        """Give every account checked from now on at most ``seconds`` in all, counted from this call."""
        self.budget_s = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds

    async def _outcome(self, account: Account, language: str) -> Outcome:
        if self.deadline is None:
            return await self._checked_outcome(account, language)
        left = self.deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            return await asyncio.wait_for(self._checked_outcome(account, language), left)
        except TimeoutError:
            return FetchError(ErrorKind.TIMEOUT, f"no answer within the {whole_seconds(self.budget_s or 0)} s allowed")

    async def _checked_outcome(self, account: Account, language: str) -> Outcome:
        provider = account.provider
        if account.problem or provider is None:
            return FetchError(ErrorKind.CONFIG, account.problem or "unknown provider")
        try:
            key = await self._read_key(account.id)
        except KeyUnavailable as exc:
            return FetchError(ErrorKind.NO_KEY, f"key unavailable: {exc}")
        except TimeoutError:
            return FetchError(ErrorKind.NO_KEY, KEYRING_SILENT)
        if not key:
            self.keys.forget(account.id)  # the next refresh looks again: the key may be stored elsewhere meanwhile
            return FetchError(ErrorKind.NO_KEY, f"no API key stored: run 'credit-tray key set {account.id}'")
        try:
            outcome = await self._fetcher_for_loop().fetch(provider, account.url, key, language)
        except Exception as exc:  # a bug must cost one account one refresh, not the app
            log.error("internal error while checking %s: %s", account.id, type(exc).__name__)
            return internal_error(exc, "while checking")
        if isinstance(outcome, FetchError) and outcome.kind is ErrorKind.AUTH:
            self.keys.forget(account.id)  # refused: perhaps replaced in the keyring since we read it
        return outcome

    async def refresh(
        self,
        config: Config,
        accounts: list[Account],
        on_result: ResultCallback | None = None,
        *,
        language: str | None = None,
    ) -> RefreshReport:
        """Fetch ``accounts`` concurrently; report each as it lands; decide alerts; persist memory."""
        language = language or resolve_language(config.language)
        try:
            memories = await asyncio.to_thread(self.state.load)
        except Exception as exc:  # StateStore.load copes with damage; this is a bug, not bad data
            log.error("could not read the saved state from %s: %s", self.state.path, type(exc).__name__)
            memories = {}
        changed: dict[str, AlertMemory] = {}
        found_alerts: list[Alert] = []
        # By position, not id: two entries may share an id (the second is a config error).
        results: list[AccountResult | None] = [None] * len(accounts)

        async def one(index: int, account: Account) -> None:
            memory = memories.get(account.id, AlertMemory())
            try:
                outcome = await self._outcome(account, language)
                if account.problem is None:
                    memory_after, alert = alerts.decide(account.id, memory, outcome, account.thresholds)
                    changed[account.id] = memory_after
                    if alert is not None:
                        found_alerts.append(alert)
                result = make_result(account, outcome, memory.last_good, utc_now())
            except Exception as exc:  # any bug: this account shows an error this time, the rest go on
                log.error("internal error while refreshing %s: %s", account.id, type(exc).__name__)
                result = failed_result(account, internal_error(exc, "while refreshing"), memory.last_good, utc_now())
            results[index] = result
            if on_result is not None:
                try:
                    on_result(result)
                except Exception as exc:
                    log.error("could not report the result of %s: %s", account.id, type(exc).__name__)

        await asyncio.gather(*(one(i, a) for i, a in enumerate(accounts)))
        save_error = None
        if changed:
            try:
                await asyncio.to_thread(self.state.update, changed)
            except OSError as exc:
                save_error = f"could not save the balances to {self.state.path}: {exc.strerror or type(exc).__name__}"
                log.error("%s", save_error)
            except Exception as exc:
                save_error = f"could not save the balances to {self.state.path} ({type(exc).__name__})"
                log.error("%s", save_error)
        order = {a.id: i for i, a in enumerate(accounts)}
        found_alerts.sort(key=lambda a: order.get(a.account_id, 0))
        return RefreshReport(
            checked_at=utc_now(),
            results=tuple(r for r in results if r is not None),
            alerts=tuple(found_alerts),
            save_error=save_error,
        )

    def last_known(self, config: Config) -> dict[str, AccountResult]:
        """Results from persisted memory alone, to show something before the first fetch."""
        memories = self.state.load()
        out: dict[str, AccountResult] = {}
        for account in config.accounts:
            last = memories.get(account.id, AlertMemory()).last_good
            if last is not None:
                out[account.id] = make_result(account, last, last, last.fetched_at)
        return out
