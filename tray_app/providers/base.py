"""What a provider module declares, and the response rules they all share.

A provider is data plus two small functions: how to build the request from a key,
and how to read a body whose status the shared rules did not already decide.
The order of those rules is fixed here once, so every provider maps statuses alike:
402 exhausted, 429 rate limited, 5xx server, 401/403 (and documented extras) auth,
400/422 request, and only then the provider's documented body shapes. A 401/403 (or a
documented extra such as SociaVault's 404) counts as a bad key only when its body has the
provider's own error shape: the same status, or any 404, from a proxy or a wrong base URL
(an HTML "404 Not Found") is not the provider speaking, so it is a ``bad_response``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from tray_app.i18n import N_, _
from tray_app.model import ErrorKind, FetchError, Outcome, Reading

#: No real balance is this large; a larger number means a broken answer, not riches.
MAX_AMOUNT = Decimal(10) ** 15
#: Longest provider message we keep; anything longer is cut, so a page of HTML never reaches a menu.
MAX_MESSAGE = 300


@dataclass(frozen=True)
class ProviderRequest:
    method: str
    headers: Mapping[str, str]
    content: bytes | None = None
    #: Query parameters added to the URL (a custom provider may send its key as one).
    params: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HttpAnswer:
    """A complete HTTP response as the parsers see it (header names lower-case)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class ShapeError(ValueError):
    """The body is not the documented shape; becomes a ``bad_response``."""


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    #: The documented endpoint; a configured base_url replaces only its scheme, host and port.
    url: str
    unit: str
    thresholds: tuple[Decimal, ...]
    top_up_url: str
    #: Where the user finds the key, shown when adding an account.
    key_hint: str
    build_request: Callable[[str, str], ProviderRequest]
    #: Reads a body once the shared status rules have not decided; may raise ShapeError.
    parse: Callable[[HttpAnswer, str, datetime], Outcome]
    #: The provider's own error text in the user's language, if the body carries one.
    error_message: Callable[[HttpAnswer, str], str | None]
    #: Whether a body has the provider's documented error shape (so a 401/403 is its verdict on the key).
    is_own_error: Callable[[HttpAnswer], bool]
    #: Statuses besides 401/403 that this provider documents as "bad key".
    auth_statuses: frozenset[int] = field(default_factory=frozenset)


def interpret(provider: Provider, answer: HttpAnswer, language: str, now: datetime) -> Outcome:
    """Turn any complete response into a reading or a typed error, in the documented order."""
    status = answer.status
    if status == 402:
        return Reading(remaining=Decimal(0), unit=provider.unit, fetched_at=now)
    kind: ErrorKind | None = None
    if status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif 500 <= status <= 599:
        kind = ErrorKind.SERVER
    elif status in (401, 403, 404) or status in provider.auth_statuses:
        if not _is_own_error(provider, answer):
            return FetchError(ErrorKind.BAD_RESPONSE, not_the_providers_answer(provider, answer), status)
        if status != 404 or status in provider.auth_statuses:
            kind = ErrorKind.AUTH
    elif status in (400, 422):
        kind = ErrorKind.REQUEST
    if kind is not None:
        message = _safe_message(provider, answer, language) or default_message(kind, status)
        retry = retry_after_seconds(answer.headers.get("retry-after"), now) if status == 429 else None
        return FetchError(kind, message, status, retry)
    try:
        return provider.parse(answer, language, now)
    except ShapeError as exc:
        return FetchError(ErrorKind.BAD_RESPONSE, clean_message(str(exc)), status)


def _is_own_error(provider: Provider, answer: HttpAnswer) -> bool:
    try:
        return provider.is_own_error(answer)
    except ShapeError:
        return False


def not_the_providers_answer(provider: Provider, answer: HttpAnswer) -> str:
    """Why a refusal without the provider's error shape is not taken as its word on the key."""
    snippet = answer.body[:20].decode("utf-8", "replace").strip().lower()
    if snippet.startswith("<"):
        text = _("HTTP {status} with an HTML page that is not {provider}'s answer: "
                 "check the base URL or the proxy in between")
    else:
        text = _("HTTP {status} with a body that is not {provider}'s answer: "
                 "check the base URL or the proxy in between")
    return text.format(status=answer.status, provider=provider.name)


def _safe_message(provider: Provider, answer: HttpAnswer, language: str) -> str | None:
    try:
        text = provider.error_message(answer, language)
    except ShapeError:
        return None
    return clean_message(text) if text else None


_DEFAULT_MESSAGES = {
    ErrorKind.AUTH: N_("the API key was refused"),
    ErrorKind.RATE_LIMITED: N_("too many requests"),
    ErrorKind.SERVER: N_("the provider's server failed"),
    ErrorKind.REQUEST: N_("the provider rejected the request"),
}


