"""Balances of any magnitude read as numbers: no "1000T" on the icon, no "1E-7" or "0.0000" in words.

A property test over magnitudes from 10^-40 to 10^40 for the icon's compact number and
the full text, then the same extremes as a user meets them: a provider answering 1E-7 or
10^15, shown by ``check`` and in the tray's menu.
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakeserver import FakeServer, Reply
from tests.reliability_support import route_for, store_keys, write_config
from tests.reliability_tray import MakeTray, make_tray, rows, start  # noqa: F401
from tray_app import texts
from tray_app.ui.icons import IconFactory, IconState

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d|inf|nan", re.IGNORECASE)
ZERO = re.compile(r"^[<>]?-?0([.,]0*)?$")

magnitudes = st.builds(lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
                       st.integers(-10**9, 10**9), st.integers(-40, 40))


@given(magnitudes)
def test_the_icon_number_fits_its_budget_and_reads_as_a_number(value: Decimal) -> None:
    text = texts.compact_number(value)
    assert len(text) <= texts.COMPACT_BUDGET + (value < 0), (value, text)
    assert not SCIENTIFIC.search(text), (value, text)
    if value != 0:
        assert not ZERO.match(text), (value, text)
        assert text.startswith(("-", ">-")) == (value < 0), (value, text)


@given(magnitudes)
def test_the_full_number_is_plain_digits_close_to_the_amount(value: Decimal) -> None:
    text = texts.readable_number(value)
    assert not SCIENTIFIC.search(text), (value, text)
    assert len(text) <= 32, (value, text)
    if value != 0:
        assert not ZERO.match(text.lstrip("<>")), (value, text)
    if not text.startswith(("<", ">")):  # within the bounds the digits are the amount, to 8 decimals
        shown = Decimal(text.replace(",", ""))
        assert abs(shown - value) <= texts.SMALLEST / 2, (value, text)


def test_the_icon_number_at_its_edges() -> None:
    cases = {"1E+15": "huge", "999.4E+12": "999T", "0.3": "0.3", "1E-7": "<0.1", "-1E-7": ">-0.1", "0.96": "1.0"}
    assert {value: texts.compact_number(Decimal(value)) for value in cases} == cases


EXTREMES = [("tiny", "meowload", 1e-07, "0.0000001 credits (below 100)"),
            ("vast", "sociavault", 1e15, "1,000,000,000,000,000 credits")]


def _accounts(server: FakeServer) -> list[dict[str, str]]:
    server.route(route_for("tiny", "meowload"), Reply(200, b'{"availableCredits": 1E-7}'))
    server.route(route_for("vast", "sociavault"),
                 Reply(200, b'{"credits": 1000000000000000, "subscriptionStatus": "active"}'))
    return [{"id": account_id, "provider": provider, "base_url": f"{server.url}/{account_id}"}
            for account_id, provider, _, _ in EXTREMES]


def test_check_prints_extreme_balances_in_plain_digits(isolated_env: dict[str, str], tmp_path: Path,
                                                       server: FakeServer) -> None:
    config = write_config(tmp_path / "config.toml", _accounts(server))
    store_keys({"tiny": "sk-numbers-0001", "vast": "sk-numbers-0002"})
    proc = subprocess.run([sys.executable, "-m", "tray_app", "--config", str(config), "check"], env=isolated_env,
                          capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the tiny one is low
    lines = proc.stdout.splitlines()
    assert "0.0000001 credits" in lines[1], lines
    assert "1,000,000,000,000,000 credits" in lines[2], lines
    assert not SCIENTIFIC.search(proc.stdout), proc.stdout


def test_the_menu_shows_extreme_balances_in_plain_digits(qtbot, make_tray: MakeTray,  # noqa: F811
                                                         tmp_path: Path, server: FakeServer) -> None:
    config = write_config(tmp_path / "config.toml", _accounts(server), icon_number=True)
    store_keys({"tiny": "sk-numbers-0001", "vast": "sk-numbers-0002"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert rows(controller) == [f"MeowLoad — {EXTREMES[0][3]}", f"SociaVault — {EXTREMES[1][3]}"]
    assert controller.tray.toolTip().splitlines()[0] == f"MeowLoad: {EXTREMES[0][3]}"


@pytest.mark.parametrize(("value", "shown", "state"), [("1E-7", "<0.1", IconState.LOW),
                                                      ("1E+15", "huge", IconState.OK)])
def test_the_icon_draws_the_number_for_the_lowest_balance(qtbot, make_tray: MakeTray,  # noqa: F811
                                                          tmp_path: Path, server: FakeServer,
                                                          value: str, shown: str, state: IconState) -> None:
    server.route(route_for("one", "meowload"), Reply(200, f'{{"availableCredits": {value}}}'.encode()))
    config = write_config(tmp_path / "config.toml", [{"id": "one", "provider": "meowload",
                                                      "base_url": f"{server.url}/one"}], icon_number=True)
    store_keys({"one": "sk-numbers-0003"})
    controller = make_tray(config)
    start(qtbot, controller)
    assert controller.icon_state() is state
    for size in (16, 32):
        drawn = controller.tray.icon().pixmap(size, size).toImage()
        assert drawn == IconFactory().pixmap(state, size, shown).toImage(), size
        assert drawn != IconFactory().pixmap(state, size, "0").toImage(), size  # the number is in the picture
