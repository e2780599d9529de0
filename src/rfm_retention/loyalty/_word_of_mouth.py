"""Word-of-mouth rewards: points for bringing a new patient, and for posting a review.

Both are earning rules on top of the ledger's public operations
(:meth:`PointsLedger.earn`, :meth:`PointsLedger.reverse`) and its idempotency
keys, so a nightly rerun never pays twice and the ledger's invariants, audit
and redemption caps apply to these points like to any other.

**Referrals.** When a referred patient's first visit happens, their referrer
earns :attr:`WordOfMouthRules.referral_points`, under the key
``referral:<branch>:<referred patient>``: exactly once per referred patient,
whoever runs the award and however often. If that first visit is cancelled
(the patient no longer has any visit in the log, or the host calls
:func:`reverse_referral`), the award is reversed; should the patient then
really come, the referrer earns again under ``...#2`` (one live award per
referred patient at any time).

**Reviews.** Posting a review on an external platform earns
:attr:`WordOfMouthRules.review_points`, under
``review:<branch>:<patient>@<platform>@<posted_at>``. The points never depend
on the rating: the rule does not read the score or the stars, so a five-star
review and a one-star review earn the same. Paying more for good reviews
would be buying them, which platforms forbid and which would make the
hospital's own reputation indicator meaningless; the library cannot be used
that way.

**Caps.** ``max_referrals_per_year`` and ``max_reviews_per_year`` limit how
many such awards one patient gets in a calendar year (off by default; some
jurisdictions cap inducements). Awards over the cap are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from rfm_retention.data import PatientRegistry, ReviewTable, VisitLog
from rfm_retention.errors import ConfigError, LedgerError
from rfm_retention.loyalty._events import MAX_POINTS, Event, EventKind
from rfm_retention.loyalty._inputs import PostedReview, Referral, referrals_of, reviews_of
from rfm_retention.time import TimeLike, to_datetime

if TYPE_CHECKING:
    from rfm_retention.loyalty._ledger import PointsLedger

__all__ = [
    "WORD_OF_MOUTH",
    "WordOfMouthAward",
    "WordOfMouthRules",
    "award_referrals",
    "award_reviews",
    "referral_key",
    "reverse_referral",
    "review_key",
]

REFERRAL_REASON = "referral of "
REVIEW_REASON = "review posted"


@attrs.frozen
class WordOfMouthRules:
    """Points for a referral and for a posted review, with optional yearly caps.

    The documents name word-of-mouth rewards but no amount: the preset gives
    a referral two revisits' worth (200) and a review half of one (50).

    Example:
        >>> import attrs
        >>> attrs.evolve(WORD_OF_MOUTH, max_referrals_per_year=5).referral_points
        200
    """

    referral_points: int = 200
    review_points: int = 50
    max_referrals_per_year: int | None = None
    max_reviews_per_year: int | None = None
    expires_after_days: int | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("referral_points", "review_points"):
            value = getattr(self, name)
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not whole or not 0 <= value <= MAX_POINTS:
                raise ConfigError(f"WordOfMouthRules.{name} must be an integer 0..{MAX_POINTS}, "
                                  f"got {value!r}")
        for name in ("max_referrals_per_year", "max_reviews_per_year", "expires_after_days"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"WordOfMouthRules.{name} must be a positive integer or None")


WORD_OF_MOUTH = WordOfMouthRules()
"""Preset: 200 points per referred patient's first visit, 50 per review, no caps."""


@attrs.frozen
class WordOfMouthAward:
    """What one award run did.

    Attributes:
        candidates: referrals with a first visit, or reviews, considered.
        awarded: earn events written now.
        already_awarded: candidates whose award was already stored (a rerun).
        capped: candidates skipped because the patient reached the yearly cap.
        reversed: referral awards taken back (the first visit was cancelled).
        points: points written now (awards minus nothing: reversals are separate events).
    """

    candidates: int
    awarded: int
    already_awarded: int
    capped: int
    reversed: int
    points: int


def referral_key(branch: str, referred: str | int, occurrence: int = 1) -> str:
    """The key of the referral award for ``referred`` (``#n`` after n-1 reversed ones).

    Example:
        >>> referral_key("main", "P9"), referral_key("main", "P9", 2)
        ('referral:main:P9', 'referral:main:P9#2')
    """
    base = f"referral:{branch}:{referred}"
    return base if occurrence == 1 else f"{base}#{occurrence}"


