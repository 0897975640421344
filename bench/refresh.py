"""Refresh time for N accounts against a loopback server whose every answer takes DELAY s.

Baseline in the same run: the sum of the accounts' delays, what a one-at-a-time
fetcher would take. Concurrency means N accounts cost about one DELAY, up to the
fetcher's limit per host (8 at once to one origin).

    python bench/refresh.py [DELAY]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakeserver import PATHS, FakeServer, Reply
from tray_app.engine import Engine
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    home = tempfile.mkdtemp()
    os.environ.update({"HOME": home, "XDG_DATA_HOME": f"{home}/data",
                       "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"})
    print(f"each answer takes {delay:.2f} s; 5 runs per row, median")
    print(f"{'accounts':>8}  {'refresh':>8}  {'one at a time':>13}  speed-up")
    with FakeServer() as server:
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": 1234}, delay=delay))
        for count in (1, 4, 8, 16, 32):
            config = Path(home) / f"config-{count}.toml"
            config.write_text("".join(
                f'[[accounts]]\nid = "a{i}"\nprovider = "meowload"\nbase_url = "{server.url}"\n\n'
                for i in range(count)))
            keys = KeyStore()
            for i in range(count):
                keys.set(f"a{i}", f"sk-bench-{i}")
            engine = Engine(config, keys=keys, history=HistoryStore(Path(home) / f"history-{count}.sqlite3"))
            loaded = engine.load_config()
            times = []
            for _ in range(5):
                started = time.perf_counter()
                report = asyncio.run(engine.refresh(loaded, list(loaded.accounts)))
                times.append(time.perf_counter() - started)
                assert all(r.error is None for r in report.results), report
            median = statistics.median(times)
            sequential = count * delay
            print(f"{count:>8}  {median:>7.2f}s  {sequential:>12.2f}s  {sequential / median:>7.1f}x")


if __name__ == "__main__":
    main()
