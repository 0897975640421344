"""The performance benchmark of issue 15: every row measured beside its baseline in the same run.

    python bench/run.py [--runs N] [--save results.json] [--before results.json] [--no-write]

One throwaway desktop (Xvfb, a private D-Bus with a StatusNotifierItem host and a notification
daemon, an unlocked gnome-keyring holding the keys: tests/desktop/session.py) and loopback
providers (tests/fakeserver.py). Everything is measured from outside the program, as a user's
desktop sees it:

- start → tray icon registered: spawning the process until its item is listed by the host's
  StatusNotifierWatcher, against bench/hello_tray.py (a bare QSystemTrayIcon + QMenu);
- memory 3 s after the first balances (4 accounts): when the menu, read over D-Bus (dbusmenu),
  shows all four balances, wait 3 s and read /proc/PID/smaps_rollup (RSS and private memory);
  the hello world's 3 s after its icon;
- `credit-tray check --json`, 4 accounts on loopback, against `python -c "import PySide6.QtWidgets"`;
- one `check` of 20 accounts (on 4 loopback hosts, 5 each) answering after 0.2 s each, against
  the ideal 0.2 s + the same `check` with answers that come at once; and the same 20 on one host;
- the GUI thread's stall while the tray refreshes 200 accounts answering after 0.2 s each
  (4 hosts): a D-Bus property read of the tray item every 5 ms, whose reply comes from Qt's GUI
  thread; the reply latency during the refresh (started with "Refresh now" through the menu) against
  the same probe on the idle app just before.

Each row is run --runs times (default 7; the stall row 3 times), round robin with its baseline;
the table gives the median and the spread (min–max). The figures go to the "Performance
(bench/run.py)" section of BENCHMARKS.md (the other sections are kept) with the date, machine and
versions; --save keeps the raw samples, and --before adds an earlier --save as a "before" column.
The frozen (PyInstaller) start is measured by bench/packaging.py (it builds the installers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop import services  # noqa: E402
from tests.desktop.session import DesktopSession, wait_for  # noqa: E402
from tests.fakeserver import PATHS, FakeServer, Reply  # noqa: E402

HELLO = ROOT / "bench" / "hello_tray.py"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START = "<!-- bench/run.py: start -->"
SECTION_END = "<!-- bench/run.py: end -->"
PY = sys.executable
DELAY = 0.2
HOSTS = 4
PROBE_INTERVAL = 0.005

Samples = dict[str, list[float]]


# ------------------------------------------------------------------ fixtures

def write_config(path: Path, servers: list[FakeServer], count: int, prefix: str) -> Path:
    """``count`` MeowLoad accounts spread round robin over ``servers``; refreshes every 10 minutes."""
    lines = ["refresh_minutes = 10\n"]
    for i in range(count):
        server = servers[i % len(servers)]
        lines.append(f'[[accounts]]\nid = "{prefix}{i}"\nprovider = "meowload"\nlabel = "{prefix}{i}"\n'
                     f'base_url = "{server.url}"\n')
    path.write_text("\n".join(lines), "utf-8")
    return path


def store_keys(session: DesktopSession, ids: list[str]) -> None:
    """All keys in the session's gnome-keyring, in one process (the app reads them from there)."""
    code = ("import sys\nfrom tray_app.keys import KeyStore\nstore = KeyStore()\n"
            "for account_id in sys.argv[1:]:\n    store.set(account_id, 'sk-bench-' + account_id)\n")
    subprocess.run([PY, "-c", code, *ids], env=session.env, cwd=ROOT, check=True, capture_output=True, timeout=600)


def servers(count: int, delay: float) -> list[FakeServer]:
    out = []
    for _ in range(count):
        server = FakeServer().start()
        server.route(PATHS["meowload"], Reply(200, {"availableCredits": 123456}, delay=delay))
        out.append(server)
    return out


# ------------------------------------------------------------------ measuring

