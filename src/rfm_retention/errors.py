"""The exception hierarchy of rfm_retention.

Every error the library raises on purpose derives from :class:`RFMRetentionError`,
so a host can catch the library's failures without catching its own bugs::

    RFMRetentionError
    ├── ValidationError          input rows that break a rule (lists every bad row)
    ├── ConfigError              a preset, rule file, mapping or parameter that makes no sense
    │   └── InputFileError       a data file that cannot be read (missing, not text, not CSV)
    ├── NotFittedError           a learned object used before ``fit``
    ├── NumericOverflowError     valid inputs whose total overflows (names the patients)
    ├── ConvergenceError         a maximum-likelihood fit found no optimum
    ├── MissingDependencyError   an optional extra (pandas, ...) is not installed
    ├── LedgerError              the points ledger refused an operation
    │   ├── IdempotencyConflict  same idempotency key, different content
    │   ├── InsufficientPoints   a redemption or reversal would overdraw a balance
    │   └── StoreIntegrityError  stored events do not add up, or the schema is foreign
    └── CaseError                an intervention case refused a state change
        └── ContactRefused       a contact breaks consent or do-not-contact rules

Context is passed as keyword-only attributes so that hosts can route errors
without parsing messages; messages end with a ``Hint:`` where there is an
obvious next step.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = [
    "CaseError",
    "ConfigError",
    "ConformanceError",
    "ContactRefused",
    "ConvergenceError",
    "IdempotencyConflict",
    "InputFileError",
    "InsufficientPoints",
    "LedgerError",
    "MissingDependencyError",
    "NotFittedError",
    "NumericOverflowError",
    "RFMRetentionError",
    "RowIssue",
    "StoreIntegrityError",
    "ValidationError",
]


class RFMRetentionError(Exception):
    """Root of every error raised on purpose by rfm_retention."""


@attrs.frozen
class RowIssue:
    """One reason one input row was rejected.

    ``row`` is the 0-based position in the input as given (for CSV files, the
    data row after the header). ``line`` is the 1-based line of the file where
    the row starts when the input is a file (blank lines and quoted multi-line
    cells counted as they are in the file), else ``None``.

    Example:
        >>> str(RowIssue(row=0, field="amount", message="negative", value="-1", line=3))
        "line 3: amount '-1': negative"
    """

    row: int
    field: str
    message: str
    value: str = ""
    patient_id: str = ""
    line: int | None = None

    def __str__(self) -> str:
        who = f" (patient {self.patient_id})" if self.patient_id else ""
        shown = f" {self.value!r}" if self.value else ""
        where = f"row {self.row}" if self.line is None else f"line {self.line}"
        return f"{where}{who}: {self.field}{shown}: {self.message}"


_QUARANTINE_HINT = ("pass on_error='quarantine' to keep the good rows and get the rejected "
                   "ones as a report.")
"""What a :class:`ValidationError` suggests unless its reader has a better hint."""


class ValidationError(RFMRetentionError):
    """Input rows broke one or more rules.

    Carries *every* problem found, not just the first, so a host can fix a file
    in one pass. ``issues`` is sorted by row, then field.
    """

    def __init__(
        self, source: str, issues: Sequence[RowIssue], *, shown: int = 20,
        hint: str = _QUARANTINE_HINT,
    ) -> None:
        self.source = source
        self.issues: tuple[RowIssue, ...] = tuple(sorted(issues, key=lambda i: (i.row, i.field)))
        rows = {i.row for i in self.issues}
        lines = [str(i) for i in self.issues[:shown]]
        more = len(self.issues) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        super().__init__(
            f"{source}: {len(self.issues)} problem(s) in {len(rows)} row(s):\n  "
            + "\n  ".join(lines)
            + (f"\nHint: {hint}" if hint else "")
        )

    @property
    def rows(self) -> tuple[int, ...]:
        """The distinct bad row numbers, ascending."""
        return tuple(sorted({i.row for i in self.issues}))


class ConfigError(RFMRetentionError, ValueError):
    """A parameter, preset, mapping or rule file that cannot be used as given."""


class InputFileError(ConfigError):
    """A data file that cannot be read as a table: missing, a folder, not text in the
    expected encoding, not one record per line, or a malformed header or row.

    ``path`` names the file and ``line`` the 1-based file line (``None`` when the
    problem is the file as a whole).

    Example:
        >>> str(InputFileError("visits.csv", "the file is empty (no header row)"))
        'visits.csv: the file is empty (no header row)'
    """

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}")


class ConformanceError(RFMRetentionError, AssertionError):
    """A plug-in breaks a promise its protocol makes; the message names the check and the case.

    Raised by every conformance kit (segmenter, indicator, policy, scorer,
    ledger store, case store) instead of a bare ``assert``, so the kits check
    under ``python -O`` too. It is an ``AssertionError`` so pytest reports it
    as a failed test.

    Example:
        >>> str(ConformanceError("check_append_only", "an event was rewritten"))
        'check_append_only: an event was rewritten'
    """

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        self.promise = message
        super().__init__(f"{check}: {message}")


class NumericOverflowError(RFMRetentionError, OverflowError):
    """Valid inputs whose total exceeds what the result can hold (e.g. a patient's summed
    spend beyond float64); the message names the patients.

    Example:
        >>> issubclass(NumericOverflowError, OverflowError)
        True
    """


class NotFittedError(RFMRetentionError, RuntimeError):
    """A learned object (segmenter, score) was used before ``fit``."""


class ConvergenceError(RFMRetentionError, ArithmeticError):
    """A model's maximum-likelihood fit stopped without reaching an optimum."""


class MissingDependencyError(RFMRetentionError, ImportError):
    """An optional extra is needed for this call and is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the optional package {package!r}, which is not installed.\n"
            f"Hint: pip install 'rfm-retention[{extra}]'"
        )


class LedgerError(RFMRetentionError):
    """The points ledger refused an operation; nothing was written."""


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused with different content."""

    def __init__(self, key: str, *, detail: str = "") -> None:
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was already used for a different operation"
            + (f" ({detail})" if detail else "")
            + ".\nHint: a retry must repeat the original call exactly; a new operation "
            "needs a new key."
        )


class InsufficientPoints(LedgerError):
    """An operation would take a patient's available points below zero."""

    def __init__(self, patient_id: str, *, available: int, requested: int) -> None:
        self.patient_id = patient_id
        self.available = available
        self.requested = requested
        super().__init__(
            f"patient {patient_id!r} has {available} available point(s); "
            f"{requested} requested"
        )


class StoreIntegrityError(LedgerError):
    """A store's events do not add up, or its schema is not one this version knows."""


class CaseError(RFMRetentionError):
    """An intervention case refused a state change; the case is unchanged."""


class ContactRefused(CaseError):
    """A contact would break the patient's consent or do-not-contact flags."""