def _live_key(ledger: PointsLedger, referred: str) -> tuple[str | None, str]:
    """(the live award's key or None, the next free key) for one referred patient."""
    n = 1
    with ledger.store.transaction() as tx:
        while True:
            key = referral_key(ledger.branch, referred, n)
            found = tx.get([key, f"reverse:{key}"])
            if key not in found:
                return None, key
            if f"reverse:{key}" not in found:
                return key, key
            n += 1


def _year_counts(ledger: PointsLedger, patient: str, prefix: str) -> Counter[int]:
    """Live awards of one kind per calendar year in the patient's history."""
    events = ledger.history(patient)
    reversed_keys = {e.reverses for e in events if e.kind is EventKind.REVERSE}
    return Counter(e.at.year for e in events if e.kind is EventKind.EARN
                   and e.key.startswith(prefix) and e.key not in reversed_keys)


class _YearlyCap:
    """Counts one kind of award per patient and calendar year against a cap (None: no cap)."""

    def __init__(self, ledger: PointsLedger, prefix: str, cap: int | None) -> None:
        self._ledger, self._prefix, self._cap = ledger, prefix, cap
        self._counts: dict[str, Counter[int]] = {}

    def reached(self, patient: str, year: int) -> bool:
        """Whether the patient already has ``cap`` live awards in ``year``; if not, counts one."""
        if self._cap is None:
            return False
        counts = self._counts.get(patient)
        if counts is None:
            counts = self._counts[patient] = _year_counts(self._ledger, patient, self._prefix)
        if counts[year] >= self._cap:
            return True
        counts[year] += 1
        return False


def _expiry(at: dt.datetime, rules: WordOfMouthRules) -> dt.datetime | None:
    days = rules.expires_after_days
    return None if days is None else at + dt.timedelta(days=days)


def _earn(ledger: PointsLedger, patient: str, points: int, key: str, at: dt.datetime,
          rules: WordOfMouthRules, actor: str, reason: str) -> Event:
    return ledger.earn(patient, points, key=key, at=at, expires_at=_expiry(at, rules),
                       actor=actor, reason=reason)


def award_referrals(
    ledger: PointsLedger,
    registry: PatientRegistry | Iterable[Referral],
    visits: VisitLog,
    *,
    rules: WordOfMouthRules = WORD_OF_MOUTH,
    at: TimeLike | None = None,
    actor: str = "award_referrals",
) -> WordOfMouthAward:
    """Award (and, for cancelled first visits, reverse) referral points (see the module docs).

    ``visits`` must hold each referred patient's history back to their first
    visit. ``at`` is the reversal time (default: the latest visit in the log).
    ``registry`` is the patient registry or its :class:`Referral` records
    (:func:`read_referrals_csv` reads them from a file).

    Example:
        >>> from rfm_retention.data import PatientRegistry, VisitLog
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
        >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b"],
        ...     first_contact=["2024-01-01", "2024-02-01"], referred_by=["", "a"])
        >>> log = VisitLog.from_arrays(patient_id=["b"], amount=[80.0], visit_time=["2024-02-03"])
        >>> award_referrals(ledger, reg, log).awarded, ledger.balance("a").balance
        (1, 200)
        >>> award_referrals(ledger, reg, log).already_awarded
        1
        >>> award_referrals(ledger, reg, VisitLog.empty(), at="2024-02-05").reversed
        1
        >>> ledger.balance("a").balance
        0
    """
    if rules.referral_points == 0:
        return WordOfMouthAward(0, 0, 0, 0, 0, 0)
    referrals = referrals_of(registry) if isinstance(registry, PatientRegistry) else registry
    pairs = [(str(r.patient_id), str(r.referred_by)) for r in referrals]
    known = {str(p): i for i, p in enumerate(visits.patient_ids.tolist())}
    first_time = visits.time[visits.group_starts[:-1]] if len(visits) else visits.time
    when_reversed = to_datetime(at, error=LedgerError) if at is not None else (  # once
        visits.time.max().astype("datetime64[s]").tolist() if len(visits) else None)
    candidates = awarded = already = capped = reversed_n = points = 0
    cap = _YearlyCap(ledger, "referral:", rules.max_referrals_per_year)
    for child, parent in pairs:
        live, free = _live_key(ledger, child)
        pos = known.get(child)
        if pos is None:
            if live is not None:
                if when_reversed is None:
                    raise LedgerError("a first visit was cancelled: give at= for the reversal")
                ledger.reverse(live, at=when_reversed, actor=actor, reason="first visit cancelled")
                reversed_n += 1
            continue
        candidates += 1
        if live is not None:
            already += 1
            continue
        first = first_time[pos].astype("datetime64[us]").tolist()
        if cap.reached(parent, first.year):
            capped += 1
            continue
        _earn(ledger, parent, rules.referral_points, free, first, rules, actor,
              REFERRAL_REASON + child)
        awarded += 1
        points += rules.referral_points
    return WordOfMouthAward(candidates, awarded, already, capped, reversed_n, points)


