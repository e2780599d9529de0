"""Segment summaries, migration matrices and the outreach playbook, checked by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from rfm_retention.errors import ConfigError
from rfm_retention.features import PatientFeatures
from rfm_retention.segmentation import (
    ACTIONS,
    EIGHT_SEGMENT_PLAYBOOK,
    TEN_SEGMENT_MAP,
    TEN_SEGMENT_PLAYBOOK,
    FixedSplit,
    Segment,
    SegmentPlaybook,
    actions,
    eight_segments,
    migration,
    score_segments,
)
from rfm_retention.time import to_instant

SEG = eight_segments(FixedSplit(90), FixedSplit(3), FixedSplit(1000))


def snapshot(as_of, ids, days, visits, spend):
    """Segments of a hand-built snapshot with the fixed segmenter above."""
    f = PatientFeatures.from_rfm(as_of=as_of, patient_id=ids, days_since_last_visit=days,
                                 visits_in_window=visits, spend_in_window=spend)
    return SEG.fit_assign(f)


Q1 = snapshot(dt.date(2024, 3, 31), ["a", "b", "c", "d", "e"],
              [10, 20, 30, 200, 400], [5, 4, 3, 1, 1], [2000.0, 3000, 100, 50, 10])
Q2 = snapshot(dt.date(2024, 6, 30), ["a", "b", "c", "d", "f"],
              [100, 5, 120, 300, 1], [5, 5, 3, 1, 1], [2000.0, 3500, 100, 50, 80])


def test_summary_by_hand():
    """Q1: a and b core (spend 5000 of 5160), c value, d and e inactive."""
    summary = Q1.summary()
    core = summary.row("core")
    assert (core.patients, core.share) == (2, 0.4)
    assert (core.mean_recency, core.median_recency) == (15.0, 15.0)
    assert (core.mean_monetary, core.median_monetary) == (2500.0, 2500.0)
    assert core.total_monetary == 5000.0
    assert core.monetary_share == pytest.approx(5000 / 5160)
    inactive = summary.row("inactive")
    assert (inactive.patients, inactive.median_recency, inactive.mean_frequency) == (
        2, 300.0, 1.0)
    assert summary.row("value").median_monetary == 100.0
    empty = summary.row("at_risk")
    assert empty.patients == 0
    assert math.isnan(empty.mean_recency)
    assert [r.code for r in summary.rows] == [s.value for s in Segment]
    assert sum(r.patients for r in summary.rows) == summary.patients == 5


def test_summary_medians_match_numpy_on_a_larger_cohort():
    """Per-segment medians equal np.median of each segment's values."""
    rng = np.random.default_rng(3)
    n = 2000
    f = PatientFeatures.from_rfm(
        as_of=dt.date(2024, 1, 1), patient_id=np.arange(n),
        days_since_last_visit=rng.integers(0, 700, n), visits_in_window=rng.integers(1, 9, n),
        spend_in_window=rng.gamma(2.0, 800.0, n))
    seg = eight_segments().fit_assign(f)
    for row in seg.summary().rows:
        mask = seg.codes == row.code
        assert row.median_monetary == pytest.approx(np.median(seg.monetary[mask]))
        assert row.median_recency == pytest.approx(np.median(seg.recency[mask]))
        assert row.patients == mask.sum()


def test_summary_rows_for_tables():
    """to_rows gives a header and one row of display strings per segment."""
    header, rows = Q1.summary().to_rows()
    assert header[0] == "segment"
    assert len(rows) == 8
    assert rows[0][:3] == ["core", "Core", "2"]


def test_migration_counts_and_ids():
    """a moved core -> at_risk, c value -> lost, b stayed core; e left, f entered."""
    m = migration(Q1, Q2)
    assert m.count("core", "at_risk") == 1
    assert m.patients("core", "at_risk").tolist() == ["a"]
    assert m.patients("core", "core").tolist() == ["b"]
    assert m.patients("value", "lost").tolist() == ["c"]
    assert m.count("inactive", "inactive") == 1
    assert m.counts.sum() == 4
    assert m.moved() == 2
    assert m.left.tolist() == ["e"]
    assert m.entered.tolist() == ["f"]
    assert (m.before, m.after) == (to_instant("2024-03-31"), to_instant("2024-06-30"))
    header, rows = m.to_rows()
    assert header[1] == "core"
    assert rows[0][5] == "1"


