"""Retrying a transaction that lost a lock race, with backoff, then a clear error.

Under contention a database may refuse a transaction it could not serialise
(SQLite: the write lock was still held when the busy timeout ran out;
PostgreSQL: a serialisation failure or a deadlock). Such a transaction wrote
nothing, so running it again is always safe. Stores raise :class:`Busy`;
:func:`retrying` runs the whole unit again after a growing, jittered pause and,
when the attempts run out, raises the caller's library error with a hint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from rfm_retention.errors import RFMRetentionError

__all__ = ["Busy", "retrying"]

T = TypeVar("T")

ATTEMPTS = 12
"""How many times a refused transaction is tried before the error reaches the caller."""

_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 1.0


class Busy(Exception):
    """A transaction refused because another one held the data; it wrote nothing.

    Internal: raised by a store, caught by :func:`retrying`. ``where`` names
    the database (a file path or a server address without password).
    """

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"{where}: {detail}")


def retrying(unit: Callable[[], T], *, error: type[RFMRetentionError],
             attempts: int = ATTEMPTS) -> T:
    """Run ``unit`` until it does not raise :class:`Busy` (at most ``attempts`` times).

    Example:
        >>> from rfm_retention.errors import LedgerError
        >>> retrying(lambda: 42, error=LedgerError)
        42
    """
    pause = _FIRST_PAUSE
    for attempt in range(1, attempts + 1):
        try:
            return unit()
        except Busy as busy:
            if attempt == attempts:
                raise error(
                    f"{busy.where}: the database stayed busy through {attempts} attempts "
                    f"({busy.detail}); nothing was written.\nHint: another program holds a "
                    "long transaction on it; retry later with the same key."
                ) from None
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, _LONGEST_PAUSE)
    raise AssertionError("unreachable")  # pragma: no cover
