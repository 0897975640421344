"""``[[hooks]]`` run by ``credit-tray serve`` (a process, driven by SIGHUP) and by the tray (pytest-qt).

The hook is a real executable that appends what it received (stdin, its CREDIT_TRAY_* variables,
its whole environment and arguments) to a file; the tests read that file back.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import CANARY, Cli, account, write_config
from tests.test_serve import MEOW_ROUTE, serve, wait_for  # noqa: F401 - fixtures used by name
from tests.test_tray import make_controller, route, run_refresh, start  # noqa: F401 - fixtures used by name

RECORDER = """#!{python}
import json, os, sys
record = {{"stdin": sys.stdin.read(), "args": sys.argv[1:], "pid": os.getpid(),
          "env": {{k: v for k, v in os.environ.items()}}}}
with open({out!r}, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(record) + "\\n")
"""
SLEEPER = """#!{python}
import os, sys, time
sys.stdin.read()
with open({out!r}, "a") as handle:
    handle.write(str(os.getpid()) + "\\n")
time.sleep(60)
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    path.chmod(0o755)
    return path


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_serve_runs_each_hook_once_per_event_with_the_event_on_stdin(cli: Cli, server: FakeServer,
                                                                     tmp_path: Path, serve) -> None:  # noqa: F811
    out, pids = tmp_path / "events.jsonl", tmp_path / "sleeper.pids"
    recorder = executable(tmp_path / "record-hook", RECORDER.format(python=sys.executable, out=str(out)))
    sleeper = executable(tmp_path / "slow-hook", SLEEPER.format(python=sys.executable, out=str(pids)))
    entry = account(server, "meow", "meowload", Reply(200, {"availableCredits": 5000}), label="Work",
                    thresholds=[2000, 0])
    config = write_config(tmp_path / "config.toml", [entry], language="en")
    config.write_text(config.read_text() + f"""
[[hooks]]
command = "{recorder}"
args = ["--from", "credit tray"]

[[hooks]]
command = "{sleeper}"
events = ["topped_up"]
timeout = 1
""")
    cli.seed_keys({"meow": CANARY})
    served = serve(config)
    steps: list[tuple[Reply, list[str]]] = [
        (Reply(200, {"availableCredits": 1500}), ["low"]),
        (Reply(401, {"message": f"Invalid or expired API Key {CANARY}"}), ["key_refused"]),
        (Reply(200, {"availableCredits": 1400}), ["recovered"]),
        (Reply(400, {"message": f"Bad request for {CANARY}"}), ["refresh_failing"]),
        (Reply(400, {"message": "still failing"}), []),
        (Reply(200, {"availableCredits": 0}), ["exhausted", "recovered"]),
        (Reply(200, {"availableCredits": 0}), []),
        (Reply(200, {"availableCredits": 3000}), ["topped_up"]),
    ]
    assert records(out) == []  # the first reading (5,000) is above every level: no event
    expected: list[str] = []
    for reply, events in steps:
        server.route(MEOW_ROUTE, reply)
        sent = len(server.requests_to(MEOW_ROUTE))
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda sent=sent: len(server.requests_to(MEOW_ROUTE)) > sent, 10, "a refresh")
        expected += events
        count = len(expected)
        wait_for(lambda count=count: len(records(out)) >= count, 10, f"the hook for {events}")
        time.sleep(0.3)  # and nothing more than expected
        assert [r["env"]["CREDIT_TRAY_EVENT"] for r in records(out)] == expected

    got = records(out)
    low = json.loads(got[0]["stdin"])
    assert low == {"event": "low", "source": "serve", "account": "meow", "provider": "meowload", "label": "Work",
                   "state": "low", "remaining": 1500, "unit": "credits", "threshold": 2000, "error": None,
                   "checked_at": low["checked_at"]}
    assert got[0]["args"] == ["--from", "credit tray"]  # no shell: the space stays inside one argument
    env = got[0]["env"]
    inherited = {k for k in os.environ if k.startswith("CREDIT_TRAY_")}  # e.g. the test runner's own switches
    assert {k: v for k, v in env.items() if k.startswith("CREDIT_TRAY_") and k not in inherited} == {
        "CREDIT_TRAY_EVENT": "low", "CREDIT_TRAY_SOURCE": "serve", "CREDIT_TRAY_ACCOUNT": "meow",
        "CREDIT_TRAY_PROVIDER": "meowload", "CREDIT_TRAY_LABEL": "Work", "CREDIT_TRAY_STATE": "low",
        "CREDIT_TRAY_REMAINING": "1500", "CREDIT_TRAY_UNIT": "credits", "CREDIT_TRAY_THRESHOLD": "2000"}
    failing = json.loads(got[3]["stdin"])
    assert failing["error"]["kind"] == "request"
    assert failing["remaining"] == 1400  # the last good balance

    # The slow hook ran for topped_up, was killed at its 1 s timeout, and the failure was logged.
    wait_for(lambda: "was killed after its timeout of 1 s" in served.stderr(), 10, "the timeout in the log")
    (pid,) = [int(line) for line in pids.read_text().split()]
    wait_for(lambda: not alive(pid), 5, "the slow hook to be gone")

    # A restart remembers: the history's last balance (3,000) makes a higher first reading a top-up.
    # Stopping serve while a hook runs ends that hook too.
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(10) == 0
    server.route(MEOW_ROUTE, Reply(200, {"availableCredits": 8000}))
    served = serve(config)
    expected.append("topped_up")
    wait_for(lambda: len(records(out)) >= len(expected), 10, "the top-up after a restart")
    wait_for(lambda: len(pids.read_text().split()) == 2, 10, "the slow hook's second run")
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(10) == 0
    second = int(pids.read_text().split()[1])
    wait_for(lambda: not alive(second), 5, "the slow hook to end with serve")
    assert [r["env"]["CREDIT_TRAY_EVENT"] for r in records(out)] == expected
    for record in records(out):
        assert CANARY not in json.dumps(record)
        assert CANARY[:12] not in json.dumps(record)

