"""Expected revisit intervals by diagnosis ("care intervals").

The documents give disease norms: a hypertension patient should be seen every
1-2 months, a diabetes patient every 2-3 months; beyond the norm the patient
may be drifting away. Hosts code diagnoses differently (ICD-10 ``I10``,
``E11.9``, or plain words), so a norm matches a diagnosis in one of three
ways, tried in the order the norms are listed:

- ``codes``: exact codes (case-insensitive, surrounding spaces ignored);
- ``prefixes``: any code starting with the prefix (``"E11"`` matches ``E11.9``);
- ``ranges``: an inclusive range of 3-character ICD-style codes (``("I10", "I15")``
  matches ``I10`` to ``I15.9``), compared on the first three characters.

Matching runs once per *distinct* diagnosis text, then maps back to patients,
so it costs nothing per patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError

__all__ = ["DIABETES", "HYPERTENSION", "SPEC_CARE_INTERVALS", "CareIntervals", "CareNorm"]


def _normalise(code: str) -> str:
    return code.strip().upper()


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(_normalise(v) for v in values)


def _ranges(values: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((_normalise(a), _normalise(b)) for a, b in values)


@attrs.frozen
class CareNorm:
    """One disease's expected revisit interval and how to recognise its diagnoses.

    Attributes:
        name: readable name used in evidence ("hypertension").
        min_days: the shortest usual interval between visits.
        max_days: the longest usual interval; a gap beyond it is overdue.
        codes: exact diagnosis codes or words.
        prefixes: code prefixes.
        ranges: inclusive ``(first, last)`` ranges of 3-character codes.

    Example:
        >>> asthma = CareNorm("asthma", 90, 180, prefixes=("J45",))
        >>> asthma.matches("j45.909")
        True
    """

    name: str
    min_days: float
    max_days: float
    codes: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    ranges: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_ranges)

    def __attrs_post_init__(self) -> None:
        if not (0 < self.min_days <= self.max_days):
            raise ConfigError(
                f"care norm {self.name!r}: need 0 < min_days <= max_days, "
                f"got {self.min_days}..{self.max_days}"
            )
        if not (self.codes or self.prefixes or self.ranges):
            raise ConfigError(f"care norm {self.name!r}: give codes, prefixes or ranges")
        for first, last in self.ranges:
            if len(first) != 3 or len(last) != 3 or first > last:
                raise ConfigError(
                    f"care norm {self.name!r}: range {first}-{last} must be two 3-character "
                    "codes, first <= last"
                )

    def matches(self, diagnosis: str) -> bool:
        """Whether ``diagnosis`` belongs to this norm."""
        code = _normalise(diagnosis)
        if not code:
            return False
        if code in self.codes or any(code.startswith(p) for p in self.prefixes):
            return True
        head = code[:3]
        return len(head) == 3 and any(a <= head <= b for a, b in self.ranges)


HYPERTENSION = CareNorm(
    "hypertension",
    30,
    60,
    codes=("hypertension", "high blood pressure"),
    ranges=(("I10", "I15"),),
)
"""Hypertension: seen every 1-2 months (ICD-10 I10-I15)."""

DIABETES = CareNorm(
    "diabetes",
    60,
    90,
    codes=("diabetes", "diabetes mellitus"),
    ranges=(("E10", "E14"),),
)
"""Diabetes: seen every 2-3 months (ICD-10 E10-E14)."""


@attrs.frozen
class CareIntervals:
    """An ordered list of care norms; the first that matches a diagnosis wins.

    Example:
        >>> norms = SPEC_CARE_INTERVALS.extended(CareNorm("asthma", 90, 180, prefixes=("J45",)))
        >>> norms.lookup(["I10", "E11.9", "J45"])[2].name
        'asthma'
        >>> norms.lookup(("Z00",))
        [None]
    """

    norms: tuple[CareNorm, ...] = ()

    def extended(self, *norms: CareNorm) -> CareIntervals:
        """These norms followed by ``norms`` (earlier ones still win ties)."""
        return CareIntervals(self.norms + norms)

    def lookup(self, diagnoses: Iterable[str]) -> list[CareNorm | None]:
        """The matching norm of each diagnosis (None where none matches)."""
        return [self._match(d) for d in diagnoses]

    def _match(self, diagnosis: str) -> CareNorm | None:
        for norm in self.norms:
            if norm.matches(diagnosis):
                return norm
        return None

    def max_days_of(
        self, diagnoses: npt.NDArray[np.str_] | Sequence[str]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Per diagnosis: the norm's ``max_days`` (NaN if none) and the norm's index (-1 if none).

        Vectorised over distinct values: each distinct diagnosis is matched once.
        """
        arr = np.asarray(diagnoses, dtype=str)
        if arr.shape[0] == 0 or not self.norms:
            return np.full(arr.shape[0], np.nan), np.full(arr.shape[0], -1, np.int64)
        distinct, inverse = np.unique(arr, return_inverse=True)
        index = np.array(
            [
                next((k for k, n in enumerate(self.norms) if n.matches(str(d))), -1)
                for d in distinct.tolist()
            ],
            dtype=np.int64,
        )
        days = np.array([n.max_days for n in self.norms] + [np.nan])
        per = index[inverse.reshape(-1)]
        return days[per], per


SPEC_CARE_INTERVALS = CareIntervals((HYPERTENSION, DIABETES))
"""The documents' disease norms: hypertension every 1-2 months, diabetes every 2-3 months."""
