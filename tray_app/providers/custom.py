"""A provider defined by data: one declarative schema, a path language, and the parser they drive.

A user's ``custom`` provider and the shipped presets (``presets.py``) are both a
``CustomSpec``: where the balance endpoint is, how the key is sent, and where the numbers
are in the JSON answer. ``SCHEMA`` is the single description of those fields (type,
default, what a valid value is); config validation, the Settings form, the command-line
flags and ``docs/providers/custom.md`` are all made from it, so they cannot disagree.

The parsed answer goes through the same ``interpret`` as every built-in provider, so the
shared status rules, the 1 MiB body limit and the same-origin redirect rule apply
unchanged. On top of them: nesting is bounded, numbers may come as strings, and a field
that is missing or of the wrong type is a ``bad_response``, never a balance of 0.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from tray_app.model import Balance, ErrorKind, FetchError, Outcome, Reading
from tray_app.providers.base import (
    MAX_AMOUNT,
    HttpAnswer,
    Provider,
    ProviderRequest,
    ShapeError,
    amount_from_text,
    clean_message,
    default_message,
    expect_success_status,
    is_loopback_host,
    load_json,
)

CUSTOM_ID = "custom"
#: Balance answers are a few levels deep; an answer nested deeper than this is not one.
MAX_DEPTH = 32
MAX_PATH = 200
#: Currencies one account may hold (DeepSeek has two); more is not a balance answer.
MAX_BALANCES = 16
MAX_BODY_TEMPLATE = 4096

FieldKind = Literal["text", "choice", "url", "path", "json", "values", "thresholds", "host_units"]


@dataclass(frozen=True)
class SchemaField:
    """One field of a custom provider: what it is called, what it holds and how it is checked."""

    name: str
    label: str
    kind: FieldKind
    help: str
    #: The section of the form and of the docs it belongs to.
    group: str
    default: Any = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""


SCHEMA: tuple[SchemaField, ...] = (
    SchemaField("name", "Name", "text", "what the provider is called in the menu", "Display",
                default="Custom", example="My API"),
    SchemaField("url", "URL", "url", "the balance endpoint; https (plain http only on loopback), no query",
                "Request", required=True, example="https://api.example.com/v1/balance"),
    SchemaField("method", "Method", "choice", "GET, or POST (with an optional JSON body)", "Request",
                default="GET", choices=("GET", "POST")),
    SchemaField("body", "Body", "json", "the JSON body of a POST, e.g. {\"scope\": \"team\"} (sent as written)",
                "Request"),
    SchemaField("key_header", "Key header", "text", "the header that carries the key", "Request",
                default="Authorization", example="x-api-key"),
    SchemaField("key_format", "Key format", "text", "the header's value; {key} stands for the key", "Request",
                default="Bearer {key}", example="{key}"),
    SchemaField("key_query", "Key query parameter", "text",
                "send the key as this query parameter instead of a header (empty: use the header)", "Request",
                example="api_key"),
    SchemaField("remaining", "Remaining", "path",
                "where the balance is; may be left out when Used and Limit are given (remaining = limit - used)",
                "Response", example="data.balance"),
    SchemaField("used", "Used", "path", "where the amount used is (optional)", "Response", example="data.usage"),
    SchemaField("limit", "Limit", "path", "where the limit or total is (optional)", "Response",
                example="data.limit"),
    SchemaField("unlimited", "Unlimited when", "values",
                "values of Remaining or Limit that mean 'no limit', e.g. -1, null", "Response", default=(),
                example="null, -1"),
    SchemaField("resets_at", "Resets at", "path",
                "where the quota's reset time is: Unix seconds or an ISO 8601 time (optional)", "Response",
                example="next_reset_unix"),
    SchemaField("balances", "Balances list", "path",
                "a list holding one balance per currency (instead of Remaining)", "Response",
                example="balance_infos"),
    SchemaField("balance_remaining", "Balance amount", "path", "in each list entry: where the amount is",
                "Response", example="total_balance"),
    SchemaField("balance_unit", "Balance unit", "path", "in each list entry: where the currency is",
                "Response", example="currency"),
    SchemaField("success_path", "Success field", "path",
                "for envelope APIs: a field that must have the value below, or the answer is an error",
                "Response", example="code"),
    SchemaField("success_value", "Success value", "text", "the value the success field must have", "Response",
                example="0"),
    SchemaField("error_path", "Error message", "path", "where the provider's error message is (optional)",
                "Response", example="error.message"),
    SchemaField("unit", "Unit", "text", "the unit or currency of the balance (with a list: the main currency)",
                "Display", default="credits", example="USD"),
    SchemaField("unit_path", "Unit field", "path", "where the answer names its unit (optional)", "Display",
                example="data.currency"),
    SchemaField("units_by_host", "Unit by host", "host_units",
                "a different unit when the URL's host is this one, e.g. api.example.ai=USD", "Display",
                default=(), example="api.example.ai=USD"),
    SchemaField("thresholds", "Thresholds", "thresholds", "default alert levels, highest first", "Display",
                default=(), example="100, 10, 0"),
    SchemaField("top_up_url", "Top-up page", "url", "where to buy more (optional)", "Display",
                example="https://example.com/billing"),
    SchemaField("key_hint", "Where the key is", "text", "shown when adding an account (optional)", "Display"),
    SchemaField("documentation", "Documentation", "text", "the API page this definition follows (optional)",
                "Display"),
)
FIELDS: dict[str, SchemaField] = {f.name: f for f in SCHEMA}


class SpecError(ValueError):
    """A custom provider definition that cannot be used; names the field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"custom.{field_name} {problem}" if field_name else f"[accounts.custom] {problem}")
        self.field_name, self.problem = field_name, problem


