"""The TOML config: global settings and an array of ``[[accounts]]``.

Reading uses the stdlib ``tomllib``; writing goes through ``tomlkit`` so a user's
comments and layout survive, and through an atomic rename so a crash never leaves
half a file. A file that cannot be read at all is a ``ConfigFileError`` (every command
stops, the file is left alone); one bad account only marks that account.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
import tomlkit.exceptions

from tray_app.fileio import atomic_write
from tray_app.providers import get_provider
from tray_app.providers.base import Provider

LANGUAGES = ("auto", "en", "zh")
DEFAULT_REFRESH_MINUTES = 10
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class ConfigFileError(Exception):
    """The whole file is unusable: names the file, the line (when known) and the problem."""

    def __init__(self, path: Path, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = path, problem, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


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

    @property
    def provider(self) -> Provider | None:
        return get_provider(self.provider_id)

    @property
    def url(self) -> str:
        provider = self.provider
        if provider is None:
            raise ValueError(f"unknown provider {self.provider_id!r}")
        return endpoint_url(provider.url, self.base_url)


@dataclass(frozen=True)
class Config:
    path: Path
    refresh_minutes: float = DEFAULT_REFRESH_MINUTES
    notifications: bool = True
    language: str = "auto"
    #: Show the lowest balance as a compact number (9.8K) on the tray icon.
    icon_number: bool = False
    accounts: tuple[Account, ...] = field(default_factory=tuple)
    #: Keys the file sets that mean nothing here (a typo, most likely): "file:line: ..." each; the rest still works.
    warnings: tuple[str, ...] = ()

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)


# --------------------------------------------------------------------------- URLs

def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str, name: str = "base_url") -> str | None:
    """Why ``url`` may not be used as a base URL, or None if it may; ``name`` is what the reader calls it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return f"{name} {url!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return f"{name} {url!r} is not an http(s) URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"{name} may not carry credentials, a query or a fragment"
    if parts.scheme != "https" and not is_loopback_host(host):
        return f"{name} must be https (plain http is allowed only on loopback): {url!r}"
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


GLOBAL_KEYS = ("refresh_minutes", "notifications", "language", "icon_number", "accounts")
ACCOUNT_KEYS = ("id", "provider", "label", "base_url", "thresholds", "enabled")
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
    hint = f"did you mean {nearest[0]!r}?" if nearest else f"known: {', '.join(known)}"
    return f"{where}: unknown setting {key!r} ignored ({hint})"


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
        raise ConfigFileError(path, "the file is not UTF-8 text", raw.count(b"\n", 0, exc.start) + 1) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
        line: int | None = int(found.group(1)) if found else None
        if found is None and "end of document" in message:
            problem = f"{problem} (the file ends too early)"
            line = max(1, len(text.splitlines()))  # the error is at the last line there is
        raise ConfigFileError(path, f"invalid TOML: {problem}", line) from None


