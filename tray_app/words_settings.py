"""Counted words of the Settings window, from the gettext catalogue so English plurals stay right.

Qt's catalogue has no plural rule of our own (the GUI marks no ``%n`` strings), so the few
counted phrases Settings shows come from here, where ``ngettext`` knows "1 day" from "2 days".
"""

from __future__ import annotations

from tray_app.i18n import ngettext


def days_suffix(days: int) -> str:
    """What follows the number in Settings' "Warn before running out: 3 days" box."""
    # TRANSLATORS: after a number in a spin box ("3 days"); keep the leading space.
    return ngettext(" day", " days", days)
