"""Warnings as typed records: what crosses from the scan to a case, and the one warnings-CSV reader.

:meth:`WarningList.to_records` gives one frozen :class:`WarningRecord` per
warning; :func:`read_warnings_csv` reads a warnings CSV (as written by
``rfm-retention scan`` or by a host) back into the same records, every bad
row reported at once in a :class:`~rfm_retention.errors.ValidationError`.
Cells are read with the reversible formula escaping the library writes them
with (:func:`~rfm_retention._cells.unescape_cell`), so a patient ``=p1``
comes back as ``=p1`` and ``'=x`` as ``'=x``.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import attrs

from rfm_retention._cells import unescape_cell
from rfm_retention.errors import ConfigError, RowIssue, ValidationError
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = ["WarningRecord", "read_warnings_csv"]

_CHANGES = frozenset({"", "new", "escalated", "unchanged", "de-escalated", "resolved"})


@attrs.frozen
class WarningRecord:
    """One warning with typed values: the scan-to-case boundary.

    Attributes:
        patient_id: the patient (text, or an integer when the ids are integers).
        level: risk level (``RiskLevel.NONE`` for a resolved row).
        reason: primary churn reason.
        score: the policy's score, None when it gave none.
        evidence: one line for staff on why the patient was warned.
        change: against the previous list: ``new``, ``escalated``, ``unchanged``,
            ``de-escalated``, ``resolved``, or ``""`` without a previous list.

    Example:
        >>> WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE, 81.5).level.label
        'high'
    """

    patient_id: str | int
    level: RiskLevel = attrs.field(validator=lambda _, a, v: _typed(a.name, v, RiskLevel))
    reason: ReasonCode = attrs.field(validator=lambda _, a, v: _typed(a.name, v, ReasonCode))
    score: float | None = None
    evidence: str = ""
    change: str = attrs.field(default="", validator=lambda _, a, v: _known_change(v))


def _typed(field: str, value: object, kind: type[RiskLevel] | type[ReasonCode]) -> None:
    """A typed field holds its enum, never the text of one (the text is read at the edges)."""
    if not isinstance(value, kind):
        example = "RiskLevel.parse('high')" if kind is RiskLevel else "ReasonCode('price')"
        raise ConfigError(f"WarningRecord.{field} must be a {kind.__name__}, got {value!r}\n"
                          f"Hint: {example} reads a label; read_warnings_csv() reads a file.")


def _known_change(value: object) -> None:
    if value not in _CHANGES:
        raise ConfigError(f"WarningRecord.change must be one of {sorted(_CHANGES)}, got "
                          f"{value!r}")


def _cell(row: dict[str, str | None], name: str) -> str:
    return unescape_cell((row.get(name) or "").strip())


def _primary_reason(row: dict[str, str | None]) -> str:
    """``reason``, or the first of the scan's ``;``-separated ``reasons`` (the primary one)."""
    return _cell(row, "reason") or _cell(row, "reasons").split(";")[0].strip()


def read_warnings_csv(
    path: str | os.PathLike[str], *, integer_ids: bool = False
) -> tuple[WarningRecord, ...]:
    """Every warning of a warnings CSV as a :class:`WarningRecord`.

    Needs the columns ``patient_id``, ``level`` and ``reason`` (or the scan's
    ``reasons``, primary first); ``score``, ``evidence`` and ``change`` are
    read when present. Missing columns are a ConfigError; bad rows (empty id,
    unknown level or reason, a score that is not a number, an id that is not
    an integer with ``integer_ids``) are one ValidationError listing them all.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "w.csv"
        ...     text = "patient_id,level,score,reasons\\n'=p1,high,80.5,price;trust\\n"
        ...     _ = path.write_text(text)
        ...     record = read_warnings_csv(path)[0]
        >>> record.patient_id, record.level.label, record.reason.value, record.score
        ('=p1', 'high', 'price', 80.5)
    """
    name = os.fspath(path)
    records: list[WarningRecord] = []
    issues: list[RowIssue] = []
    with open(name, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        missing = [c for c in ("patient_id", "level") if c not in fields]
        if "reason" not in fields and "reasons" not in fields:
            missing.append("reason (or reasons, as written by 'rfm-retention scan')")
        if missing:
            raise ConfigError(f"{name}: missing column(s) {', '.join(missing)}; "
                              f"found {', '.join(fields) or 'none'}")
        for number, row in enumerate(reader):
            record = _record(row, number, integer_ids, issues)
            if record is not None:
                records.append(record)
    if issues:
        raise ValidationError(name, issues, hint="fix the rows listed; the whole file is "
                              "refused so that no warning is lost.")
    return tuple(records)


def _record(
    row: dict[str, str | None], number: int, integer_ids: bool, issues: list[RowIssue]
) -> WarningRecord | None:
    """One row as a record, or None after adding its problems to ``issues``."""
    found = len(issues)
    text = _cell(row, "patient_id")
    pid: Any = text
    if not text:
        issues.append(RowIssue(number, "patient_id", "is empty"))
    elif integer_ids:
        try:
            pid = int(text)
        except ValueError:
            issues.append(RowIssue(number, "patient_id", "not an integer like the visits' ids",
                                   text, text))
    level_text = _cell(row, "level")
    level = RiskLevel.NONE
    try:
        level = RiskLevel.parse(level_text)
    except ValueError as exc:
        issues.append(RowIssue(number, "level", str(exc), level_text, text))
    reason_text = _primary_reason(row)
    reason = ReasonCode.BEHAVIOUR_ONLY
    try:
        reason = ReasonCode(reason_text)
    except ValueError:
        if level is not RiskLevel.NONE or reason_text:
            known = ", ".join(r.value for r in ReasonCode)
            issues.append(RowIssue(number, "reason", f"not one of {known}", reason_text, text))
    score_text = _cell(row, "score")
    score: float | None = None
    try:
        score = float(score_text) if score_text else None
    except ValueError:
        issues.append(RowIssue(number, "score", "not a number", score_text, text))
    change = _cell(row, "change")
    if change not in _CHANGES:
        issues.append(RowIssue(number, "change", f"not one of {', '.join(sorted(_CHANGES))}",
                               change, text))
    if len(issues) > found:
        return None
    return WarningRecord(pid, level, reason, score, _cell(row, "evidence"), change)
