"""Ledger operations one by one: events, idempotency, expiry, reversal policy, caps, branches."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.errors import IdempotencyConflict, InsufficientPoints, LedgerError
from rfm_retention.loyalty import (
    SPEC_REWARDS,
    Event,
    EventKind,
    MemoryStore,
    PointsLedger,
    RedemptionCaps,
    ReversalPolicy,
    Reward,
    voucher_code,
)

T0 = dt.datetime(2024, 1, 1, 9, 0)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
def ledger() -> PointsLedger:
    return PointsLedger(MemoryStore())


def test_every_event_carries_key_patient_amount_time_actor_reason(ledger: PointsLedger) -> None:
    """An earn is stored with everything needed to audit it."""
    e = ledger.earn("p1", 100, key="k1", at=day(0), actor="clerk", reason="welcome")
    assert (e.key, e.kind, e.patient_id, e.points, e.at, e.actor, e.reason, e.seq) == (
        "k1", EventKind.EARN, "p1", 100, day(0), "clerk", "welcome", 1)


@pytest.mark.parametrize("bad", [1.5, 100.0, True, "100", 0, -5])
def test_points_must_be_positive_integers(ledger: PointsLedger, bad: object) -> None:
    """Floats, bools, text, zero and negatives are refused, never rounded."""
    with pytest.raises(LedgerError, match="integer"):
        ledger.earn("p1", bad, key="k", at=day(0))  # type: ignore[arg-type]
    assert ledger.history("p1") == ()


def test_time_reads_like_the_case_book(ledger: PointsLedger) -> None:
    """A date or ISO text means what it means in the case book (a date is its last second)."""
    e = ledger.earn("p1", 1, key="k", at="2024-01-01")
    assert e.at == dt.datetime(2024, 1, 1, 23, 59, 59)
    assert ledger.earn("p1", 1, key="k2", at=dt.date(2024, 1, 1)).at == e.at
    with pytest.raises(LedgerError, match="date, datetime or ISO text"):
        ledger.earn("p1", 1, key="k3", at=20240101)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="not an ISO date"):
        ledger.earn("p1", 1, key="k4", at="01/01/2024")


def test_aware_times_are_stored_as_naive_utc(ledger: PointsLedger) -> None:
    """A timezone-aware time is converted to UTC."""
    tz = dt.timezone(dt.timedelta(hours=8))
    e = ledger.earn("p1", 1, key="k", at=dt.datetime(2024, 1, 1, 16, 0, tzinfo=tz))
    assert e.at == dt.datetime(2024, 1, 1, 8, 0)


def test_an_event_reads_its_times_as_the_ledger_does(ledger: PointsLedger) -> None:
    """Event(at=, expires_at=) given text, a date or an aware time holds what earn would store."""
    tz = dt.timezone(dt.timedelta(hours=8))
    stored = ledger.earn("p1", 1, key="k", at="2024-01-01",
                         expires_at=dt.datetime(2025, 1, 1, 8, 0, tzinfo=tz))
    for at in ("2024-01-01", dt.date(2024, 1, 1), dt.datetime(2024, 1, 2, 7, 59, 59, tzinfo=tz)):
        built = Event("k", EventKind.EARN, "main", "p1", 1, at=at,
                      expires_at="2025-01-01T08:00:00+08:00")
        assert (built.at, built.expires_at) == (stored.at, stored.expires_at)
        assert type(built.at) is dt.datetime
    with pytest.raises(LedgerError, match="at: not an ISO date"):
        Event("k", EventKind.EARN, "main", "p1", 1, at="01/01/2024")


def test_an_event_keeps_the_datetime_a_store_gives_back_as_it_is() -> None:
    """A naive whole-second datetime (what every store reads back) is held unchanged."""
    moment = dt.datetime(2024, 1, 1, 9, 0)
    assert Event("k", EventKind.EARN, "main", "p1", 1, at=moment).at is moment


def test_same_key_same_content_returns_original_and_writes_nothing(ledger: PointsLedger) -> None:
    """A retry (even later, by another actor) returns the stored event."""
    first = ledger.earn("p1", 100, key="k1", at=day(0), actor="a")
    again = ledger.earn("p1", 100, key="k1", at=day(3), actor="b")
    assert again == first
    assert len(ledger.history("p1")) == 1


@pytest.mark.parametrize("change", [{"points": 101}, {"patient_id": "p2"}, {"reason": "x"}])
def test_same_key_different_content_conflicts(
    ledger: PointsLedger, change: dict[str, Any]
) -> None:
    """Reusing a key for a different request raises IdempotencyConflict and writes nothing."""
    ledger.earn("p1", 100, key="k1", at=day(0))
    args = {"patient_id": "p1", "points": 100, "reason": "", **change}
    with pytest.raises(IdempotencyConflict, match="k1"):
        ledger.earn(args["patient_id"], args["points"], key="k1", at=day(0),
                    reason=args["reason"])
    assert len(list(ledger.store.events())) == 1


def test_redeem_retry_returns_the_same_voucher(ledger: PointsLedger) -> None:
    """A retried redemption returns the same voucher code and spends once."""
    ledger.earn("p1", 2500, key="k1", at=day(0))
    v1 = ledger.redeem("p1", "health_assessment", key="r1", at=day(1))
    v2 = ledger.redeem("p1", "health_assessment", key="r1", at=day(2))
    assert v1 == v2
    assert v1.code == voucher_code("main", "r1")
    assert ledger.balance("p1").available == 1500


def test_spec_catalogue_prices(ledger: PointsLedger) -> None:
    """SPEC: 1,000 points for a health assessment, 2,000 for a half-price exam."""
    assert SPEC_REWARDS.get("health_assessment").points == 1000
    assert SPEC_REWARDS.get("half_price_exam").points == 2000
    with pytest.raises(LedgerError, match="unknown reward"):
        ledger.redeem("p1", "spa", key="r", at=day(0))


def test_host_extends_the_catalogue() -> None:
    """A host-added reward can be redeemed."""
    ledger = PointsLedger(MemoryStore(),
                          catalogue=SPEC_REWARDS.with_reward(Reward("coffee", "Coffee", 50)))
    ledger.earn("p1", 60, key="k", at=day(0))
    assert ledger.redeem("p1", "coffee", key="r", at=day(0)).reward_name == "Coffee"


def test_lots_are_spent_oldest_expiry_first(ledger: PointsLedger) -> None:
    """Redemption takes from the lot expiring first, then earlier earned, then by key."""
    ledger.earn("p1", 600, key="never", at=day(0))
    ledger.earn("p1", 600, key="late", at=day(1), expires_at=day(300))
    ledger.earn("p1", 600, key="soon", at=day(2), expires_at=day(100))
    ledger.redeem("p1", "health_assessment", key="r", at=day(3))
    lots = {lot.key: lot.remaining for lot in ledger.balance("p1").lots}
    assert lots == {"soon": 0, "late": 200, "never": 600}


def test_expiry_is_idempotent_and_removes_only_what_is_left(ledger: PointsLedger) -> None:
    """Expiry drops the unspent rest of a due lot once; a second run changes nothing."""
    ledger.earn("p1", 1500, key="k1", at=day(0), expires_at=day(30))
    ledger.redeem("p1", "health_assessment", key="r", at=day(10))
    created = ledger.expire(at=day(31))
    assert [e.points for e in created] == [-500]
    assert ledger.expire(at=day(31)) == []
    assert ledger.expire(at=day(60)) == []
    b = ledger.balance("p1")
    assert (b.balance, b.available) == (0, 0)


def test_redemption_never_spends_expired_points(ledger: PointsLedger) -> None:
    """Lots due by the redemption time are expired first, even if expire() has not run."""
    ledger.earn("p1", 1000, key="old", at=day(0), expires_at=day(30))
    ledger.earn("p1", 500, key="new", at=day(20))
    with pytest.raises(InsufficientPoints):
        ledger.redeem("p1", "health_assessment", key="r", at=day(31))
    assert ledger.balance("p1").available == 1500  # the refused call expired nothing either
    ledger.expire(at=day(31))
    assert ledger.balance("p1").available == 500


def test_cancelled_voucher_gives_points_back_exactly_once(ledger: PointsLedger) -> None:
    """Cancelling twice returns the same reversal; the points come back once."""
    ledger.earn("p1", 1000, key="k", at=day(0), expires_at=day(50))
    v = ledger.redeem("p1", "health_assessment", key="r", at=day(1))
    first = ledger.cancel_voucher(v, at=day(2))
    assert ledger.cancel_voucher(v, at=day(3)) == first
    with pytest.raises(LedgerError, match="already reversed"):
        ledger.reverse("r", at=day(3), key="other-key")
    b = ledger.balance("p1")
    assert b.available == 1000
    assert b.lots[0].expires_at == day(50)  # points return to the lot they came from
    assert ledger.vouchers("p1") == ()


def test_reversing_a_spent_earn_is_rejected_by_default(ledger: PointsLedger) -> None:
    """REJECT policy: the refund of a visit whose points were spent is refused."""
    ledger.earn("p1", 1000, key="visit", at=day(0))
    ledger.redeem("p1", "health_assessment", key="r", at=day(1))
    with pytest.raises(InsufficientPoints):
        ledger.reverse("visit", at=day(2))
    ledger.reverse("r", at=day(2))
    assert ledger.reverse("visit", at=day(3)).points == -1000
    assert ledger.balance("p1").balance == 0


def test_debt_policy_records_a_debt_paid_by_later_earns() -> None:
    """DEBT policy: spent points of a reversed earn become a debt, repaid first."""
    ledger = PointsLedger(MemoryStore(), reversal_policy=ReversalPolicy.DEBT)
    ledger.earn("p1", 1200, key="visit", at=day(0))
    ledger.redeem("p1", "health_assessment", key="r", at=day(1))
    assert ledger.reverse("visit", at=day(2)).points == -1200
    b = ledger.balance("p1")
    assert (b.balance, b.available, b.debt) == (-1000, 0, 1000)
    ledger.earn("p1", 1500, key="next", at=day(3))
    b = ledger.balance("p1")
    assert (b.balance, b.available, b.debt) == (500, 500, 0)


def test_reversal_of_expired_earn_removes_only_what_was_left(ledger: PointsLedger) -> None:
    """An earn that fully expired has nothing left to reverse."""
    ledger.earn("p1", 100, key="k", at=day(0), expires_at=day(1))
    ledger.expire(at=day(2))
    with pytest.raises(LedgerError, match="nothing left"):
        ledger.reverse("k", at=day(3))


def test_expire_and_adjust_events_cannot_be_reversed(ledger: PointsLedger) -> None:
    """Only earns and redemptions are reversible; corrections are new adjustments."""
    ledger.adjust("p1", 50, key="a", at=day(0), actor="admin", reason="goodwill")
    with pytest.raises(LedgerError, match="cannot be reversed"):
        ledger.reverse("a", at=day(1))


def test_adjust_needs_actor_and_reason_and_cannot_overdraw(ledger: PointsLedger) -> None:
    """A manual adjustment is audited and never takes the balance below zero."""
    with pytest.raises(LedgerError, match="reason"):
        ledger.adjust("p1", 50, key="a", at=day(0), actor="admin", reason="")
    ledger.adjust("p1", 50, key="a", at=day(0), actor="admin", reason="goodwill")
    with pytest.raises(InsufficientPoints):
        ledger.adjust("p1", -60, key="b", at=day(1), actor="admin", reason="typo")
    ledger.adjust("p1", -50, key="b", at=day(1), actor="admin", reason="typo")
    assert ledger.balance("p1").balance == 0


def test_branches_never_share_points() -> None:
    """Two branches on one store: points, reversals and keys stay apart."""
    store = MemoryStore()
    north, south = PointsLedger(store, branch="north"), PointsLedger(store, branch="south")
    north.earn("p1", 1000, key="n1", at=day(0))
    assert south.balance("p1").available == 0
    with pytest.raises(InsufficientPoints):
        south.redeem("p1", "health_assessment", key="s-r", at=day(1))
    with pytest.raises(LedgerError, match="no event"):
        south.reverse("n1", at=day(1))
    with pytest.raises(IdempotencyConflict):
        south.earn("p1", 1000, key="n1", at=day(0))


def test_yearly_caps_are_off_by_default_and_enforced_when_set() -> None:
    """Per-reward and per-year caps limit one patient's redemptions per calendar year."""
    caps = RedemptionCaps(max_points_per_year=2500,
                          max_per_reward_per_year={"health_assessment": 1})
    ledger = PointsLedger(MemoryStore(), caps=caps)
    ledger.earn("p1", 10_000, key="k", at=day(0))
    ledger.redeem("p1", "health_assessment", key="r1", at=day(1))
    with pytest.raises(LedgerError, match="yearly cap is 1"):
        ledger.redeem("p1", "health_assessment", key="r2", at=day(2))
    with pytest.raises(LedgerError, match="yearly cap is 2500"):
        ledger.redeem("p1", "half_price_exam", key="r3", at=day(2))
    ledger.cancel_voucher("r1", at=day(3))  # a cancelled redemption no longer counts
    ledger.redeem("p1", "half_price_exam", key="r3", at=day(3))
    ledger.redeem("p1", "health_assessment", key="r4", at=dt.datetime(2025, 1, 2))
    uncapped = PointsLedger(MemoryStore())
    uncapped.earn("p1", 10_000, key="k", at=day(0))
    for i in range(5):
        uncapped.redeem("p1", "health_assessment", key=f"r{i}", at=day(1))


@given(st.lists(st.tuples(st.integers(1, 3000), st.sampled_from(["earn", "a", "b"])),
                max_size=30))
def test_available_never_negative_and_lots_add_up(ops: list[tuple[int, str]]) -> None:
    """Any sequence of earns and redemptions keeps the lots summing to the available balance."""
    ledger = PointsLedger(MemoryStore())
    rewards = {"a": "health_assessment", "b": "half_price_exam"}
    for i, (points, op) in enumerate(ops):
        if op == "earn":
            ledger.earn("p", points, key=f"k{i}", at=day(i), expires_at=day(i + points % 40))
        else:
            with contextlib.suppress(InsufficientPoints):
                ledger.redeem("p", rewards[op], key=f"k{i}", at=day(i))
        b = ledger.balance("p")
        assert b.available >= 0
        assert sum(lot.remaining for lot in b.lots) == b.available == b.balance
        assert sum(e.points for e in ledger.history("p")) == b.balance


def test_event_records_are_immutable(ledger: PointsLedger) -> None:
    """Events are frozen: a stored event cannot be edited in place."""
    e = ledger.earn("p1", 1, key="k", at=day(0))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        e.points = 2  # type: ignore[misc]
