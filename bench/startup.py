"""Start-up of the command line, against interpreter baselines measured in the same run.

    python bench/startup.py
Rows: `python -c pass`; importing httpx (the engine's heaviest dependency); `credit-tray --version`;
`credit-tray providers` (loads config code and the providers); and whether any PySide6 module got
imported by the CLI (it must not: the engine is Qt-free).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 15


def timed(args: list[str], env: dict[str, str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    home = tempfile.mkdtemp()
    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": f"{home}/c", "XDG_DATA_HOME": f"{home}/d"}
    py = sys.executable
    rows = [
        ("python -c pass (floor)", [py, "-c", "pass"]),
        ("python -c 'import httpx'", [py, "-c", "import httpx"]),
        ("credit-tray --version", [py, "-m", "tray_app", "--version"]),
        ("credit-tray providers", [py, "-m", "tray_app", "providers"]),
    ]
    print(f"median of {RUNS} runs")
    for name, args in rows:
        print(f"{name:28s} {timed(args, env) * 1000:7.0f} ms")
    probe = subprocess.run([py, "-c", "import sys, tray_app.cli as c; c.main(['providers']); "
                            "print('PYSIDE6' if any(m.startswith('PySide6') for m in sys.modules) else 'no Qt')"],
                           env=env, check=True, capture_output=True, text=True)
    print("Qt imported by the CLI:", probe.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
