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

from tray_app.i18n import N_, _, ngettext
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
    load_json,
    missing,
    url_fault,
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
    """One field of a custom provider: what it is called, what it holds and how it is checked.

    ``label``, ``help`` and ``section`` are in the current language, looked up each time they are
    read; the ``english_…`` sources are what the catalogue and the docs' table hold.
    """

    name: str
    english_label: str
    kind: FieldKind
    english_help: str
    #: The section of the form and of the docs it belongs to (in English: a key, compared by the form).
    group: str
    default: Any = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""

    @property
    def label(self) -> str:
        return _(self.english_label)

    @property
    def help(self) -> str:
        return _(self.english_help)

    @property
    def section(self) -> str:
        """``group`` as the form's tab shows it."""
        return _(self.group)


SCHEMA: tuple[SchemaField, ...] = (
    SchemaField("name", N_("Name"), "text", N_("what the provider is called in the menu"), N_("Display"),
                default="Custom", example="My API"),  # untranslated: the default and example are values
    SchemaField("url", N_("URL"), "url", N_("the balance endpoint; https (plain http only on loopback), no query"),
                N_("Request"), required=True, example="https://api.example.com/v1/balance"),
    SchemaField("method", N_("Method"), "choice", N_("GET, or POST (with an optional JSON body)"), N_("Request"),
                default="GET", choices=("GET", "POST")),
    SchemaField("body", N_("Body"), "json",
                N_("the JSON body of a POST, e.g. {\"scope\": \"team\"} (sent as written)"),
                N_("Request")),
    SchemaField("key_header", N_("Key header"), "text", N_("the header that carries the key"), N_("Request"),
                default="Authorization", example="x-api-key"),  # untranslated: an HTTP header name
    SchemaField("key_format", N_("Key format"), "text", N_("the header's value; {key} stands for the key"),
                N_("Request"), default="Bearer {key}", example="{key}"),  # untranslated: an HTTP header value
    SchemaField("key_query", N_("Key query parameter"), "text",
                N_("send the key as this query parameter instead of a header (empty: use the header)"),
                N_("Request"), example="api_key"),
    SchemaField("remaining", N_("Remaining"), "path",
                N_("where the balance is; may be left out when Used and Limit are given (remaining = limit - used)"),
                N_("Response"), example="data.balance"),
    SchemaField("used", N_("Used"), "path", N_("where the amount used is (optional)"), N_("Response"),
                example="data.usage"),
    SchemaField("limit", N_("Limit"), "path", N_("where the limit or total is (optional)"), N_("Response"),
                example="data.limit"),
    SchemaField("unlimited", N_("Unlimited when"), "values",
                N_("values of Remaining or Limit that mean 'no limit', e.g. -1, null"), N_("Response"), default=(),
                example="null, -1"),  # untranslated: JSON values
    SchemaField("resets_at", N_("Resets at"), "path",
                N_("where the quota's reset time is: Unix seconds or an ISO 8601 time (optional)"), N_("Response"),
                example="next_reset_unix"),
    SchemaField("balances", N_("Balances list"), "path",
                N_("a list holding one balance per currency (instead of Remaining)"), N_("Response"),
                example="balance_infos"),
    SchemaField("balance_remaining", N_("Balance amount"), "path", N_("in each list entry: where the amount is"),
                N_("Response"), example="total_balance"),
    SchemaField("balance_unit", N_("Balance unit"), "path", N_("in each list entry: where the currency is"),
                N_("Response"), example="currency"),
    SchemaField("success_path", N_("Success field"), "path",
                N_("for envelope APIs: a field that must have the value below, or the answer is an error"),
                N_("Response"), example="code"),
    SchemaField("success_value", N_("Success value"), "text", N_("the value the success field must have"),
                N_("Response"), example="0"),
    SchemaField("error_path", N_("Error message"), "path", N_("where the provider's error message is (optional)"),
                N_("Response"), example="error.message"),
    SchemaField("unit", N_("Unit"), "text", N_("the unit or currency of the balance (with a list: the main currency)"),
                N_("Display"), default="credits", example="USD"),
    SchemaField("unit_path", N_("Unit field"), "path", N_("where the answer names its unit (optional)"),
                N_("Display"), example="data.currency"),
    SchemaField("units_by_host", N_("Unit by host"), "host_units",
                N_("a different unit when the URL's host is this one, e.g. api.example.ai=USD"), N_("Display"),
                default=(), example="api.example.ai=USD"),
    SchemaField("thresholds", N_("Thresholds"), "thresholds", N_("default alert levels, highest first"),
                N_("Display"), default=(), example="100, 10, 0"),
    SchemaField("top_up_url", N_("Top-up page"), "url", N_("where to buy more (optional)"), N_("Display"),
                example="https://example.com/billing"),
    SchemaField("key_hint", N_("Where the key is"), "text", N_("shown when adding an account (optional)"),
                N_("Display")),
    SchemaField("documentation", N_("Documentation"), "text", N_("the API page this definition follows (optional)"),
                N_("Display")),
)
FIELDS: dict[str, SchemaField] = {f.name: f for f in SCHEMA}


