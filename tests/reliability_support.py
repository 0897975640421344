"""Shared pieces of the reliability tests (tests/test_reliability_*.py).

Hostile loopback servers the scripted ``FakeServer`` cannot play (a port that never
completes a TCP handshake, a connection reset in the middle of a body, a body with no
length), throwaway TLS certificates, config and key helpers, and process counters
(resident memory, threads, open files, sockets) read from /proc.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakeserver import PATHS, SUCCESS_BODY, FakeServer
from tray_app.engine import Engine, RefreshReport
from tray_app.fetch import FetchPolicy
from tray_app.history import HistoryStore
from tray_app.keys import KeyStore
from tray_app.providers import BUILT_INS

ALL = sorted(BUILT_INS)  # the seed providers; presets have tests of their own (test_presets.py)
MiB = 1024 * 1024

# What each documented success example (tests.fakeserver.SUCCESS_BODY) must read as.
SUCCESS_REMAINING = {"meowload": Decimal(282539), "smarterbot": Decimal(4757), "sociavault": Decimal(950),
                     "unwatermark": Decimal(1234)}
#: The header each provider documents for the key (lower case, as the server records it).
KEY_HEADER = {"meowload": "x-api-key", "smarterbot": "authorization", "sociavault": "x-api-key",
              "unwatermark": "zf-api-key"}
HTML = "<!DOCTYPE html><html><head><title>Oops</title></head><body><h1>Something went wrong</h1></body></html>"


def success_json(provider_id: str) -> bytes:
    return json.dumps(SUCCESS_BODY[provider_id]).encode()


def padded_success(provider_id: str, size: int) -> bytes:
    """The provider's success body, valid JSON, padded to ``size`` bytes: only a size limit can refuse it."""
    body = dict(SUCCESS_BODY[provider_id])
    body["pad"] = ""
    overhead = len(json.dumps(body).encode())
    body["pad"] = "x" * max(0, size - overhead)
    return json.dumps(body).encode()


# --------------------------------------------------------------------------- config and keys

