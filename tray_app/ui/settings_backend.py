"""Settings' background work: every keyring, network and file operation runs on one thread owned by
``SettingsBackend``, and its answers come back to the GUI thread as queued signals."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from tray_app import texts
from tray_app.config import (
    Account,
    ConfigFileError,
    ConfigWriteError,
    add_account,
    remove_account,
    update_account,
)
from tray_app.engine import Engine
from tray_app.fetch import Fetcher
from tray_app.history import HistoryError
from tray_app.keys import KeyUnavailable
from tray_app.model import AccountResult, AccountState, ErrorKind, FetchError, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """An account as typed in the editor; ``key`` None means "keep the stored key"."""

    old_id: str | None
    account: Account
    key: str | None
    write_thresholds: bool


class SettingsBackend(QObject):
    """Runs blocking work off the GUI thread; each job's answer returns by a queued signal."""

    finished = Signal(object)  # JobDone

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        # One daemon thread, not a ThreadPoolExecutor: its threads are joined at exit, so a keyring
        # waiting on a password prompt would keep Quit from quitting.
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any], done: Callable[[Any, str | None], None]) -> None:
        """Run ``job`` in the background; ``done(result, error_text)`` is called on the GUI thread."""

        def work() -> None:
            try:
                result, error = job(), None
            except (ConfigFileError, KeyUnavailable, OSError, ValueError, KeyError) as exc:
                result, error = None, _explain(exc)
            except Exception as exc:  # never let a bug escape the worker silently
                log.exception("settings job failed")
                result, error = None, QCoreApplication.translate("SettingsBackend", "internal error ({name})").format(
                    name=type(exc).__name__)
            self.finished.emit(JobDone(done, result, error))

        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="credit-tray-settings", daemon=True)
            self._thread.start()
        self._jobs.put(work)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def shutdown(self) -> None:
        """Stop taking jobs; a job stuck in the keyring is left to die with the process."""
        self._jobs.put(None)

    # The jobs themselves: plain functions of the engine's config path and key store.
    def save(self, draft: Draft) -> None:
        path, keys = self.engine.config_path, self.engine.keys
        new_key_stored = False
        if draft.key is not None:
            keys.set(draft.account.id, draft.key)
            new_key_stored = draft.old_id is None
        try:
            if draft.old_id is None:
                add_account(path, draft.account, write_thresholds=draft.write_thresholds)
            else:
                update_account(path, draft.old_id, draft.account, write_thresholds=draft.write_thresholds)
        except BaseException:
            if new_key_stored:  # do not leave a key behind for an account that was not saved
                keys.delete(draft.account.id)
            raise
        if draft.old_id is not None and draft.old_id != draft.account.id:
            try:  # the renamed account keeps its history
                self.engine.history.rename(draft.old_id, draft.account.id)
            except HistoryError as exc:
                log.warning("the history of %s stays under its old id: %s", draft.old_id, exc)

    def remove(self, account_id: str) -> None:
        # Key first: a failure after it leaves the account listed (and removable), never a key no one can reach.
        self.engine.keys.delete(account_id)
        remove_account(self.engine.config_path, account_id)
        try:
            self.engine.forget(account_id)
        except HistoryError as exc:  # the account is gone from the config; old readings are harmless
            log.warning("the history of %s was kept: %s", account_id, exc)

    def has_key(self, account_id: str) -> bool:
        return self.engine.keys.get(account_id) is not None

    def test(self, draft: Draft, language: str) -> Outcome:
        account = draft.account
        provider = account.provider
        if provider is None:
            raise ValueError(QCoreApplication.translate("SettingsBackend", "choose a provider"))
        key = draft.key if draft.key is not None else self.engine.keys.get(account.id)
        if not key:
            return FetchError(ErrorKind.NO_KEY,
                              QCoreApplication.translate("SettingsBackend", "no API key to test with"))

        async def once() -> Outcome:
            async with Fetcher(self.engine.policy) as fetcher:
                return await fetcher.fetch(provider, account.url, key, language)

        return asyncio.run(once())


@dataclass(frozen=True)
class JobDone:
    callback: Callable[[Any, str | None], None]
    result: Any
    error: str | None


def _explain(exc: BaseException) -> str:
    """A failed job in words (runs on the backend's thread: Qt's translate is safe there)."""
    if isinstance(exc, ConfigFileError):
        return QCoreApplication.translate(
            "SettingsBackend", "The config file has an error, so nothing was changed: {error}").format(error=exc)
    if isinstance(exc, KeyUnavailable):
        return QCoreApplication.translate("SettingsBackend", "Key unavailable: {error}").format(error=exc)
    if isinstance(exc, ConfigWriteError):  # names the config (not a temp file) and says nothing changed
        text = str(exc)
        return text[:1].upper() + text[1:]
    if isinstance(exc, OSError):
        return QCoreApplication.translate("SettingsBackend", "Could not write {file}: {reason}").format(
            file=exc.filename or QCoreApplication.translate("SettingsBackend", "the config file"),
            reason=exc.strerror or type(exc).__name__)
    return str(exc)


# --------------------------------------------------------------------------- the account editor

def outcome_text(outcome: Outcome, provider_id: str) -> tuple[bool, str]:
    """(success, words) for a test fetch."""
    if isinstance(outcome, FetchError):
        words, detail = texts.error_words(outcome, provider_id), texts.error_detail(outcome)
        return False, f"{words} — {detail}"  # untranslated: two translated texts side by side
    result = AccountResult(provider_id, provider_id, "", outcome.unit, AccountState.OK, outcome, None, None,
                           outcome.fetched_at)
    return True, QCoreApplication.translate("AccountDialog", "Works: {balance}").format(
        balance=texts.balance(result, texts.plain_number))
