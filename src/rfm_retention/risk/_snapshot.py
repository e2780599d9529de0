"""The data as of one scan (or backtest) date, built once and read by every indicator.

A scan runs a dozen indicators over the same bundle at the same instant.
Several need the same derived tables: each patient's visit features, each
source's row-to-patient positions, a source's rows up to the instant grouped
by patient. A :class:`Snapshot` is the bundle *at* that instant and holds
them, each computed the first time an indicator asks. The scan, the panel
and the backtest build one per date and pass it to the indicators as their
``data`` (a snapshot *is* a :class:`~rfm_retention.data.PatientData`, so a
host's indicator written against the bundle reads it unchanged).

Nothing is remembered anywhere else: a plain bundle handed to an indicator
is read afresh, and dropping the snapshot drops what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import attrs
import numpy as np

from rfm_retention._arrays import IntArray
from rfm_retention._memo import Memo
from rfm_retention.data import PatientData
from rfm_retention.errors import ConfigError
from rfm_retention.features import PatientFeatures, patient_features
from rfm_retention.time import TimeLike, as_instant

__all__ = ["Snapshot"]

T = TypeVar("T")


@attrs.frozen(eq=False)
class Snapshot(PatientData):
    """A :class:`~rfm_retention.data.PatientData` bundle as of one instant.

    Build it with :meth:`of`; pass it wherever a bundle goes. Indicators
    judging at :attr:`instant` share what it holds.

    Attributes:
        instant: the instant judged (naive UTC ``datetime64[s]``; a date means
            the end of that day).

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1, 2], amount=[10, 20, 30],
        ...     visit_time=["2024-01-01", "2024-02-01", "2024-01-15"])
        >>> snap = Snapshot.of(PatientData(visits=log), "2024-03-01")
        >>> features, where = snap.visit_features()
        >>> features.total_visits.tolist(), snap.visit_features()[0] is features
        ([2, 1], True)
    """

    instant: np.datetime64 = attrs.field(kw_only=True, converter=as_instant)
    _memo: Memo = attrs.field(factory=Memo, init=False, repr=False)

    @classmethod
    def of(
        cls, data: PatientData, as_of: TimeLike, *, features: PatientFeatures | None = None
    ) -> Snapshot:
        """``data`` as of ``as_of``; ``data`` itself when it already is that snapshot.

        The tables, patient universe and row positions are shared with
        ``data`` (nothing is copied). ``features`` are visit features already
        computed for ``as_of`` (for example by ``patient_features`` on a
        dataframe engine, with the default all-history window): the indicators
        read them instead of aggregating the visits again. They must be the
        features of these visits at this instant; their date, window and
        patients are checked.
        """
        instant = as_instant(as_of)
        if isinstance(data, Snapshot) and data.instant == instant and features is None:
            return data
        snap = object.__new__(cls)
        for field in attrs.fields(PatientData):
            object.__setattr__(snap, field.name, getattr(data, field.name))
        object.__setattr__(snap, "instant", instant)
        object.__setattr__(snap, "_memo", Memo())
        if features is not None:
            given = snap._checked(features)
            snap.remember("visit_features", lambda: given)
        return snap

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value derived under ``key`` at this instant, computed the first time it is asked."""
        return self._memo.get(key, compute)

    def positions(self, source: str) -> IntArray:
        """For each row of ``source``, its patient's position in :attr:`patients` (read only)."""
        return self.remember(("positions", source), lambda: self._positions(source))

    def _positions(self, source: str) -> IntArray:
        table: Any = getattr(self, source)
        ids = table.patient_ids
        if ids.shape == self.patients.shape and np.array_equal(ids, self.patients):
            positions: IntArray = table.patient_index  # every patient: the table's own index
        else:
            positions = self.rows_of(source)
            positions.flags.writeable = False
        return positions

    def visit_features(self) -> tuple[PatientFeatures, IntArray]:
        """Visit features as of :attr:`instant`, and each feature row's position in the patients."""
        return self.remember("visit_features", self._visit_features)

    def _visit_features(self) -> tuple[PatientFeatures, IntArray]:
        return self._placed(patient_features(self.visits, self.instant))

    def _checked(self, features: PatientFeatures) -> tuple[PatientFeatures, IntArray]:
        """Given ``features`` placed in the patients, after checking they fit this snapshot."""
        day = self.instant.astype("datetime64[D]")
        if features.as_of.astype("datetime64[D]") != day or features.window_days is not None:
            raise ConfigError(
                f"Snapshot.of: the features are as of {features.as_of.astype('datetime64[D]')} "
                f"with window "
                f"{features.window_days}; the snapshot needs all-history features as of {day}"
            )
        unknown = ~np.isin(features.patient_id, self.patients)
        if unknown.any():
            raise ConfigError(
                "Snapshot.of: features for patient(s) not in the data, e.g. "
                f"{features.patient_id[unknown][:3].tolist()}"
            )
        return self._placed(features)

    def _placed(self, features: PatientFeatures) -> tuple[PatientFeatures, IntArray]:
        """``features`` and each row's position in :attr:`patients`."""
        if len(features) == len(self.patients):  # sorted, unique and within: the same ids
            where = np.arange(len(features), dtype=np.int64)
        else:
            where = np.searchsorted(self.patients, features.patient_id).astype(np.int64)
        return features, where
