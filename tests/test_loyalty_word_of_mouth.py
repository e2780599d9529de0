"""Referral and review rewards: once per referred patient, reversible, never tied to a rating."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import PatientRegistry, ReviewTable, VisitLog
from rfm_retention.errors import ConfigError, LedgerError
from rfm_retention.loyalty import (
    WORD_OF_MOUTH,
    MemoryStore,
    PointsLedger,
    award_referrals,
    award_reviews,
    referral_key,
    reverse_referral,
    verify,
)

REG = PatientRegistry.from_arrays(
    patient_id=["a", "b", "c"], first_contact=["2024-01-01", "2024-02-01", "2024-03-01"],
    referred_by=["", "a", "a"],
)


def _log(*rows: tuple[str, str]) -> VisitLog:
    return VisitLog.from_arrays(patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
                                amount=[50.0] * len(rows))


def test_referrer_earns_once_per_referred_patient_at_the_first_visit() -> None:
    """Two visits of b, two reruns: a earns one referral for b, dated at b's first visit."""
    ledger = PointsLedger(MemoryStore())
    log = _log(("b", "2024-02-03"), ("b", "2024-03-03"))
    first = award_referrals(ledger, REG, log)
    again = award_referrals(ledger, REG, log)
    assert (first.candidates, first.awarded, first.points) == (1, 1, 200)
    assert (again.awarded, again.already_awarded) == (0, 1)
    (event,) = ledger.history("a")
    assert event.key == referral_key("main", "b")
    assert event.at.isoformat() == "2024-02-03T00:00:00"
    assert verify(ledger.store).ok


def test_cancelled_first_visit_reverses_and_a_real_one_earns_again() -> None:
    """No visit left: the award is reversed; when the patient does come, it is earned anew."""
    ledger = PointsLedger(MemoryStore())
    award_referrals(ledger, REG, _log(("b", "2024-02-03")))
    gone = award_referrals(ledger, REG, _log(("a", "2024-02-10")))
    assert gone.reversed == 1
    assert ledger.balance("a").balance == 0
    back = award_referrals(ledger, REG, _log(("b", "2024-04-01")))
    assert back.awarded == 1
    assert ledger.balance("a").balance == 200
    assert referral_key("main", "b", 2) in {e.key for e in ledger.history("a")}
    assert reverse_referral(ledger, "b", at="2024-04-02") is not None
    assert reverse_referral(ledger, "b", at="2024-04-03") is None
    assert ledger.balance("a").balance == 0


def test_yearly_cap_per_referrer() -> None:
    """With a cap of one referral a year, the second referred patient's award is skipped."""
    ledger = PointsLedger(MemoryStore())
    rules = attrs.evolve(WORD_OF_MOUTH, max_referrals_per_year=1)
    r = award_referrals(ledger, REG, _log(("b", "2024-02-03"), ("c", "2024-03-05")), rules=rules)
    assert (r.awarded, r.capped) == (1, 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=8), st.randoms())
def test_review_points_never_depend_on_the_rating(stars: list[int], rnd: object) -> None:
    """Any ratings, shuffled or not, earn exactly the same points for the same postings."""
    n = len(stars)
    common = dict(patient_id=[f"p{i % 3}" for i in range(n)],
                  posted_at=[f"2024-05-{i + 1:02d}" for i in range(n)], platform=["maps"] * n)
    shuffled = list(stars)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    one, two = PointsLedger(MemoryStore()), PointsLedger(MemoryStore())
    award_reviews(one, ReviewTable.from_arrays(stars=stars, **common))
    award_reviews(two, ReviewTable.from_arrays(stars=[6 - s for s in shuffled], **common))
    for p in ("p0", "p1", "p2"):
        assert one.balance(p).balance == two.balance(p).balance
        assert [e.key for e in one.history(p)] == [e.key for e in two.history(p)]


def test_review_cap_and_rerun() -> None:
    """A rerun pays nothing; a cap of one review a year skips the second."""
    ledger = PointsLedger(MemoryStore())
    reviews = ReviewTable.from_arrays(patient_id=["a", "a"], stars=[5, 5],
                                      posted_at=["2024-05-01", "2024-06-01"],
                                      platform=["maps", "app"])
    capped = award_reviews(ledger, reviews, rules=attrs.evolve(WORD_OF_MOUTH,
                                                               max_reviews_per_year=1))
    assert (capped.awarded, capped.capped) == (1, 1)
    assert award_reviews(ledger, reviews).awarded == 1
    assert award_reviews(ledger, reviews).already_awarded == 2


def test_rules_are_checked() -> None:
    """Negative points or a zero cap are configuration errors."""
    with pytest.raises(ConfigError):
        attrs.evolve(WORD_OF_MOUTH, referral_points=-1)
    with pytest.raises(ConfigError):
        attrs.evolve(WORD_OF_MOUTH, max_reviews_per_year=0)
    with pytest.raises(LedgerError, match="share the key"):
        award_reviews(PointsLedger(MemoryStore()), ReviewTable.from_arrays(
            patient_id=["a", "a"], stars=[1, 2], posted_at=["2024-05-01"] * 2))


def test_cli_award_referrals_and_reviews(tmp_path: object) -> None:
    """``points award --referrals --reviews`` awards once and reports a rerun as already done."""
    from pathlib import Path

    from rfm_retention.cli import main

    folder = Path(str(tmp_path))
    assert main(["sample", "--out", str(folder / "s"), "--patients", "120"]) == 0
    s = folder / "s"
    args = ["points", "award", "--db", str(folder / "l.db"), "--visits", str(s / "visits.csv"),
            "--referrals", str(s / "patients.csv"), "--reviews", str(s / "reviews.csv")]
    assert main(args) == 0
    assert main(args) == 0
    assert main(["points", "verify", "--db", str(folder / "l.db")]) == 0
