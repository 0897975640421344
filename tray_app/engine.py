"""One refresh: config → keys → concurrent fetches → states and alerts → the reading history.

The CLI runs it once with ``asyncio.run``; the tray runs it on a worker thread's
event loop and gets each account's result through ``on_result`` as it arrives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tray_app import alerts, paths
from tray_app import usage as usage_module
from tray_app.alerts import AlertMemory
from tray_app.config import Account, Config, load
from tray_app.history import Entry, HistoryError, HistoryStore, Series
from tray_app.i18n import N_, _
from tray_app.keys import KeyStore, KeyUnavailable
from tray_app.language import resolve_language as resolve_language  # re-exported: the UI imports it from here
from tray_app.model import (
    AccountResult,
    AccountState,
    Alert,
    ErrorDetail,
    ErrorKind,
    FetchError,
    Outcome,
    Reading,
    Usage,
    utc_now,
    whole_seconds,
)

if TYPE_CHECKING:  # imported when first used: httpx costs every command that fetches nothing
    from tray_app.fetch import Fetcher, FetchPolicy

_T = TypeVar("_T")
log = logging.getLogger(__name__)

ResultCallback = Callable[[AccountResult], None]

#: How long a refresh waits for the keyring (a locked one may be showing its password prompt).
KEY_TIMEOUT = 60.0
KEYRING_SILENT = N_("key unavailable: the keyring did not answer (locked, or waiting for its password?): "
                    "unlock it, then refresh")


@dataclass(frozen=True)
class RefreshReport:
    checked_at: datetime
    results: tuple[AccountResult, ...]
    alerts: tuple[Alert, ...]
    #: Why the readings and alert memory of this refresh could not be saved (disk full, read-only), if so.
    save_error: str | None = None


class Stage(Enum):
    """Where a bug broke a check, each with its whole sentence (translated when the error is made)."""

    CHECKING = N_("internal error while checking ({error}); see the log")
    REFRESHING = N_("internal error while refreshing ({error}); see the log")
    REFRESH_RUN = N_("internal error during the refresh ({error}); see the log")


def internal_error(exc: BaseException, stage: Stage) -> FetchError:
    """A bug turned into one account's error; only the exception's type, never its text (it may hold a key)."""
    return FetchError(ErrorKind.BAD_RESPONSE, _(stage.value).format(error=type(exc).__name__))


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
    """Owns the key cache, the HTTP client and the notifier's alert memory for as long as the process runs.

    ``notifier`` names who shows this engine's alerts ("tray"). Only a notifier decides
    alerts, from its own memory; an engine without one (``credit-tray check``) records
    readings in the history and never consumes an alert the tray has not shown.
    """

    #: A monotonic time after which an account still being checked is reported as a timeout, and the
    #: budget it came from (``check --timeout``); None: each account has only the fetch policy's limits.
    deadline: float | None = None
    budget_s: float | None = None

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        keys: KeyStore | None = None,
        history: HistoryStore | None = None,
        policy: FetchPolicy | None = None,
        key_timeout: float = KEY_TIMEOUT,
        notifier: str | None = None,
    ) -> None:
        self.config_path = config_path or paths.config_file()
        self.keys = keys or KeyStore()
        self.history = history or HistoryStore(paths.history_file(), legacy_state=paths.state_file())
        self._policy = policy
        self.key_timeout = key_timeout
        self.notifier = notifier
        #: The notifier's alert memory, read from the history once and kept here: a save that
        #: fails (disk full) must not make the next refresh repeat an alert.
        self._alert_memory: dict[str, AlertMemory] | None = None
        self._history_io: concurrent.futures.ThreadPoolExecutor | None = None
        #: The least history a forecast is drawn from (the demo, whose time runs fast, asks for less).
        self.usage_min_span = usage_module.MIN_SPAN
        self._fetcher: Fetcher | None = None
        self._fetcher_loop: asyncio.AbstractEventLoop | None = None
        #: Keyring reads still running (a locked keyring waiting for its password), one per account.
        self._key_reads: dict[str, concurrent.futures.Future[str | None]] = {}
        self._key_reads_lock = threading.Lock()
        #: Per account: the rate-limit answer (with its URL) whose Retry-After has not passed yet.
        self._rate_limited: dict[str, tuple[str, FetchError]] = {}

    def load_config(self) -> Config:
        return load(self.config_path)

    @property
    def policy(self) -> FetchPolicy:
        if self._policy is None:
            from tray_app.fetch import FetchPolicy

            self._policy = FetchPolicy()
        return self._policy

    def _fetcher_for_loop(self) -> Fetcher:
        loop = asyncio.get_running_loop()
        if self._fetcher is None or self._fetcher_loop is not loop:
            from tray_app.fetch import Fetcher

            self._fetcher = Fetcher(self.policy)
            self._fetcher_loop = loop
        return self._fetcher

    async def aclose(self) -> None:
        """Release the HTTP client and the history's file (it reopens when next used)."""
        if self._fetcher is not None and self._fetcher_loop is asyncio.get_running_loop():
            await self._fetcher.aclose()
        self._fetcher = None
        if self._history_io is not None:
            self._history_io.shutdown(wait=False)
            self._history_io = None
        self.history.close()

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

    def _honour_retry_after(self, account: Account, outcome: Outcome | None) -> FetchError | None:
        """Keep a provider's Retry-After for this process; before it passes, the same answer, not a request.

        Called with ``None`` before fetching (returns the answer still in force, if any) and with
        the fetched outcome after (remembers a new Retry-After as a moment, returned to show it).
        """
        now = utc_now()
        if outcome is None:
            url, held = self._rate_limited.get(account.id, ("", None))
            if held is None or held.retry_at is None or held.retry_at <= now or url != account.url:
                self._rate_limited.pop(account.id, None)
                return None
            return replace(held, retry_after=(held.retry_at - now).total_seconds())
        if isinstance(outcome, FetchError) and outcome.kind is ErrorKind.RATE_LIMITED and outcome.retry_after:
            held = replace(outcome, retry_at=now + timedelta(seconds=outcome.retry_after))
            self._rate_limited[account.id] = (account.url, held)
            return held
        self._rate_limited.pop(account.id, None)
        return None

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
            return FetchError(ErrorKind.TIMEOUT, _("no answer within the {seconds} s allowed").format(
                seconds=whole_seconds(self.budget_s or 0)))

    async def _checked_outcome(self, account: Account, language: str) -> Outcome:
        provider = account.provider
        if account.problem or provider is None:
            return FetchError(ErrorKind.CONFIG, account.problem or _("unknown provider"))
        held = self._honour_retry_after(account, None)
        if held is not None:
            return held
        key: str | None
        try:
            if account.key_file:
                key = await asyncio.to_thread(self.keys.read_file, account.id, Path(account.key_file))
            else:
                key = await self._read_key(account.id)
        except KeyUnavailable as exc:
            return FetchError(ErrorKind.NO_KEY, _("key unavailable: {problem}").format(problem=exc),
                              detail=ErrorDetail.KEY_UNAVAILABLE)
        except TimeoutError:
            return FetchError(ErrorKind.NO_KEY, _(KEYRING_SILENT), detail=ErrorDetail.KEY_UNAVAILABLE)
        if not key:
            self.keys.forget(account.id)  # the next refresh looks again: the key may be stored elsewhere meanwhile
            return FetchError(ErrorKind.NO_KEY, _("no API key stored: run 'credit-tray key set {id}'").format(
                id=account.id))
        try:
            outcome = await self._fetcher_for_loop().fetch(provider, account.url, key, language)
        except Exception as exc:  # a bug must cost one account one refresh, not the app
            log.error("internal error while checking %s: %s", account.id, type(exc).__name__)
            return internal_error(exc, Stage.CHECKING)
        if isinstance(outcome, FetchError) and outcome.kind is ErrorKind.AUTH:
            self.keys.forget(account.id)  # refused: perhaps replaced in the keyring since we read it
        return self._honour_retry_after(account, outcome) or outcome

    async def _on_history_thread(self, job: Callable[[], _T]) -> _T:
        """Run a history read or write on the engine's one history thread, never on the caller's.

        One long-lived thread rather than ``asyncio.to_thread``: the default executor adds a
        thread whenever its last one has not yet gone idle, so back-to-back calls grew it.
        """
        if self._history_io is None:
            self._history_io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="credit-tray-history")
        return await asyncio.get_running_loop().run_in_executor(self._history_io, job)

    def _history_before(self, account_ids: list[str]
                        ) -> tuple[dict[str, Reading], dict[str, Series], dict[str, AlertMemory] | None]:
        """The last good readings, the recent history and the notifier's memory, before this refresh."""
        memories = self._notifier_memory() if self.notifier else None
        try:
            latest = self.history.latest_good(account_ids)
            return latest, self.history.recent_series(account_ids, utc_now() - usage_module.WINDOW), memories
        except HistoryError as exc:
            log.error("could not read the last balances: %s", exc)
        except Exception as exc:  # a bug costs this refresh its last balances, not the refresh
            log.error("could not read the last balances (%s)", type(exc).__name__)
        return {}, {}, memories

    def _usage(self, series: Series | None, reading: Reading | None) -> Usage | None:
        """Burn rate and forecast; a bug in the maths costs the forecast, never the balance."""
        try:
            return usage_module.usage_of(series or Series(), reading, min_span=self.usage_min_span)
        except Exception as exc:
            log.error("could not work out the usage (%s)", type(exc).__name__)
            return None

    def _notifier_memory(self) -> dict[str, AlertMemory]:
        """The notifier's alert memory: read once, then this process's own copy is the truth."""
        if self._alert_memory is None:
            assert self.notifier is not None
            try:
                self._alert_memory = self.history.alert_memory(self.notifier)
            except HistoryError as exc:
                log.error("could not read the alert memory (every alert level starts armed): %s", exc)
                self._alert_memory = {}
            except Exception as exc:
                log.error("could not read the alert memory (%s); every alert level starts armed", type(exc).__name__)
                self._alert_memory = {}
        return self._alert_memory

    async def refresh(
        self,
        config: Config,
        accounts: list[Account],
        on_result: ResultCallback | None = None,
        *,
        language: str | None = None,
    ) -> RefreshReport:
        """Fetch ``accounts`` concurrently; report each as it lands; decide alerts; record the outcomes."""
        language = language or resolve_language(config.language)
        last_good, recent, memories = await self._on_history_thread(
            lambda: self._history_before([a.id for a in accounts]))
        horizon = timedelta(days=config.forecast_alert_days) if config.forecast_alert_days > 0 else None
        changed: dict[str, AlertMemory] = {}
        entries: list[Entry] = []
        found_alerts: list[Alert] = []
        # By position, not id: two entries may share an id (the second is a config error).
        results: list[AccountResult | None] = [None] * len(accounts)

        async def one(index: int, account: Account) -> None:
            previous = last_good.get(account.id)
            try:
                outcome = await self._outcome(account, language)
                now = utc_now()
                usage = None
                if account.problem is None:
                    entries.append(Entry(account.id, outcome, now))
                    usage = self._usage(recent.get(account.id), outcome if isinstance(outcome, Reading) else previous)
                    if memories is not None:
                        memory = memories.get(account.id, AlertMemory())
                        memory_after, alert = alerts.decide(account.id, memory, outcome, account.thresholds)
                        memory_after, alert = alerts.decide_pace(
                            account.id, memory_after, alert, previous=previous, outcome=outcome, usage=usage,
                            horizon=horizon, notify_top_ups=config.top_up_notifications, now=now)
                        if memory_after != memory:
                            memories[account.id] = changed[account.id] = memory_after
                        if alert is not None:
                            found_alerts.append(alert)
                result = replace(make_result(account, outcome, previous, now), usage=usage)
            except Exception as exc:  # any bug: this account shows an error this time, the rest go on
                log.error("internal error while refreshing %s: %s", account.id, type(exc).__name__)
                result = failed_result(account, internal_error(exc, Stage.REFRESHING), previous, utc_now())
            results[index] = result
            if on_result is not None:
                try:
                    on_result(result)
                except Exception as exc:
                    log.error("could not report the result of %s: %s", account.id, type(exc).__name__)

        await asyncio.gather(*(one(i, a) for i, a in enumerate(accounts)))
        save_error = None
        if entries or changed:
            try:
                await self._on_history_thread(
                    lambda: self.history.record(entries, notifier=self.notifier, memories=changed))
            except HistoryError as exc:
                log.error("could not save the balances to %s: %s", exc.path, exc.reason)
                save_error = _("could not save the balances to {path}: {reason}").format(path=exc.path,
                                                                                        reason=exc.reason)
            except Exception as exc:
                log.exception("could not save the balances to %s (%s)", self.history.path, type(exc).__name__)
                save_error = _("could not save the balances to {path} ({error})").format(
                    path=self.history.path, error=type(exc).__name__)
        order = {a.id: i for i, a in enumerate(accounts)}
        found_alerts.sort(key=lambda a: order.get(a.account_id, 0))
        return RefreshReport(
            checked_at=utc_now(),
            results=tuple(r for r in results if r is not None),
            alerts=tuple(found_alerts),
            save_error=save_error,
        )

    def last_known(self, config: Config) -> dict[str, AccountResult]:
        """Results from the history alone, to show something before the first fetch."""
        ids = [a.id for a in config.accounts]
        latest = self.history.latest_good(ids)
        recent = self.history.recent_series(ids, utc_now() - usage_module.WINDOW)
        out: dict[str, AccountResult] = {}
        for account in config.accounts:
            last = latest.get(account.id)
            if last is not None:
                usage = self._usage(recent.get(account.id), last)
                out[account.id] = replace(make_result(account, last, last, last.fetched_at), usage=usage)
        return out

    def forget(self, account_id: str) -> None:
        """An account was removed: drop its history and alert memory (raises HistoryError)."""
        if self._alert_memory is not None:
            self._alert_memory.pop(account_id, None)
        self.history.forget(account_id)
