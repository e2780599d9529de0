"""A patient's ledger events as a sequence that shows itself as a small table.

:meth:`~rfm_retention.loyalty.PointsLedger.history` used to return a bare
tuple of :class:`~rfm_retention.loyalty.Event` records, which printed as one
long line of attrs reprs. :class:`LedgerHistory` is still that tuple (index
it, slice it, compare it with a tuple, loop over it) but prints as a table
at the prompt and as HTML in a notebook, through the one display helper, and
turns into a pandas, Polars or Arrow table (``to_pandas()``, ``to_polars()``, ``to_arrow()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.loyalty._columns import instants, texts
from rfm_retention.loyalty._events import Event

__all__ = ["LedgerHistory"]


class LedgerHistory(Tabular, tuple[Event, ...]):
    """A patient's events in store order: a tuple with a readable display and DataFrame views.

    It follows the library's result convention: ``to_columns()`` typed
    arrays, ``to_rows()`` display strings, ``row_of(key)`` the position of
    the event with that idempotency key (``KeyError`` for an unknown one) and
    ``get(key)`` the :class:`~rfm_retention.loyalty.Event` itself (``None``
    when absent).

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.loyalty import EventKind
        >>> e = Event(key="k1", kind=EventKind.EARN, branch="main", patient_id="p1",
        ...           points=100, at=dt.datetime(2024, 3, 1), actor="award_visits")
        >>> h = LedgerHistory([e])
        >>> h == (e,), len(h)
        (True, 1)
        >>> print(repr(h).splitlines()[0])
        LedgerHistory: 1 rows x 7 columns; events=1; net points=100
        >>> h.to_columns()["points"].tolist(), str(h.to_columns()["at"].dtype)
        ([100], 'datetime64[us]')
        >>> h.row_of("k1"), h.get("k1") == e, h.get("k9")
        (0, True, None)
    """

    __slots__ = ()
    FRAME_CATEGORIES: ClassVar[Sequence[str]] = ("kind",)
    ROW_KEY: ClassVar[str] = "key"
    ROW_KEYS_ORDERED: ClassVar[bool] = False

    def record(self, row: int) -> Event:
        """The event at ``row`` (what :meth:`get` returns for its key)."""
        return self[row]

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """One array per event field: ``seq`` and ``points`` int64, ``at`` and ``expires_at``
        ``datetime64[us]`` (NaT without expiry), the rest text (``kind`` by its value)."""
        n = len(self)
        return {
            "seq": np.fromiter((e.seq for e in self), np.int64, n),
            "at": instants([e.at for e in self]),
            "branch": texts([e.branch for e in self]),
            "patient_id": texts([e.patient_id for e in self]),
            "kind": texts([e.kind.value for e in self]),
            "points": np.fromiter((e.points for e in self), np.int64, n),
            "key": texts([e.key for e in self]),
            "actor": texts([e.actor for e in self]),
            "reason": texts([e.reason for e in self]),
            "reverses": texts([e.reverses for e in self]),
            "expires_at": instants([e.expires_at for e in self]),
            "reward": texts([e.reward for e in self]),
        }

    def _display(self) -> Display:
        columns = {
            "seq": [e.seq for e in self],
            "at": [e.at for e in self],
            "kind": [e.kind for e in self],
            "points": [e.points for e in self],
            "key": [e.key for e in self],
            "actor": [e.actor for e in self],
            "reason": [e.reason or e.reward or e.reverses for e in self],
        }
        figures = {"events": len(self), "net points": sum(e.points for e in self)}
        return Display("LedgerHistory", columns, figures)