def default_message(kind: ErrorKind, status: int | None) -> str:
    """Our words for an error the provider did not explain, in the current language."""
    text = _(_DEFAULT_MESSAGES[kind]) if kind in _DEFAULT_MESSAGES else str(kind)
    # TRANSLATORS: an error message followed by the HTTP status that came with it.
    return _("{message} (HTTP {status})").format(message=text, status=status) if status else text


def clean_message(text: str) -> str:
    """One printable line of bounded length, whatever the server sent."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 1] + "…"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), 86_400.0))


def _no_constants(name: str) -> Any:
    raise ShapeError(_("not valid JSON: {name} is not a number").format(name=name))


def load_json(answer: HttpAnswer) -> Any:
    """Decode a JSON body with exact numbers; anything else is a ShapeError."""
    try:
        return json.loads(answer.body, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constants)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond what any number can hold
        raise ShapeError(_("the answer holds a number out of range")) from None
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ShapeError):
            raise
        snippet = answer.body[:20].decode("utf-8", "replace").strip()
        looks_html = snippet.lower().startswith(("<!doctype", "<html", "<"))
        raise ShapeError(_("the answer is an HTML page, not JSON") if looks_html
                         else _("the answer is not JSON")) from None


def json_object(answer: HttpAnswer) -> dict[str, Any]:
    data = load_json(answer)
    if not isinstance(data, dict):
        raise ShapeError(_("the answer is not a JSON object"))
    return data


def expect_success_status(answer: HttpAnswer) -> None:
    if not 200 <= answer.status <= 299:
        raise ShapeError(unexpected_status(answer.status))


def unexpected_status(status: int) -> str:
    return _("unexpected HTTP {status}").format(status=status)


def missing(name: str) -> str:
    """'Data.Total is missing': a documented field the answer lacks."""
    return _("{field} is missing").format(field=name)


def amount(value: Any, name: str, *, integer: bool = False, negative_one: bool = False,
           balance: bool = False) -> Decimal:
    """A documented number field as an exact amount, or a ShapeError naming the field.

    Rejects booleans, strings, NaN/infinities, non-integers where the document says
    integer, absurd sizes, and negatives (bar SmarterBot's -1 when ``negative_one``)
    unless the field is a ``balance``: some providers report an overdrawn account as a
    negative balance, which is a reading (exhausted), not a broken answer.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise ShapeError(_("{field} is not a number").format(field=name))
    return _checked(value, name, integer=integer, negative_one=negative_one, negative=balance)


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def amount_from_text(value: Any, name: str) -> Decimal:
    """A balance sent as a string of digits ("1234", "12.5", "-3" when overdrawn); a JSON number is also taken."""
    if isinstance(value, Decimal):
        return _checked(value, name, integer=False, negative_one=False, negative=True)
    if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value.strip()):
        raise ShapeError(_("{field} is not a number").format(field=name))
    try:
        return _checked(Decimal(value.strip()), name, integer=False, negative_one=False, negative=True)
    except InvalidOperation:
        raise ShapeError(_("{field} is not a number").format(field=name)) from None


#: Exact arithmetic whatever the literal: the default context rounds to 28 digits and traps
#: (raises ``decimal.Overflow``) on exponents like ``1e999999999`` that JSON allows.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])


def _checked(value: Decimal, name: str, *, integer: bool, negative_one: bool, negative: bool = False) -> Decimal:
    if not value.is_finite():
        raise ShapeError(_("{field} is not a finite number").format(field=name))
    if value.copy_abs() > MAX_AMOUNT:
        raise ShapeError(_("{field} is out of range").format(field=name))
    whole = value == value.to_integral_value(context=_EXACT)
    if integer and not whole:
        raise ShapeError(_("{field} is not a whole number").format(field=name))
    if value < 0 and not negative and not (negative_one and value == -1):
        raise ShapeError(_("{field} is negative").format(field=name))
    if value == 0:
        return Decimal(0)  # not "-0" or "0E+999"
    # 950.0 and 950 are the same balance; keep the shorter spelling.
    return value.quantize(Decimal(1), context=_EXACT) if whole else value.normalize(context=_EXACT)


def optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(_("{field} is not a string").format(field=name))
    return clean_message(value)


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host (or a Host header's, brackets and all) is this machine: plain http and a
    listening exporter are allowed there only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: What can be wrong with an endpoint or base URL (each caller words it for its reader).
UrlFault = Literal["invalid", "not_http", "extras", "plain_http"]


def url_fault(url: str) -> UrlFault | None:
    """The one rule for where keys may be sent: an http(s) URL with a host, no credentials, query or
    fragment, and https unless the host is this machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return "invalid"
    if parts.scheme not in ("http", "https") or not host:
        return "not_http"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "extras"
    if parts.scheme != "https" and not is_loopback_host(host):
        return "plain_http"
    return None
