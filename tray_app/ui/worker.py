"""The refresh worker: the engine's asyncio loop on its own QThread.

The GUI thread asks for refreshes through a queued signal and never touches the
network, the keyring or the disk itself; results come back by queued signals, one
account at a time as each lands, so a hanging provider delays only its own row.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref

from PySide6.QtCore import QObject, QThread, Signal, Slot

from tray_app.config import Account, Config, ConfigFileError
from tray_app.engine import Engine, RefreshReport, Stage, failed_result, internal_error
from tray_app.hooks import HookRunner
from tray_app.model import AccountResult, utc_now

log = logging.getLogger(__name__)


class RefreshWorker(QObject):
    configLoaded = Signal(object)  # Config
    configFailed = Signal(str)
    lastKnown = Signal(object)  # dict[str, AccountResult]
    resultReady = Signal(object)  # AccountResult
    refreshFinished = Signal(object)  # RefreshReport | None
    hookFailed = Signal(str)
    exportFailed = Signal(str)  # "" once the metrics file is written again

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[RefreshReport] | None = None
        self._task_lock = threading.Lock()
        self._cancelled = threading.Event()
        # The latest result per account, so a refresh that breaks can still show the last balance.
        self._latest: dict[str, AccountResult] = {}
        # Results of the refresh under way.
        self._reported: dict[str, AccountResult] = {}
        # Through a weak reference: the worker holding a runner that holds the worker would be a cycle
        # with a QObject in it, collected at some random moment on some random thread.
        worker = weakref.ref(self)

        def hook_failed(message: str) -> None:
            if (alive := worker()) is not None:
                alive.hookFailed.emit(message)

        self.hooks = HookRunner(engine.keys.known_keys, source="tray", on_failure=hook_failed)

    @Slot()
    def load_initial(self) -> None:
        """Show what is known before the first fetch: the config and the last good readings."""
        try:
            config = self.engine.load_config()
        except ConfigFileError as exc:
            self.configFailed.emit(str(exc))
            return
        self.configLoaded.emit(config)
        try:
            known = self.engine.last_known(config)
        except Exception:
            log.exception("could not read the saved balances")
            return
        for account_id, result in known.items():
            self._latest.setdefault(account_id, result)
        self.lastKnown.emit(known)

    @Slot(object)
    def refresh(self, account_ids: list[str] | None) -> None:
        if self._cancelled.is_set():
            return
        report: RefreshReport | None = None
        try:
            config = self.engine.load_config()
        except ConfigFileError as exc:
            self.configFailed.emit(str(exc))
            self.refreshFinished.emit(None)
            return
        except Exception:
            log.exception("could not load the config")
            self.refreshFinished.emit(None)
            return
        self.configLoaded.emit(config)
        self._reported = {}
        previous = dict(self._latest)
        accounts: list[Account] = []
        try:
            accounts = self.engine.select(config, account_ids)
            with self._task_lock:
                self._task = self._loop.create_task(
                    self.engine.refresh(config, accounts, on_result=self._emit_result)
                )
                if self._cancelled.is_set():
                    self._task.cancel()
            report = self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            log.info("refresh cancelled")
        except Exception as exc:
            # A bug in a refresh costs that refresh, never the app; the next one runs as usual.
            log.exception("refresh failed")
            report = self._failed_report(accounts, exc)
        finally:
            with self._task_lock:
                self._task = None
        if report is not None:
            self._after_refresh(config, report, previous)
        self.refreshFinished.emit(report)

    def _after_refresh(self, config: Config, report: RefreshReport, previous: dict[str, AccountResult]) -> None:
        """The hooks for this refresh's events, and the Prometheus textfile if the config names one."""
        try:
            self.hooks.after_refresh(config, report, previous)
        except Exception as exc:
            log.error("could not start the hooks (%s)", type(exc).__name__)
        if config.prometheus_textfile is None:
            return
        ids = dict.fromkeys(a.id for a in config.accounts if a.enabled)
        results = [self._latest[i] for i in ids if i in self._latest]
        try:
            from tray_app.metrics import write_textfile

            write_textfile(config.prometheus_textfile, config, results)
        except OSError as exc:
            message = f"{config.prometheus_textfile}: {exc.strerror or type(exc).__name__}"
            log.error("could not write the metrics file %s", message)
            self.exportFailed.emit(message)
            return
        except Exception as exc:
            log.error("could not write the metrics file (%s)", type(exc).__name__)
            self.exportFailed.emit(self.tr("{file}: internal error ({error})").format(
                file=config.prometheus_textfile, error=type(exc).__name__))
            return
        self.exportFailed.emit("")

    def _failed_report(self, accounts: list[Account], exc: Exception) -> RefreshReport:
        """Every account this refresh did not get to shows the failure, with its last known balance."""
        now = utc_now()
        error = internal_error(exc, Stage.REFRESH_RUN)
        done = self._reported
        results = []
        for account in accounts:
            result = done.get(account.id)
            if result is None:
                latest = self._latest.get(account.id)
                result = failed_result(account, error, latest.reading if latest else None, now)
                self._emit_result(result)
            results.append(result)
        return RefreshReport(checked_at=now, results=tuple(results), alerts=())

    def _emit_result(self, result: AccountResult) -> None:
        self._latest[result.account_id] = result
        self._reported[result.account_id] = result
        self.resultReady.emit(result)

    def cancel(self) -> None:
        """Thread-safe: stop the running refresh now (used on quit)."""
        self._cancelled.set()
        with self._task_lock:
            task = self._task
            if task is not None and not task.done():
                self._loop.call_soon_threadsafe(task.cancel)

    def close(self) -> None:
        """Release the HTTP client and the loop, and end a running hook; call once the thread has stopped."""
        self.hooks.stop()
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self.engine.aclose())
        except Exception:
            log.exception("could not close the HTTP client")
        self._loop.close()


class WorkerThread:
    """Owns the QThread and the worker living in it; ``stop`` returns within about a second."""

    def __init__(self, engine: Engine) -> None:
        self.thread = QThread()
        self.thread.setObjectName("credit-tray-refresh")
        self.worker = RefreshWorker(engine)
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 1000) -> bool:
        self.worker.cancel()
        self.thread.quit()
        stopped = self.thread.wait(timeout_ms)
        if not stopped:
            log.warning("refresh worker did not stop within %d ms; terminating it", timeout_ms)
            self.thread.terminate()
            self.thread.wait(500)
        self.worker.close()
        return stopped
