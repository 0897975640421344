"""Prometheus metrics of the last refresh, generated with ``prometheus_client``.

Imported only by ``check --format prometheus``, ``serve`` and a tray that writes a textfile,
so the other commands do not pay for the library. Every label value comes from the config
(account ids, provider ids, units, alert levels), so the number of series is bounded by it;
no message text and no key is ever a label or a value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from tray_app import __version__
from tray_app.config import Config
from tray_app.fileio import atomic_write
from tray_app.model import AccountResult, AccountState

#: The textfile is read by node_exporter, which runs as another user; it holds no secret.
TEXTFILE_MODE = 0o644


@dataclass(frozen=True)
class Snapshot:
    """What one scrape shows: the config the results came from and each account's latest result."""

    config: Config | None
    results: tuple[AccountResult, ...]


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _level_text(level: Decimal) -> str:
    return format(level.normalize(), "f") if level != level.to_integral_value() else str(int(level))


def families(snapshot: Snapshot) -> list[Metric]:
    """The metric families for ``snapshot`` (pure: the same snapshot gives the same families)."""
    pair = ["account", "provider"]
    balance = GaugeMetricFamily("credittray_balance", "Credits left, as the provider reported them.",
                                labels=[*pair, "unit"])
    used = GaugeMetricFamily("credittray_used", "Credits used, where the provider reports it.",
                             labels=[*pair, "unit"])
    limit = GaugeMetricFamily("credittray_limit", "The plan's total credits, where the provider reports it.",
                              labels=[*pair, "unit"])
    threshold = GaugeMetricFamily("credittray_threshold", "The account's alert levels (0 means running out).",
                                  labels=[*pair, "level"])
    state = GaugeMetricFamily("credittray_state", "1 for the account's current state: ok, low, exhausted or error.",
                              labels=[*pair, "state"])
    last_success = GaugeMetricFamily("credittray_last_success_timestamp_seconds",
                                     "When the balance was last read successfully (Unix time).", labels=pair)
    last_refresh = GaugeMetricFamily("credittray_last_refresh_timestamp_seconds",
                                     "When the account was last checked, successfully or not (Unix time).",
                                     labels=pair)
    success = GaugeMetricFamily("credittray_refresh_success", "1 if the last check read the balance, else 0.",
                                labels=pair)
    accounts = {a.id: a for a in snapshot.config.accounts} if snapshot.config else {}
    for result in snapshot.results:
        ids = [result.account_id, result.provider_id]
        reading = result.reading
        if reading is not None:
            if reading.balances:  # several currencies: one series each, never summed
                for each in reading.balances:
                    balance.add_metric([*ids, each.unit], float(each.remaining))
            elif reading.remaining is not None and not reading.unlimited:
                balance.add_metric([*ids, reading.unit], float(reading.remaining))
            if reading.used is not None:
                used.add_metric([*ids, reading.unit], float(reading.used))
            if reading.total is not None and not reading.unlimited:
                limit.add_metric([*ids, reading.unit], float(reading.total))
            last_success.add_metric(ids, _seconds(reading.fetched_at))
        account = accounts.get(result.account_id)
        if account is not None and not (reading is not None and reading.unlimited):
            for level in account.thresholds:
                threshold.add_metric([*ids, _level_text(level)], float(level))
        for name in AccountState:
            state.add_metric([*ids, str(name)], 1.0 if result.state is name else 0.0)
        last_refresh.add_metric(ids, _seconds(result.checked_at))
        success.add_metric(ids, 0.0 if result.error is not None else 1.0)
    out: list[Metric] = [balance, used, limit, threshold, state, last_success, last_refresh, success]
    if snapshot.config is not None:
        interval = GaugeMetricFamily("credittray_refresh_interval_seconds",
                                     "How often the balances are checked (the config's refresh_minutes).",
                                     value=snapshot.config.refresh_minutes * 60)
        out.append(interval)
    build = GaugeMetricFamily("credittray_build_info", "Always 1; the version of Credit Tray.", labels=["version"])
    build.add_metric([__version__], 1.0)
    out.append(build)
    return [family for family in out if family.samples]


class SnapshotCollector(Collector):
    """A collector answering every scrape from the latest snapshot: a scrape never fetches anything."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._lock = threading.Lock()
        self._snapshot = snapshot or Snapshot(None, ())

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def collect(self) -> Iterable[Metric]:
        return families(self.snapshot)


def registry_for(collector: SnapshotCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(config: Config | None, results: Sequence[AccountResult]) -> bytes:
    """The text exposition format (version 0.0.4) of ``results``."""
    return generate_latest(registry_for(SnapshotCollector(Snapshot(config, tuple(results)))))


def write_textfile(path: Path, config: Config | None, results: Sequence[AccountResult]) -> None:
    """Write the metrics for node_exporter's textfile collector: whole or not at all (temp file + rename)."""
    atomic_write(path, render(config, results), mode=TEXTFILE_MODE)