@pytest.mark.parametrize(("hook", "problem"), [
    ('command = "relative/script"', "absolute path"),
    ('command = "/bin/true"\nevents = ["lowish"]', "events must be a list of"),
    ('command = "/bin/true"\ntimeout = 0', "timeout must be"),
    ('command = "/bin/true"\nshell = true', "unknown key 'shell'"),
])
def test_a_bad_hook_stops_the_config_with_one_line(cli: Cli, server: FakeServer, tmp_path: Path,
                                                   hook: str, problem: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[[hooks]]\n{hook}\n")
    proc = cli.run("check", config=config)
    assert proc.returncode == 78, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert problem in proc.stderr


def test_tray_runs_hooks_and_writes_the_textfile(qtbot, server: FakeServer, make_controller,  # noqa: F811
                                                 tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    recorder = executable(tmp_path / "record-hook", RECORDER.format(python=sys.executable, out=str(out)))
    textfile = tmp_path / "textfile" / "credit-tray.prom"
    broken = tmp_path / "broken-hook"
    executable(broken, "#!/bin/sh\necho 'no route to pager' >&2\nexit 3\n")
    extra = (f'[prometheus]\ntextfile = "{textfile}"\n\n[[hooks]]\ncommand = "{recorder}"\n\n'
             f'[[hooks]]\ncommand = "{broken}"\nevents = ["exhausted"]\n')
    route(server, "meow", "meowload", Reply(402, {"message": "Credits exhausted"}))
    controller = make_controller([("meow", "meowload")], server, extra=extra)
    start(qtbot, controller)
    wait_for(lambda: len(records(out)) == 1, 10, "the tray's hook")
    data = json.loads(records(out)[0]["stdin"])
    assert (data["event"], data["source"], data["account"], data["remaining"]) == ("exhausted", "tray", "meow", 0)
    text = textfile.read_text("utf-8")
    assert 'credittray_state{account="meow",provider="meowload",state="exhausted"} 1.0' in text
    assert stat.S_IMODE(textfile.stat().st_mode) == 0o644
    qtbot.waitUntil(lambda: any(a.text().startswith("Hook failed: hook " + str(broken))
                                for a in controller.menu.actions()), timeout=10_000)
    line = next(a.text() for a in controller.menu.actions() if a.text().startswith("Hook failed"))
    assert "exit status 3" in line
    assert "no route to pager" in line

    # A metrics file that cannot be written is said in the menu; the balances still show.
    textfile.unlink()
    textfile.parent.rmdir()
    textfile.parent.write_text("a file where the folder was")
    run_refresh(qtbot, controller)
    qtbot.waitUntil(lambda: any(a.text().startswith("Can't write metrics:") for a in controller.menu.actions()),
                    timeout=5_000)
