"""What the points commands read besides visits, as typed records: referrals and posted reviews.

:func:`read_referrals_csv` reads a patient registry file into one frozen
:class:`Referral` per referred patient, :func:`read_reviews_csv` a reviews
file into one frozen :class:`PostedReview` per review; these are what
:func:`~rfm_retention.loyalty.award_referrals` and
:func:`~rfm_retention.loyalty.award_reviews` take (besides the data tables
themselves). Both readers read the file through the data layer's CSV reader,
with its column mapping, date parsing, encoding and id options, so every bad
row of the file is reported at once in one
:class:`~rfm_retention.errors.ValidationError` naming its line, and a missing
column is an error naming the file's header. A posted review carries no
rating on purpose: the award cannot depend on it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Literal

import attrs

from rfm_retention.data import DateParsing, PatientRegistry, ReviewTable
from rfm_retention.time import TimeLike, to_datetime

__all__ = ["PostedReview", "Referral", "read_referrals_csv", "read_reviews_csv",
           "referrals_of", "reviews_of"]


def _first_contact(value: TimeLike) -> dt.datetime:
    """A time read like the ledger reads one (a date means the end of that day)."""
    return to_datetime(value, field="first_contact")


def _posted_at(value: TimeLike) -> dt.datetime:
    """A time read like the ledger reads one (a date means the end of that day)."""
    return to_datetime(value, field="posted_at")


@attrs.frozen
class Referral:
    """One referred patient and who referred them.

    Attributes:
        patient_id: the referred patient (text, or an integer when the ids are integers).
        referred_by: the referrer's patient id, as text.
        first_contact: the referred patient's first contact with the hospital.

    Example:
        >>> Referral("P9", "P1", "2024-02-01T10:00").first_contact
        datetime.datetime(2024, 2, 1, 10, 0)
    """

    patient_id: str | int
    referred_by: str
    first_contact: dt.datetime = attrs.field(converter=_first_contact)


@attrs.frozen
class PostedReview:
    """One review a patient posted: who, when and where (never its rating).

    Example:
        >>> PostedReview("p1", "2024-05-01T10:00", "maps").posted_at
        datetime.datetime(2024, 5, 1, 10, 0)
    """

    patient_id: str | int
    posted_at: dt.datetime = attrs.field(converter=_posted_at)
    platform: str = ""


def referrals_of(registry: PatientRegistry) -> tuple[Referral, ...]:
    """The registry's referred patients as records (rows without ``referred_by`` left out).

    Example:
        >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b"],
        ...     first_contact=["2024-01-01", "2024-02-01"], referred_by=["", "a"])
        >>> pairs = [(r.patient_id, r.referred_by) for r in referrals_of(reg)]
        >>> pairs
        [('b', 'a')]
    """
    linked = (registry.referred_by != "").nonzero()[0]
    return tuple(Referral(pid, str(parent), first) for pid, parent, first in zip(
        registry.row_patient_ids()[linked].tolist(), registry.referred_by[linked].tolist(),
        registry.time[linked].astype("datetime64[us]").tolist(), strict=True))


def reviews_of(reviews: ReviewTable) -> tuple[PostedReview, ...]:
    """The table's reviews as records, in the table's order.

    Example:
        >>> table = ReviewTable.from_arrays(patient_id=["a"], stars=[5],
        ...     posted_at=["2024-05-01T10:00"], platform=["maps"])
        >>> reviews_of(table)[0].platform
        'maps'
    """
    return tuple(PostedReview(pid, at, platform) for pid, at, platform in zip(
        reviews.row_patient_ids().tolist(), reviews.time.astype("datetime64[us]").tolist(),
        reviews.columns["platform"].tolist(), strict=True))


def read_referrals_csv(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    parsing: DateParsing | None = None,
    encoding: str = "utf-8",
    id_type: Literal["text", "int"] = "text",
) -> tuple[Referral, ...]:
    """Every referred patient of a patient registry CSV file as a :class:`Referral`.

    The file is read as a :class:`~rfm_retention.data.PatientRegistry`
    (``patient_id``, ``first_contact``, ``referred_by`` ...; ``mapping`` names
    other columns). Bad rows (an empty or repeated id, a time that is not a
    time ...) are one ValidationError listing every one of them by line.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "patients.csv"
        ...     text = "patient_id,first_contact,referred_by\\na,2024-01-01,\\nb,2024-02-01,a\\n"
        ...     _ = path.write_text(text)
        ...     referral = read_referrals_csv(path)[0]
        >>> referral.patient_id, referral.referred_by
        ('b', 'a')
    """
    registry = PatientRegistry.from_csv(path, mapping=mapping, parsing=parsing or DateParsing(),
                                        encoding=encoding, id_type=id_type)
    return referrals_of(registry)


def read_reviews_csv(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    parsing: DateParsing | None = None,
    encoding: str = "utf-8",
    id_type: Literal["text", "int"] = "text",
) -> tuple[PostedReview, ...]:
    """Every review of a reviews CSV file as a :class:`PostedReview`.

    The file is read as a :class:`~rfm_retention.data.ReviewTable`
    (``patient_id``, ``posted_at``, a ``score`` or ``stars``, ``platform``
    ...); bad rows are one ValidationError listing every one of them by line.

    Example:
        >>> import pathlib, tempfile
        >>> from rfm_retention.errors import ValidationError
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "reviews.csv"
        ...     _ = path.write_text("patient_id,posted_at,stars\\np1,2024-05-01,5\\np2,soon,4\\n")
        ...     try:
        ...         read_reviews_csv(path)
        ...     except ValidationError as exc:
        ...         print(exc.issues[0].line, exc.issues[0].field)
        3 posted_at
    """
    table = ReviewTable.from_csv(path, mapping=mapping, parsing=parsing or DateParsing(),
                                 encoding=encoding, id_type=id_type)
    return reviews_of(table)
