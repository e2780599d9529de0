"""Membership tiers as data: enrolment gates, rolling-year rules, privileges by tier."""

from __future__ import annotations

import attrs
import pytest

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty import (
    SPEC_TIERS,
    MemoryStore,
    PointsLedger,
    Tier,
    TierRule,
    TierScheme,
    enrol,
    enrolment,
    membership,
    privileges,
    verify,
)


def _log(n: int, amount: float = 50.0, start: int = 1) -> VisitLog:
    return VisitLog.from_arrays(patient_id=["p"] * n, amount=[amount] * n,
                                visit_time=[f"2024-{start + i:02d}-05" for i in range(n)])


def test_not_enrolled_means_no_tier_and_no_tier_privilege() -> None:
    """A frequent patient who never enrolled holds no tier: the package is not granted."""
    m = membership("p", _log(8), as_of="2024-10-01", ledger=PointsLedger(MemoryStore()))
    assert m.tier is None
    assert m.next_tier == "member: not enrolled"
    assert not m.granted("returning_package")


def test_tiers_climb_with_visits_in_the_rolling_year() -> None:
    """Enrolled: one visit gives silver (package, green channel); six visit days give gold."""
    ledger = PointsLedger(MemoryStore())
    enrol(ledger, "p", at="2024-01-01T09:00:00", actor="desk")
    silver = membership("p", _log(2), as_of="2024-03-01", ledger=ledger)
    assert (silver.tier, silver.granted("green_channel"), silver.granted("health_steward")) == (
        "silver", True, False)
    gold = membership("p", _log(6), as_of="2024-07-01", ledger=ledger)
    assert gold.tier == "gold"
    assert gold.rule == "6+ visit days in the last year"
    assert gold.granted("health_steward")
    lapsed = membership("p", _log(6), as_of="2025-12-31", ledger=ledger)
    assert lapsed.tier == "member"


def test_spend_and_points_rules() -> None:
    """Gold by spend over the window, and by points earned in it (reversed earns do not count)."""
    ledger = PointsLedger(MemoryStore())
    enrol(ledger, "p", at="2024-01-01T09:00:00", actor="desk")
    assert membership("p", _log(2, amount=6000.0), as_of="2024-03-01",
                      ledger=ledger).rule == "10,000+ spent in the last year"
    ledger.earn("p", 2500, key="bonus", at="2024-02-01", reason="campaign")
    assert membership("p", _log(1), as_of="2024-03-01", ledger=ledger).tier == "gold"
    ledger.reverse("bonus", at="2024-02-02")
    assert membership("p", _log(1), as_of="2024-03-01", ledger=ledger).tier == "silver"


def test_enrolment_is_one_recorded_event() -> None:
    """Enrolling twice writes one event; the ledger still audits clean."""
    ledger = PointsLedger(MemoryStore())
    first = enrol(ledger, "p", at="2024-01-01T09:00:00", actor="desk")
    again = enrol(ledger, "p", at="2024-01-01T09:00:00", actor="desk")
    assert first.key == again.key
    assert len(ledger.history("p")) == 1
    assert enrolment(ledger, "p") is not None
    assert verify(ledger.store).ok


def test_privileges_names_the_tier_and_rule() -> None:
    """privileges(..., tiers=SPEC_TIERS) says the tier and its rule beside each decision."""
    ledger = PointsLedger(MemoryStore())
    enrol(ledger, "p", at="2024-01-01T09:00:00", actor="desk")
    p = privileges("p", _log(2), as_of="2024-03-01", ledger=ledger, tiers=SPEC_TIERS)
    assert (p.tier, p.tier_rule) == ("silver", "returning patient: a visit in the last year")
    assert p.granted("returning_package")
    assert p.decision("returning_package").rule.startswith("silver tier")


def test_a_scheme_is_data() -> None:
    """A host scheme without enrolment works; bad schemes are refused."""
    scheme = TierScheme((Tier("basic", "Basic", (TierRule("anyone"),)),), requires_enrolment=False)
    assert membership("p", _log(1), as_of="2024-02-01", scheme=scheme).tier == "basic"
    with pytest.raises(ConfigError):
        TierScheme(())
    with pytest.raises(ConfigError):
        attrs.evolve(SPEC_TIERS.tiers[0], rules=())
    with pytest.raises(ConfigError):
        TierRule("x", window_days=0)
