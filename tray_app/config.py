"""The TOML config: global settings and an array of ``[[accounts]]``.

Reading uses the stdlib ``tomllib``; writing goes through ``tomlkit`` so a user's
comments and layout survive, and through an atomic rename so a crash never leaves
half a file. A file that cannot be read at all is a ``ConfigFileError`` (every command
stops, the file is left alone); one bad account only marks that account.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import tomlkit
import tomlkit.exceptions

from tray_app.fileio import FileBusy, atomic_write, exclusive_lock, private_dir
from tray_app.i18n import _
from tray_app.providers import provider_for
from tray_app.providers.base import Provider, url_fault
from tray_app.providers.custom import CUSTOM_ID, CustomSpec, SpecError, inline_value, spec_from_table, spec_to_table
from tray_app.safetext import for_terminal, text_problem

LANGUAGES = ("auto", "en", "zh")
HOOK_EVENTS = ("low", "exhausted", "recovered", "topped_up", "key_refused", "refresh_failing")
DEFAULT_HOOK_TIMEOUT = 10.0
DEFAULT_REFRESH_MINUTES = 10
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: A config is a few kilobytes; anything much larger is not one (and must not be read into memory).
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigFileError(Exception):
    """The whole file is unusable: names the file, the line (when known) and the problem."""

    def __init__(self, path: Path, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = path, problem, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


class ConfigWriteError(OSError):
    """The config could not be changed (disk full, read-only, busy); it is as it was before.

    Names the config the user knows, never the temp or lock file the failure happened on.
    """

    def __init__(self, path: Path, reason: str, errno: int | None = None) -> None:
        super().__init__(errno, reason, str(path))
        self.path, self.reason = path, reason

    def __str__(self) -> str:
        return _("could not change {path}: {reason}; nothing was changed").format(path=self.path, reason=self.reason)


class ConfigBusy(ConfigWriteError):
    """Another program held the config's lock for longer than a writer waits."""


@dataclass(frozen=True)
class Account:
    id: str
    provider_id: str
    label: str
    base_url: str | None = None
    thresholds: tuple[Decimal, ...] = ()
    enabled: bool = True
    #: Why this entry cannot be used; such an account is reported, never fetched.
    problem: str | None = None
    #: A ``custom`` account's own provider definition (its ``[accounts.custom]`` table).
    custom: CustomSpec | None = None
    #: Read the key from this file (owner-only permissions) instead of the keyring: for headless
    #: servers, with systemd credentials or Docker secrets.
    key_file: str | None = None

    @property
    def provider(self) -> Provider | None:
        return provider_for(self.provider_id, self.custom, self.base_url)

    @property
    def url(self) -> str:
        provider = self.provider
        if provider is None:
            raise ValueError(_("unknown provider {provider!r}").format(provider=self.provider_id))
        return endpoint_url(provider.url, self.base_url)


@dataclass(frozen=True)
class Hook:
    """A program run on events: an absolute path and its arguments, never through a shell."""

    command: str
    args: tuple[str, ...] = ()
    events: frozenset[str] = frozenset(HOOK_EVENTS)
    timeout: float = DEFAULT_HOOK_TIMEOUT


@dataclass(frozen=True)
class Config:
    path: Path
    refresh_minutes: float = DEFAULT_REFRESH_MINUTES
    notifications: bool = True
    language: str = "auto"
    #: Show the lowest balance as a compact number (9.8K) on the tray icon.
    icon_number: bool = False
    #: Notify once when the run-out forecast falls within this many days (0: never).
    forecast_alert_days: float = 3.0
    #: Notify when a balance rises (a top-up).
    top_up_notifications: bool = False
    accounts: tuple[Account, ...] = field(default_factory=tuple)
    hooks: tuple[Hook, ...] = field(default_factory=tuple)
    #: Where the tray writes the Prometheus metrics after each refresh (node_exporter's textfile collector).
    prometheus_textfile: Path | None = None
    #: Keys the file sets that mean nothing here (a typo, most likely): "file:line: ..." each; the rest still works.
    warnings: tuple[str, ...] = ()

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)


