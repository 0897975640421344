"""Crash-safe file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write to a temp file beside ``path``, fsync it, rename over ``path``, fsync the folder.

    ``mode`` applies only to a new file; an existing file keeps the permissions its
    owner gave it. A missing folder is created private (0700).
    """
    private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o777
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def private_dir(folder: Path, *, tighten: bool = False) -> Path:
    """Create ``folder``, and any missing folder above it, 0700 whatever the umask (as the XDG base
    directory spec asks): they hold labels, balances and provider messages that other local users
    have no business reading. With ``tighten``, an existing ``folder`` of ours that others may enter
    becomes 0700 too (one made by an older version)."""
    missing = [f for f in (folder, *folder.parents) if not f.is_dir()]
    for each in reversed(missing):
        try:
            each.mkdir(mode=0o700)
        except FileExistsError:
            continue
        if os.name == "posix":
            os.chmod(each, 0o700)  # mkdir's mode is cut by the umask; 0700 is what we want whatever it is
    if os.name == "posix" and tighten and folder not in missing:
        info = folder.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            os.chmod(folder, 0o700)
    return folder


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; MoveFileEx is durable enough there.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
