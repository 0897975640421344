"""The tray's rotating log file, with every known API key scrubbed from every record."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable, Iterable
from pathlib import Path

LOG_NAME = "credit-tray.log"
REDACTED = "[redacted]"


class RedactKeys(logging.Filter):
    """Replaces any stored key in a record's final text (message, args and traceback alike)."""

    def __init__(self, known_keys: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._known_keys = known_keys

    def filter(self, record: logging.LogRecord) -> bool:
        keys = [k for k in self._known_keys() if len(k) >= 4]
        if not keys:
            return True
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for key in keys:
            text = text.replace(key, REDACTED)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(key, REDACTED)
        record.msg, record.args = text, None
        return True


def setup_file_logging(folder: Path, known_keys: Callable[[], Iterable[str]], *, level: int = logging.INFO) -> Path:
    """Log to ``folder/credit-tray.log`` (1 MiB × 3); returns the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1024 * 1024, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactKeys(known_keys))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line at INFO; URLs carry no key, but the noise helps nobody.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path
