"""A patient's ledger events as a sequence that shows itself as a small table.

:meth:`~rfm_retention.loyalty.PointsLedger.history` used to return a bare
tuple of :class:`~rfm_retention.loyalty.Event` records, which printed as one
long line of attrs reprs. :class:`LedgerHistory` is still that tuple (index
it, slice it, compare it with a tuple, loop over it) but prints as a table
at the prompt and as HTML in a notebook, through the one display helper.
"""

from __future__ import annotations

from rfm_retention._display import Display
from rfm_retention.loyalty._events import Event

__all__ = ["LedgerHistory"]


class LedgerHistory(tuple[Event, ...]):
    """A patient's events in store order: a tuple with a readable display.

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
    """

    __slots__ = ()

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

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()
