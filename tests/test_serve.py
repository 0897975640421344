"""``credit-tray serve`` as a process, scraped over loopback, and by a real Prometheus (Debian's package).

The exporter talks to the loopback fake provider; every test counts the provider's requests,
because however often it is scraped, a provider must see one request per account per refresh.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakeserver import FakeServer, Reply
from tests.test_cli import CANARY, Cli, account, write_config

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
MEOW_ROUTE = "/meow/openapi/available-credits"
RULES = Path(__file__).resolve().parent.parent / "packaging" / "prometheus" / "credit-tray.rules.yml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.TransportError, KeyError, IndexError, ValueError):
            value = condition()
            if value:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        out = {}
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                out[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return out

    def stderr(self) -> str:
        return self.log.read_text("utf-8", "replace")


@pytest.fixture
def serve(cli: Cli, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(config: Path, *args: str, listen: str | None = None, ready: bool = True) -> Served:
        port = 9731 if listen == "default" else int(listen.rpartition(":")[2]) if listen else free_port()
        listen_args = ["--listen", listen or f"127.0.0.1:{port}"] if listen != "default" else []
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), "serve",
                                     *listen_args, *args], env=cli.env, cwd=cli.cwd, stdout=err, stderr=err)
        served = Served(proc, f"http://127.0.0.1:{port}", log)
        started.append(served)
        if ready:
            wait_for(lambda: served.get("/healthz").status_code == 200
                     and "credittray_refresh_success" in served.get("/metrics").text, 20, "serve's first refresh")
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(10)
        text = served.stderr()
        assert "Traceback" not in text, text
        assert CANARY not in text


def one_account(cli: Cli, server: FakeServer, tmp_path: Path, *replies: Reply) -> Path:
    config = write_config(tmp_path / "config.toml", [account(server, "meow", "meowload", *replies)], language="en")
    cli.seed_keys({"meow": CANARY})
    return config


def test_scrapes_are_answered_from_the_last_refresh(cli: Cli, server: FakeServer, tmp_path: Path, serve) -> None:
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    served = serve(config)
    assert len(server.requests_to(MEOW_ROUTE)) == 1
    labels = frozenset({"account": "meow", "provider": "meowload", "unit": "credits"}.items())

    client = httpx.Client(timeout=5)

    def scrape(_: int) -> float:
        response = client.get(served.url + "/metrics")
        assert response.status_code == 200
        return next(s.value for f in text_string_to_metric_families(response.text) for s in f.samples
                if s.name == "credittray_balance" and frozenset(s.labels.items()) == labels)

    with client, ThreadPoolExecutor(8) as pool:
        values = list(pool.map(scrape, range(300)))
    assert values == [1500] * 300
    assert len(server.requests_to(MEOW_ROUTE)) == 1  # 300 scrapes, no extra provider request

    assert served.get("/healthz").status_code == 200
    assert served.get("/nowhere").status_code == 404
    # DNS rebinding: a page whose own name now points at 127.0.0.1 gets nothing.
    rebound = httpx.get(served.url + "/metrics", headers={"Host": "attacker.example:9731"}, timeout=5)
    assert rebound.status_code == 403
    assert "credittray" not in rebound.text
    assert httpx.get(served.url.replace("127.0.0.1", "localhost") + "/healthz", timeout=5).status_code == 200
    assert httpx.post(served.url + "/metrics", timeout=5).status_code == 405
    assert CANARY not in served.get("/metrics").text

    # SIGHUP: refresh now (and reread the config).
    server.route(MEOW_ROUTE, Reply(200, {"availableCredits": 900}))
    served.proc.send_signal(signal.SIGHUP)
    balance = ("credittray_balance", labels)
    wait_for(lambda: served.samples()[balance] == 900, 10, "the refreshed balance")
    assert len(server.requests_to(MEOW_ROUTE)) == 2

    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(10) == 0


def test_a_sighup_during_a_refresh_is_not_lost(cli: Cli, server: FakeServer, tmp_path: Path, serve) -> None:
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    served = serve(config)
    server.route(MEOW_ROUTE, Reply(200, {"availableCredits": 1400}, delay=1.0), Reply(200, {"availableCredits": 1300}))
    served.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(server.requests_to(MEOW_ROUTE)) == 2, 10, "the slow refresh to start")
    served.proc.send_signal(signal.SIGHUP)  # while the provider is still answering
    labels = frozenset({"account": "meow", "provider": "meowload", "unit": "credits"}.items())
    wait_for(lambda: served.samples()[("credittray_balance", labels)] == 1300, 10, "the refresh asked for meanwhile")
    assert len(server.requests_to(MEOW_ROUTE)) == 3


def test_default_address_is_loopback_only_on_the_documented_port(cli: Cli, server: FakeServer, tmp_path: Path,
                                                                  serve) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 9731)) == 0:
            pytest.skip("something else listens on 127.0.0.1:9731")
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    served = serve(config, listen="default")
    assert served.url == "http://127.0.0.1:9731"
    listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    local = {fields[1] for fields in listening if fields[3] == "0A"}  # 0A: LISTEN
    assert "0100007F:2603" in local  # 127.0.0.1:9731
    assert "00000000:2603" not in local  # not every address
    six = Path("/proc/net/tcp6")
    if six.exists():
        assert not any(line.split()[1].endswith(":2603") for line in six.read_text().splitlines()[1:])


def test_listen_on_ipv6_loopback_when_asked(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config), "serve", "--listen",
                             f"[::1]:{port}"], env=cli.env, cwd=cli.cwd, stderr=subprocess.PIPE)
    try:
        wanted = 'credittray_balance{account="meow",provider="meowload",unit="credits"} 1500.0'
        wait_for(lambda: wanted in httpx.get(f"http://[::1]:{port}/metrics", timeout=5).text, 20, "serve on [::1]")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"serving /metrics on http://[::1]:{port}" in err.decode()


def test_a_port_in_use_is_one_line(cli: Cli, server: FakeServer, tmp_path: Path) -> None:
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli.run("serve", "--listen", f"127.0.0.1:{port}", config=config)
    assert proc.returncode == 69, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"credit-tray: cannot listen on 127.0.0.1:{port}")
    assert cli.run("serve", "--listen", "nonsense", config=config).returncode == 64
    assert server.requests == []


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5)
    data = response.json()
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def test_prometheus_scrapes_serve_end_to_end(cli: Cli, server: FakeServer, tmp_path: Path, serve) -> None:
    config = one_account(cli, server, tmp_path, Reply(200, {"availableCredits": 1500}))
    served = serve(config)
    target = served.url.removeprefix("http://")
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "500ms"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "credit-tray", "scrape_interval": "500ms", "scrape_timeout": "400ms",
                            "static_configs": [{"targets": [target]}]}],
    }))
    with (tmp_path / "prometheus.log").open("wb") as log:
        prom_proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            stdout=log, stderr=log, cwd=tmp_path)
    prom = f"http://127.0.0.1:{prom_port}"
    try:
        balance = wait_for(lambda: query(prom, 'credittray_balance{account="meow"}'), 30,
                           "Prometheus to scrape the balance")
        assert balance[0]["metric"] == {"__name__": "credittray_balance", "account": "meow", "provider": "meowload",
                                        "unit": "credits", "job": "credit-tray", "instance": target}
        assert float(balance[0]["value"][1]) == 1500
        assert float(query(prom, 'credittray_refresh_success{account="meow"}')[0]["value"][1]) == 1
        assert float(query(prom, f'up{{instance="{target}"}}')[0]["value"][1]) == 1
        # The shipped rules match what serve exports: 1,500 is below MeowLoad's levels, so the low alert
        # is pending (it waits 5 minutes before firing), valued at the balance.
        pending = wait_for(lambda: query(prom, 'ALERTS{alertname="CreditTrayBalanceLow"}'), 30, "the low alert")
        assert pending[0]["metric"]["account"] == "meow"
        assert pending[0]["metric"]["alertstate"] == "pending"
        rules = httpx.get(f"{prom}/api/v1/rules", timeout=5).json()["data"]["groups"][0]["rules"]
        low = next(r for r in rules if r["name"] == "CreditTrayBalanceLow")
        assert float(low["alerts"][0]["value"]) == 1500

        # The provider starts refusing; the next refresh fails; the last balance stays.
        server.route(MEOW_ROUTE, Reply(401, {"message": "Invalid or expired API Key"}))
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: float(query(prom, 'credittray_refresh_success{account="meow"}')[0]["value"][1]) == 0, 30,
                 "refresh_success to turn 0 in Prometheus")
        assert float(query(prom, 'credittray_balance{account="meow"}')[0]["value"][1]) == 1500
        assert "meow: auth: Invalid or expired API Key" in served.stderr()  # the reason, for the journal
        assert float(query(prom, 'credittray_state{account="meow",state="error"}')[0]["value"][1]) == 1
        scrapes = float(query(prom, f'count_over_time(up{{instance="{target}"}}[1m])')[0]["value"][1])
        assert scrapes >= 2
        assert len(server.requests_to(MEOW_ROUTE)) == 2  # two refreshes, however many scrapes
    finally:
        prom_proc.send_signal(signal.SIGTERM)
        try:
            prom_proc.wait(15)
        except subprocess.TimeoutExpired:
            prom_proc.kill()
            prom_proc.wait(5)


def test_key_file_feeds_serve_and_check_and_must_be_private(cli: Cli, server: FakeServer, tmp_path: Path,
                                                            serve) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    key_file = secrets / "meow"
    key_file.write_text(CANARY + "\n")
    key_file.chmod(0o600)
    entry = account(server, "meow", "meowload", Reply(200, {"availableCredits": 1500}), key_file=str(key_file))
    config = write_config(tmp_path / "config.toml", [entry], language="en")  # and nothing in the keyring
    served = serve(config)
    got = served.samples()
    assert got[("credittray_balance", frozenset({"account": "meow", "provider": "meowload",
                                                 "unit": "credits"}.items()))] == 1500
    assert server.requests_to(MEOW_ROUTE)[0].headers["x-api-key"] == CANARY

    listed = cli.list_json(config=config)
    assert (listed[0]["has_key"], listed[0]["key_file"]) == (True, str(key_file))

    key_file.chmod(0o644)
    assert cli.list_json(config=config)[0]["has_key"] is False
    sent = len(server.requests)
    proc = cli.run("check", "--json", config=config)
    assert proc.returncode == 3
    error = json.loads(proc.stdout)["accounts"][0]["error"]
    assert error["kind"] == "no_key"
    assert "chmod 600" in error["message"]
    assert str(key_file) in error["message"]
    assert len(server.requests) == sent  # a key others may read is not used
    assert CANARY not in proc.stdout + proc.stderr

    key_file.chmod(0o400)  # systemd's credentials are 0400
    assert cli.run("check", "--json", config=config).returncode == 1
