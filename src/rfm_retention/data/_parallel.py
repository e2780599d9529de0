"""Row ranges of a large table worked on two threads at once.

Building a table of millions of rows is bound by memory, not arithmetic: a
pass waits on memory for most of its rows, and one core keeps only so many
reads in flight. numpy releases the GIL inside sorts, gathers and ufuncs on
large arrays, so a second thread working on the other half of the rows
overlaps those waits and the build's wall time drops while its CPU time stays
the same. Small tables (their arrays in the cache, a build of milliseconds)
stay on the calling thread, and so does every table while the machine has no
idle core: two threads time-sliced on one busy core only wait for each other.
Whether a core is idle is read at that instant, from the count of threads
running or waiting for a core (Linux's ``/proc/loadavg``), not from the load
average, which lags a minute behind: after a multithreaded step (a CSV read,
another engine) the average still counts work that has ended. Where the count
cannot be read, a load average below the core count less a half says so, as
``make -l`` reads it.

The pool is created once, on first use (again in a forked child), with one
worker: the calling thread does one half, the worker the other. ``RFM_RETENTION_THREADS=1`` in the
environment keeps every build on the calling thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["PARALLEL_ROWS", "halves", "split_rows"]

T = TypeVar("T")

PARALLEL_ROWS = 1 << 21
"""Tables from this many rows split their big passes over two threads (below it the
arrays fit in the cache and a pass takes about a millisecond)."""

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _cores() -> int:
    """The cores this process may use, 1 when threads are switched off."""
    if os.environ.get("RFM_RETENTION_THREADS", "").strip() == "1":
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _running_now() -> int | None:
    """Threads running or waiting for a core at this instant, machine-wide, the caller
    included (the fourth field of Linux's ``/proc/loadavg``); None where it cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as handle:
            return int(handle.read().split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _spare_core() -> bool:
    """Whether a second thread would find a core of its own: two or more cores and fewer
    threads running right now than cores (the caller is one of them); where that count
    cannot be read, a load average below the core count less a half."""
    cores = _cores()
    if cores < 2:
        return False
    running = _running_now()
    if running is not None:
        return running < cores
    try:
        return os.getloadavg()[0] < cores - 0.5
    except (AttributeError, OSError):  # no load average on this system
        return True


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rfm_retention")
        return _POOL


def _forget_pool() -> None:
    """In a forked child: the parent's worker thread does not exist there, so the child
    makes its own pool when it first needs one (a fresh lock too: the parent's may have
    been held at the fork)."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def halves(n: int, align: int = 1) -> list[tuple[int, int]]:
    """``[(0, n)]``, or two ranges splitting ``0 .. n`` at a multiple of ``align`` when ``n``
    is large enough to be worth a second thread and a core is idle.

    Example:
        >>> halves(10)
        [(0, 10)]
    """
    middle = (n // 2) // align * align
    if n < PARALLEL_ROWS or middle == 0 or not _spare_core():
        return [(0, n)]
    return [(0, middle), (middle, n)]


def split_rows(ranges: list[tuple[int, int]], work: Callable[[int, int], T]) -> list[T]:
    """``work(start, stop)`` for each range (from :func:`halves`), the first on a second
    thread, the last on this one; the results in range order.

    Example:
        >>> split_rows([(0, 2), (2, 5)], lambda start, stop: stop - start)
        [2, 3]
    """
    if len(ranges) == 1:
        return [work(*ranges[0])]
    others = [_pool().submit(work, *r) for r in ranges[:-1]]
    last = work(*ranges[-1])
    return [*(f.result() for f in others), last]

