"""Persisted per-account memory: the last good reading and the alert flags.

Kept as one small JSON file in the data dir, replaced atomically, so a restart
neither forgets a balance nor repeats an alert. A damaged file is set aside
(renamed ``*.corrupt``) rather than crashing or being silently overwritten.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tray_app.alerts import AlertMemory
from tray_app.fileio import atomic_write
from tray_app.model import Reading

log = logging.getLogger(__name__)
VERSION = 1
#: A temp file this old belongs to a writer that died before renaming it.
STALE_TEMP_S = 60.0


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("amount is not text")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("amount is not finite")
    return number


def reading_to_json(reading: Reading) -> dict[str, Any]:
    return {
        "remaining": _dec(reading.remaining),
        "used": _dec(reading.used),
        "total": _dec(reading.total),
        "unlimited": reading.unlimited,
        "unit": reading.unit,
        "subscription_status": reading.subscription_status,
        "subscription_id": reading.subscription_id,
        "fetched_at": reading.fetched_at.isoformat(),
    }


def reading_from_json(data: Any) -> Reading:
    if not isinstance(data, dict):
        raise ValueError("reading is not an object")
    fetched = datetime.fromisoformat(str(data["fetched_at"]))
    if fetched.tzinfo is None:
        raise ValueError("fetched_at has no time zone")
    status, sub_id = data.get("subscription_status"), data.get("subscription_id")
    return Reading(
        remaining=_undec(data.get("remaining")),
        used=_undec(data.get("used")),
        total=_undec(data.get("total")),
        unlimited=data.get("unlimited") is True,
        unit=str(data.get("unit", "credits")),
        subscription_status=status if isinstance(status, str) else None,
        subscription_id=sub_id if isinstance(sub_id, str) else None,
        fetched_at=fetched,
    )


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, AlertMemory]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("state file %s cannot be read: %s", self.path, exc.strerror)
            return {}
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
                raise ValueError("not a state file")
            memories: dict[str, AlertMemory] = {}
            for account_id, entry in data["accounts"].items():
                reading = entry.get("last_good")
                memories[account_id] = AlertMemory(
                    last_good=reading_from_json(reading) if reading is not None else None,
                    auth_alerted=entry.get("auth_alerted") is True,
                )
            return memories
        except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation, RecursionError,
                OverflowError) as exc:
            self._set_aside(exc)
            return {}

    def _set_aside(self, exc: Exception) -> None:
        aside = self.path.with_suffix(self.path.suffix + ".corrupt")
        log.warning("state file %s is damaged (%s); kept as %s and starting afresh", self.path, exc, aside.name)
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)

    def save(self, memories: dict[str, AlertMemory]) -> None:
        payload = {
            "version": VERSION,
            "accounts": {
                account_id: {
                    "last_good": reading_to_json(m.last_good) if m.last_good else None,
                    "auth_alerted": m.auth_alerted,
                }
                for account_id, m in sorted(memories.items())
            },
        }
        atomic_write(self.path, json.dumps(payload, indent=1).encode("utf-8"))
        self._clear_stale_temps()

    def _clear_stale_temps(self) -> None:
        """Remove temp files a writer killed mid-save left behind (only old ones: another process,
        the CLI beside the tray, may be writing its own right now)."""
        cutoff = time.time() - STALE_TEMP_S
        with contextlib.suppress(OSError):
            for leftover in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
                with contextlib.suppress(OSError):
                    if leftover.stat().st_mtime < cutoff:
                        leftover.unlink()

    def update(self, changed: dict[str, AlertMemory], removed: tuple[str, ...] = ()) -> None:
        """Merge into what is on disk now, so a CLI check and the tray do not undo each other."""
        memories = self.load()
        memories.update(changed)
        for account_id in removed:
            memories.pop(account_id, None)
        self.save(memories)
