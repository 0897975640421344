"""A ``custom`` provider defined in the config, fetched for real from a loopback server.

Each test writes the definition a user would write, lets the real ``Fetcher`` ask the
fake server, and checks both what the server received (method, where the key went) and
what the user would see (a reading, or a typed error naming the field).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakeserver import FakeServer, Reply
from tray_app.config import load
from tray_app.fetch import Fetcher, FetchPolicy
from tray_app.model import Balance, ErrorKind, FetchError, Outcome, Reading
from tray_app.providers import provider_for
from tray_app.providers.base import HttpAnswer, interpret
from tray_app.providers.custom import SpecError, explain, parse_path, schema_markdown, spec_from_table

KEY = "ctk-custom-9Vd3Qp7Lx2Mz5Rt8"
POLICY = FetchPolicy(attempt_timeout=2.0, max_attempts=2, total_timeout=4.0, backoff_base=0.01, backoff_max=0.02,
                     max_retry_wait=0.5, rate_limit_wait=0.01)
PATH = "/v1/balance"
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def fetch(server: FakeServer, table: dict[str, Any], *replies: Reply, key: str = KEY) -> Outcome:
    spec = spec_from_table({"url": server.url + PATH, **table})
    provider = provider_for("custom", spec)
    assert provider is not None
    if replies:
        server.route(PATH, *replies)

    async def run() -> Outcome:
        async with Fetcher(POLICY) as fetcher:
            return await fetcher.fetch(provider, spec.url, key, "en")

    return asyncio.run(run())


def reading(outcome: Outcome) -> Reading:
    assert isinstance(outcome, Reading), outcome
    return outcome


def error(outcome: Outcome, kind: ErrorKind) -> FetchError:
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind is kind, outcome
    assert KEY not in outcome.message
    return outcome


# --------------------------------------------------------------------------- requests

def test_bearer_header_get_and_a_nested_path(server: FakeServer) -> None:
    outcome = fetch(server, {"remaining": "data.wallet.balance", "unit": "USD"},
                    Reply(200, {"data": {"wallet": {"balance": 12.5}}}))
    got = reading(outcome)
    assert (got.remaining, got.unit) == (Decimal("12.5"), "USD")
    [request] = server.requests_to(PATH)
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == b""
    assert request.query == ""


def test_custom_header_with_the_bare_key(server: FakeServer) -> None:
    reading(fetch(server, {"remaining": "credits", "key_header": "X-Api-Key", "key_format": "{key}"},
                  Reply(200, {"credits": 7})))
    [request] = server.requests_to(PATH)
    assert request.headers["x-api-key"] == KEY
    assert "authorization" not in request.headers


def test_key_as_a_query_parameter(server: FakeServer) -> None:
    reading(fetch(server, {"remaining": "credits", "key_query": "api_key"}, Reply(200, {"credits": 7})))
    [request] = server.requests_to(PATH)
    assert request.query == f"api_key={KEY}"
    assert "authorization" not in request.headers


def test_post_with_a_json_body(server: FakeServer) -> None:
    got = reading(fetch(server, {"method": "POST", "body": '{"scope": "team"}', "remaining": "left"},
                        Reply(200, {"left": 3})))
    assert got.remaining == 3
    [request] = server.requests_to(PATH)
    assert (request.method, request.body) == ("POST", b'{"scope": "team"}')
    assert request.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------- reading answers

def test_array_index_filter_and_string_numbers(server: FakeServer) -> None:
    body = {"items": [{"currency": "CNY", "total": "80.00"}, {"currency": "USD", "total": "12.50"}]}
    by_filter = reading(fetch(server, {"remaining": "items[currency=USD].total", "unit": "USD"}, Reply(200, body)))
    assert by_filter.remaining == Decimal("12.5")
    by_index = reading(fetch(server, {"remaining": "items[0].total", "unit": "CNY"}, Reply(200, body)))
    assert by_index.remaining == 80
    from_end = reading(fetch(server, {"remaining": "items[-1].total"}, Reply(200, body)))
    assert from_end.remaining == Decimal("12.5")


def test_remaining_from_limit_and_used_with_a_reset_time(server: FakeServer) -> None:
    got = reading(fetch(server, {"used": "count", "limit": "limit", "resets_at": "reset", "unit": "characters"},
                        Reply(200, {"count": 2500, "limit": 10000, "reset": 1767225600})))
    assert (got.remaining, got.used, got.total) == (7500, 2500, 10000)
    assert got.resets_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_iso_reset_time(server: FakeServer) -> None:
    got = reading(fetch(server, {"remaining": "left", "resets_at": "end"},
                        Reply(200, {"left": 1, "end": "2025-01-31T23:59:59Z"})))
    assert got.resets_at == datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)


def test_several_currencies_are_kept_apart(server: FakeServer) -> None:
    body = {"wallets": [{"cur": "CNY", "amount": "110.00"}, {"cur": "USD", "amount": "5.25"}]}
    table = {"balances": "wallets", "balance_remaining": "amount", "balance_unit": "cur", "unit": "USD"}
    got = reading(fetch(server, table, Reply(200, body)))
    assert (got.remaining, got.unit) == (Decimal("5.25"), "USD")  # the configured main currency
    assert got.balances == (Balance("USD", Decimal("5.25")), Balance("CNY", Decimal(110)))


def test_thousands_of_currencies_are_refused_not_shown(server: FakeServer) -> None:
    body = {"wallets": [{"cur": f"C{i}", "amount": "1"} for i in range(2000)]}
    bad = error(fetch(server, {"balances": "wallets", "balance_remaining": "amount", "balance_unit": "cur"},
                      Reply(200, body)), ErrorKind.BAD_RESPONSE)
    assert bad.message == "wallets has 2000 entries; at most 16 balances are read"


@pytest.mark.parametrize(("body", "unlimited"), [
    ({"limit": None, "left": None, "used": 4}, True),
    ({"limit": -1, "left": -1, "used": 4}, True),
    ({"limit": 100, "left": 96, "used": 4}, False),
])
def test_unlimited_markers(server: FakeServer, body: dict[str, Any], unlimited: bool) -> None:
    got = reading(fetch(server, {"remaining": "left", "used": "used", "limit": "limit", "unlimited": ["null", -1]},
                        Reply(200, body)))
    assert got.unlimited is unlimited
    assert got.used == 4
    assert got.remaining == (None if unlimited else 96)


def test_a_null_limit_is_unlimited_only_when_the_definition_says_so(server: FakeServer) -> None:
    body = {"used": 4, "limit": None}
    said = reading(fetch(server, {"used": "used", "limit": "limit", "unlimited": ["null"]}, Reply(200, body)))
    assert said.unlimited
    bad = error(fetch(server, {"used": "used", "limit": "limit"}, Reply(200, body)), ErrorKind.BAD_RESPONSE)
    assert bad.message == "used or limit is null, so the balance is not known"


def test_envelope_success_check_and_error_message(server: FakeServer) -> None:
    table = {"remaining": "data.balance", "success_path": "code", "success_value": "20000", "error_path": "message"}
    assert reading(fetch(server, table, Reply(200, {"code": 20000, "data": {"balance": "9.5"}}))).remaining == \
        Decimal("9.5")
    refused = error(fetch(server, table, Reply(200, {"code": 30001, "message": "account suspended"})),
                    ErrorKind.REQUEST)
    assert refused.message == "account suspended"


def test_auth_refusal_uses_the_error_message_path(server: FakeServer) -> None:
    table = {"remaining": "balance", "error_path": "error.message"}
    refused = error(fetch(server, table, Reply(401, {"error": {"message": "Invalid API key"}})), ErrorKind.AUTH)
    assert refused.message == "Invalid API key"
    # A 401 from something else (a proxy's HTML page) is not the provider's verdict on the key.
    error(fetch(server, table, Reply(401, "<html>401</html>", {"Content-Type": "text/html"})),
          ErrorKind.BAD_RESPONSE)


@pytest.mark.parametrize(("body", "words"), [
    ({"data": {}}, "data.balance is missing"),
    ({"data": {"balance": None}}, "is null"),
    ({"data": {"balance": True}}, "not a number"),
    ({"data": {"balance": "twelve"}}, "not a number"),
    ({"data": {"balance": "1e999"}}, "not a number"),
    ({"data": {"balance": {"v": 1}}}, "not a number"),
    ({"data": []}, "data is not an object"),
    ([1, 2], "the answer is not an object"),
    ("not json at all", "not JSON"),
    ("<html><body>maintenance</body></html>", "HTML"),
])
def test_a_missing_or_wrong_field_is_bad_response_never_zero(server: FakeServer, body: Any, words: str) -> None:
    bad = error(fetch(server, {"remaining": "data.balance"}, Reply(200, body)), ErrorKind.BAD_RESPONSE)
    assert words in bad.message


def test_deep_nesting_is_refused(server: FakeServer) -> None:
    deep = "[" * 40 + "]" * 40
    bad = error(fetch(server, {"remaining": "x"}, Reply(200, '{"x": 1, "y": ' + deep + "}")), ErrorKind.BAD_RESPONSE)
    assert "nested" in bad.message
    very_deep = "[" * 100_000 + "]" * 100_000
    error(fetch(server, {"remaining": "x"}, Reply(200, very_deep)), ErrorKind.BAD_RESPONSE)


def test_body_over_one_mib_is_refused(server: FakeServer) -> None:
    huge = '{"balance": 1, "pad": "' + "x" * (1024 * 1024) + '"}'
    bad = error(fetch(server, {"remaining": "balance"}, Reply(200, huge)), ErrorKind.BAD_RESPONSE)
    assert "larger than 1024 KiB" in bad.message


def test_statuses_follow_the_shared_rules(server: FakeServer) -> None:
    error(fetch(server, {"remaining": "b"}, Reply(500, {"error": "boom"})), ErrorKind.SERVER)
    error(fetch(server, {"remaining": "b"}, Reply(429, {"error": "slow down"})), ErrorKind.RATE_LIMITED)
    assert reading(fetch(server, {"remaining": "b"}, Reply(402, {"error": "pay"}))).remaining == 0


def test_redirect_to_another_origin_never_carries_the_key(server: FakeServer) -> None:
    with FakeServer() as other:
        other.route(PATH, Reply(200, {"balance": 99}))
        for table in ({"remaining": "balance"}, {"remaining": "balance", "key_query": "key"}):
            bad = error(fetch(server, table, Reply(302, b"", {"Location": other.url + PATH})), ErrorKind.BAD_RESPONSE)
            assert "another host" in bad.message
        assert other.requests == []


def test_a_key_echoed_by_the_server_is_redacted(server: FakeServer) -> None:
    bad = error(fetch(server, {"remaining": "b", "error_path": "msg"}, Reply(401, {"msg": f"bad key {KEY}"})),
                ErrorKind.AUTH)
    assert "[API key]" in bad.message


def test_explain_shows_each_path_and_what_it_found() -> None:
    from tray_app.providers.base import HttpAnswer

    spec = spec_from_table({"url": "https://x.example/b", "remaining": "data.left", "used": "data.gone"})
    rows = explain(spec, HttpAnswer(200, {}, b'{"data": {"left": "12.50"}}'))
    assert rows == [("Remaining", "data.left", "12.50"), ("Used", "data.gone", "✗ data.gone is missing")]


# --------------------------------------------------------------------------- config validation

@pytest.mark.parametrize(("table", "problem"), [
    ("", "[accounts.custom] is missing"),
    ('url = "https://x.example/b"', "custom.remaining is missing"),
    ('remaining = "b"', "custom.url is missing"),
    ('url = "http://x.example/b"\nremaining = "b"', "custom.url must be https"),
    ('url = "https://x.example/b?key=1"\nremaining = "b"', "custom.url may not carry"),
    ('url = "https://x.example/b"\nremaining = "a..b"', "custom.remaining is not a path"),
    ('url = "https://x.example/b"\nremaining = "a[x]"', "custom.remaining is not a path"),
    ('url = "https://x.example/b"\nremaining = "b"\nmethod = "PUT"', "custom.method must be one of GET, POST"),
    ('url = "https://x.example/b"\nremaining = "b"\nbody = "{}"', "custom.body needs method = \"POST\""),
    ('url = "https://x.example/b"\nremaining = "b"\nmethod = "POST"\nbody = "{oops"', "custom.body is not valid"),
    ('url = "https://x.example/b"\nremaining = "b"\nkey_format = "Bearer"', "custom.key_format must contain {key}"),
    ('url = "https://x.example/b"\nremaining = "b"\nkey_header = "Bad Header"', "custom.key_header must be"),
    ('url = "https://x.example/b"\nremaining = "b"\nkey_format = "Bearer {key} ✓"', "custom.key_format must be plain"),
    ('url = "https://x.example/b"\nremaining = "b"\nremainnig = "c"', "custom.remainnig is not a field"),
    ('url = "https://x.example/b"\nremaining = "b"\nsuccess_path = "ok"', "custom.success_value is missing"),
    ('url = "https://x.example/b"\nremaining = "b"\nthresholds = [10, "x"]', "custom.thresholds has 'x'"),
    ('url = "https://x.example/b"\nbalances = "list"', "custom.balances needs balance_remaining"),
    ('url = 5\nremaining = "b"', "custom.url must be text"),
])
def test_config_errors_name_the_field(tmp_path: Path, table: str, problem: str) -> None:
    section = f"[accounts.custom]\n{table}\n" if table else ""
    path = tmp_path / "config.toml"
    path.write_text(f'[[accounts]]\nid = "mine"\nprovider = "custom"\n{section}', encoding="utf-8")
    [account] = load(path).accounts
    assert account.problem is not None
    assert problem in account.problem, account.problem


def test_a_valid_custom_account_loads_with_its_own_provider(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nid = "mine"\nprovider = "custom"\n'
                    '[accounts.custom]\nname = "Acme"\nurl = "https://api.acme.example/v1/balance"\n'
                    'remaining = "data.left"\nunit = "tokens"\nthresholds = [500, 50]\n', encoding="utf-8")
    [account] = load(path).accounts
    assert account.problem is None
    assert account.label == "Acme"
    assert account.thresholds == (500, 50)
    assert account.url == "https://api.acme.example/v1/balance"
    assert account.provider is not None
    assert account.provider.unit == "tokens"


def test_spec_error_is_one_line_naming_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_table({"url": "https://x.example/b", "remaining": "b", "unlimited": "x", "key_query": "a b"})
    assert str(caught.value) == "custom.key_query must be a plain parameter name such as api_key"


# --------------------------------------------------------------------------- the docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "providers" / "custom.md"


def test_the_docs_field_table_is_the_schema() -> None:
    assert schema_markdown() in DOCS.read_text(encoding="utf-8")


def test_every_worked_example_in_the_docs_loads_without_a_problem(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 5
    for n, block in enumerate(blocks):
        path = tmp_path / f"example-{n}.toml"
        path.write_text(block, encoding="utf-8")
        accounts = load(path).accounts
        assert accounts
        assert [a.problem for a in accounts] == [None] * len(accounts), block


# --------------------------------------------------------------------------- any answer at all

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["12.5", "-3", "1e5", "USD", ""]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["data", "balance", "items", "currency", "left", "code", "used"]), children,
                      max_size=5),
    max_leaves=25)
SPECS = st.fixed_dictionaries({"remaining": st.sampled_from(["balance", "data.balance", "items[0].left",
                                                             "items[currency=USD].left", "data.items[-1]"])},
                              optional={"used": st.just("data.used"), "limit": st.just("data.limit"),
                                        "unlimited": st.just(["null", "-1"]), "success_path": st.just("code"),
                                        "success_value": st.just("0"), "error_path": st.just("data.currency"),
                                        "resets_at": st.just("data.left")})
STATUSES = st.sampled_from([200, 201, 204, 302, 400, 401, 402, 403, 404, 418, 429, 500, 503])


@settings(max_examples=400, deadline=None)
@given(body=JSON_VALUES, table=SPECS, status=STATUSES)
def test_any_answer_is_a_reading_or_a_typed_error_never_an_exception(body: Any, table: dict[str, Any],
                                                                      status: int) -> None:
    if "success_path" in table and "success_value" not in table:
        table["success_value"] = "0"
    spec = spec_from_table({"url": "https://x.example/b", **table})
    provider = provider_for("custom", spec)
    assert provider is not None
    outcome = interpret(provider, HttpAnswer(status, {}, json.dumps(body).encode()), "en", NOW)
    assert isinstance(outcome, Reading | FetchError)
    if isinstance(outcome, Reading):
        assert status in (200, 201, 204, 402)
        assert outcome.unlimited or outcome.remaining is not None
        top = table["remaining"].split(".")[0].split("[")[0]
        # A balance is never read out of an answer that lacks the path's first key (no invented 0).
        assert status == 402 or (isinstance(body, dict) and top in body)


#: The answers the docs' worked examples describe, and what the docs say they read as.
DOC_ANSWERS: dict[str, tuple[bytes, str]] = {
    "acme": (b'{"data": {"balance": "42.50"}}', "42.5 USD"),
    "voice": (b'{"character_count": 1200, "character_limit": 10000, "next_character_count_reset_unix": 1738356858}',
              "8800 characters"),
    "envelope": (b'{"code": 20000, "message": "OK", "data": {"totalBalance": "88.88"}}', "88.88 CNY"),
    "search": (b'{"result": {"left": -1, "used": 12}}', "unlimited"),
    "wallets": (b'{"wallets": [{"cur": "CNY", "amount": "110.00"}, {"cur": "USD", "amount": "5.20"}]}',
                "5.2 USD, 110 CNY"),
}


def test_the_worked_examples_read_their_answers_as_the_docs_say(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    checked: list[str] = []
    for block in re.findall(r"```toml\n(.*?)```", text, re.DOTALL):
        path = tmp_path / "example.toml"
        path.write_text(block, encoding="utf-8")
        [account] = load(path).accounts
        checked.append(account.id)
        body, said = DOC_ANSWERS[account.id]
        provider = account.provider
        assert provider is not None
        got = interpret(provider, HttpAnswer(200, {}, body), "en", NOW)
        assert isinstance(got, Reading), (account.id, got)
        if got.unlimited:
            shown = "unlimited"
        elif got.balances:
            shown = ", ".join(f"{b.remaining} {b.unit}" for b in got.balances)
        else:
            shown = f"{got.remaining} {got.unit}"
        assert shown == said, account.id
    assert sorted(checked) == sorted(DOC_ANSWERS)  # every answer above was read from an example in the docs


def test_a_key_hidden_in_json_escapes_never_becomes_a_unit(server: FakeServer) -> None:
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in KEY)  # the key, spelled so a plain search misses it
    body = ('{"wallets": [{"cur": "' + escaped + '", "amount": "1"}, {"cur": "USD", "amount": "2"}],'
            ' "unit": "' + escaped + '"}')
    multi = reading(fetch(server, {"balances": "wallets", "balance_remaining": "amount", "balance_unit": "cur"},
                          Reply(200, body)))
    assert all(KEY not in b.unit for b in multi.balances)
    assert KEY not in multi.unit
    single = reading(fetch(server, {"remaining": "wallets[1].amount", "unit_path": "unit"}, Reply(200, body)))
    assert KEY not in single.unit


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab.[]=0-1 x_")), max_size=30) | st.text(max_size=30))
def test_any_typed_path_is_a_path_or_one_clear_error(text: str) -> None:
    try:
        steps = parse_path(text)
    except ValueError as exc:
        reason = str(exc)
        steps = ()
    else:
        reason = ""
    assert bool(reason) != bool(steps)  # either steps, or a reason the form and the config can show
    assert all((s.key is not None) + (s.index is not None) + (s.match is not None) == 1 for s in steps)