def toml_config(accounts: Iterable[dict[str, Any]], **settings: Any) -> str:
    lines = [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    for account in accounts:
        lines.append("[[accounts]]")
        lines.extend(f"{name} = {json.dumps(value)}" for name, value in account.items())
    return "\n".join(lines) + "\n"


def write_config(path: Path, accounts: Iterable[dict[str, Any]], **settings: Any) -> Path:
    path.write_text(toml_config(accounts, **settings), encoding="utf-8")
    return path


def store_keys(keys: dict[str, str]) -> None:
    """Into the throwaway file keyring that ``isolated_env`` selects."""
    store = KeyStore()
    for account_id, key in keys.items():
        store.set(account_id, key)


def refresh_once(config: Path, history: Path, *, notifier: str | None = "tray",
                 policy: FetchPolicy | None = None) -> RefreshReport:
    """One refresh by a fresh Engine on ``history``, as a new process of the tray (or, with no
    notifier, of ``credit-tray check``) would do it."""
    import asyncio

    async def go() -> RefreshReport:
        engine = Engine(config, keys=KeyStore(), history=HistoryStore(history), notifier=notifier,
                        policy=policy or FetchPolicy(attempt_timeout=2, total_timeout=4, backoff_base=0.01))
        try:
            cfg = engine.load_config()
            return await engine.refresh(cfg, engine.select(cfg), language="en")
        finally:
            await engine.aclose()

    return asyncio.run(go())


def route_for(account_id: str, provider_id: str) -> str:
    return f"/{account_id}{PATHS[provider_id]}"


# --------------------------------------------------------------------------- raw servers

@dataclass
class RawRequest:
    head: bytes
    body: bytes


class RawServer:
    """A loopback TCP server that runs ``behaviour(conn, request)`` on each connection, in a thread."""

    def __init__(self, behaviour: Callable[[socket.socket, RawRequest], None]) -> None:
        self._behaviour = behaviour
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self.requests: list[RawRequest] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, body = data.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(body) < length:
                    body += conn.recv(65536)
                request = RawRequest(head, body)
                with self._lock:
                    self.requests.append(request)
                self._behaviour(conn, request)
            except OSError:
                pass

    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(2)
        self._sock.close()
        for thread in self._threads:
            thread.join(2)


def request_path(request: RawRequest) -> str:
    return request.head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1").split("?", 1)[0]


def provider_of(path: str) -> str:
    return next(p for p, suffix in PATHS.items() if path.endswith(suffix))


def reset_mid_body(conn: socket.socket, request: RawRequest) -> None:
    """Promise the whole success body, send half of it, then abort the connection (RST)."""
    body = success_json(provider_of(request_path(request)))
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[: len(body) // 2])
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def endless_body(size: int) -> Callable[[socket.socket, RawRequest], None]:
    """No Content-Length, no chunking: ``size`` bytes of valid JSON until the server closes."""

    def behave(conn: socket.socket, request: RawRequest) -> None:
        body = padded_success(provider_of(request_path(request)), size)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        for start in range(0, len(body), 64 * 1024):
            conn.sendall(body[start:start + 64 * 1024])

    return behave


class Blackhole:
    """A loopback port whose accept queue is full: a connect to it never completes (SYNs are dropped)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self._fillers: list[socket.socket] = []
        # Fill the queue until one more connection attempt no longer completes.
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            self._fillers.append(filler)
            if filler.connect_ex(("127.0.0.1", self.port)) not in (0, 115):  # 115: EINPROGRESS
                break
            _, writable, _ = select.select([], [filler], [], 0.05)
            if not writable:
                break
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(("127.0.0.1", self.port))
            raise RuntimeError("the blackhole port still accepts connections")
        except TimeoutError:
            pass
        finally:
            probe.close()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._sock.close()


# --------------------------------------------------------------------------- TLS

@dataclass
class Cert:
    cert_pem: bytes
    key_pem: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_cert(common: str, hosts: Iterable[str], *, issuer: Cert | None = None, ca: bool = False,
              expired: bool = False) -> Cert:
    """A certificate for ``hosts`` (names or IPs), self-signed unless ``issuer`` signs it."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired else (
        now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    if issuer is None:
        signer, issuer_name = key, _name(common)
    else:
        loaded = serialization.load_pem_private_key(issuer.key_pem, None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        signer, issuer_name = loaded, x509.load_pem_x509_certificate(issuer.cert_pem).subject
    builder = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    cert = builder.sign(signer, hashes.SHA256())
    return Cert(cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def serve_tls(server: FakeServer, cert: Cert, folder: Path) -> FakeServer:
    """Make a not-yet-started FakeServer speak HTTPS with ``cert``."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.cert_pem)
    key_file.write_bytes(cert.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    inner = server._server  # the ThreadingHTTPServer; the handshake then happens on accept
    inner.socket = context.wrap_socket(inner.socket, server_side=True)
    return server


# --------------------------------------------------------------------------- process counters

def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the fd of the listdir itself
    return out


def socket_count() -> int:
    return sum(1 for target in open_fds().values() if target.startswith("socket:"))


# --------------------------------------------------------------------------- keyrings that fail
# Selected by PYTHON_KEYRING_BACKEND="tests.reliability_support.<Class>" (in-process or in a child
# started from the repository root), exactly as a user's keyringrc would select a backend.

import keyring.backend  # noqa: E402
import keyring.errors  # noqa: E402


class _Refusing(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]
    #: Every call, so a test can tell the keyring was asked (and how often).
    calls: list[str] = []  # noqa: RUF012

    def _fail(self, what: str) -> None:
        raise NotImplementedError

    def get_password(self, service: str, username: str) -> str | None:
        type(self).calls.append(f"get {username}")
        self._fail("get")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        type(self).calls.append(f"set {username}")
        self._fail("set")

    def delete_password(self, service: str, username: str) -> None:
        type(self).calls.append(f"delete {username}")
        self._fail("delete")


class LockedKeyring(_Refusing):
    def _fail(self, what: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class PromptDismissedException(Exception):
    pass


class DismissedKeyring(_Refusing):
    def _fail(self, what: str) -> None:
        raise PromptDismissedException("Prompt dismissed.")


class RaisingKeyring(_Refusing):
    def _fail(self, what: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown: secret details of the backend")


HANG = threading.Event()


class HangingKeyring(_Refusing):
    """Waits for its password prompt for ever (until the test sets HANG)."""

    def _fail(self, what: str) -> None:
        HANG.wait()
        raise keyring.errors.KeyringLocked("prompt abandoned")


# Subclasses register themselves for keyring's own discovery; these must only ever be used when a
# test selects one by name, never picked (or chained) by the product's automatic choice.
for _test_backend in (_Refusing, LockedKeyring, DismissedKeyring, RaisingKeyring, HangingKeyring):
    keyring.backend.KeyringBackend._classes.discard(_test_backend)


@contextmanager
def real_app(config: Path, env: dict[str, str], workdir: Path, *, tray_wait_s: float
             ) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``credit-tray --config`` as its own process (offscreen; ``env`` from ``isolated_env`` gives it a
    private runtime dir): it and its log file, for a ``with`` block at whose end the app is killed if a
    failed step left it running."""
    env = {**env, "QT_QPA_PLATFORM": "offscreen", "CREDIT_TRAY_TRAY_WAIT_S": str(tray_wait_s)}
    proc = subprocess.Popen([sys.executable, "-m", "tray_app", "--config", str(config)], env=env, cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, Path(env["XDG_STATE_HOME"]) / "credit-tray" / "log" / "credit-tray.log"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop_real_app(proc: subprocess.Popen[str], timeout: float = 10) -> str:
    """SIGTERM, as a logout sends it; the app's stderr once it has quit."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)[1]


def wait_for_log(proc: subprocess.Popen[str], log: Path, text: str, timeout: float = 20) -> None:
    """Until ``text`` is in the app's log; the app must stay up meanwhile."""
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{text!r} not in the log after {timeout} s"
        time.sleep(0.05)
