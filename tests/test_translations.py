"""The interface in Simplified Chinese: every string marked, translated and compiled; dates alike in GUI and CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.i18n_scan import scan, scan_file
from tray_app import i18n

ROOT = Path(__file__).resolve().parent.parent

#: Modules whose words are a protocol's, read by programs, not by a person in the app's language.
NOT_TRANSLATED = {
    "tray_app/metrics.py": "Prometheus HELP texts: metric metadata, English by convention",
    "tray_app/nagios.py": "the monitoring-plugin output line that Nagios/Icinga parse",
}


@pytest.fixture
def chinese() -> object:
    assert i18n.set_language("zh"), "the compiled catalogue is missing: run scripts/translations.py compile"
    yield
    i18n.set_language("en")


def test_every_user_visible_string_is_marked_for_translation() -> None:
    unmarked = scan(ROOT / "tray_app", set(NOT_TRANSLATED))
    assert not unmarked, "unmarked user-visible strings:\n" + "\n".join(map(str, unmarked))


def test_the_scanner_reports_unmarked_words_and_passes_marked_ones(tmp_path: Path) -> None:
    module = tmp_path / "tray_app" / "sample.py"
    module.parent.mkdir()
    module.write_text(
        'from tray_app.i18n import _\n'
        'import logging\nlog = logging.getLogger(__name__)\n'
        'def f(name: str) -> str:\n'
        '    """A docstring is never shown."""\n'
        '    log.warning("a log line is not shown either")\n'
        '    ok = _("Balance of {name}").format(name=name)\n'
        '    raise ValueError(f"Cannot read {name}")\n'
        'LABEL = "Refresh now"\n'
        'PRODUCT = "Firecrawl"  # untranslated: a product name\n'
        'BUTTON = "Settings…"\n', encoding="utf-8")
    found = {(u.line, u.text) for u in scan_file(module, tmp_path)}
    assert found == {(8, "f'Cannot read {name}'"), (9, "Refresh now"), (11, "Settings…")}


def test_catalogues_are_complete_finished_and_keep_their_placeholders() -> None:
    """Extracts the code's strings afresh and compares them with i18n/*.po and *.ts (scripts/translations.py)."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "translations.py"), "check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_a_changed_placeholder_and_a_lost_mnemonic() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import translations
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert translations._judge("x", "s", ("{count} left",), ("剩余 {n}",), False)
    assert translations._judge("x", "s", ("&Refresh",), ("刷新",), False)
    assert translations._judge("x", "s", ("Done",), ("",), False)
    assert translations._judge("x", "s", ("Done",), ("完成",), True)  # unfinished
    assert not translations._judge("x", "s", ("{count} left, &Refresh",), ("剩余 {count}，刷新(&R)",), False)


def test_compiled_catalogue_speaks_chinese_and_english_comes_back(chinese: object) -> None:
    assert i18n._("Tue") == "周二"
    i18n.set_language("en")
    assert i18n._("Tue") == "Tue"


def test_interface_language_follows_the_setting_and_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.interface_language("auto") == "zh"
    assert i18n.interface_language("en") == "en"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert i18n.interface_language("auto") == "en"  # no German catalogue: English, not half-German
    assert i18n.interface_language("zh") == "zh"


def test_days_read_the_same_in_the_gui_and_on_the_command_line(qapp: object) -> None:
    """The CLI's rule (catalogue pattern and names) gives what QLocale gives the GUI, every day of a year."""
    from tray_app.ui import i18n as ui_i18n

    try:
        for language in ("en", "zh"):
            assert ui_i18n.apply_language(language) == language
            start = datetime(2026, 1, 1, 12, tzinfo=UTC)
            for offset in range(366):
                moment = start + timedelta(days=offset)
                assert ui_i18n.day_name(moment) == i18n.rule_day_name(moment), (language, moment)
        assert i18n.day_name(datetime(2026, 12, 2, 12, tzinfo=UTC)) == "12月2日周三"
    finally:
        ui_i18n.apply_language("en")


def test_auto_without_locale_variables_asks_the_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app started from Finder or the Start menu has no LANG: the GUI's source (Qt's uiLanguages,
    "zh-Hans-CN") then decides, and a C locale still means English."""
    from tray_app import language

    monkeypatch.setattr(language, "_system_locale", lambda: "zh_Hans_CN")
    assert language.resolve_language("auto", {}) == "zh"
    assert language.resolve_language("auto", {"LANG": "en_GB.UTF-8"}) == "en"  # a variable still wins
    monkeypatch.setattr(language, "_system_locale", lambda: "C")
    assert language.resolve_language("auto", {}) == "en"


def test_the_gui_installs_qt_as_the_source_of_the_desktop_language(qapp: object) -> None:
    from PySide6.QtCore import QLocale

    from tray_app import language
    from tray_app.ui import i18n as ui_i18n

    assert language._system_locale is ui_i18n._qt_system_locale
    assert ui_i18n._qt_system_locale() == QLocale.system().uiLanguages()[0].replace("-", "_")