class SpecError(ValueError):
    """A custom provider definition that cannot be used; names the field.

    ``sentence`` is a whole sentence in the current language (translated when the error is made)
    with ``{field}`` where the field is named and the ``values`` in their own placeholders:
    ``str(error)`` names the field by its place in the config (``custom.url``), ``about(label)``
    as a form names it.
    """

    def __init__(self, field_name: str, sentence: str, **values: object) -> None:
        if "{field}" not in sentence:  # a caller's bare predicate ("is missing: …"): after the field, as before
            sentence = "{field} " + sentence.replace("{", "{{").replace("}", "}}")
        self.field_name, self.sentence, self.values = field_name, sentence, values
        super().__init__(self.about(self.path))

    @property
    def path(self) -> str:
        """Where the field is in a config file."""
        return f"custom.{self.field_name}" if self.field_name else "[accounts.custom]"  # untranslated: TOML names

    def about(self, subject: str) -> str:
        """The sentence about ``subject`` (the field's label, its path)."""
        sentence = self.sentence
        if subject and _is_cjk(subject[-1]):  # "名称 不能为空" → "名称不能为空": a space only beside Latin text
            sentence = sentence.replace("{field} ", "{field}")
        return sentence.format(field=subject, **self.values)

    @property
    def problem(self) -> str:
        """The sentence without its subject, for a caller that writes the field's name before it."""
        return self.about("").strip()


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\uff00" <= char <= "\uffef"


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
        raise ValueError(_("it is empty"))
    if len(text) > MAX_PATH:
        raise ValueError(_("it is longer than {limit} characters").format(limit=MAX_PATH))
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "[":
            end = text.find("]", pos)
            if end < 0:
                raise ValueError(_("it has a '[' that is not closed: {path}").format(path=repr(text)))
            inner = text[pos + 1:end].strip()
            if re.fullmatch(r"-?[0-9]{1,6}", inner):
                steps.append(Step(index=int(inner)))
            elif "=" in inner and (name := inner.split("=", 1)[0].strip()) and _KEY.fullmatch(name):
                steps.append(Step(match=(name, inner.split("=", 1)[1].strip())))
            else:
                raise ValueError(_("it has [{inner}], which is neither an index like [0] nor a filter like "
                                   "[currency=USD]").format(inner=inner))
            pos = end + 1
            continue
        if char == ".":
            if not steps:
                raise ValueError(_("it starts with '.': {path}").format(path=repr(text)))
            pos += 1
        elif steps:
            raise ValueError(_("it needs a '.' before {rest}").format(rest=repr(text[pos:])))
        found = _KEY.match(text, pos)
        if found is None:
            raise ValueError(_("it has an empty part: {path}").format(path=repr(text)))
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
                raise ShapeError((_("{where} is not an object (looking for {path})") if done
                                  else _("the answer is not an object (looking for {path})")).format(
                    where=done, path=path))
            if step.key not in value:
                raise ShapeError(missing((done + "." if done else "") + step.key))
            value = value[step.key]
            done = (done + "." if done else "") + step.key
            continue
        if not isinstance(value, list):
            raise ShapeError((_("{where} is not a list (looking for {path})") if done
                              else _("the answer is not a list (looking for {path})")).format(where=done, path=path))
        if step.index is not None:
            if not -len(value) <= step.index < len(value):
                raise ShapeError(ngettext("{where} is missing (the list has {count} entry)",
                                          "{where} is missing (the list has {count} entries)", len(value)).format(
                    where=f"{done}[{step.index}]", count=len(value)))
            value = value[step.index]
            done += f"[{step.index}]"
        elif step.match is not None:
            name, wanted = step.match
            found = [item for item in value if isinstance(item, dict) and name in item and _same(item[name], wanted)]
            if not found:
                raise ShapeError(_("{where} has no entry with {name} = {value}").format(
                    where=done, name=name, value=wanted))
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
        raise ShapeError(_("the answer is nested more than {depth} levels deep").format(depth=MAX_DEPTH))
    return data


# --------------------------------------------------------------------------- the spec

