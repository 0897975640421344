"""Property tests: every parser the app has, fed arbitrary JSON and arbitrary bytes.

``tests/test_providers.py`` already drives ``interpret`` (status rules + parsers) with
arbitrary bodies. This adds what it leaves out: each provider's ``parse`` and
``error_message`` called directly (the only exception they may raise is ``ShapeError``),
number literals no JSON library would write (huge exponents, long digit runs, deep
nesting), the whole fetch path over a real socket with arbitrary bytes and encodings,
the bounded decompressor, the state file, the config file, ``Retry-After`` and the log
redaction, each checked against an oracle written here, not by the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import math
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakeserver import PATHS, FakeServer, Reply
from tests.reliability_support import ALL
from tray_app.alerts import AlertMemory
from tray_app.config import Config, ConfigFileError, load
from tray_app.fetch import Fetcher, FetchPolicy, _BoundedDecoder, _UnusableAnswer
from tray_app.history import HistoryStore
from tray_app.logs import FRAGMENT, REDACTED, RedactKeys, redact
from tray_app.model import ErrorKind, FetchError, Reading
from tray_app.providers import PROVIDERS
from tray_app.providers.base import MAX_AMOUNT, MAX_MESSAGE, HttpAnswer, ShapeError, clean_message, interpret
from tray_app.providers.base import retry_after_seconds as retry_after

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Number literals as servers may write them: any digits, any exponent, signs, leading zeros.
number_literals = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{'.' + frac if frac else ''}{exp}",
    st.sampled_from(["", "-"]),
    st.from_regex(r"[0-9]{1,40}", fullmatch=True),
    st.from_regex(r"[0-9]{0,30}", fullmatch=True),
    st.sampled_from(["", "e0", "e1", "e-1", "E+5", "e15", "e16", "e308", "e-400", "e999999999", "e-999999999",
                     "e+99999999999999999999"]),
)
statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 402, 403, 404, 422, 429, 500, 503]) | st.integers(100, 599)
languages = st.sampled_from(["en", "zh", "ja", "de", ""])


def _json_number_value(literal: str) -> Decimal | None:
    """The oracle: the exact value of a JSON number literal, or None if JSON does not allow it."""
    body = literal.lstrip("-")
    whole = body.split(".")[0].split("e")[0].split("E")[0]
    if len(whole) > 1 and whole.startswith("0"):
        return None  # JSON forbids leading zeros
    try:
        return Decimal(literal)
    except InvalidOperation:
        return None


# Where each provider keeps its balance, as a template for a raw literal.
BALANCE_TEMPLATE = {
    "meowload": '{"availableCredits": %s}',
    "smarterbot": '{"Data": {"Total": 5000, "Used": 1, "Remain": %s}, "Success": true, "Code": 200, "Message": ""}',
    "sociavault": '{"credits": %s, "subscriptionStatus": "active"}',
    "unwatermark": '{"code": 100000, "message": {}, "result": {"user_credits": %s}}',
}


def _check_outcome(provider_id: str, outcome: object) -> None:
    assert isinstance(outcome, Reading | FetchError), outcome
    if isinstance(outcome, FetchError):
        assert outcome.kind in set(ErrorKind)
        assert outcome.message
        assert outcome.message.isprintable()
        assert len(outcome.message) <= MAX_MESSAGE
        if outcome.retry_after is not None:
            assert math.isfinite(outcome.retry_after)
            assert 0 <= outcome.retry_after <= 86_400
        return
    assert outcome.unit == PROVIDERS[provider_id].unit
    for value in (outcome.used, outcome.total):
        assert value is None or (value.is_finite() and 0 <= value <= MAX_AMOUNT)
    # An overdrawn balance is reported below zero: a reading, bounded like any other.
    assert outcome.remaining is None or (outcome.remaining.is_finite() and abs(outcome.remaining) <= MAX_AMOUNT)
    if not outcome.unlimited:
        assert outcome.remaining is not None


# --------------------------------------------------------------------------- each parser on its own

@SETTINGS
@given(provider_id=st.sampled_from(ALL), status=statuses, value=json_values, language=languages)
@example(provider_id="smarterbot", status=200, value={"Success": True, "Data": {"Total": -1, "Used": -1,
                                                                                   "Remain": -1}}, language="en")
def test_parse_and_error_message_raise_only_shape_errors_on_arbitrary_json(provider_id: str, status: int,
                                                                           value: Any, language: str) -> None:
    provider = PROVIDERS[provider_id]
    answer = HttpAnswer(status, {"content-type": "application/json"}, json.dumps(value).encode())
    refusal: ShapeError | None = None
    try:
        outcome = provider.parse(answer, language, NOW)
    except ShapeError as exc:
        refusal = exc
    if refusal is None:
        _check_outcome(provider_id, outcome)
    else:
        assert str(refusal)
    try:
        message = provider.error_message(answer, language)
    except ShapeError:
        message = None
    assert message is None or isinstance(message, str)


@SETTINGS
@given(provider_id=st.sampled_from(ALL), status=statuses, body=st.binary(max_size=400), language=languages)
@example(provider_id="meowload", status=200, body=b"[" * 100_000, language="en")  # deeper than any recursion limit
@example(provider_id="unwatermark", status=200, body=b'{"code": 1' + b"0" * 5000 + b"}", language="en")
@example(provider_id="meowload", status=200, body=b"\xef\xbb\xbf{\"availableCredits\": 1}", language="en")
@example(provider_id="sociavault", status=200, body=b'{"credits": 1, "subscriptionStatus": "\\ud800"}',
         language="en")
def test_parse_and_error_message_raise_only_shape_errors_on_arbitrary_bytes(provider_id: str, status: int,
                                                                            body: bytes, language: str) -> None:
    provider = PROVIDERS[provider_id]
    answer = HttpAnswer(status, {}, body)
    with contextlib.suppress(ShapeError):
        _check_outcome(provider_id, provider.parse(answer, language, NOW))
    with contextlib.suppress(ShapeError):
        provider.error_message(answer, language)
    _check_outcome(provider_id, interpret(provider, answer, language, NOW))


@SETTINGS
@given(provider_id=st.sampled_from(ALL), literal=number_literals)
@example(provider_id="meowload", literal="1e999999999")
@example(provider_id="meowload", literal="0e999999999")
@example(provider_id="sociavault", literal="5.0e0")
@example(provider_id="smarterbot", literal="-1.0")
def test_any_number_literal_is_its_exact_value_or_bad_response(provider_id: str, literal: str) -> None:
    raw = (BALANCE_TEMPLATE[provider_id] % literal).encode()
    outcome = interpret(PROVIDERS[provider_id], HttpAnswer(200, {}, raw), "en", NOW)
    _check_outcome(provider_id, outcome)
    value = _json_number_value(literal)
    in_range = value is not None and -MAX_AMOUNT <= value <= MAX_AMOUNT  # below zero: overdrawn
    whole = value is not None and value == value.to_integral_value()
    if provider_id == "smarterbot" and value == -1:
        assert isinstance(outcome, Reading)
        assert outcome.unlimited
    elif in_range and (whole or provider_id != "sociavault"):
        assert isinstance(outcome, Reading), (literal, outcome)
        assert outcome.remaining == value
    else:
        assert isinstance(outcome, FetchError), (literal, outcome)
        assert outcome.kind is ErrorKind.BAD_RESPONSE, (literal, outcome)


@SETTINGS
@given(text=st.text(max_size=60))
@example(text="\u00b2")
@example(text="Mon, 30 Jun 9999 12:01:30 GMT")
@example(text="Mon, 30 Jun 0001 12:01:30 GMT")
@example(text="9" * 400)
@example(text="-5")
def test_retry_after_is_none_or_finite_and_bounded(text: str) -> None:
    seconds = retry_after(text, NOW)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= 86_400)
    if text.strip().isascii() and text.strip().isdigit():
        assert seconds == min(int(text.strip()), 86_400)


@SETTINGS
@given(text=st.text())
def test_clean_message_is_one_bounded_printable_line(text: str) -> None:
    cleaned = clean_message(text)
    assert cleaned.isprintable()
    assert len(cleaned) <= MAX_MESSAGE
    assert cleaned == cleaned.strip()


# --------------------------------------------------------------------------- the bounded decompressor

@SETTINGS
@given(data=st.binary(max_size=3000), encoding=st.sampled_from(["gzip", "deflate", "gzip, deflate", "identity", ""]),
       cut=st.integers(1, 97))
def test_bounded_decoder_round_trips_any_bytes_in_any_pieces(data: bytes, encoding: str, cut: int) -> None:
    body = data
    for name in [n.strip() for n in encoding.split(",") if n.strip()]:
        body = gzip.compress(body) if name == "gzip" else zlib.compress(body) if name == "deflate" else body
    decoder = _BoundedDecoder(encoding, 1 << 20, 200)
    out = b"".join(piece for start in range(0, len(body), cut) for piece in decoder.feed(body[start:start + cut]))
    decoder.finish()
    assert out == data


@SETTINGS
@given(body=st.binary(max_size=2000), encoding=st.sampled_from(["gzip", "deflate", "gzip, gzip", "deflate, gzip"]),
       limit=st.integers(1, 5000))
def test_bounded_decoder_on_arbitrary_bytes_gives_at_most_the_limit_or_a_typed_refusal(body: bytes, encoding: str,
                                                                                       limit: int) -> None:
    decoder = _BoundedDecoder(encoding, limit, 200)
    refusal: _UnusableAnswer | None = None
    out = b""
    try:
        out = b"".join(decoder.feed(body))
        decoder.finish()
    except _UnusableAnswer as exc:
        refusal = exc
    if refusal is None:
        assert len(out) <= limit
    else:
        assert refusal.status == 200
        assert refusal.message


# --------------------------------------------------------------------------- the whole fetch, over a socket

@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


QUICK = FetchPolicy(attempt_timeout=1.0, max_attempts=1, total_timeout=2.0)


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(provider_id=st.sampled_from(ALL), status=st.sampled_from([200, 201, 400, 401, 402, 404, 418, 429, 500]),
       body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
       encoding=st.sampled_from([None, "gzip", "deflate", "br", "identity, gzip", "gzip, gzip"]),
       compress=st.booleans())
def test_fetch_over_a_socket_with_arbitrary_bodies_gives_a_typed_outcome(shared_server: FakeServer, provider_id: str,
                                                                        status: int, body: bytes,
                                                                        encoding: str | None, compress: bool) -> None:
    headers = {"Content-Type": "application/octet-stream"}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
        if compress:
            for name in [n.strip() for n in encoding.split(",")]:
                body = gzip.compress(body) if name == "gzip" else zlib.compress(body) if name == "deflate" else body
    path = f"/prop{PATHS[provider_id]}"
    shared_server.route(path, Reply(status, body, headers))

    async def go() -> object:
        async with Fetcher(QUICK) as fetcher:
            return await asyncio.wait_for(fetcher.fetch(PROVIDERS[provider_id], shared_server.url + path,
                                                        "sk-prop-key-000", "en"), 5)

    _check_outcome(provider_id, asyncio.run(go()))


# --------------------------------------------------------------------------- the state file

state_shaped = st.fixed_dictionaries({"version": json_values, "accounts": st.dictionaries(
    st.text(max_size=8), st.fixed_dictionaries({}, optional={
        "last_good": json_values | st.fixed_dictionaries({
            "remaining": json_values | st.sampled_from(["12", "NaN", "1e999999999", "-5", "sNaN"]),
            "fetched_at": json_values | st.sampled_from(["2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05"]),
        }, optional={"used": json_values, "total": json_values, "unlimited": json_values, "unit": json_values}),
        "auth_alerted": json_values,
    }), max_size=3)})


def _imports_or_skips(state: Path) -> dict[str, Reading]:
    store = HistoryStore(state.parent / "history.sqlite3", legacy_state=state)
    try:
        latest = store.latest_good()
        memories = store.alert_memory("tray")
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    for account_id, reading in latest.items():
        assert isinstance(account_id, str)
        assert reading.fetched_at.tzinfo is not None
        for value in (reading.remaining, reading.used, reading.total):
            assert value is None or value.is_finite()
    assert all(isinstance(m, AlertMemory) for m in memories.values())
    return latest


@SETTINGS
@given(raw=st.binary(max_size=500) | state_shaped.map(lambda v: json.dumps(v).encode()))
@example(raw=b"[" * 100_000)
@example(raw=b'{"accounts": {"a": {"last_good": {"remaining": "1", "fetched_at": "9999-12-31T23:59:59+14:00"}}}}')
def test_old_state_file_with_any_content_is_imported_entry_by_entry_and_kept(tmp_path: Path, raw: bytes) -> None:
    folder = tmp_path / str(uuid.uuid4())
    folder.mkdir()
    state = folder / "state.json"
    state.write_bytes(raw)
    _imports_or_skips(state)
    # Whatever it held, it is kept aside byte for byte, never deleted and never read twice.
    assert not state.exists()
    assert (folder / "state.json.imported").read_bytes() == raw


# --------------------------------------------------------------------------- the config file

toml_scalars = st.sampled_from(['"ten"', "10", "1e3", "nan", "inf", "-1", "true", "[]", "{}", "[1, 2]",
                                '"https://x.example"', "1979-05-27", '""', "0.5", "1440", "1441"])
config_lines = st.lists(st.tuples(st.sampled_from(["refresh_minutes", "notifications", "language", "icon_number",
                                                   "accounts", "id", "provider", "thresholds", "base_url", "enabled",
                                                   "[[accounts]]", "[accounts]"]), toml_scalars), max_size=8)


@SETTINGS
@given(raw=st.binary(max_size=300)
       | config_lines.map(lambda ls: "\n".join(k if k.startswith("[") else f"{k} = {v}" for k, v in ls).encode()))
@example(raw=b"\x00\x01\x02\xff")
@example(raw=b'refresh_minutes = 10\n[[accounts]]\nid = "x')
def test_config_file_with_any_content_loads_or_is_a_config_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    problem: ConfigFileError | None = None
    try:
        config = load(path)
    except ConfigFileError as exc:
        problem = exc
    if problem is None:
        assert isinstance(config, Config)
    else:
        assert str(problem).startswith(str(path))
        assert "\n" not in str(problem)
    assert path.read_bytes() == raw


# --------------------------------------------------------------------------- the log redaction

keys = st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=4, max_size=60).filter(
    # A key that is itself part of the marker ("[red") would be found in every redacted line.
    lambda k: k[:FRAGMENT] not in REDACTED and k[-FRAGMENT:] not in REDACTED)


@SETTINGS
@given(key=keys, before=st.text(max_size=40), after=st.text(max_size=40),
       spelling=st.sampled_from(["plain", "json", "repr", "url", "cut"]))
@example(key="sk-live-ABCDEFGHIJKLMNOP", before="truncated: ", after="", spelling="cut")
@example(key='a"b\\c d/e', before="", after="", spelling="json")
def test_redact_leaves_no_recognisable_piece_of_a_key(key: str, before: str, after: str, spelling: str) -> None:
    from urllib.parse import quote

    shown = {"plain": key, "json": json.dumps(key)[1:-1], "repr": repr(key)[1:-1], "url": quote(key, safe=""),
             "cut": key[: max(FRAGMENT, len(key) * 2 // 3)]}[spelling]
    text = f"{before}{shown}{after}"
    out = redact(text, [key])
    width = min(FRAGMENT, len(key))
    assert not any(key[i:i + width] in out for i in range(len(key) - width + 1)), (text, out)
    if len(shown) >= width:
        assert REDACTED in out


@SETTINGS
@given(key=keys, text=st.text(max_size=80))
def test_redact_changes_nothing_without_a_piece_of_the_key(key: str, text: str) -> None:
    width = min(FRAGMENT, len(key))
    spellings = {key, json.dumps(key)[1:-1], repr(key)[1:-1]}
    if any(s[i:i + width] in text for s in spellings for i in range(len(s) - width + 1)):
        return
    from urllib.parse import quote
    if any(s[i:i + width] in text for s in (quote(key, safe=""), quote(key, safe="/"))
           for i in range(len(s) - width + 1)):
        return
    assert redact(text, [key]) == text


@SETTINGS
@given(key=keys, message=st.text(max_size=40), use_args=st.booleans(), with_exception=st.booleans())
def test_redact_filter_scrubs_message_args_and_traceback(key: str, message: str, use_args: bool,
                                                         with_exception: bool) -> None:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "%s: %s" if use_args else f"{message}: {key}",
                               (message, key) if use_args else None, None)
    if with_exception:
        try:
            raise RuntimeError(f"boom {key}")
        except RuntimeError:
            import sys
            record.exc_info = sys.exc_info()
    assert RedactKeys(lambda: [key]).filter(record)
    formatted = logging.Formatter("%(message)s").format(record)
    width = min(FRAGMENT, len(key))
    assert not any(key[i:i + width] in formatted for i in range(len(key) - width + 1)), formatted