# --------------------------------------------------------------------------- URLs

def base_url_problem(url: str, name: str = "base_url") -> str | None:
    """Why ``url`` may not be used as a base URL, or None if it may; ``name`` is what the reader calls it."""
    fault = url_fault(url)
    if fault == "invalid":
        return _("{name} {url!r} is not a valid URL").format(name=name, url=url)
    if fault == "not_http":
        return _("{name} {url!r} is not an http(s) URL").format(name=name, url=url)
    if fault == "extras":
        return _("{name} may not carry credentials, a query or a fragment").format(name=name)
    if fault == "plain_http":
        return _("{name} must be https (plain http is allowed only on loopback): {url!r}").format(name=name, url=url)
    return None


def suggest_id(provider_id: str, label: str, taken: set[str]) -> str:
    """An id made from the provider and the label ('meowload-work'), unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "-", f"{provider_id}-{label}".lower()).strip("-")[:40] or "account"
    base = re.sub(r"^([a-z0-9]+)-\1(?=-|$)", r"\1", base)  # "meowload-meowload-2" -> "meowload-2"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def unique_label(name: str, taken: set[str]) -> str:
    """A default label that no other account has: 'MeowLoad', then 'MeowLoad 2', 'MeowLoad 3'…"""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} {n}", n + 1
    return candidate


def default_base_url(provider: Provider) -> str:
    """Scheme, host and port of the documented endpoint: what a base_url replaces."""
    parts = urlsplit(provider.url)
    return f"{parts.scheme}://{parts.netloc}"


def endpoint_url(documented: str, base_url: str | None) -> str:
    """The documented URL with scheme, host and port taken from ``base_url`` (its path prefixed)."""
    if not base_url:
        return documented
    doc = urlsplit(documented)
    return base_url.rstrip("/") + doc.path + (f"?{doc.query}" if doc.query else "")


# --------------------------------------------------------------------------- reading

def _line_of(text: str, key: str) -> int | None:
    match = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


#: The top-level settings the Settings window writes (``set_globals``); the file's other top-level keys are tables.
SETTING_KEYS = ("refresh_minutes", "notifications", "language", "icon_number", "forecast_alert_days",
                "top_up_notifications")
GLOBAL_KEYS = (*SETTING_KEYS, "accounts", "hooks", "prometheus")
ACCOUNT_KEYS = ("id", "provider", "label", "base_url", "thresholds", "enabled", "key_file", "custom")
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)
_ACCOUNTS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*accounts[ \t]*\]\]", re.MULTILINE)


def _key_line(text: str, key: str, start: int, end: int) -> int | None:
    """The line of ``key = …`` between two offsets (bare or quoted key)."""
    pattern = re.compile(rf"^[ \t]*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')[ \t]*[=.]",
                         re.MULTILINE)
    match = pattern.search(text, start, end)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _unknown_key_warning(path: Path, text: str, key: str, known: Sequence[str], start: int, end: int) -> str:
    line = _key_line(text, key, start, end)
    if line is None:  # a misspelt table, such as [[acounts]]
        header = re.search(rf"^[ \t]*\[+[ \t]*{re.escape(key)}[ \t]*\]", text, re.MULTILINE)
        line = text.count("\n", 0, header.start()) + 1 if header else None
    where = f"{path}:{line}" if line else str(path)
    nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if nearest:
        return _("{where}: unknown setting {key!r} ignored (did you mean {nearest!r}?)").format(
            where=where, key=key, nearest=nearest[0])
    return _("{where}: unknown setting {key!r} ignored (known: {known})").format(where=where, key=key,
                                                                                 known=", ".join(known))


def unknown_keys(path: Path, text: str, data: dict[str, Any]) -> tuple[str, ...]:
    """A warning per key that is not a setting: a misspelt key would otherwise be silently ignored."""
    first_table = _TABLE_HEADER.search(text)
    top_end = first_table.start() if first_table else len(text)
    out = [_unknown_key_warning(path, text, key, GLOBAL_KEYS, 0, top_end) for key in data if key not in GLOBAL_KEYS]
    entries = data.get("accounts")
    if isinstance(entries, list):
        headers = [m.start() for m in _ACCOUNTS_HEADER.finditer(text)]
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            start = headers[index] if index < len(headers) else 0
            end = headers[index + 1] if index + 1 < len(headers) else len(text)
            out += [_unknown_key_warning(path, text, key, ACCOUNT_KEYS, start, end)
                    for key in entry if key not in ACCOUNT_KEYS]
    return tuple(out)


def _parse_text(path: Path, raw: bytes) -> tuple[str, dict[str, Any]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, _("the file is not UTF-8 text"), raw.count(b"\n", 0, exc.start) + 1) from None
    try:
        return text, tomllib.loads(text)
    except RecursionError:
        raise ConfigFileError(path, _("invalid TOML: values are nested too deeply")) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        # tomllib's own words (English only) follow "invalid TOML:".
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        line: int | None = int(found.group(1)) if found else None
        if found is None and "end of document" in message:
            line = max(1, len(text.splitlines()))  # the error is at the last line there is
            raise ConfigFileError(path, _("invalid TOML: {problem} (the file ends too early)").format(
                problem=problem), line) from None
        said = _("invalid TOML: {problem}").format(problem=problem) if problem else _("invalid TOML")
        raise ConfigFileError(path, said, line) from None


def parse_thresholds(values: Any, *, from_text: bool = False) -> tuple[Decimal, ...]:
    """Numbers >= 0, highest first, each once; raises ValueError with the reason.

    ``from_text`` accepts strings ("1000"), as typed on the command line or in a form;
    in the TOML file a quoted threshold is a mistake worth pointing out.
    """
    if not isinstance(values, list):
        raise ValueError(_("thresholds must be a list of numbers"))
    out: set[Decimal] = set()
    for value in values:
        allowed = (int, float, str) if from_text else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ValueError(_("threshold {value!r} is not a number").format(value=value))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(_("threshold {value!r} is not a number").format(value=value)) from None
        if not number.is_finite() or number < 0:
            raise ValueError(_("threshold {value!r} must be a number of 0 or more").format(value=value))
        out.add(number.normalize() if number != number.to_integral_value() else number.quantize(Decimal(1)))
    return tuple(sorted(out, reverse=True))


def _account(entry: Any, index: int, seen: set[str]) -> Account:
    if not isinstance(entry, dict):
        return Account(id=f"accounts[{index}]", provider_id="", label="", problem=_("not a table"))
    raw_id = entry.get("id")
    provider_id = entry.get("provider")
    custom: CustomSpec | None = None
    custom_problem: str | None = None
    if provider_id == CUSTOM_ID:
        try:
            custom = spec_from_table(entry.get("custom", {}) if "custom" in entry else _no_custom_table())
        except SpecError as exc:
            custom_problem = str(exc)
    provider = provider_for(provider_id, custom) if isinstance(provider_id, str) else None
    label = entry.get("label")
    account_id = raw_id if isinstance(raw_id, str) and raw_id else f"accounts[{index}]"
    # Text that is only reported (a bad id, an unknown provider, a bad label) is kept escaped, so that
    # it cannot drive a terminal or reverse a menu line wherever it is shown.
    base = Account(
        id=account_id if ID_PATTERN.fullmatch(account_id) else for_terminal(account_id),
        provider_id=for_terminal(provider_id) if isinstance(provider_id, str) else "",
        label=for_terminal(label) if isinstance(label, str) and label.strip() else (
            provider.name if provider else for_terminal(account_id)),
        base_url=entry.get("base_url") if isinstance(entry.get("base_url"), str) else None,
        thresholds=provider.thresholds if provider else (),
        enabled=entry.get("enabled", True) is not False,
        custom=custom,
    )

    def bad(problem: str) -> Account:
        return Account(**{**base.__dict__, "problem": problem})

    if not isinstance(raw_id, str) or not ID_PATTERN.fullmatch(raw_id):
        if isinstance(raw_id, str) and (problem := text_problem("id", raw_id)):
            return bad(problem)
        return bad(_("id must be a slug of lower-case letters, digits, '-' and '_'") if raw_id
                   else _("id is missing"))
    if raw_id in seen:
        return bad(_("id {id!r} is already used by an earlier account").format(id=raw_id))
    seen.add(raw_id)
    if custom_problem:
        return bad(custom_problem)
    if provider is None:
        return bad(_("unknown provider {provider!r}").format(provider=provider_id) if provider_id
                   else _("provider is missing"))
    if "custom" in entry and provider_id != CUSTOM_ID:
        return bad(_("a [accounts.custom] table needs provider = \"{custom}\"").format(custom=CUSTOM_ID))
    if not isinstance(entry.get("enabled", True), bool):
        return bad(_("{key} must be true or false").format(key="enabled"))
    if "label" in entry and not isinstance(label, str):
        return bad(_("label must be a string"))
    if isinstance(label, str) and (problem := text_problem("label", label)):
        return bad(problem)
    if "base_url" in entry:
        if provider_id == CUSTOM_ID:
            return bad(_("a custom provider has no base_url: its custom.url is the whole address"))
        if not isinstance(entry["base_url"], str):
            return bad(_("base_url must be a string"))
        problem = base_url_problem(entry["base_url"])
        if problem:
            return bad(problem)
    if "key_file" in entry:
        key_file = entry["key_file"]
        if not isinstance(key_file, str) or not Path(key_file).is_absolute():
            return bad(_("key_file must be an absolute path, e.g. \"/run/secrets/meow-main\""))
        base = Account(**{**base.__dict__, "key_file": key_file})
    if "thresholds" in entry:
        try:
            thresholds = parse_thresholds(entry["thresholds"])
        except ValueError as exc:
            return bad(str(exc))
        base = Account(**{**base.__dict__, "thresholds": thresholds})
    return base


def _no_custom_table() -> Any:
    raise SpecError("", _("is missing: a custom provider needs an [accounts.custom] table with at least url and "
                          "remaining"))


def _custom_table(spec: CustomSpec) -> Any:
    table = tomlkit.table()
    for name, value in spec_to_table(spec).items():
        table.add(name, inline_value(value))
    return table


def _not_a_file(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return _("is a directory, not a file")
    if stat.S_ISFIFO(mode):
        return _("is a named pipe (FIFO), not a regular file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("is a device, not a regular file")
    if stat.S_ISSOCK(mode):
        return _("is a socket, not a regular file")
    return _("is not a regular file")


def read_bytes(path: Path) -> bytes | None:
    """The config's bytes, or None when there is no file; only a regular file of at most 1 MiB.

    Opened without blocking, so a FIFO cannot hang the reader, and checked before reading,
    so a device or a huge (sparse) file is never read into memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigFileError(path, _("is a directory, not a file")) from None
    except OSError as exc:
        raise ConfigFileError(path, _("cannot be read ({reason})").format(reason=exc.strerror)) from None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    problem = _not_a_file(info.st_mode)
    if problem is None and info.st_size > MAX_CONFIG_BYTES:
        problem = _("is too large for a config file ({size} bytes; at most 1 MiB)").format(size=f"{info.st_size:,}")
    if problem:
        os.close(fd)
        raise ConfigFileError(path, problem)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= MAX_CONFIG_BYTES and (chunk := handle.read(MAX_CONFIG_BYTES + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise ConfigFileError(path, _("cannot be read ({reason})").format(reason=exc.strerror)) from None
    if size > MAX_CONFIG_BYTES:  # it grew while we read it
        raise ConfigFileError(path, _("is too large for a config file (at most 1 MiB)"))
    return b"".join(chunks)


def load(path: Path) -> Config:
    """Read the config; a missing file means no accounts yet."""
    raw = read_bytes(path)
    if raw is None:
        return Config(path=path)
    return _load_from(path, raw)


def _load_from(path: Path, raw: bytes) -> Config:
    text, data = _parse_text(path, raw)

    def wrong(key: str, problem: str) -> ConfigFileError:
        """``problem`` says what ``key`` must be, with the key as its ``{key}``."""
        return ConfigFileError(path, problem.format(key=key), _line_of(text, key))

    defaults = Config(path=path)  # a key the file leaves out keeps the dataclass's default
    refresh = data.get("refresh_minutes", defaults.refresh_minutes)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 1 <= refresh <= 1440:
        raise wrong("refresh_minutes", _("{key} must be a number of minutes from 1 to 1440"))
    notifications = data.get("notifications", defaults.notifications)
    if not isinstance(notifications, bool):
        raise wrong("notifications", _("{key} must be true or false"))
    icon_number = data.get("icon_number", defaults.icon_number)
    if not isinstance(icon_number, bool):
        raise wrong("icon_number", _("{key} must be true or false"))
    forecast_days = data.get("forecast_alert_days", defaults.forecast_alert_days)
    if isinstance(forecast_days, bool) or not isinstance(forecast_days, int | float) or not 0 <= forecast_days <= 60:
        raise wrong("forecast_alert_days", _("{key} must be a number of days from 0 (off) to 60"))
    top_ups = data.get("top_up_notifications", defaults.top_up_notifications)
    if not isinstance(top_ups, bool):
        raise wrong("top_up_notifications", _("{key} must be true or false"))
    language = data.get("language", defaults.language)
    if language not in LANGUAGES:
        raise wrong("language", _("{key} must be one of {choices}").format(
            key="{key}", choices=", ".join(f'"{v}"' for v in LANGUAGES)))
    entries = data.get("accounts", [])
    if not isinstance(entries, list):
        raise ConfigFileError(path, _("accounts must be an array of tables ([[accounts]])"),
                              _line_of(text, "accounts"))
    seen: set[str] = set()
    accounts = tuple(_account(entry, index, seen) for index, entry in enumerate(entries, 1))
    hooks = _hooks(path, text, data.get("hooks", []))
    textfile = _textfile(path, text, data.get("prometheus", {}))
    return Config(path=path, refresh_minutes=float(refresh), notifications=notifications, language=language,
                  icon_number=icon_number, forecast_alert_days=float(forecast_days),
                  top_up_notifications=top_ups, accounts=accounts, hooks=hooks, prometheus_textfile=textfile,
                  warnings=unknown_keys(path, text, data))


def _hooks(path: Path, text: str, entries: Any) -> tuple[Hook, ...]:
    """``[[hooks]]``: a mistake here stops the file, so a hook never silently does nothing."""

    def wrong(index: int, problem: str) -> ConfigFileError:
        return ConfigFileError(path, f"hooks[{index}]: {problem}", _line_of(text, "command") or _line_of(text, "hooks"))

    if not isinstance(entries, list):
        raise ConfigFileError(path, _("hooks must be an array of tables ([[hooks]])"), _line_of(text, "hooks"))
    hooks = []
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise wrong(index, _("not a table"))
        unknown = set(entry) - {"command", "args", "events", "timeout"}
        if unknown:
            raise wrong(index, _("unknown key {key!r} (known: command, args, events, timeout)").format(
                key=sorted(unknown)[0]))
        command = entry.get("command")
        if not isinstance(command, str) or not Path(command).is_absolute():
            raise wrong(index, _("command must be the program's absolute path (it runs without a shell)"))
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise wrong(index, _("args must be a list of strings"))
        events = entry.get("events", list(HOOK_EVENTS))
        if not isinstance(events, list) or not events or not all(e in HOOK_EVENTS for e in events):
            raise wrong(index, _("events must be a list of: {events}").format(events=", ".join(HOOK_EVENTS)))
        timeout = entry.get("timeout", DEFAULT_HOOK_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
            raise wrong(index, _("timeout must be a number of seconds above 0 and at most 300"))
        hooks.append(Hook(command, tuple(args), frozenset(events), float(timeout)))
    return tuple(hooks)


def _textfile(path: Path, text: str, table: Any) -> Path | None:
    if not isinstance(table, dict) or set(table) - {"textfile"}:
        raise ConfigFileError(path, _("[prometheus] takes one key: textfile = \"/path/credit-tray.prom\""),
                              _line_of(text, "textfile"))
    value = table.get("textfile")
    if value is None:
        return None
    if not isinstance(value, str) or not Path(value).is_absolute() or not value.endswith(".prom"):
        raise ConfigFileError(path, _("prometheus.textfile must be an absolute path ending in .prom"),
                              _line_of(text, "textfile"))
    return Path(value)


# --------------------------------------------------------------------------- writing

def _real(path: Path) -> Path:
    """Where the config really is: a symlinked config (a dotfiles repository) is written at its target."""
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[None]:
    """One read-modify-write of the config under its lock; a failure names the config and changes nothing.

    The CLI, Settings and the tray all write through here, so parallel writers queue up
    instead of each writing back the file it read (and losing the other's change).
    """
    try:
        target = _real(path)
        private_dir(target.parent)
        with exclusive_lock(target):
            yield
    except FileBusy as exc:
        raise ConfigBusy(path, _("another program is changing it (waited {seconds} s)").format(
            seconds=f"{exc.waited:g}")) from None
    except ConfigWriteError:
        raise
    except OSError as exc:
        raise ConfigWriteError(path, exc.strerror or type(exc).__name__, exc.errno) from None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _under_lock(change: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a config writer (its first argument is the config's path) inside ``_changing``."""

    @functools.wraps(change)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        path = args[0]
        assert isinstance(path, Path)
        with _changing(path):
            return change(*args, **kwargs)

    return locked


def _document(path: Path) -> tomlkit.TOMLDocument:
    """The current file as an editable document; validates it the same way ``load`` does."""
    raw = read_bytes(path)
    if raw is None:
        doc = tomlkit.document()
        doc.add(tomlkit.comment(_("Credit Tray settings. Keys are kept in the OS keyring, never here.")))
        return doc
    _load_from(path, raw)
    try:
        return tomlkit.parse(raw.decode("utf-8"))
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigFileError(path, _("invalid TOML: {problem}").format(problem=exc)) from None
    except RecursionError:
        raise ConfigFileError(path, _("invalid TOML: values are nested too deeply")) from None


TEMPLATE = """\
# Credit Tray settings. API keys live in your OS keyring, never in this file:
# store one with `credit-tray key set ACCOUNT-ID`.

refresh_minutes = 10     # how often balances are checked (1 to 1440)
notifications = true     # desktop notifications on low balances
language = "auto"        # "auto", "en" or "zh": the app's language and the one providers answer in
icon_number = false      # show the lowest balance on the tray icon
forecast_alert_days = 3  # notify once when a balance will run out within this many days (0: never)
top_up_notifications = false   # notify when a balance rises

# One [[accounts]] table per account, for example:
# [[accounts]]
# id = "meow-main"            # a unique slug
# provider = "meowload"       # see `credit-tray providers`, or "custom" with an [accounts.custom] table
# label = "Work"
# thresholds = [10000, 2000, 300, 100, 0]
"""  # untranslated: a file's contents (keys and examples), like the documentation's


def ensure_file(path: Path) -> None:
    """Create a commented starter config if there is none; never touches an existing file."""
    with _changing(path):
        if read_bytes(path) is None:
            atomic_write(_real(path), TEMPLATE.encode("utf-8"))


def _save(path: Path, doc: tomlkit.TOMLDocument) -> None:
    atomic_write(_real(path), tomlkit.dumps(doc).encode("utf-8"))


def _toml_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@_under_lock
def add_account(path: Path, account: Account, *, write_thresholds: bool) -> None:
    doc = _document(path)
    table = tomlkit.table()
    table.add("id", account.id)
    table.add("provider", account.provider_id)
    table.add("label", account.label)
    if account.base_url:
        table.add("base_url", account.base_url)
    if write_thresholds:
        table.add("thresholds", [_toml_number(t) for t in account.thresholds])
    if not account.enabled:
        table.add("enabled", False)
    if account.custom is not None:
        table.add("custom", _custom_table(account.custom))
    if any(isinstance(t, dict) and t.get("id") == account.id for t in _tables(doc)):
        raise ValueError(_("id {id!r} is already in use").format(id=account.id))  # added by another writer meanwhile
    accounts = doc.get("accounts")
    if accounts is None:
        accounts = tomlkit.aot()
        doc.append("accounts", accounts)
    accounts.append(table)
    _save(path, doc)


@_under_lock
def remove_account(path: Path, account_id: str) -> bool:
    doc = _document(path)
    accounts = doc.get("accounts")
    if accounts is None:
        return False
    index = next((i for i, t in enumerate(accounts) if isinstance(t, dict) and t.get("id") == account_id), None)
    if index is None:
        return False
    del accounts[index]
    if not len(accounts):
        del doc["accounts"]
    _save(path, doc)
    return True


def _tables(doc: tomlkit.TOMLDocument) -> Any:
    accounts = doc.get("accounts")
    return accounts if accounts is not None else []


def _index(doc: tomlkit.TOMLDocument, account_id: str) -> int:
    for index, table in enumerate(_tables(doc)):
        if isinstance(table, dict) and table.get("id") == account_id:
            return index
    raise KeyError(account_id)


@_under_lock
def update_account(path: Path, old_id: str, account: Account, *, write_thresholds: bool) -> None:
    """Rewrite one account's fields in place (other keys and comments in its table stay)."""
    doc = _document(path)
    table = _tables(doc)[_index(doc, old_id)]
    table["id"] = account.id
    table["provider"] = account.provider_id
    table["label"] = account.label
    if account.base_url:
        table["base_url"] = account.base_url
    elif "base_url" in table:
        del table["base_url"]
    # An empty list is a choice (no alerts), kept as ``thresholds = []``: dropping the key would
    # bring the provider's defaults back.
    if write_thresholds:
        table["thresholds"] = [_toml_number(t) for t in account.thresholds]
    elif "thresholds" in table:
        del table["thresholds"]
    if account.enabled:
        if "enabled" in table:
            del table["enabled"]
    else:
        table["enabled"] = False
    if account.custom is not None:
        table["custom"] = _custom_table(account.custom)
    elif "custom" in table:
        del table["custom"]
    _save(path, doc)


@_under_lock
def set_enabled(path: Path, account_id: str, enabled: bool) -> None:
    doc = _document(path)
    table = _tables(doc)[_index(doc, account_id)]
    if enabled and "enabled" in table:
        del table["enabled"]
    elif not enabled:
        table["enabled"] = False
    _save(path, doc)


@_under_lock
def move_account(path: Path, account_id: str, offset: int) -> bool:
    """Move an account up (-1) or down (+1) in the list; False at either end."""
    doc = _document(path)
    tables = _tables(doc)
    index = _index(doc, account_id)
    target = index + offset
    if not 0 <= target < len(tables):
        return False
    items = list(tables)
    tables[index], tables[target] = items[target], items[index]
    _save(path, doc)
    return True


@_under_lock
def set_globals(path: Path, **values: Any) -> None:
    """Set top-level settings (``SETTING_KEYS``)."""
    unknown = set(values) - set(SETTING_KEYS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")  # untranslated: a programming error
    doc = _document(path)
    for key, value in values.items():
        doc[key] = value
    _save(path, doc)