# --------------------------------------------------------------------------- paths

@dataclass(frozen=True)
class Step:
    key: str | None = None
    index: int | None = None
    #: ``[field=value]``: the first entry of a list whose ``field`` reads as ``value``.
    match: tuple[str, str] | None = None


_KEY = re.compile(r"[^.\[\]=]+")


def parse_path(text: str) -> tuple[Step, ...]:
    """``data.items[0].total`` or ``balance_infos[currency=USD].total_balance`` as steps; ValueError if not one."""
    text = text.strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > MAX_PATH:
        raise ValueError(f"is longer than {MAX_PATH} characters")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "[":
            end = text.find("]", pos)
            if end < 0:
                raise ValueError(f"has a '[' that is not closed: {text!r}")
            inner = text[pos + 1:end].strip()
            if re.fullmatch(r"-?[0-9]{1,6}", inner):
                steps.append(Step(index=int(inner)))
            elif "=" in inner and (name := inner.split("=", 1)[0].strip()) and _KEY.fullmatch(name):
                steps.append(Step(match=(name, inner.split("=", 1)[1].strip())))
            else:
                raise ValueError(f"has [{inner}], which is neither an index like [0] nor a filter like [currency=USD]")
            pos = end + 1
            continue
        if char == ".":
            if not steps:
                raise ValueError(f"starts with '.': {text!r}")
            pos += 1
        elif steps:
            raise ValueError(f"needs a '.' before {text[pos:]!r}")
        found = _KEY.match(text, pos)
        if found is None:
            raise ValueError(f"has an empty part: {text!r}")
        steps.append(Step(key=found.group().strip()))
        pos = found.end()
    return tuple(steps)


