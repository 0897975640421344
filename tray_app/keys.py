"""API keys in the OS keyring, and nowhere else.

Each key is read once and then kept in memory (on macOS every keyring read may cost
a password prompt), and read again only when it may have changed: after the provider
refused it or none was stored, on a manual refresh, or when ``credit-tray key`` says so.
Plaintext "keyrings" (``keyrings.alt``) are never chosen by themselves; only an explicit
``PYTHON_KEYRING_BACKEND`` or keyringrc can select one. Every failure becomes
``KeyUnavailable`` carrying a sentence the user can act on, and never the backend's own
exception text.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from tray_app import APP_ID
from tray_app.i18n import N_, _

# ``keyring`` is imported where a key is first read or written, not here: importing it costs
# tens of milliseconds, and neither the tray's icon nor commands that read no key should wait.

SERVICE = APP_ID

NO_BACKEND = N_(
    "no usable keyring: install and start a Secret Service provider "
    "(gnome-keyring or KWallet) and log in to your desktop session"
)


class KeyUnavailable(Exception):
    """The keyring could not be used; the message says what to do."""


def _acceptable(backend: Any) -> bool:
    module = type(backend).__module__
    return not module.startswith(("keyrings.alt", "keyring.backends.fail", "keyring.backends.null"))


def _empty_chain(backend: Any) -> bool:
    import keyring.backends.chainer

    if not isinstance(backend, keyring.backends.chainer.ChainerBackend):
        return False
    try:
        return not list(backend.backends)
    except Exception:
        return True


def _explain(exc: BaseException) -> KeyUnavailable:
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        return KeyUnavailable(_(NO_BACKEND))
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyUnavailable(_("the keyring is locked: unlock it (log in again or open your password manager)"))
    name = type(exc).__name__
    if "Dismissed" in name or "Prompt" in name:
        return KeyUnavailable(_("unlocking the keyring was cancelled: refresh to be asked again"))
    return KeyUnavailable(_("the keyring failed ({error}): check that your keyring service is running").format(
        error=name))


def _native_backend() -> Any | None:
    """The desktop's own secret store, found without keyring's discovery; None to let keyring discover.

    keyring's discovery imports every backend it knows through entry points (on Linux the
    macOS one too, whose import looks for the Security framework with ``find_library``):
    about 0.1 s at every start. A backend named by ``PYTHON_KEYRING_BACKEND`` or keyringrc,
    KWallet (which outranks the Secret Service on KDE) and any platform but Linux/BSD still
    go through keyring's own choice.
    """
    import keyring.core

    if os.environ.get("PYTHON_KEYRING_BACKEND") or keyring.core.load_config() is not None:
        return None
    if not (sys.platform.startswith("linux") or "bsd" in sys.platform):
        return None
    if "KDE" in os.environ.get("XDG_CURRENT_DESKTOP", "").upper():
        return None
    from keyring.backends import SecretService

    try:
        SecretService.Keyring.priority  # noqa: B018 - raises when no Secret Service answers on the bus
    except Exception:
        return None
    return SecretService.Keyring()  # type: ignore[no-untyped-call]


class KeyStore:
    """Thread-safe access to the keyring with a per-process cache.

    Keyring calls are serialised by one lock, the cache by another: a keyring that hangs
    (a password prompt nobody answers) blocks only other keyring calls, never a reader of
    the cache, such as the log filter that redacts keys from every record.
    """

    def __init__(self, service: str = SERVICE) -> None:
        self._service = service
        self._cache: dict[str, str | None] = {}
        #: Every key this process has held, replaced or deleted ones too, for redaction.
        self._seen: set[str] = set()
        self._io_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._backend: Any = None

    def _remember(self, account_id: str, key: str | None) -> None:
        with self._cache_lock:
            self._cache[account_id] = key
            if key:
                self._seen.add(key)

    def _cached(self, account_id: str) -> tuple[bool, str | None]:
        with self._cache_lock:
            return account_id in self._cache, self._cache.get(account_id)

    def peek(self, account_id: str) -> tuple[bool, str | None]:
        """(True, key) if the key was read already, without touching the keyring; else (False, None)."""
        return self._cached(account_id)

    def _keyring(self) -> Any:
        if self._backend is None:
            try:
                backend = _native_backend()
                if backend is None:
                    import keyring.core

                    keyring.core.init_backend(limit=_acceptable)
                    backend = keyring.core.get_keyring()
            except Exception as exc:
                raise _explain(exc) from None
            if not _acceptable(backend) and type(backend).__module__.startswith("keyring.backends.fail"):
                raise KeyUnavailable(_(NO_BACKEND))
            if _empty_chain(backend):
                # What keyring picks when every real backend was filtered out: it stores nothing
                # and finds nothing, so "no key stored" would be a lie and "key set" a silent no-op.
                raise KeyUnavailable(_(NO_BACKEND))
            self._backend = backend
        return self._backend

    def backend_name(self) -> str:
        try:
            backend = self._keyring()
        except KeyUnavailable:
            return "none"
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def get(self, account_id: str) -> str | None:
        found, key = self._cached(account_id)
        if found:
            return key
        with self._io_lock:
            found, key = self._cached(account_id)  # read by another thread while we waited
            if found:
                return key
            try:
                value = self._keyring().get_password(self._service, account_id)
            except KeyUnavailable:
                raise
            except Exception as exc:
                raise _explain(exc) from None
            key = value.strip() if isinstance(value, str) and value.strip() else None
            self._remember(account_id, key)
            return key

    def set(self, account_id: str, key: str) -> None:
        with self._io_lock:
            try:
                self._keyring().set_password(self._service, account_id, key)
            except KeyUnavailable:
                raise
            except Exception as exc:
                raise _explain(exc) from None
            self._remember(account_id, key)

    def delete(self, account_id: str) -> bool:
        """Remove the key; False if there was none."""
        with self._io_lock:
            with self._cache_lock:
                self._cache.pop(account_id, None)
            import keyring.errors

            try:
                self._keyring().delete_password(self._service, account_id)
            except keyring.errors.PasswordDeleteError:
                return False
            except KeyUnavailable:
                raise
            except Exception as exc:
                raise _explain(exc) from None
            return True

    def forget(self, account_id: str | None = None) -> None:
        """Drop cached keys so the next use reads the keyring again (after a key was replaced)."""
        with self._cache_lock:
            if account_id is None:
                self._cache.clear()
            else:
                self._cache.pop(account_id, None)

    def read_file(self, account_id: str, path: Path) -> str:
        """The key in ``path`` (a key file: systemd credentials, Docker secrets), read afresh each time so a
        rotated secret is picked up. Refused unless only its owner may read it (0600 or 0400)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise KeyUnavailable(_("key file {path}: {problem}").format(
                path=path, problem=exc.strerror or type(exc).__name__)) from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise KeyUnavailable(_("key file {path} is not a regular file").format(path=path))
            if info.st_mode & 0o077:
                raise KeyUnavailable(_("key file {path} may be read by others (mode {mode}): chmod 600 {path}").format(
                    path=path, mode=f"{stat.S_IMODE(info.st_mode):04o}"))
            data = handle.read(64 * 1024 + 1)
        if len(data) > 64 * 1024:
            raise KeyUnavailable(_("key file {path} is too large to hold one key").format(path=path))
        try:
            key = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise KeyUnavailable(_("key file {path} is not UTF-8 text").format(path=path)) from None
        if not key or any(ch in key for ch in "\r\n\0"):
            raise KeyUnavailable(_("key file {path} must hold exactly one key on one line").format(path=path))
        with self._cache_lock:
            self._seen.add(key)
        return key

    def known_keys(self) -> list[str]:
        """Every key read or stored so far (replaced ones too), for redacting them from logs; never blocks
        on the keyring."""
        with self._cache_lock:
            return sorted(self._seen)


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an API key, or None; never quotes the key.

    Keys travel in an HTTP header, which takes printable ASCII only (httpx refuses anything
    else), and no provider's key has a space: one inside is a paste gone wrong.
    """
    if any(ch.isspace() for ch in key):
        return _("it has a space or a line break inside (API keys have none; a 'Bearer ' prefix is not part of it)")
    if not (key.isascii() and key.isprintable()):
        return _("it has a character that is not plain ASCII (a letter from another alphabet, a curly quote "
                 "or a look-alike dash?)")
    return None
