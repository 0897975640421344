"""Demo mode: made-up accounts whose balances drain in real time, with no keys and no network.

It runs the real engine (states, the alert rule, results account by account) over a
synthetic config and an in-memory history, so a newcomer sees the icon change
and a low-balance notification within a minute, and nothing real is touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tray_app.config import Account, Config
from tray_app.engine import Engine
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.i18n import N_, _
from tray_app.keys import KeyStore
from tray_app.model import Outcome, Reading, utc_now
from tray_app.providers import get_provider

DEMO_REFRESH_SECONDS = 5.0

# account id -> (provider, label, starting balance or None for unlimited, drain per second)
_DEMO = {
    "demo-meowload": ("meowload", N_("Demo"), Decimal(10_450), Decimal(30)),
    "demo-sociavault": ("sociavault", N_("Demo"), Decimal(160), Decimal("1.5")),
    "demo-smarterbot": ("smarterbot", N_("Demo"), None, Decimal(2)),
    "demo-unwatermark": ("unwatermark", N_("Demo"), Decimal(4_321), Decimal(0)),
}


class DemoEngine(Engine):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(Path("(demo)"), keys=KeyStore(service="credit-tray-demo"), history=HistoryStore(":memory:"),
                         policy=FetchPolicy(), notifier="demo")
        self._clock = clock
        self._started = clock()
        self.usage_min_span = timedelta(seconds=30)  # its balances drain in minutes, not days

    def load_config(self) -> Config:
        accounts = []
        for account_id, (provider_id, label, *_numbers) in _DEMO.items():
            provider = get_provider(provider_id)
            assert provider is not None
            accounts.append(Account(id=account_id, provider_id=provider_id, label=_(label),
                                    thresholds=provider.thresholds))
        return Config(path=self.config_path, refresh_minutes=DEMO_REFRESH_SECONDS / 60, accounts=tuple(accounts))

    async def _outcome(self, account: Account, language: str) -> Outcome:
        provider_id, _label, start, drain = _DEMO[account.id]
        await asyncio.sleep(0.2 if provider_id != "unwatermark" else 0.6)  # feel like a network call
        elapsed = Decimal(self._clock() - self._started).quantize(Decimal(1))
        provider = get_provider(provider_id)
        unit = provider.unit if provider else "credits"
        if start is None:
            return Reading(remaining=None, unit=unit, fetched_at=utc_now(), used=1200 + drain * elapsed,
                           unlimited=True)
        remaining = max(Decimal(0), start - drain * elapsed).quantize(Decimal(1))
        status = "active" if provider_id == "sociavault" else None
        return Reading(remaining=remaining, unit=unit, fetched_at=utc_now(),
                       subscription_status=status, subscription_id="sub_demo" if status else None)
