"""The History window's counted phrases, Qt-free: gettext's ngettext keeps English plurals right
(Qt's ``%n`` plurals would need a numerus entry per language). The window calls these when it shows them."""

from __future__ import annotations

from tray_app.i18n import ngettext


def top_ups_in_range(count: int) -> str:
    """'1 top-up in this range.' / '3 top-ups in this range.'"""
    return ngettext("{count} top-up in this range.", "{count} top-ups in this range.", count).format(count=count)


def exported_readings(count: int, path: str) -> str:
    """What an export wrote, and where."""
    return ngettext("Exported {count} reading to {path}", "Exported {count} readings to {path}", count).format(
        count=count, path=path)