@dataclass(frozen=True)
class CustomSpec:
    """A checked custom provider definition; hashable, so built providers can be cached."""

    url: str
    name: str = "Custom"  # untranslated: the default name, stored
    method: str = "GET"
    body: str = ""
    key_header: str = "Authorization"  # untranslated: an HTTP header name
    key_format: str = "Bearer {key}"  # untranslated: an HTTP header value
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
    """Why ``url`` cannot be a custom endpoint (the same rules as a base_url, plus a path is allowed):
    a sentence with ``{field}`` where the field is named (a ``SpecError``'s)."""
    fault = url_fault(url)
    if fault == "invalid":
        return _("{field} is not a valid URL")
    if fault == "not_http":
        return _("{field} must be an https:// URL")
    if fault == "extras":
        return _("{field} may not carry credentials, a query or a fragment (use Key query parameter for the key)")
    if fault == "plain_http":
        return _("{field} must be https (plain http is allowed only on loopback)")
    return None


def _text(name: str, value: Any, *, limit: int = 200) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise SpecError(name, _("{field} must be text"))
    text = str(value).strip()
    if len(text) > limit:
        raise SpecError(name, _("{field} is longer than {limit} characters"), limit=limit)
    if any(not ch.isprintable() for ch in text):
        raise SpecError(name, _("{field} contains control characters"))
    return text


def _list(name: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise SpecError(name, _("{field} must be a list"))


def _thresholds(name: str, value: Any) -> tuple[Decimal, ...]:
    out: set[Decimal] = set()
    for item in _list(name, value):
        if isinstance(item, bool) or not isinstance(item, int | float | str | Decimal):
            raise SpecError(name, _("{field} has {item}, which is not a number"), item=repr(item))
        try:
            number = Decimal(str(item).strip())
        except ArithmeticError:
            raise SpecError(name, _("{field} has {item}, which is not a number"), item=repr(item)) from None
        if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
            raise SpecError(name, _("{field} has {item}; thresholds are numbers of 0 or more"), item=repr(item))
        out.add(number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize())
    return tuple(sorted(out, reverse=True))


def _host_units(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for item in _list(name, value):
            if not isinstance(item, str) or "=" not in item:
                raise SpecError(name, _("{field} has {item}; write host=UNIT"), item=repr(item))
            host, unit = item.split("=", 1)
            pairs.append((host, unit))
    out = []
    for host, unit in pairs:
        host_text, unit_text = _text(name, host).lower(), _text(name, unit, limit=40)
        if not host_text or not unit_text:
            raise SpecError(name, _("{field} needs a host and a unit in each entry"))
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
        raise SpecError(name, _("{field} must be text (in quotes)"))
    text = _text(name, value, limit=MAX_BODY_TEMPLATE if kind == "json" else 2048 if kind == "url" else 200)
    if not text:
        return text
    if kind == "choice":
        upper = text.upper()
        if upper not in spec_field.choices:
            raise SpecError(name, _("{field} must be one of {choices}"), choices=", ".join(spec_field.choices))
        return upper
    if kind == "url" and (problem := url_problem(text)):
        raise SpecError(name, problem)
    if kind == "path":
        try:
            parse_path(text)
        except ValueError as exc:
            raise SpecError(name, _("{field} is not a path: {reason}"), reason=exc) from None
    if kind == "json":
        try:
            json.loads(text)
        except ValueError:
            raise SpecError(name, _("{field} is not valid JSON")) from None
    return text


def spec_from_table(table: Mapping[str, Any]) -> CustomSpec:
    """A checked spec from a ``[accounts.custom]`` table (or a file, or flags); SpecError names the field."""
    if not isinstance(table, Mapping):
        raise SpecError("", _("{field} must be a table of fields"))
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise SpecError(str(unknown[0]), _("{field} is not a field of a custom provider (known: {known})"),
                        known=", ".join(FIELDS))
    values: dict[str, Any] = {}
    for spec_field in SCHEMA:
        if spec_field.name in table:
            values[spec_field.name] = _checked_field(spec_field, table[spec_field.name])
    for spec_field in SCHEMA:
        if spec_field.required and not values.get(spec_field.name):
            raise SpecError(spec_field.name, _("{field} is missing ({help})"), help=spec_field.help)
    spec = CustomSpec(**values)
    _cross_checks(spec)
    return spec


def _cross_checks(spec: CustomSpec) -> None:
    if spec.body and spec.method != "POST":
        raise SpecError("body", _("{field} needs method = \"POST\""))
    if not spec.key_query:
        if not _HEADER_NAME.fullmatch(spec.key_header):
            raise SpecError("key_header", _("{field} must be a header name such as Authorization or x-api-key"))
        if spec.key_header.lower() in _FORBIDDEN_HEADERS:
            raise SpecError("key_header", _("{field} may not be {header}"), header=spec.key_header)
        if not spec.key_format.isascii():
            raise SpecError("key_format", _("{field} must be plain ASCII (an HTTP header value)"))
        if "{key}" not in spec.key_format:
            raise SpecError("key_format", _("{field} must contain {key}, where the key goes (e.g. \"Bearer {key}\")"),
                            key="{key}")
    elif not re.fullmatch(r"[A-Za-z0-9_.~-]{1,64}", spec.key_query):
        raise SpecError("key_query", _("{field} must be a plain parameter name such as api_key"))
    if spec.balances:
        if not spec.balance_remaining or not spec.balance_unit:
            raise SpecError("balances", _("{field} needs balance_remaining and balance_unit (where each entry's "
                                          "amount and currency are)"))
    elif not spec.remaining and not (spec.used and spec.limit):
        raise SpecError("remaining", _("{field} is missing: give the path of the balance (or both used and limit)"))
    if spec.success_path and not spec.success_value:
        raise SpecError("success_value", _("{field} is missing: the value the success field must have"))
    if not spec.unit:
        raise SpecError("unit", _("{field} may not be empty"))


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
        raise ShapeError(_("{path} ({field}) is null").format(path=path, field=field_name))
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
    raise ShapeError(_("{path} is not a time (Unix seconds or ISO 8601)").format(path=path))


def _unit_text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ShapeError(_("{path} is not a unit name").format(path=path))
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
        raise ShapeError(_("{path} is not a list").format(path=spec.balances))
    if not entries:
        raise ShapeError(_("{path} is empty").format(path=spec.balances))
    if len(entries) > MAX_BALANCES:  # a menu line per currency: thousands would be an attack, not a wallet
        raise ShapeError(_("{path} has {count} entries; at most {limit} balances are read").format(
            path=spec.balances, count=len(entries), limit=MAX_BALANCES))
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
                          else _("{path} is not {value}").format(path=spec.success_path, value=spec.success_value),
                          answer.status)
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
            raise ShapeError(_("{used} or {limit} is null, so the balance is not known").format(
                used=spec.used, limit=spec.limit))
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
        raise ShapeError(_("{path} ({field}) is negative").format(path=path, field=field_name))
    return number


def _described(value: Any) -> str:
    if isinstance(value, list):
        return ngettext("a list of {count} entry", "a list of {count} entries", len(value)).format(count=len(value))
    if isinstance(value, dict):
        names = ", ".join(list(value)[:5]) + (", …" if len(value) > 5 else "")
        return _("an object ({names})").format(names=names)
    return _shown(value)


def explain(spec: CustomSpec, answer: HttpAnswer) -> list[tuple[str, str, str]]:
    """For Settings' Test: (field, path, what was found there) for every path the spec names."""
    try:
        data = load_answer(answer)
    except ShapeError as exc:
        # TRANSLATORS: the first column of Settings' Test table (Field, Path, Found) when the answer is unusable.
        return [(_("answer"), "", str(exc))]
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
            shown = _("(not in this answer)") if spec_field.name == "error_path" else f"✗ {exc}"
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
        # Marked, not translated: the provider is cached; Settings shows _(provider.key_hint).
        key_hint=spec.key_hint or N_("the provider's API settings"),
        build_request=_request_builder(spec),
        parse=lambda answer, language, now: parse_spec(spec, answer, now),
        error_message=lambda answer, language: _error_text(spec, load_answer(answer)),
        is_own_error=_is_own_error(spec),
    )


