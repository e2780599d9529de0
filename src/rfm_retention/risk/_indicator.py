"""What an indicator is: the protocol, its per-patient result, and the base built-ins share.

An indicator looks at one kind of signal (the interval since the last visit,
complaints, outcome scores...) and judges *every* patient at once as of a
date. For each patient it returns:

- ``value``: the thing measured, in the indicator's own unit (``1.32`` for an
  interval 132 % longer than usual; ``2`` for two complaints); NaN where the
  patient has no signal;
- ``severity``: how worrying that value is, on one scale shared by all
  indicators: 0 (nothing to see) to 1 (as bad as it gets);
- ``fired``: whether the value crosses the indicator's threshold;
- ``signal``: whether there was anything to judge. A source the host does not
  have, or a patient with no rows in it, is *no signal*: severity 0, never
  fired, never a "bad signal";
- evidence a person can read, built only when asked for (``result.evidence(row)``),
  so that a scan of a million patients formats text only for the warnings shown.

Host indicators implement :class:`Indicator`; built-ins subclass
:class:`IndicatorBase`, which owns the date handling, the absent-source
rule, the severity ramp and the result checks, leaving each indicator one
``measure`` method, one threshold test and one sentence of evidence.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import BoolArray, FloatArray
from rfm_retention._display import Display
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data import PatientData
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.time import TimeLike, as_instant
from rfm_retention.vocabulary import REASON_PRECEDENCE, Dimension, ReasonCode

__all__ = [
    "REASON_CODES",
    "Indicator",
    "IndicatorBase",
    "IndicatorResult",
    "Measurement",
    "check_result",
    "reason_codes",
]


T = TypeVar("T")

REASON_CODES: tuple[ReasonCode, ...] = REASON_PRECEDENCE
"""Reason codes in precedence order; per-patient reasons are positions in this tuple."""


def reason_codes(values: Any, default: int = -1) -> npt.NDArray[np.int8]:
    """Text reason values (``"price"``...) -> int8 positions in :data:`REASON_CODES`.

    Anything that is not a reason code (including ``""``) becomes ``default``.
    Each distinct text is looked up once.

    Example:
        >>> reason_codes(["price", "", "nonsense", "trust"]).tolist()
        [2, -1, -1, 4]
    """
    arr = np.asarray(values, dtype=str)
    if arr.shape[0] == 0:
        return np.empty(0, np.int8)
    distinct, inverse = np.unique(arr, return_inverse=True)
    lookup = {code.value: k for k, code in enumerate(REASON_CODES)}
    mapped = np.array([lookup.get(str(v).strip().lower(), default) for v in distinct], np.int8)
    out: npt.NDArray[np.int8] = mapped[inverse.reshape(-1)]
    return out


#: Measures every indicator offers to rules, besides its own ``measures``.
STANDARD_MEASURES = ("value", "severity", "fired")


def _no_evidence(row: int) -> str:
    return ""


@attrs.frozen(eq=False, repr=False)
class IndicatorResult(Tabular):
    """One indicator's judgement of every patient, aligned with ``patients``.

    It follows the library's result convention: ``to_columns()`` typed
    arrays (one row per patient), ``to_rows()`` display strings,
    ``row_of(patient_id)`` (``KeyError`` for an unknown patient) and
    ``get(patient_id)`` that patient's record with their evidence (``None``
    for an unknown patient).

    Attributes:
        name: the indicator's name.
        dimension: behaviour, experience, efficacy or reputation.
        patients: the patient ids (``data.patients``), one entry per row below.
        value: what was measured (NaN where there is no signal).
        severity: 0-1, 0 where there is no signal.
        fired: the threshold was crossed (never where there is no signal).
        signal: the patient had data this indicator could judge.
        reason: the root cause a fired result points to (see
            :class:`~rfm_retention.vocabulary.ReasonCode`).
        details: further named measures (e.g. ``days_since_last_visit``), which
            rules may compare; NaN where undefined.
        describe: ``row -> text``, the evidence for one patient.
        reasons: optional per-patient reason overriding ``reason`` (e.g. a
            complaint's category): int8 positions in :data:`REASON_CODES`, -1 for
            "the indicator's reason" (build them with :func:`reason_codes`).
        available: False when a source the indicator needs is absent.
    """

    name: str
    dimension: Dimension
    patients: IdArray = attrs.field(repr=False)
    value: FloatArray = attrs.field(repr=False)
    severity: FloatArray = attrs.field(repr=False)
    fired: BoolArray = attrs.field(repr=False)
    signal: BoolArray = attrs.field(repr=False)
    reason: ReasonCode = ReasonCode.BEHAVIOUR_ONLY
    details: Mapping[str, FloatArray] = attrs.field(factory=dict, repr=False)
    describe: Callable[[int], str] = attrs.field(default=_no_evidence, repr=False)
    reasons: npt.NDArray[np.int8] | None = attrs.field(default=None, repr=False)
    available: bool = True

    def __len__(self) -> int:
        return int(self.patients.shape[0])

    def _display(self) -> Display:
        """Patient, value, severity, fired, signal, reason; the indicator's name as a figure."""
        figures = {"indicator": self.name, "dimension": self.dimension.value,
                   "fired": int(np.count_nonzero(self.fired)), "available": self.available}
        return Display(type(self).__name__, self.to_columns(), figures)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``patient_id``, ``value``, ``severity``, ``fired``, ``signal``, ``reason`` (text),
        then each of the ``details`` under its own name.

        Example:
            >>> from rfm_retention.vocabulary import Dimension
            >>> result = IndicatorResult.no_signal("quiet", Dimension.BEHAVIOUR, np.array(["a"]))
            >>> sorted(result.to_columns())[:3], result.row_of("a"), result.get("zz")
            (['fired', 'patient_id', 'reason'], 0, None)
        """
        reasons = np.array([code.value for code in REASON_CODES] + [self.reason.value])
        positions = (np.full(len(self), -1, np.int64) if self.reasons is None
                     else self.reasons.astype(np.int64))
        out: dict[str, npt.NDArray[Any]] = {
            "patient_id": self.patients, "value": self.value, "severity": self.severity,
            "fired": self.fired, "signal": self.signal, "reason": reasons[positions],
        }
        out.update(self.details)
        return out

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError when the patient was not judged."""
        return row_position(self.patients, patient_id,
                            f"patient {patient_id!r} was not judged by {self.name}")

    def record(self, row: int) -> dict[str, Any]:
        """One patient's columns as Python values, with their ``evidence``."""
        found: dict[str, Any] = super().record(row)
        found["evidence"] = self.evidence(row)
        return found

    def evidence(self, row: int) -> str:
        """Readable evidence for the patient at ``row`` ("no data" without a signal)."""
        if not self.available:
            return "no data (source absent)"
        if not self.signal[row]:
            return "no data"
        return self.describe(row)

    def reason_of(self, row: int) -> ReasonCode:
        """The root cause this result points to for the patient at ``row``."""
        if self.reasons is not None and self.reasons[row] >= 0:
            return REASON_CODES[int(self.reasons[row])]
        return self.reason

    @classmethod
    def no_signal(
        cls,
        name: str,
        dimension: Dimension,
        patients: IdArray,
        reason: ReasonCode = ReasonCode.BEHAVIOUR_ONLY,
    ) -> IndicatorResult:
        """A result for an indicator whose source is absent: no patient has a signal."""
        n = patients.shape[0]
        return cls(
            name=name,
            dimension=dimension,
            patients=patients,
            value=np.full(n, np.nan),
            severity=np.zeros(n),
            fired=np.zeros(n, bool),
            signal=np.zeros(n, bool),
            reason=reason,
            available=False,
        )


@runtime_checkable
class Indicator(Protocol):
    """The plug-in contract: a named signal judged for every patient at once.

    ``sources`` names the :class:`~rfm_retention.data.PatientData` sources it
    reads (``"visits"``, ``"ratings"``...); when one is absent the scan skips
    the indicator and says so. ``measures`` names the extra ``details`` a rule
    may compare (besides ``value``, ``severity`` and ``fired``).

    Example:
        A host indicator (any class with these members will do)::

            @attrs.frozen
            class PortalSilence:
                name = "portal_silence"
                dimension = Dimension.BEHAVIOUR
                sources = frozenset({"visits"})
                measures = ()
                def evaluate(self, data, as_of) -> IndicatorResult: ...

        Check it with :func:`rfm_retention.risk.conformance.check_indicator`.
    """

    @property
    def name(self) -> str:
        """Unique name, used in rules and output (``interval_extension``)."""
        ...

    @property
    def dimension(self) -> Dimension:
        """Which of the four dimensions the indicator belongs to."""
        ...

    @property
    def sources(self) -> frozenset[str]:
        """The data sources it needs."""
        ...

    @property
    def measures(self) -> tuple[str, ...]:
        """Names of extra detail measures rules may compare."""
        ...

    def evaluate(self, data: PatientData, as_of: TimeLike) -> IndicatorResult:
        """Judge every patient of ``data.patients`` as of ``as_of``."""
        ...


@attrs.frozen(eq=False)
class Measurement:
    """What a built-in indicator's ``measure`` hook returns (all arrays per patient).

    ``value`` is NaN where ``signal`` is false; ``details`` are extra named
    measures; ``reasons`` optionally overrides the indicator's reason per patient.
    """

    value: FloatArray
    signal: BoolArray
    details: Mapping[str, FloatArray] = attrs.field(factory=dict)
    reasons: npt.NDArray[np.int8] | None = None


class IndicatorBase(abc.ABC):
    """Base of the built-in indicators: everything but the measurement itself.

    A subclass declares ``name``, ``dimension``, ``sources``, ``reason``,
    ``measures`` and ``trigger`` (how a value crosses the threshold: ``">"``,
    ``">="`` or ``"<"``) as class attributes, and implements:

    - :meth:`measure`: the value per patient (and which patients have a signal);
    - :meth:`limit`: the threshold the value is compared with;
    - :meth:`explain_row`: one sentence of evidence for one patient.

    Severity, by default: for "higher is worse" indicators, a linear ramp from
    0 (severity 0: no extension, no drop) to twice the threshold (severity 1),
    so a value exactly at the threshold has severity 0.5 (see
    :meth:`severity_bounds`). For "lower is worse" scores (``trigger = "<"``
    on a 0-100 scale) a score at or above the threshold is normal, severity 0;
    a score that fires starts at 0.5 and ramps to 1 at twice the threshold's
    distance below 100 (outcome threshold 80: 0.5 just below 80, 1 at 60).
    Not a ramp from 100: most patients score somewhere between the threshold
    and 100 (an outcome of 86 is a good one), and giving those "a little
    severity" made every patient with follow-up data look riskier than a
    patient with none, which on synthetic cohorts inverted the score's
    ranking of who leaves.

    The base converts ``as_of``, returns a no-signal result when a source is
    absent, forces severity 0 / not fired where there is no signal, and checks
    the shapes and ranges of what the hooks returned.
    """

    name: ClassVar[str]
    dimension: ClassVar[Dimension]
    sources: ClassVar[frozenset[str]]
    reason: ClassVar[ReasonCode]
    measures: ClassVar[tuple[str, ...]] = ()
    trigger: ClassVar[str] = ">="

    @abc.abstractmethod
    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        """The measured value of every patient of ``data.patients`` at ``instant``."""

    @abc.abstractmethod
    def limit(self) -> float:
        """The threshold ``value`` is compared with (by :attr:`trigger`)."""

    @abc.abstractmethod
    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        """Evidence for one patient with a signal, from its value and details."""

    def fires(self, value: FloatArray) -> BoolArray:
        """Which values cross the threshold (NaN never does).

        ``>=`` allows for float rounding (a 30 % drop computed as 0.29999...
        still fires at 0.3).
        """
        limit = self.limit()
        with np.errstate(invalid="ignore"):
            if self.trigger == ">":
                out: BoolArray = value > limit
            elif self.trigger == ">=":
                out = value >= limit - 1e-12
            elif self.trigger == "<":
                out = value < limit
            else:
                raise ConfigError(f"{self.name}: unknown trigger {self.trigger!r}")
        return out

    def severity_bounds(self) -> tuple[float, float]:
        """``(calm, full)``: the values at which the severity ramp is 0 and 1 (linear between).

        For ``trigger = "<"`` the ramp runs from the threshold to ``full`` and
        only fired values use it (see :meth:`severity`).
        """
        limit = self.limit()
        if self.trigger == "<":
            return limit, max(limit - (100.0 - limit), 0.0)
        return 0.0, 2 * limit

    def severity(self, value: FloatArray) -> FloatArray:
        """Severity 0-1 from values: the ramp between :meth:`severity_bounds`.

        For ``trigger = "<"``: 0 where the value does not fire, ``0.5 + 0.5 *
        ramp`` where it does (the class docstring says why).
        """
        calm, full = self.severity_bounds()
        out: FloatArray = np.subtract(value, calm, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            out /= full - calm
        np.clip(out, 0.0, 1.0, out=out)  # one array, updated in place
        out[np.isnan(out)] = 0.0
        if self.trigger == "<":
            stepped: FloatArray = np.where(self.fires(value), 0.5 + 0.5 * out, 0.0)
            return stepped
        return out

    def missing_sources(self, data: PatientData) -> frozenset[str]:
        """The sources this indicator needs that ``data`` does not have."""
        return self.sources - data.available

    def evaluate(self, data: PatientData, as_of: TimeLike) -> IndicatorResult:
        """Judge every patient as of ``as_of`` (a date means the end of that day)."""
        instant = as_instant(as_of)
        if self.missing_sources(data):
            return IndicatorResult.no_signal(self.name, self.dimension, data.patients, self.reason)
        m = self.measure(data, instant)
        signal = np.asarray(m.signal, bool) & ~np.isnan(m.value)
        value = np.where(signal, m.value, np.nan)
        severity = np.where(signal, self.severity(value), 0.0)
        fired = signal & self.fires(value)
        details = {k: np.asarray(v, np.float64) for k, v in m.details.items()}

        def describe(row: int) -> str:
            return self.explain_row(
                row, float(value[row]), {k: float(v[row]) for k, v in details.items()}
            )

        result = IndicatorResult(
            name=self.name,
            dimension=self.dimension,
            patients=data.patients,
            value=value,
            severity=severity,
            fired=fired,
            signal=signal,
            reason=self.reason,
            details=details,
            describe=describe,
            reasons=m.reasons,
        )
        check_result(result, data.patients, self.measures)
        return result


def check_result(
    result: IndicatorResult, patients: IdArray, measures: tuple[str, ...] = ()
) -> None:
    """Raise ConfigError unless ``result`` is well formed for ``patients``.

    Checks: one entry per patient in every array, the same patient ids in the
    same order, severity finite in [0, 1], ``fired`` and ``signal`` boolean,
    nothing fired or severe without a signal, every declared measure present.
    """
    n = patients.shape[0]
    who = f"indicator {result.name!r}"
    same = result.patients is patients or (
        result.patients.shape == (n,) and np.array_equal(result.patients, patients)
    )
    if not same:
        raise ConfigError(f"{who}: result rows must be data.patients, in that order")
    for field in ("value", "severity", "fired", "signal"):
        arr = getattr(result, field)
        if not isinstance(arr, np.ndarray) or arr.shape != (n,):
            raise ConfigError(f"{who}: {field} must be an array with one entry per patient ({n})")
    for field in ("fired", "signal"):
        if getattr(result, field).dtype != np.bool_:
            raise ConfigError(f"{who}: {field} must be boolean")
    sev = result.severity
    if not (sev.min(initial=0.0) >= 0 and sev.max(initial=0.0) <= 1):  # NaN fails both
        raise ConfigError(f"{who}: severity must be finite and within [0, 1]")
    silent = ~result.signal
    if np.any(result.fired & silent) or np.any(sev[silent] != 0):
        raise ConfigError(f"{who}: a patient without a signal cannot fire or have a severity")
    missing = [m for m in measures if m not in result.details]
    if missing:
        raise ConfigError(f"{who}: declared measures {missing} are not in the result's details")
    for key, arr in result.details.items():
        if np.asarray(arr).shape != (n,):
            raise ConfigError(f"{who}: detail {key!r} must have one entry per patient")
    if result.reasons is not None:
        codes = result.reasons
        if codes.shape != (n,) or codes.dtype.kind not in "iu":
            raise ConfigError(f"{who}: reasons must be integer codes, one per patient")
        if n and (codes.min() < -1 or codes.max() >= len(REASON_CODES)):
            raise ConfigError(f"{who}: reasons must be -1 or positions in REASON_CODES")


def present(table: T | None, source: str) -> T:
    """The ``source`` table a ``measure`` hook reads, narrowed from ``None``.

    The base gives a no-signal result, without calling ``measure``, when a
    source is missing, so ``None`` here is a library bug, never bad input.
    """
    if table is None:
        raise RuntimeError(f"internal: data.{source} is unset")
    return table


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition`` holds (parameter checks)."""
    if not condition:
        raise ConfigError(message)


def check_score_threshold(name: str, below: float, months: int | None = None) -> None:
    """Validate a 0-100 ``below`` threshold and an optional look-back in months."""
    require(0 < below <= 100, f"{name}: below must be in (0, 100]")
    if months is not None:
        require(months >= 1, f"{name}: months must be at least 1")
