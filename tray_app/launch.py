"""The ``credit-tray`` command's entry point: the tray starts without loading the command line.

Starting the tray happens at every login, and its icon should appear as soon as a bare Qt
tray's would. ``tray_app.cli`` imports what its scripting commands need (argparse's parser
for every command, the config writer, the engine); the tray loads those itself once its icon
shows. So a start with no command (at most ``--config PATH`` and ``--demo``) goes straight to
the tray, and everything else, including any mistake on the command line or in the places
where files go, is handled by ``tray_app.cli.main`` as before.
"""

from __future__ import annotations

import contextlib
import importlib.util
import locale
import sys
from collections.abc import Sequence
from pathlib import Path


def tray_options(args: Sequence[str]) -> tuple[Path | None, bool] | None:
    """(config path, demo) when ``args`` only start the tray; None for anything else."""
    config: Path | None = None
    demo = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo":
            demo = True
        elif arg == "--config" and rest and rest[0] and not rest[0].startswith("-"):
            config = Path(rest.pop(0))
        elif arg.startswith("--config=") and len(arg) > len("--config="):
            config = Path(arg.removeprefix("--config="))
        else:
            return None
    return config, demo


def _tray_can_start(config: Path | None, demo: bool) -> bool:
    """The checks ``cli.main`` makes before starting the tray; if one fails, the command line says why."""
    from tray_app import paths

    try:
        if config is not None and not demo and not config.exists():
            return False
        if config is None:
            paths.config_file()
        paths.data_dir()
        paths.log_dir()
    except Exception:
        return False
    # A build without Qt cannot show a tray: the command line explains. Looked up, not imported:
    # only tray_app.ui imports PySide6.
    return importlib.util.find_spec("PySide6") is not None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = tray_options(args)
    if options is None or not _tray_can_start(*options):
        from tray_app.cli import main as cli_main

        return cli_main(args)
    from tray_app.hardening import forbid_core_dumps

    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_ALL, "")
    forbid_core_dumps()  # the tray reads keys: no core file may hold one
    from tray_app.ui.app import run

    try:
        return run(config_path=options[0], demo=options[1])
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # worded as tray_app.cli.main words it
        from tray_app import APP_ID
        from tray_app.safetext import for_terminal

        where = for_terminal(str(exc.filename or ""))
        sys.stderr.write(f"{APP_ID}: {exc.strerror or type(exc).__name__}: {where}".rstrip() + "\n")
        return 78 if exc.filename and str(exc.filename).endswith(".toml") else 70
    except Exception as exc:
        from tray_app import APP_ID
        from tray_app.i18n import _

        sys.stderr.write(_("{program}: internal error ({error}); please report it").format(
            program=APP_ID, error=type(exc).__name__) + "\n")
        return 70


def main_gui() -> int:
    return main([])
