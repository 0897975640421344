"""The persisted memory: survives restarts, and a damaged file never stops the app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tray_app.alerts import AlertMemory
from tray_app.model import Reading
from tray_app.state import StateStore

FETCHED = datetime(2026, 11, 21, 22, 0, 5, tzinfo=UTC)


def test_round_trip_keeps_exact_amounts_and_flags(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    reading = Reading(remaining=Decimal("1234.5"), unit="credits", fetched_at=FETCHED, used=Decimal(7),
                      total=Decimal(2000), subscription_status="past_due", subscription_id="sub_9")
    store.save({"a": AlertMemory(reading, auth_alerted=True), "b": AlertMemory()})
    assert store.load() == {"a": AlertMemory(reading, auth_alerted=True), "b": AlertMemory()}
    on_disk = json.loads((tmp_path / "state.json").read_text())
    assert on_disk["accounts"]["a"]["last_good"]["remaining"] == "1234.5"  # text: no float rounding


def test_update_merges_with_what_another_process_wrote(tmp_path: Path) -> None:
    first, second = StateStore(tmp_path / "state.json"), StateStore(tmp_path / "state.json")
    first.save({"a": AlertMemory(auth_alerted=True), "gone": AlertMemory()})
    second.update({"b": AlertMemory()}, removed=("gone",))
    assert first.load() == {"a": AlertMemory(auth_alerted=True), "b": AlertMemory()}


def test_a_damaged_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for damage in (b"\x00\x01garbage", b'{"accounts": {"a": {"last_good": {"remaining": "NaN"}}}}',
                   b'{"accounts": []}', b'{"accounts": {"a": {"last_good": {"fetched_at": "yesterday"}}}}'):
        path.write_bytes(damage)
        assert StateStore(path).load() == {}
        assert not path.exists()
        assert (tmp_path / "state.json.corrupt").read_bytes() == damage