def smaps_rollup(pid: int) -> dict[str, float]:
    """RSS, PSS and private memory (clean + dirty) of ``pid`` in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "private": fields["Private_Clean"] + fields["Private_Dirty"]}


@contextmanager
def spawned(argv: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        # SIGKILL: shutting down is not measured (see bench/packaging.py).
        proc.kill()
        proc.wait()


def wait_icon(bus: Any, proc: subprocess.Popen[bytes], started: float) -> tuple[float, str]:
    while not (items := services.tray_items(bus)):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before showing its icon")
        if time.perf_counter() - started > 60:
            raise TimeoutError(f"{proc.args!r}: no icon after 60 s")
        time.sleep(0.002)
    return time.perf_counter() - started, items[0]


def no_icon(bus: Any) -> None:
    wait_for(lambda: not services.tray_items(bus), 10, "no icon before the start")


def call(bus: Any, service: str, path: str, interface: str, member: str, signature: str,
         body: tuple[Any, ...]) -> Any:
    """A D-Bus method call that waits as long as a stalled app needs (services._call gives up after 5 s)."""
    from jeepney import DBusAddress, MessageType, new_method_call

    reply = bus.send_and_get_reply(
        new_method_call(DBusAddress(path, bus_name=service, interface=interface), member, signature, body),
        timeout=120)
    if reply.header.message_type == MessageType.error:
        raise RuntimeError(f"{interface}.{member}: {reply.body}")
    return reply.body


def top_menu(bus: Any, item: str) -> tuple[str, list[tuple[int, str]]]:
    """The item's menu path and its top-level entries (id, label), read over dbusmenu like a tray host."""
    service, path = item.split("/", 1)
    (props,) = call(bus, service, "/" + path, services.PROPERTIES, "GetAll", "s", ("org.kde.StatusNotifierItem",))
    menu_path = props["Menu"][1]
    _, layout = call(bus, service, menu_path, "com.canonical.dbusmenu", "GetLayout", "iias", (0, 1, ["label"]))
    entries = [(child[1][0], child[1][1].get("label", ("s", ""))[1].replace("_", "")) for child in layout[2]]
    return menu_path, entries


def balances_shown(bus: Any, item: str, count: int) -> bool:
    try:
        _, entries = top_menu(bus, item)
    except Exception:  # the menu is being rebuilt, or not exported yet
        return False
    return sum(1 for _, label in entries if "123,456" in label) >= count


def start_to_icon(session: DesktopSession, bus: Any, argv: list[str]) -> float:
    no_icon(bus)
    started = time.perf_counter()
    with spawned(argv, session.env, ROOT) as proc:
        elapsed, _ = wait_icon(bus, proc, started)
    return elapsed


def memory_after_balances(session: DesktopSession, bus: Any, argv: list[str], accounts: int) -> dict[str, float]:
    no_icon(bus)
    started = time.perf_counter()
    with spawned(argv, session.env, ROOT) as proc:
        _, item = wait_icon(bus, proc, started)
        if accounts:
            wait_for(lambda: balances_shown(bus, item, accounts), 60, "the balances in the menu", interval=0.1)
        time.sleep(3.0)
        return smaps_rollup(proc.pid)


def command_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False, timeout=120)
    return time.perf_counter() - started


class Prober:
    """Reads a property of the tray item every few ms from another connection; keeps each reply's latency."""

    def __init__(self, session: DesktopSession, item: str) -> None:
        from jeepney import DBusAddress, new_method_call

        service, path = item.split("/", 1)
        self._message = lambda: new_method_call(
            DBusAddress("/" + path, bus_name=service, interface=services.PROPERTIES), "Get", "ss",
            ("org.kde.StatusNotifierItem", "Status"))
        self._bus = session.bus()
        self._stop = threading.Event()
        self._latencies: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            self._bus.send_and_get_reply(self._message(), timeout=30)
            self._latencies.append(time.perf_counter() - started)
            time.sleep(PROBE_INTERVAL)

    def measure(self, until: Callable[[], bool], timeout: float) -> list[float]:
        self._latencies = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_for(until, timeout, "the end of the measured span", interval=0.02)
        self._stop.set()
        self._thread.join()
        return list(self._latencies)

    def close(self) -> None:
        self._bus.close()


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def gui_stall(session: DesktopSession, bus: Any, config: Path, hosts: list[FakeServer], accounts: int) -> Samples:
    """Reply latency of a D-Bus property read during a manual refresh of ``accounts``, and on the idle app."""
    def requests() -> int:
        return sum(len(s.requests_to(PATHS["meowload"])) for s in hosts)

    no_icon(bus)
    started = time.perf_counter()
    with spawned([PY, "-m", "tray_app", "--config", str(config)], session.env, ROOT) as proc:
        _, item = wait_icon(bus, proc, started)
        wait_for(lambda: balances_shown(bus, item, accounts), 300, "the first refresh's balances", interval=0.2)
        time.sleep(3.0)
        prober = Prober(session, item)
        try:
            idle_end = time.perf_counter() + 3.0
            idle = prober.measure(lambda: time.perf_counter() > idle_end, 10)
            menu_path, entries = top_menu(bus, item)
            refresh = next(i for i, label in entries if label == "Refresh now")
            before = requests()
            settled: list[float] = []

            def done() -> bool:
                # Every account answered, and the GUI had a second to apply the last results.
                if requests() < before + accounts:
                    return False
                settled.append(time.perf_counter())
                return time.perf_counter() - settled[0] > 1.0

            call(bus, item.split("/", 1)[0], menu_path, "com.canonical.dbusmenu", "Event", "isvu",
                 (refresh, "clicked", ("i", 0), int(time.time())))
            busy = prober.measure(done, 120)
        finally:
            prober.close()
    return {"idle p99": [p99(idle)], "idle max": [max(idle)], "busy p99": [p99(busy)], "busy max": [max(busy)]}