def field_rows(spec: CustomSpec) -> Iterable[tuple[SchemaField, Any]]:
    for spec_field in SCHEMA:
        yield spec_field, getattr(spec, spec_field.name)


#: The docs' table is English (docs/providers/custom.md); the form and the CLI show ``label``/``help``.
_KIND_WORDS = {  # untranslated: the English docs
    "text": "text", "choice": "one of", "url": "https URL", "path": "path", "json": "JSON text",
    "values": "list", "thresholds": "list of numbers", "host_units": "table host = unit"}


def schema_markdown() -> str:
    """The fields as the docs' table (docs/providers/custom.md holds exactly this; a test keeps them equal)."""
    lines = ["| Field | Section | Type | Default | What it holds | Example |",  # untranslated: the English docs
             "|---|---|---|---|---|---|"]
    for f in SCHEMA:
        kind = _KIND_WORDS[f.kind] + (" " + " / ".join(f.choices) if f.choices else "")
        default = "**required**" if f.required else (f"`{f.default}`" if f.default not in ("", ()) else "")
        example = f"`{f.example}`" if f.example else ""
        what = f.english_help.replace("|", "/")
        lines.append(f"| `{f.name}` | {f.group} | {kind} | {default} | {what} | {example} |")
    return "\n".join(lines) + "\n"


__all__ = ["CUSTOM_ID", "FIELDS", "SCHEMA", "CustomSpec", "SchemaField", "SpecError", "build_provider",
           "default_message", "explain", "lookup", "parse_path", "parse_spec", "spec_from_table", "spec_to_table",
           "spec_to_toml", "url_problem"]
