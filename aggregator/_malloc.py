"""Fewer malloc arenas for this process (glibc): called first thing by the command line.

glibc gives each thread that allocates its own arena, up to eight per core, and memory freed in
one arena serves no other. The store's thread and the pool's threads each touch megabytes of
pages and records: with two arenas a cold poll of benchmarks/farm.py's 200 feeds peaked at
58.5-59.5 MB PSS in its main process instead of 61-63 MB. Elsewhere (musl, macOS) this does
nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def fewer_arenas() -> None:
    """Limit glibc's malloc arenas to ``ARENAS`` (before threads start: an arena once made
    stays), unless MALLOC_ARENA_MAX says otherwise."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        # The process's own symbols, libc's among them (find_library would run ldconfig).
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a libc without mallopt (musl)
        return
    mallopt(_M_ARENA_MAX, ARENAS)
