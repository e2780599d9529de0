"""Every account of one branch at once: the figures a report or a notebook tabulates.

:meth:`~rfm_retention.loyalty.PointsLedger.balance` answers for one patient;
:meth:`~rfm_retention.loyalty.PointsLedger.balances` gives every account of the
branch as columns (one row per patient, ids in sorted order), shown as a table
and a DataFrame away (``to_pandas()``, ``to_polars()``, ``to_arrow()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.loyalty._columns import texts

__all__ = ["Balances"]

_FIGURES = ("balance", "available", "debt", "n_events")


@attrs.frozen(eq=False, repr=False)
class Balances(Tabular):
    """Balance, available points, debt and event count of every account of a branch.

    It follows the library's result convention: ``to_columns()`` typed
    arrays, ``to_rows()`` display strings, ``row_of(patient_id)``
    (``KeyError`` for a patient without an account) and ``get(patient_id)``
    that account's figures (``None`` without an account).

    Attributes:
        branch: the ledger's branch.
        patient_id: the patients (text, as the ledger keeps them), sorted.
        balance: ``available - debt`` per patient.
        available: points that can be spent now.
        debt: points owed from reversed, already spent earns.
        n_events: events of the account.

    Example:
        >>> b = Balances.of("main", {"p2": (50, 50, 0, 1), "p1": (-20, 0, 20, 3)})
        >>> b.patient_id.tolist(), b.balance.tolist()
        (['p1', 'p2'], [-20, 50])
        >>> b.to_columns()["debt"].tolist()
        [20, 0]
        >>> b.get("p2")["available"], b.get("p9")
        (50, None)
    """

    branch: str
    patient_id: npt.NDArray[np.str_]
    balance: npt.NDArray[np.int64]
    available: npt.NDArray[np.int64]
    debt: npt.NDArray[np.int64]
    n_events: npt.NDArray[np.int64]

    @classmethod
    def of(cls, branch: str, figures: Mapping[str, tuple[int, int, int, int]]) -> Balances:
        """From ``{patient: (balance, available, debt, n_events)}`` (patients sorted)."""
        ids = sorted(figures)
        values = np.array([figures[p] for p in ids], dtype=np.int64).reshape(len(ids), 4)
        return cls(branch, texts(ids), *(values[:, k].copy() for k in range(4)))

    def __len__(self) -> int:
        return len(self.patient_id)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``patient_id`` (text) and the four figures (int64), one row per account."""
        return {"patient_id": self.patient_id,
                **{name: getattr(self, name) for name in _FIGURES}}

    def _display(self) -> Display:
        figures = {"branch": self.branch, "accounts": len(self),
                   "balance": int(self.balance.sum()), "debt": int(self.debt.sum())}
        return Display("Balances", self.to_columns(), figures)
