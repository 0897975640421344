"""``[[hooks]]``: run a program on events, from the tray and from ``serve``.

Events: ``low``, ``exhausted`` and ``key_refused`` are the alerts of the running process's own
memory (once per crossing, as notifications are); ``refresh_failing``, ``recovered`` and
``topped_up`` are changes from the previous refresh of the same process. Each hook is an
absolute path run without a shell, the event as one JSON object on stdin and ``CREDIT_TRAY_*``
variables in its environment, killed (with its children) at its timeout. Failures are logged
and kept for the tray to show. Nothing a hook sees holds a key: the payload is built from the
result, and any known key a provider echoed into a message is scrubbed first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tray_app.config import Config, Hook
from tray_app.engine import RefreshReport
from tray_app.i18n import _
from tray_app.logs import redact
from tray_app.model import AccountResult, AlertKind, ErrorKind
from tray_app.texts import json_number, json_time

log = logging.getLogger(__name__)

_ALERT_EVENTS = {AlertKind.THRESHOLD: "low", AlertKind.EXHAUSTED: "exhausted", AlertKind.AUTH: "key_refused"}
#: How much of a failing hook's output goes into the log line.
OUTPUT_EXCERPT = 200


@dataclass(frozen=True)
class Event:
    name: str
    result: AccountResult
    threshold: Decimal | None = None


def events(report: RefreshReport, previous: Mapping[str, AccountResult]) -> list[Event]:
    """The events of one refresh, given each account's result from the refresh before."""
    results = {r.account_id: r for r in report.results}
    out: list[Event] = []
    for alert in report.alerts:
        result = results.get(alert.account_id)
        if result is not None:
            out.append(Event(_ALERT_EVENTS[alert.kind], result, alert.threshold))
    for result in report.results:
        before = previous.get(result.account_id)
        if result.error is not None:
            if result.error.kind is not ErrorKind.AUTH and (before is None or before.error is None):
                out.append(Event("refresh_failing", result))
            continue
        if before is not None and before.error is not None:
            out.append(Event("recovered", result))
        now, then = result.reading, before.reading if before else None
        if (now is not None and then is not None and now.remaining is not None and then.remaining is not None
                and not now.unlimited and now.remaining > then.remaining):
            out.append(Event("topped_up", result))
    return out


def payload(event: Event, source: str) -> dict[str, Any]:
    result, reading, error = event.result, event.result.reading, event.result.error
    return {
        "event": event.name,
        "source": source,
        "account": result.account_id,
        "provider": result.provider_id,
        "label": result.label,
        "state": str(result.state),
        "remaining": json_number(reading.remaining) if reading else None,
        "unit": reading.unit if reading else result.unit,
        "threshold": json_number(event.threshold if event.threshold is not None else result.threshold),
        "error": {"kind": str(error.kind), "message": error.message} if error else None,
        "checked_at": json_time(result.checked_at),
    }


def environment(data: Mapping[str, Any]) -> dict[str, str]:
    """The hook's ``CREDIT_TRAY_*`` variables (added to the inherited environment)."""
    names = {"event": "EVENT", "source": "SOURCE", "account": "ACCOUNT", "provider": "PROVIDER", "label": "LABEL",
             "state": "STATE", "remaining": "REMAINING", "unit": "UNIT", "threshold": "THRESHOLD"}
    return {f"CREDIT_TRAY_{var}": "" if data[key] is None else str(data[key]) for key, var in names.items()}


class HookRunner:
    """Runs the configured hooks for each refresh's events, one at a time, off the caller's thread."""

    def __init__(self, known_keys: Callable[[], Iterable[str]], *, source: str = "serve",
                 on_failure: Callable[[str], None] | None = None) -> None:
        self._known_keys = known_keys
        self.source = source
        self._on_failure = on_failure
        self._lock = threading.Lock()  # one event after another, in order, even across refreshes
        self.last_failure: str | None = None
        self._running: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def stop(self) -> None:
        """On exit: kill the hook that is running (and its children), and start no more."""
        self._stopped = True
        proc = self._running
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def after_refresh(self, config: Config, report: RefreshReport, previous: Mapping[str, AccountResult]) -> None:
        """Start the hooks for this refresh's events on a background thread; returns at once."""
        if not config.hooks:
            return
        found = events(report, previous)
        jobs = [(hook, event) for event in found for hook in config.hooks if event.name in hook.events]
        if jobs:
            threading.Thread(target=self._run_all, args=(jobs,), name="credit-tray-hooks", daemon=True).start()

    def _run_all(self, jobs: list[tuple[Hook, Event]]) -> None:
        with self._lock:
            for hook, event in jobs:
                if self._stopped:
                    return
                try:
                    self.run(hook, event)
                except Exception as exc:  # a bug here costs this hook, never the caller
                    self._failed(_("hook {command} ({event}): internal error ({error})").format(
                        command=hook.command, event=event.name, error=type(exc).__name__))

    def _scrub(self, text: str) -> str:
        return redact(text, list(self._known_keys()))

    def _failed(self, message: str) -> None:
        message = self._scrub(message)
        log.warning("%s", message)
        self.last_failure = message
        if self._on_failure is not None:
            self._on_failure(message)

    def run(self, hook: Hook, event: Event) -> bool:
        """Run one hook for one event and wait for it (at most its timeout); True if it exited 0."""
        data = payload(event, self.source)
        stdin = self._scrub(json.dumps(data, ensure_ascii=False)).encode("utf-8")
        env = {**os.environ, **{k: self._scrub(v) for k, v in environment(data).items()}}
        where = _("hook {command} ({event} {id})").format(command=hook.command, event=event.name,
                                                         id=event.result.account_id)
        try:
            proc = subprocess.Popen([hook.command, *hook.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True, close_fds=True)
        except OSError as exc:
            self._failed(_("{hook} could not start: {problem}").format(hook=where,
                                                                     problem=exc.strerror or type(exc).__name__))
            return False
        self._running = proc
        if self._stopped:  # stop() came while this one was starting
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            output = proc.communicate(stdin, timeout=hook.timeout)[0]
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=2)
            self._failed(_("{hook} was killed after its timeout of {seconds} s").format(
                hook=where, seconds=f"{hook.timeout:g}"))
            return False
        finally:
            self._running = None
        if proc.returncode != 0:
            excerpt = " ".join(output.decode("utf-8", "replace").split())[:OUTPUT_EXCERPT]
            failed = _("{hook} failed with exit status {status}").format(hook=where, status=proc.returncode)
            self._failed(_("{hook} failed with exit status {status}: {output}").format(
                hook=where, status=proc.returncode, output=excerpt) if excerpt else failed)
            return False
        log.info("%s ran", where)
        return True

