"""Crash-safe file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tray_app.i18n import _


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


#: How long a writer waits for another one to finish with the same file.
LOCK_TIMEOUT_S = 5.0


class FileBusy(Exception):
    """Another process held the file's lock for longer than we were willing to wait."""

    def __init__(self, path: Path, waited: float) -> None:
        self.path, self.waited = path, waited
        super().__init__(_("{path} is being changed by another program (waited {seconds} s)").format(
            path=path, seconds=f"{waited:g}"))


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock on a hidden lock file beside ``path`` for one read-modify-write.

    Every writer of ``path`` takes it, so two processes never both read the old file and
    each write back only their own change. The lock file is removed again on POSIX; a
    waiter that locked a file already removed (its inode no longer at the name) tries again.
    """
    name = lock_path(path)
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if _try_lock(fd):
                if _still_named(fd, name):
                    break
                _unlock(fd)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if time.monotonic() >= deadline:
            raise FileBusy(path, timeout)
        time.sleep(0.02)
    try:
        yield
    finally:
        if os.name == "posix":
            with contextlib.suppress(OSError):
                os.unlink(name)  # while still locked: a waiter on this inode sees it gone and retries
        _unlock(fd)
        os.close(fd)


def _still_named(fd: int, name: Path) -> bool:
    if os.name != "posix":
        return True  # the lock file is never removed there
    try:
        on_disk = os.stat(name)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