def reverse_referral(ledger: PointsLedger, referred: str | int, *, at: TimeLike,
                     actor: str = "", reason: str = "first visit cancelled") -> Event | None:
    """Take back the live referral award for ``referred`` (None when there is none).

    Example:
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> reverse_referral(PointsLedger(MemoryStore()), "P9", at="2024-01-01") is None
        True
    """
    when = to_datetime(at, error=LedgerError)  # checked even with nothing to reverse
    live, _ = _live_key(ledger, str(referred))
    if live is None:
        return None
    return ledger.reverse(live, at=when, actor=actor, reason=reason)


def review_key(branch: str, patient: str, platform: str, posted_at: dt.datetime) -> str:
    """The key of one posted review's award.

    Example:
        >>> review_key("main", "p1", "maps", dt.datetime(2024, 5, 1, 10))
        'review:main:p1@maps@2024-05-01T10:00:00'
    """
    return f"review:{branch}:{patient}@{platform}@{posted_at.replace(microsecond=0).isoformat()}"


def award_reviews(
    ledger: PointsLedger,
    reviews: ReviewTable | Iterable[PostedReview],
    *,
    rules: WordOfMouthRules = WORD_OF_MOUTH,
    actor: str = "award_reviews",
) -> WordOfMouthAward:
    """Award points for every posted review, the same whatever its rating.

    Only the patient, platform and posting time are read (never the score
    or stars; see the module docstring for why). ``reviews`` is the table or
    its :class:`PostedReview` records (:func:`read_reviews_csv` reads them
    from a file).

    Example:
        >>> from rfm_retention.data import ReviewTable
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
        >>> reviews = ReviewTable.from_arrays(patient_id=["a", "b"], stars=[5, 1],
        ...     posted_at=["2024-05-01", "2024-05-02"], platform=["maps", "maps"])
        >>> award_reviews(ledger, reviews).points
        100
        >>> ledger.balance("a").balance == ledger.balance("b").balance
        True
    """
    if rules.review_points == 0:
        return WordOfMouthAward(0, 0, 0, 0, 0, 0)
    posted = reviews_of(reviews) if isinstance(reviews, ReviewTable) else tuple(reviews)
    pids = [str(r.patient_id) for r in posted]
    platforms = [r.platform for r in posted]
    times = [r.posted_at for r in posted]
    keys = [review_key(ledger.branch, p, pl, t)
            for p, pl, t in zip(pids, platforms, times, strict=True)]
    if len(set(keys)) != len(keys):
        dup = Counter(keys).most_common(1)[0][0]
        raise LedgerError(f"two reviews share the key {dup!r} (same patient, platform, time)")
    with ledger.store.transaction() as tx:
        stored = set(tx.get(keys)) if keys else set()
    awarded = already = capped = points = 0
    cap = _YearlyCap(ledger, "review:", rules.max_reviews_per_year)
    for pid, key, t in zip(pids, keys, times, strict=True):
        if key in stored:
            already += 1
            continue
        if cap.reached(pid, t.year):
            capped += 1
            continue
        _earn(ledger, pid, rules.review_points, key, t, rules, actor, REVIEW_REASON)
        awarded += 1
        points += rules.review_points
    return WordOfMouthAward(len(keys), awarded, already, capped, 0, points)
