"""The tray's rotating log file, with every known API key scrubbed from every record."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from tray_app.fileio import private_dir

LOG_NAME = "credit-tray.log"
REDACTED = "[redacted]"
#: A run of this many characters of a key (or the whole key, if shorter) counts as the key: a key cut
#: short ("sk-live-abcdef…") or glued to other text must not survive in a log either.
FRAGMENT = 12
#: Keys shorter than this are not searched for: they would match ordinary words.
MIN_KEY = 4


def _spellings(key: str) -> set[str]:
    """The key as it may appear in text: as is, URL-encoded, escaped by repr or JSON."""
    forms = {key, quote(key, safe=""), quote(key, safe="/"), json.dumps(key)[1:-1], repr(key)[1:-1],
             key.encode("unicode_escape").decode("ascii")}
    return {form for form in forms if len(form) >= MIN_KEY}


def redact(text: str, keys: Iterable[str], *, marker: str = REDACTED) -> str:
    """``text`` with every spelling of every key, and every long enough piece of one, replaced by ``marker``."""
    covered = bytearray(len(text))
    for key in keys:
        if len(key) < MIN_KEY:
            continue
        for form in _spellings(key):
            width = min(FRAGMENT, len(form))
            for piece in {form[i:i + width] for i in range(len(form) - width + 1)}:
                at = text.find(piece)
                while at >= 0:
                    covered[at:at + width] = b"\x01" * width
                    at = text.find(piece, at + 1)
    if not any(covered):
        return text
    out: list[str] = []
    run = False
    for char, hidden in zip(text, covered, strict=True):
        if hidden and not run:
            out.append(marker)
        elif not hidden:
            out.append(char)
        run = bool(hidden)
    return "".join(out)


class RedactKeys(logging.Filter):
    """Replaces any stored key in a record's final text (message, args, traceback and stack alike)."""

    def __init__(self, known_keys: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._known_keys = known_keys

    def filter(self, record: logging.LogRecord) -> bool:
        keys = [k for k in self._known_keys() if len(k) >= MIN_KEY]
        if not keys:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown, safely
            text = f"{record.msg!s} {record.args!r}"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(text, keys), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, keys)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, keys)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens the log (and each new one after a rotation) 0600 whatever the umask: it holds labels,
    balances and provider messages. A log left 0644 by an older version is made 0600 too."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


class _LogFile(PrivateRotatingFileHandler):
    """The log file; when it cannot be written (disk full, read-only), says so once and stops.

    Python's default is a 'Logging error' traceback on stderr for every record: on a full
    disk that was some 150 lines per start, and more every refresh.
    """

    stopped = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.stopped:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        problem = sys.exc_info()[1]
        if not isinstance(problem, OSError):
            super().handleError(record)  # a bug in a log call: Python's own report
            return
        if self.stopped:
            return
        self.stopped = True
        reason = problem.strerror or type(problem).__name__
        with contextlib.suppress(Exception):  # no stderr either (a windowed build): nothing left to tell
            from tray_app.i18n import _

            sys.stderr.write(_("{program}: cannot write the log {path} ({reason}); logging stopped").format(
                program="credit-tray", path=self.baseFilename, reason=reason) + "\n")  # untranslated: the name


def setup_file_logging(folder: Path, known_keys: Callable[[], Iterable[str]], *, level: int = logging.INFO) -> Path:
    """Log to ``folder/credit-tray.log`` (1 MiB × 3); returns the file's path.

    If the file cannot be opened, warnings and errors go to stderr instead, scrubbed the
    same way (Python's last-resort handler would print them raw), and the OSError is raised.
    """
    root = logging.getLogger()
    try:
        private_dir(folder, tighten=True)
        path = folder / LOG_NAME
        handler: logging.Handler = _LogFile(path, maxBytes=1024 * 1024, backupCount=3, encoding="utf-8")
    except OSError:
        fallback = logging.StreamHandler(sys.stderr)
        fallback.setLevel(logging.WARNING)
        fallback.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        fallback.addFilter(RedactKeys(known_keys))
        root.addHandler(fallback)
        raise
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactKeys(known_keys))
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line at INFO: noise, and a custom provider may send its key in the query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path