def parse_thresholds(values: Any, *, from_text: bool = False) -> tuple[Decimal, ...]:
    """Numbers >= 0, highest first, each once; raises ValueError with the reason.

    ``from_text`` accepts strings ("1000"), as typed on the command line or in a form;
    in the TOML file a quoted threshold is a mistake worth pointing out.
    """
    if not isinstance(values, list):
        raise ValueError("thresholds must be a list of numbers")
    out: set[Decimal] = set()
    for value in values:
        allowed = (int, float, str) if from_text else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ValueError(f"threshold {value!r} is not a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"threshold {value!r} is not a number") from None
        if not number.is_finite() or number < 0:
            raise ValueError(f"threshold {value!r} must be a number of 0 or more")
        out.add(number.normalize() if number != number.to_integral_value() else number.quantize(Decimal(1)))
    return tuple(sorted(out, reverse=True))


def _account(entry: Any, index: int, seen: set[str]) -> Account:
    if not isinstance(entry, dict):
        return Account(id=f"accounts[{index}]", provider_id="", label="", problem="not a table")
    raw_id = entry.get("id")
    provider_id = entry.get("provider")
    provider = get_provider(provider_id) if isinstance(provider_id, str) else None
    label = entry.get("label")
    account_id = raw_id if isinstance(raw_id, str) and raw_id else f"accounts[{index}]"
    base = Account(
        id=account_id,
        provider_id=provider_id if isinstance(provider_id, str) else "",
        label=label if isinstance(label, str) and label.strip() else (provider.name if provider else account_id),
        base_url=entry.get("base_url") if isinstance(entry.get("base_url"), str) else None,
        thresholds=provider.thresholds if provider else (),
        enabled=entry.get("enabled", True) is not False,
    )

    def bad(problem: str) -> Account:
        return Account(**{**base.__dict__, "problem": problem})

    if not isinstance(raw_id, str) or not ID_PATTERN.fullmatch(raw_id):
        return bad("id must be a slug of lower-case letters, digits, '-' and '_'" if raw_id else "id is missing")
    if raw_id in seen:
        return bad(f"id {raw_id!r} is already used by an earlier account")
    seen.add(raw_id)
    if provider is None:
        return bad(f"unknown provider {provider_id!r}" if provider_id else "provider is missing")
    if not isinstance(entry.get("enabled", True), bool):
        return bad("enabled must be true or false")
    if "label" in entry and not isinstance(label, str):
        return bad("label must be a string")
    if "base_url" in entry:
        if not isinstance(entry["base_url"], str):
            return bad("base_url must be a string")
        problem = base_url_problem(entry["base_url"])
        if problem:
            return bad(problem)
    if "thresholds" in entry:
        try:
            thresholds = parse_thresholds(entry["thresholds"])
        except ValueError as exc:
            return bad(str(exc))
        base = Account(**{**base.__dict__, "thresholds": thresholds})
    return base


def load(path: Path) -> Config:
    """Read the config; a missing file means no accounts yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except IsADirectoryError:
        raise ConfigFileError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigFileError(path, f"cannot be read ({exc.strerror})") from None
    text, data = _parse_text(path, raw)

    def wrong(key: str, expected: str) -> ConfigFileError:
        return ConfigFileError(path, f"{key} must be {expected}", _line_of(text, key))

    refresh = data.get("refresh_minutes", DEFAULT_REFRESH_MINUTES)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 1 <= refresh <= 1440:
        raise wrong("refresh_minutes", "a number of minutes from 1 to 1440")
    notifications = data.get("notifications", True)
    if not isinstance(notifications, bool):
        raise wrong("notifications", "true or false")
    icon_number = data.get("icon_number", False)
    if not isinstance(icon_number, bool):
        raise wrong("icon_number", "true or false")
    language = data.get("language", "auto")
    if language not in LANGUAGES:
        raise wrong("language", "one of " + ", ".join(f'"{v}"' for v in LANGUAGES))
    entries = data.get("accounts", [])
    if not isinstance(entries, list):
        raise ConfigFileError(path, "accounts must be an array of tables ([[accounts]])", _line_of(text, "accounts"))
    seen: set[str] = set()
    accounts = tuple(_account(entry, index, seen) for index, entry in enumerate(entries, 1))
    return Config(path=path, refresh_minutes=float(refresh), notifications=notifications, language=language,
                  icon_number=icon_number, accounts=accounts, warnings=unknown_keys(path, text, data))


# --------------------------------------------------------------------------- writing

def _document(path: Path) -> tomlkit.TOMLDocument:
    """The current file as an editable document; validates it the same way ``load`` does."""
    load(path)
    try:
        return tomlkit.parse(path.read_text("utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("Credit Tray settings. Keys are kept in the OS keyring, never here."))
        return doc
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigFileError(path, f"invalid TOML: {exc}") from None


TEMPLATE = """\
# Credit Tray settings. API keys live in your OS keyring, never in this file:
# store one with `credit-tray key set ACCOUNT-ID`.

refresh_minutes = 10     # how often balances are checked (1 to 1440)
notifications = true     # desktop notifications on low balances
language = "auto"        # "auto", "en" or "zh": the language of providers' messages
icon_number = false      # show the lowest balance on the tray icon

# One [[accounts]] table per account, for example:
# [[accounts]]
# id = "meow-main"            # a unique slug
# provider = "meowload"       # meowload, smarterbot, sociavault or unwatermark
# label = "Work"
# thresholds = [10000, 2000, 300, 100, 0]
"""


def ensure_file(path: Path) -> None:
    """Create a commented starter config if there is none; never touches an existing file."""
    if not path.exists():
        atomic_write(path, TEMPLATE.encode("utf-8"))


def _save(path: Path, doc: tomlkit.TOMLDocument) -> None:
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))


def _toml_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


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
    accounts = doc.get("accounts")
    if accounts is None:
        accounts = tomlkit.aot()
        doc.append("accounts", accounts)
    accounts.append(table)
    _save(path, doc)


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


def update_account(path: Path, old_id: str, account: Account, *, write_thresholds: bool) -> None:
    """Rewrite one account's fields in place (other keys and comments in its table stay)."""
    doc = _document(path)
    table = _tables(doc)[_index(doc, old_id)]
    table["id"] = account.id
    table["provider"] = account.provider_id
    table["label"] = account.label
    for key, value in (("base_url", account.base_url),
                       ("thresholds", [_toml_number(t) for t in account.thresholds] if write_thresholds else None)):
        if value:
            table[key] = value
        elif key in table:
            del table[key]
    if account.enabled:
        if "enabled" in table:
            del table["enabled"]
    else:
        table["enabled"] = False
    _save(path, doc)


def set_enabled(path: Path, account_id: str, enabled: bool) -> None:
    doc = _document(path)
    table = _tables(doc)[_index(doc, account_id)]
    if enabled and "enabled" in table:
        del table["enabled"]
    elif not enabled:
        table["enabled"] = False
    _save(path, doc)


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


def set_globals(path: Path, **values: Any) -> None:
    """Set top-level settings (refresh_minutes, notifications, language, icon_number)."""
    unknown = set(values) - {"refresh_minutes", "notifications", "language", "icon_number"}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    doc = _document(path)
    for key, value in values.items():
        doc[key] = value
    _save(path, doc)