# ------------------------------------------------------------------ the run

PARTS = ("icon", "check", "memory", "stall")


def run(runs: int, samples: Samples, parts: tuple[str, ...] = PARTS) -> None:
    """Fills ``samples`` as it goes (an interrupted run keeps what it measured)."""
    for name in [n for n in samples if n.startswith(parts)]:
        del samples[name]

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    # The app's bytecode, as an installed app has it (pip compiles at install, the frozen app ships it):
    # with PYTHONDONTWRITEBYTECODE set, a source checkout would compile every module at every start.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "tray_app")], check=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-run-"))
    session = DesktopSession(scratch / "desktop", keyring=True)
    session.root.mkdir(parents=True)
    fast = servers(1, 0.0)
    slow = servers(HOSTS, DELAY)
    fast_many = servers(HOSTS, 0.0)
    one_slow = servers(1, DELAY)
    crowd = servers(HOSTS, DELAY)
    try:
        session.start()
        config4 = write_config(scratch / "four.toml", fast, 4, "a")
        config20 = write_config(scratch / "twenty.toml", slow, 20, "b")
        config20_fast = write_config(scratch / "twenty-fast.toml", fast_many, 20, "b")
        config20_one_host = write_config(scratch / "twenty-one-host.toml", one_slow, 20, "b")
        config200 = write_config(scratch / "crowd.toml", crowd, 200, "c")
        store_keys(session, [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(20)]
                   + [f"c{i}" for i in range(200)])
        env = session.env
        tray = [PY, "-m", "tray_app", "--config", str(config4)]
        hello = [PY, str(HELLO)]
        check = [PY, "-m", "tray_app", "--config"]
        bus = session.bus()
        try:
            for warm in (tray, hello):  # page cache, font cache, the history file
                start_to_icon(session, bus, warm)
            command_time([*check, str(config4), "check", "--json"], env)
            for _ in range(runs if "icon" in parts else 0):
                add("icon: credit-tray", start_to_icon(session, bus, tray))
                add("icon: hello world", start_to_icon(session, bus, hello))
            for _ in range(runs if "check" in parts else 0):
                add("check4: credit-tray", command_time([*check, str(config4), "check", "--json"], env))
                add("check4: import PySide6.QtWidgets",
                    command_time([PY, "-c", "import PySide6.QtWidgets"], env))
                add("check20: credit-tray", command_time([*check, str(config20), "check", "--json"], env))
                add("check20: answers at once", command_time([*check, str(config20_fast), "check", "--json"], env))
                add("check20: one host", command_time([*check, str(config20_one_host), "check", "--json"], env))
            for _ in range(max(1, runs // 2) if "memory" in parts else 0):
                for name, argv, accounts in (("credit-tray", tray, 4), ("hello world", hello, 0)):
                    for key, value in memory_after_balances(session, bus, argv, accounts).items():
                        add(f"memory {key}: {name}", value)
            for _ in range(3 if "stall" in parts else 0):
                for key, values in gui_stall(session, bus, config200, crowd, 200).items():
                    samples.setdefault(f"stall {key}", []).extend(values)
        finally:
            bus.close()
    finally:
        session.stop()
        for server in (*fast, *slow, *fast_many, *one_slow, *crowd):
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    try:
        osname = platform.freedesktop_os_release()["PRETTY_NAME"]
    except OSError:
        osname = platform.platform()
    from importlib.metadata import version

    from PySide6 import QtCore

    return (f"{osname}, {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"PySide6 {version('PySide6-Essentials')} (Qt {QtCore.qVersion()}), httpx {version('httpx')}, "
            f"keyring {version('keyring')}")


# ------------------------------------------------------------------ the report

def summary(values: list[float], unit: str) -> str:
    scale, fmt = {"s": (1.0, "{:.3f} s"), "ms": (1000.0, "{:.1f} ms"), "MiB": (1.0, "{:.1f} MiB")}[unit]
    median = fmt.format(statistics.median(values) * scale)
    if len(values) == 1:
        return median
    spread = f"{min(values) * scale:.3g}–{max(values) * scale:.3g}"
    return f"{median} ({spread})"


ROWS: list[tuple[str, str, str, str, str, str]] = [
    # measure, our sample, baseline sample (or ""), baseline words, unit, target
    ("start → tray icon registered", "icon: credit-tray", "icon: hello world", "hello world", "s", "≤ 1.3×"),
    ("RSS 3 s after the first balances (4 accounts)", "memory rss: credit-tray", "memory rss: hello world",
     "hello world (3 s after its icon)", "MiB", "≤ 1.3×"),
    ("private memory, same moment", "memory private: credit-tray", "memory private: hello world",
     "hello world", "MiB", "—"),
    ("`check --json`, 4 accounts on loopback", "check4: credit-tray", "check4: import PySide6.QtWidgets",
     "`python -c \"import PySide6.QtWidgets\"`", "s", "≤ 1.3×"),
    ("`check` of 20 accounts answering after 0.2 s (4 hosts)", "check20: credit-tray",
     "check20: answers at once", "ideal: 0.2 s + the same check answered at once", "s", "≤ 1.3×"),
    ("the same 20 accounts on one host", "check20: one host", "check20: answers at once",
     "ideal: 0.2 s + the same check answered at once", "s", "—"),
    ("GUI stall (D-Bus read every 5 ms) while refreshing 200 accounts: p99", "stall busy p99", "stall idle p99",
     "the idle app", "ms", "≤ 16 ms"),
    ("the same, max", "stall busy max", "stall idle max", "the idle app", "ms", "≤ 50 ms"),
]


def ratio(ours: list[float], base: list[float], label: str) -> float:
    base_median = statistics.median(base) + (DELAY if label.startswith("ideal") else 0.0)
    return statistics.median(ours) / base_median


def table(result: dict[str, Any], before: dict[str, Any] | None) -> str:
    samples = result["samples"]
    head = ["measure"]
    if before:
        head.append(f"before ({before['when']})")
    head += ["Credit Tray", "baseline in the same run", "ratio", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for measure, ours, base, base_words, unit, target in ROWS:
        if ours not in samples:
            continue
        cells = [measure]
        if before:
            old = before["samples"]
            cells.append(summary(old[ours], unit) if ours in old else "—")
        base_values = samples.get(base, [])
        base_text = summary(base_values, unit) if base_values else "—"
        if base_words.startswith("ideal"):
            base_text = f"{statistics.median(base_values) + DELAY:.3f} s ({base_words})"
        else:
            base_text = f"{base_words}: {base_text}"
        shown_ratio = ("—" if unit == "ms" or not base_values
                       else f"{ratio(samples[ours], base_values, base_words):.2f}×")
        cells += [summary(samples[ours], unit), base_text, shown_ratio, target]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOTES = "<!-- bench/run.py: the notes below are written by hand and kept -->"


def load_words(result: dict[str, Any]) -> str:
    """The 1-minute load average at the start and end: the cores are shared with other work."""
    load = result.get("load") or []
    if not load:
        return ""
    return f", with other work on the same cores (load average {' → '.join(f'{x:.2f}' for x in load)})"


def section(result: dict[str, Any], before: dict[str, Any] | None) -> str:
    return f"""{SECTION_START}
## Performance (`python bench/run.py`)

Measured {result['when']} on {result['machine']}{load_words(result)}. Median of {result['runs']} runs (spread: min–max;
memory: {max(1, result['runs'] // 2)} runs; the stall: 3 runs, each row's p99 and max per run), each row beside its
baseline in the same run, measured from outside the program (the tray host's D-Bus, /proc).

{table(result, before)}

{NOTES}
"""


def write_section(text: str) -> None:
    current = BENCHMARKS.read_text("utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    start, end = current.find(SECTION_START), current.find(SECTION_END)
    if start >= 0 and end > start:
        old = current[start:end]
        notes = old.split(NOTES, 1)[1].strip("\n") if NOTES in old else ""
        current = current[:start] + text + (notes + "\n" if notes else "") + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + text + SECTION_END + "\n"
    BENCHMARKS.write_text(current, "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--save", type=Path, help="keep the raw samples in this JSON file")
    parser.add_argument("--before", type=Path, help="an earlier --save, shown as a 'before' column")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="measure only these rows (repeatable); with --save, the file's other rows are kept")
    args = parser.parse_args()
    result: dict[str, Any] = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                              "runs": args.runs, "samples": {}, "load": [os.getloadavg()[0]]}
    if args.only and args.save and args.save.exists():
        result["samples"] = json.loads(args.save.read_text("utf-8"))["samples"]
    try:
        run(args.runs, result["samples"], tuple(args.only or PARTS))
        result["load"].append(os.getloadavg()[0])
    finally:
        if args.save:
            args.save.write_text(json.dumps(result, indent=1), "utf-8")
    before = json.loads(args.before.read_text("utf-8")) if args.before else None
    print(f"{result['when']}, {result['machine']}\n")
    print(table(result, before))
    if not args.no_write:
        write_section(section(result, before))
        print(f"\nwritten to {BENCHMARKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
