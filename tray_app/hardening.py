"""Keep API keys out of core dumps.

A crash of a process that holds keys would write them to a core file (with ``ulimit -c
unlimited``, four copies in a 120 MB core), which is often readable by others or sent to a crash
reporter. Once a key may be in memory the process makes itself non-dumpable: no core file, and
on Linux also no ptrace or /proc/PID/mem by other processes of the same user.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: From <linux/prctl.h>.
PR_SET_DUMPABLE = 4


def _prctl_not_dumpable() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _no_core_limit() -> bool:
    try:
        import resource
    except ImportError:  # Windows: no core files; Windows Error Reporting is configured per machine
        return False
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        return False
    return True


def forbid_core_dumps() -> bool:
    """Make this process non-dumpable: PR_SET_DUMPABLE 0 on Linux, else a core size limit of 0.

    The limit is the fallback only because children inherit it (a browser opened for a top-up
    page would lose its crash dumps too); the dumpable flag is this process's alone. True if done.
    """
    done = (sys.platform.startswith("linux") and _prctl_not_dumpable()) or _no_core_limit()
    if not done:
        log.warning("could not turn off core dumps for this process")
    return done