def test_migration_needs_the_same_segments():
    """Snapshots named by different maps cannot be compared."""
    other = score_segments().fit_assign(PatientFeatures.from_rfm(
        as_of=dt.date(2024, 6, 30), patient_id=["a"], days_since_last_visit=[1],
        visits_in_window=[1], spend_in_window=[1.0]))
    with pytest.raises(ConfigError, match="same segments"):
        migration(Q1, other)


def test_patient_record():
    """One patient's labels and segment as a record (what a host shows at check-in)."""
    rec = Q2.patient("a")
    assert (rec.segment, rec.name, rec.name_zh) == ("at_risk", "At risk", "预警客户")
    assert (rec.r, rec.f, rec.m, rec.recency) == (0, 1, 1, 100.0)
    with pytest.raises(KeyError, match="zzz"):
        Q2.patient("zzz")


def test_default_playbook_follows_the_strategy_table():
    """Each segment gets SPEC section 2's action; inactive patients get explicit no outreach."""
    expected = {
        "core": "exclusive_service", "value": "value_uplift", "potential": "frequency_uplift",
        "general": "general_maintenance", "at_risk": "priority_activation", "lost": "win_back",
        "dormant": "reactivation", "inactive": "no_outreach",
    }
    assert {s: EIGHT_SEGMENT_PLAYBOOK.action_for(s).code for s in expected} == expected
    inactive = EIGHT_SEGMENT_PLAYBOOK.action_for("inactive")
    assert inactive.outreach is False
    at_risk = EIGHT_SEGMENT_PLAYBOOK.action_for("at_risk")
    assert "did something get in the way" in at_risk.message_guidance
    assert at_risk.message_guidance_zh
    assert at_risk.priority == 1
    assert all(a.description_zh for a in EIGHT_SEGMENT_PLAYBOOK.entries.values())


def test_actions_per_patient():
    """actions() gives every patient the action of their segment, vectorised."""
    rec = actions(Q2)
    assert rec.codes.tolist() == ["priority_activation", "exclusive_service", "win_back",
                                  "no_outreach", "general_maintenance"]
    assert rec.outreach.tolist() == [True, True, True, False, True]
    assert rec.priority.tolist() == [1, 2, 5, 9, 6]
    assert rec.for_patient("d").code == "no_outreach"
    assert set(rec.to_columns()) == {"patient_id", "action", "channel", "owner_role",
                                     "priority", "outreach"}


def test_host_overrides_an_action():
    """A host replaces one segment's action; the preset is unchanged."""
    custom = EIGHT_SEGMENT_PLAYBOOK.with_action("lost", ACTIONS["no_outreach"])
    assert actions(Q2, custom).codes.tolist()[2] == "no_outreach"
    assert EIGHT_SEGMENT_PLAYBOOK.action_for("lost").code == "win_back"


def test_playbook_must_cover_every_segment():
    """A playbook missing a segment of the map is refused, naming it."""
    partial = SegmentPlaybook("partial", {"core": ACTIONS["exclusive_service"]})
    with pytest.raises(ConfigError, match="no action for segment"):
        partial.actions(Q1)
    with pytest.raises(ConfigError, match="not an Action"):
        SegmentPlaybook("bad", {"core": "call them"})  # type: ignore[dict-item]


def test_ten_segment_playbook_covers_the_ten_map():
    """Every segment of the 10-segment map has an action in its playbook."""
    assert set(TEN_SEGMENT_PLAYBOOK.entries) == set(TEN_SEGMENT_MAP.codes)
    assert TEN_SEGMENT_PLAYBOOK.action_for("cant_lose").code == "priority_activation"


def test_pandas_views_for_analysts():
    """Segmentation, summary and migration convert to DataFrames with the same numbers."""
    pytest.importorskip("pandas")
    frame = Q1.to_pandas()
    assert frame["segment"].tolist() == Q1.codes.tolist()
    summary = Q1.summary().to_pandas()
    assert summary.loc["core", "patients"] == 2
    moves = migration(Q1, Q2).to_pandas()
    assert moves.loc["core", "at_risk"] == 1