def _shown(value: Any) -> str:
    """A JSON value as text, the way a filter or a success value is written: 20000, true, null, USD."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)  # 100, never 1E+2
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)[:60]


def _same(value: Any, wanted: str) -> bool:
    if isinstance(value, Decimal):
        try:
            return value == Decimal(wanted)
        except ArithmeticError:
            return False
    return _shown(value) == wanted


def lookup(data: Any, path: str) -> Any:
    """The value at ``path``; a ShapeError naming where the path stops matching the answer."""
    done = ""
    value = data
    for step in parse_path(path):
        if step.key is not None:
            if not isinstance(value, dict):
                raise ShapeError(f"{done or 'the answer'} is not an object (looking for {path})")
            if step.key not in value:
                raise ShapeError(f"{(done + '.' if done else '') + step.key} is missing")
            value = value[step.key]
            done = (done + "." if done else "") + step.key
            continue
        if not isinstance(value, list):
            raise ShapeError(f"{done or 'the answer'} is not a list (looking for {path})")
        if step.index is not None:
            if not -len(value) <= step.index < len(value):
                raise ShapeError(f"{done}[{step.index}] is missing (the list has {len(value)} entries)")
            value = value[step.index]
            done += f"[{step.index}]"
        elif step.match is not None:
            name, wanted = step.match
            found = [item for item in value if isinstance(item, dict) and name in item and _same(item[name], wanted)]
            if not found:
                raise ShapeError(f"{done} has no entry with {name} = {wanted}")
            value = found[0]
            done += f"[{name}={wanted}]"
    return value


def _depth(data: Any) -> int:
    """How deeply ``data`` nests, without recursion (the answer came from outside)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            pending.extend((child, level + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


def load_answer(answer: HttpAnswer) -> Any:
    data = load_json(answer)
    if _depth(data) > MAX_DEPTH:
        raise ShapeError(f"the answer is nested more than {MAX_DEPTH} levels deep")
    return data


# --------------------------------------------------------------------------- the spec

@dataclass(frozen=True)
class CustomSpec:
    """A checked custom provider definition; hashable, so built providers can be cached."""

    url: str
    name: str = "Custom"
    method: str = "GET"
    body: str = ""
    key_header: str = "Authorization"
    key_format: str = "Bearer {key}"
    key_query: str = ""
    remaining: str = ""
    used: str = ""
    limit: str = ""
    unlimited: tuple[str, ...] = ()
    resets_at: str = ""
    balances: str = ""
    balance_remaining: str = ""
    balance_unit: str = ""
    success_path: str = ""
    success_value: str = ""
    error_path: str = ""
    unit: str = "credits"
    unit_path: str = ""
    units_by_host: tuple[tuple[str, str], ...] = ()
    thresholds: tuple[Decimal, ...] = ()
    top_up_url: str = ""
    key_hint: str = ""
    documentation: str = ""

    def for_host(self, host: str) -> CustomSpec:
        """The spec as it applies on ``host``: its unit may differ there (Moonshot: CNY on .cn, USD on .ai)."""
        unit = dict(self.units_by_host).get(host.lower())
        return replace(self, unit=unit) if unit else self


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "cookie", "content-type"}


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a custom endpoint (the same rules as a base_url, plus a path is allowed)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an https:// URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "may not carry credentials, a query or a fragment (use Key query parameter for the key)"
    if parts.scheme != "https" and not is_loopback_host(host):
        return "must be https (plain http is allowed only on loopback)"
    return None


def _text(name: str, value: Any, *, limit: int = 200) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise SpecError(name, "must be text")
    text = str(value).strip()
    if len(text) > limit:
        raise SpecError(name, f"is longer than {limit} characters")
    if any(not ch.isprintable() for ch in text):
        raise SpecError(name, "contains control characters")
    return text


def _list(name: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise SpecError(name, "must be a list")


def _thresholds(name: str, value: Any) -> tuple[Decimal, ...]:
    out: set[Decimal] = set()
    for item in _list(name, value):
        if isinstance(item, bool) or not isinstance(item, int | float | str | Decimal):
            raise SpecError(name, f"has {item!r}, which is not a number")
        try:
            number = Decimal(str(item).strip())
        except ArithmeticError:
            raise SpecError(name, f"has {item!r}, which is not a number") from None
        if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
            raise SpecError(name, f"has {item!r}; thresholds are numbers of 0 or more")
        out.add(number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize())
    return tuple(sorted(out, reverse=True))


def _host_units(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for item in _list(name, value):
            if not isinstance(item, str) or "=" not in item:
                raise SpecError(name, f"has {item!r}; write host=UNIT")
            host, unit = item.split("=", 1)
            pairs.append((host, unit))
    out = []
    for host, unit in pairs:
        host_text, unit_text = _text(name, host).lower(), _text(name, unit, limit=40)
        if not host_text or not unit_text:
            raise SpecError(name, "needs a host and a unit in each entry")
        out.append((host_text, unit_text))
    return tuple(out)


def _checked_field(spec_field: SchemaField, value: Any) -> Any:
    """One field's value, converted to what CustomSpec holds, or a SpecError in the schema's words."""
    name, kind = spec_field.name, spec_field.kind
    if kind == "values":
        items = value if isinstance(value, list | tuple) else _list(name, value)
        return tuple(_shown(Decimal(str(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v)
                     for v in items)
    if kind == "thresholds":
        return _thresholds(name, value)
    if kind == "host_units":
        return _host_units(name, value)
    if kind == "text" and isinstance(value, bool | int | float):
        value = _shown(value if isinstance(value, bool) else Decimal(str(value)))  # success_value = 0 or true
    elif not isinstance(value, str):
        raise SpecError(name, "must be text (in quotes)")
    text = _text(name, value, limit=MAX_BODY_TEMPLATE if kind == "json" else 2048 if kind == "url" else 200)
    if not text:
        return text
    if kind == "choice":
        upper = text.upper()
        if upper not in spec_field.choices:
            raise SpecError(name, "must be one of " + ", ".join(spec_field.choices))
        return upper
    if kind == "url" and (problem := url_problem(text)):
        raise SpecError(name, problem)
    if kind == "path":
        try:
            parse_path(text)
        except ValueError as exc:
            raise SpecError(name, f"is not a path: it {exc}") from None
    if kind == "json":
        try:
            json.loads(text)
        except ValueError:
            raise SpecError(name, "is not valid JSON") from None
    return text


def spec_from_table(table: Mapping[str, Any]) -> CustomSpec:
    """A checked spec from a ``[accounts.custom]`` table (or a file, or flags); SpecError names the field."""
    if not isinstance(table, Mapping):
        raise SpecError("", "must be a table of fields")
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise SpecError(str(unknown[0]), "is not a field of a custom provider (known: "
                        + ", ".join(FIELDS) + ")")
    values: dict[str, Any] = {}
    for spec_field in SCHEMA:
        if spec_field.name in table:
            values[spec_field.name] = _checked_field(spec_field, table[spec_field.name])
    for spec_field in SCHEMA:
        if spec_field.required and not values.get(spec_field.name):
            raise SpecError(spec_field.name, f"is missing ({spec_field.help})")
    spec = CustomSpec(**values)
    _cross_checks(spec)
    return spec


def _cross_checks(spec: CustomSpec) -> None:
    if spec.body and spec.method != "POST":
        raise SpecError("body", "needs method = \"POST\"")
    if not spec.key_query:
        if not _HEADER_NAME.fullmatch(spec.key_header):
            raise SpecError("key_header", "must be a header name such as Authorization or x-api-key")
        if spec.key_header.lower() in _FORBIDDEN_HEADERS:
            raise SpecError("key_header", f"may not be {spec.key_header}")
        if not spec.key_format.isascii():
            raise SpecError("key_format", "must be plain ASCII (an HTTP header value)")
        if "{key}" not in spec.key_format:
            raise SpecError("key_format", "must contain {key}, where the key goes (e.g. \"Bearer {key}\")")
    elif not re.fullmatch(r"[A-Za-z0-9_.~-]{1,64}", spec.key_query):
        raise SpecError("key_query", "must be a plain parameter name such as api_key")
    if spec.balances:
        if not spec.balance_remaining or not spec.balance_unit:
            raise SpecError("balances", "needs balance_remaining and balance_unit (where each entry's amount "
                                        "and currency are)")
    elif not spec.remaining and not (spec.used and spec.limit):
        raise SpecError("remaining", "is missing: give the path of the balance (or both used and limit)")
    if spec.success_path and not spec.success_value:
        raise SpecError("success_value", "is missing: the value the success field must have")
    if not spec.unit:
        raise SpecError("unit", "may not be empty")


def spec_to_table(spec: CustomSpec) -> dict[str, Any]:
    """The fields that differ from the defaults, as TOML values (what a config or ``providers ID`` shows)."""
    out: dict[str, Any] = {}
    for spec_field in fields(spec):
        value = getattr(spec, spec_field.name)
        if value == spec_field.default and spec_field.name != "url":
            continue
        if spec_field.name == "thresholds":
            out["thresholds"] = [int(t) if t == t.to_integral_value() else float(t) for t in value]
        elif spec_field.name == "units_by_host":
            out["units_by_host"] = dict(value)
        elif spec_field.name == "unlimited":
            out["unlimited"] = list(value)
        else:
            out[spec_field.name] = value
    return out


def spec_to_toml(spec: CustomSpec, header: str = "[accounts.custom]") -> str:
    """The spec as a TOML table to paste into a config (tomlkit writes the strings correctly escaped)."""
    import tomlkit

    doc = tomlkit.document()
    for name, value in spec_to_table(spec).items():
        doc.add(name, inline_value(value))
    return f"{header}\n{tomlkit.dumps(doc)}"


def inline_value(value: Any) -> Any:
    """A table value written inline (``{ "api.x.ai" = "USD" }``), so it stays inside the custom table."""
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table
    return value


# --------------------------------------------------------------------------- reading an answer

def _number(data: Any, path: str, field_name: str) -> Decimal:
    value = lookup(data, path)
    if value is None:
        raise ShapeError(f"{path} ({field_name}) is null")
    return amount_from_text(value, path)


def _moment(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, Decimal) or (isinstance(value, str) and re.fullmatch(r"[0-9]{9,13}", value.strip())):
            seconds = Decimal(str(value).strip())
            if seconds > 10**11:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(float(seconds), UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError, ArithmeticError):
        pass
    raise ShapeError(f"{path} is not a time (Unix seconds or ISO 8601)")


def _unit_text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ShapeError(f"{path} is not a unit name")
    return clean_message(value)[:40]


def _is_unlimited(spec: CustomSpec, data: Any, path: str) -> bool:
    if not path or not spec.unlimited:
        return False
    try:
        value = lookup(data, path)
    except ShapeError:
        return False
    return any(_same(value, marker) for marker in spec.unlimited)


def _balances(spec: CustomSpec, data: Any) -> list[Balance]:
    entries = lookup(data, spec.balances)
    if not isinstance(entries, list):
        raise ShapeError(f"{spec.balances} is not a list")
    if not entries:
        raise ShapeError(f"{spec.balances} is empty")
    if len(entries) > MAX_BALANCES:  # a menu line per currency: thousands would be an attack, not a wallet
        raise ShapeError(f"{spec.balances} has {len(entries)} entries; at most {MAX_BALANCES} balances are read")
    out = []
    for index, entry in enumerate(entries):
        where = f"{spec.balances}[{index}]"
        amount = amount_from_text(lookup(entry, spec.balance_remaining), f"{where}.{spec.balance_remaining}")
        unit = _unit_text(lookup(entry, spec.balance_unit), f"{where}.{spec.balance_unit}")
        out.append(Balance(unit, amount))
    return out


def _envelope_failed(spec: CustomSpec, data: Any) -> bool:
    if not spec.success_path:
        return False
    value = lookup(data, spec.success_path)  # no success field at all: not the documented shape
    return not _same(value, spec.success_value)


def _error_text(spec: CustomSpec, data: Any) -> str | None:
    if not spec.error_path:
        return None
    try:
        value = lookup(data, spec.error_path)
    except ShapeError:
        return None
    if isinstance(value, str) and value.strip():
        return value
    return None


def parse_spec(spec: CustomSpec, answer: HttpAnswer, now: datetime) -> Outcome:
    """Read a body the shared status rules left to the provider."""
    data = load_answer(answer)
    if _envelope_failed(spec, data):
        message = _error_text(spec, data)
        return FetchError(ErrorKind.REQUEST, clean_message(message) if message
                          else f"{spec.success_path} is not {spec.success_value}", answer.status)
    expect_success_status(answer)
    unit = _unit_text(lookup(data, spec.unit_path), spec.unit_path) if spec.unit_path else spec.unit
    used = _optional_amount(data, spec.used, "used")
    no_limit = _is_unlimited(spec, data, spec.limit)
    limit = None if no_limit else _optional_amount(data, spec.limit, "limit")
    resets_at = _moment(lookup(data, spec.resets_at), spec.resets_at) if spec.resets_at else None
    if spec.balances:
        balances = _balances(spec, data)
        main = next((b for b in balances if b.unit.lower() == spec.unit.lower()), balances[0])
        ordered = (main, *(b for b in balances if b is not main))
        return Reading(remaining=main.remaining, unit=main.unit, fetched_at=now, used=used, total=limit,
                       balances=ordered if len(ordered) > 1 else (), resets_at=resets_at)
    if _is_unlimited(spec, data, spec.remaining) or (not spec.remaining and no_limit):
        return Reading(remaining=None, unit=unit, fetched_at=now, used=used, unlimited=True, resets_at=resets_at)
    if spec.remaining:
        remaining = _number(data, spec.remaining, "remaining")
    else:
        if used is None or limit is None:  # null, and not a value the definition says means "no limit"
            raise ShapeError(f"{spec.used} or {spec.limit} is null, so the balance is not known")
        remaining = limit - used
    return Reading(remaining=remaining, unit=unit, fetched_at=now, used=used, total=limit, resets_at=resets_at)


def _optional_amount(data: Any, path: str, field_name: str) -> Decimal | None:
    if not path:
        return None
    value = lookup(data, path)
    if value is None:
        return None
    number = amount_from_text(value, path)
    if number < 0:
        raise ShapeError(f"{path} ({field_name}) is negative")
    return number


def _described(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} entries" if len(value) != 1 else "a list of 1 entry"
    if isinstance(value, dict):
        names = ", ".join(list(value)[:5]) + (", …" if len(value) > 5 else "")
        return f"an object ({names})"
    return _shown(value)


def explain(spec: CustomSpec, answer: HttpAnswer) -> list[tuple[str, str, str]]:
    """For Settings' Test: (field, path, what was found there) for every path the spec names."""
    try:
        data = load_answer(answer)
    except ShapeError as exc:
        return [("answer", "", str(exc))]
    rows = []
    for spec_field in SCHEMA:
        if spec_field.kind != "path":
            continue
        path = getattr(spec, spec_field.name)
        if not path:
            continue
        if spec_field.name in ("balance_remaining", "balance_unit") and spec.balances:
            path = f"{spec.balances}[0].{path}"
        try:
            shown = _described(lookup(data, path))
        except ShapeError as exc:
            # An error message is only in error answers: its absence from a good one is no fault.
            shown = "(not in this answer)" if spec_field.name == "error_path" else f"✗ {exc}"
        rows.append((spec_field.label, path, shown))
    return rows


# --------------------------------------------------------------------------- as a Provider

def _request_builder(spec: CustomSpec) -> Callable[[str, str], ProviderRequest]:
    def build_request(key: str, language: str) -> ProviderRequest:
        headers: dict[str, str] = {"Accept": "application/json"}
        params: dict[str, str] = {}
        if spec.key_query:
            params[spec.key_query] = key
        else:
            headers[spec.key_header] = spec.key_format.replace("{key}", key)
        content = None
        if spec.method == "POST":
            headers["Content-Type"] = "application/json"
            content = (spec.body or "{}").encode("utf-8")
        return ProviderRequest(spec.method, headers, content, params)

    return build_request


def _is_own_error(spec: CustomSpec) -> Callable[[HttpAnswer], bool]:
    """A refusal is the provider's word on the key when it is JSON (with the error field, if one is set)."""

    def is_own_error(answer: HttpAnswer) -> bool:
        data = load_answer(answer)
        if spec.error_path:
            return _error_text(spec, data) is not None
        return isinstance(data, dict)

    return is_own_error


@functools.lru_cache(maxsize=256)
def build_provider(spec: CustomSpec, provider_id: str = CUSTOM_ID) -> Provider:
    """The spec as a ``Provider``: the same contract, registry and ``interpret`` as the built-ins."""
    return Provider(
        id=provider_id,
        name=spec.name,
        url=spec.url,
        unit=spec.unit,
        thresholds=spec.thresholds,
        top_up_url=spec.top_up_url,
        key_hint=spec.key_hint or "the provider's API settings",
        build_request=_request_builder(spec),
        parse=lambda answer, language, now: parse_spec(spec, answer, now),
        error_message=lambda answer, language: _error_text(spec, load_answer(answer)),
        is_own_error=_is_own_error(spec),
    )


def field_rows(spec: CustomSpec) -> Iterable[tuple[SchemaField, Any]]:
    for spec_field in SCHEMA:
        yield spec_field, getattr(spec, spec_field.name)


_KIND_WORDS = {"text": "text", "choice": "one of", "url": "https URL", "path": "path", "json": "JSON text",
               "values": "list", "thresholds": "list of numbers", "host_units": "table host = unit"}


def schema_markdown() -> str:
    """The fields as the docs' table (docs/providers/custom.md holds exactly this; a test keeps them equal)."""
    lines = ["| Field | Section | Type | Default | What it holds | Example |", "|---|---|---|---|---|---|"]
    for f in SCHEMA:
        kind = _KIND_WORDS[f.kind] + (" " + " / ".join(f.choices) if f.choices else "")
        default = "**required**" if f.required else (f"`{f.default}`" if f.default not in ("", ()) else "")
        example = f"`{f.example}`" if f.example else ""
        lines.append(f"| `{f.name}` | {f.group} | {kind} | {default} | {f.help.replace('|', '/')} | {example} |")
    return "\n".join(lines) + "\n"


__all__ = ["CUSTOM_ID", "FIELDS", "SCHEMA", "CustomSpec", "SchemaField", "SpecError", "build_provider",
           "default_message", "explain", "lookup", "parse_path", "parse_spec", "spec_from_table", "spec_to_table",
           "spec_to_toml", "url_problem"]
