"""Segmenters: fit/assign, the eight segments by hand, per-group fallback, JSON, properties."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError, ValidationError
from rfm_retention.features import PatientFeatures, patient_features
from rfm_retention.segmentation import (
    TEN_SEGMENT_MAP,
    FittedRFM,
    FittedSegmenter,
    FixedSplit,
    GroupedSegmenter,
    MedianSplit,
    QuantileSplit,
    RFMColumns,
    RFMSegmenter,
    ScoreSplit,
    Segmenter,
    eight_segments,
    eight_segments_from_scores,
    load,
    loads,
    score_segments,
)
from rfm_retention.time import to_instant

AS_OF = dt.date(2024, 6, 30)


def features(days, visits, spend, ids=None, department=None):
    """Features from R/F/M lists (ids default to 0..n-1)."""
    ids = list(range(len(days))) if ids is None else ids
    return PatientFeatures.from_rfm(
        as_of=AS_OF, patient_id=ids, days_since_last_visit=days, visits_in_window=visits,
        spend_in_window=spend, last_department=department,
    )


# One patient per segment with fixed cut points: recent <= 90 days, >= 3 visits, >= 1000 spent.
EIGHT = features(
    days=[10, 20, 30, 40, 100, 200, 300, 400],
    visits=[5, 4, 1, 2, 6, 3, 1, 1],
    spend=[5000.0, 300, 2000, 100, 8000, 50, 1500, 20],
)
EIGHT_EXPECTED = ["core", "value", "potential", "general", "at_risk", "lost", "dormant",
                  "inactive"]
FIXED = eight_segments(FixedSplit(90), FixedSplit(3), FixedSplit(1000))


def test_each_of_the_eight_segments_by_hand():
    """Fixed thresholds put each hand-built patient in the segment its pattern names."""
    seg = FIXED.fit_assign(EIGHT)
    assert seg.codes.tolist() == EIGHT_EXPECTED
    assert seg.r.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert seg.label_codes.tolist()[:2] == ["111", "110"]


def test_median_eight_segments_by_hand():
    """Median split of a hand-computed cohort: medians 70 days, 2.5 visits, 900 spend."""
    seg = eight_segments(columns=RFMColumns(frequency="visits_in_window")).fit_assign(EIGHT)
    # days < 70 recent; visits > 2.5 frequent; spend > 900 valuable
    assert seg.codes.tolist() == ["core", "value", "potential", "general", "at_risk", "lost",
                                  "dormant", "inactive"]


def test_quantile_eight_segments_by_hand():
    """q=0.75: only the top quarter of each dimension is high."""
    split = QuantileSplit(0.75)
    seg = eight_segments(split, split, split).fit_assign(EIGHT)
    # recency high: days < 27.5 (0.25-quantile); visits > 4.25; spend > 2750
    assert seg.r.tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    assert seg.f.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert seg.m.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert seg.codes.tolist()[:2] == ["core", "general"]
    assert seg.codes.tolist()[4] == "at_risk"


def test_score_segments_ten_map_by_hand():
    """Quintile scores on ten patients, named by the 10-segment map."""
    f = features(
        days=[1, 2, 10, 20, 40, 80, 150, 300, 500, 700],
        visits=[9, 2, 7, 1, 5, 5, 8, 1, 9, 1],
        spend=[1.0] * 10,
    )
    seg = score_segments(columns=RFMColumns(frequency="visits_in_window")).fit_assign(f)
    assert seg.r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert seg.f.tolist() == [5, 2, 4, 1, 3, 3, 4, 1, 5, 1]
    assert seg.codes.tolist() == [
        "champions", "potential_loyalist", "loyal", "promising", "need_attention",
        "need_attention", "at_risk", "hibernating", "cant_lose", "hibernating",
    ]


def test_fit_then_assign_other_snapshot_uses_stored_cuts():
    """Assigning a new snapshot never refits: yesterday's cut points label today's patients."""
    fitted = eight_segments().fit(EIGHT)
    today = features(days=[0, 365], visits=[100, 0], spend=[1e6, 0.0], ids=[90, 91])
    assert fitted.assign(today).codes.tolist() == ["core", "inactive"]


def test_default_frequency_is_visits_per_year():
    """F defaults to visits per year (SPEC); the column is configurable."""
    assert eight_segments().columns.frequency == "visits_per_year"
    with pytest.raises(ConfigError, match="not a numeric feature column"):
        RFMColumns(frequency="last_department")


def test_score_segments_default_map_follows_k():
    """k=5 reads the 10-segment map; other k the eight segments; the ten map needs k=5."""
    assert score_segments().segment_map is TEN_SEGMENT_MAP
    assert score_segments(4).segment_map.name == "eight_from_scores_4_3"
    with pytest.raises(ConfigError, match="1-5 scores"):
        score_segments(4, TEN_SEGMENT_MAP)


def test_split_labels_must_fit_the_map():
    """Scores cannot feed the flag map: refused when the segmenter is built."""
    with pytest.raises(ConfigError, match="expects"):
        RFMSegmenter(recency=ScoreSplit(5))
    with pytest.raises(ConfigError, match="not a split strategy"):
        RFMSegmenter(recency="median")  # type: ignore[arg-type]


def test_non_finite_values_name_the_patient():
    """A NaN spend is a ValidationError naming the row, field and patient."""
    bad = features(days=[1, 2], visits=[1, 1], spend=[10.0, float("nan")], ids=["a", "b"])
    with pytest.raises(ValidationError, match=r"row 1 \(patient b\): spend_in_window"):
        eight_segments().fit(bad)


def test_fit_on_nobody_is_refused_but_assign_of_nobody_is_empty():
    """Cut points need data; labelling an empty snapshot gives an empty result."""
    empty = features([], [], [])
    with pytest.raises(ConfigError, match="zero patients"):
        eight_segments().fit(empty)
    assert len(FIXED.fit(EIGHT).assign(empty)) == 0


def test_protocols_are_satisfied():
    """Built-in segmenters and their fitted results satisfy the public protocols."""
    assert isinstance(eight_segments(), Segmenter)
    assert isinstance(GroupedSegmenter(), Segmenter)
    assert isinstance(eight_segments().fit(EIGHT), FittedSegmenter)


def test_segments_from_a_visit_log():
    """End to end from visits: two patients, one recent and frequent, one long gone."""
    log = VisitLog.from_arrays(
        patient_id=["a", "a", "a", "b"],
        visit_time=["2024-01-05", "2024-03-05", "2024-06-01", "2023-01-01"],
        amount=[100.0, 200.0, 300.0, 50.0],
    )
    seg = eight_segments().fit_assign(patient_features(log, "2024-06-30"))
    assert seg.codes.tolist() == ["core", "inactive"]
    assert seg.patient("a").recency == 29.0


# ----------------------------------------------------------------- per group
def grouped_cohort():
    """Cardiology spends ten times what dermatology spends; one tiny 'ent' group."""
    rng = np.random.default_rng(7)
    n = 40
    days = np.concatenate([rng.integers(0, 400, n), rng.integers(0, 400, n), [5, 300]])
    visits = np.concatenate([rng.integers(1, 6, n), rng.integers(1, 6, n), [4, 1]])
    spend = np.concatenate([rng.uniform(5000, 20000, n), rng.uniform(500, 2000, n),
                            [100.0, 20.0]])
    dept = ["cardio"] * n + ["derm"] * n + ["ent", "ent"]
    return features(days.tolist(), visits.tolist(), spend.tolist(), department=dept)


def test_groups_have_their_own_cut_points():
    """Half of each department is M-high by its own median, not all of cardiology."""
    f = grouped_cohort()
    seg = GroupedSegmenter(eight_segments(), min_group_size=10).fit_assign(f)
    dept = f.last_department
    assert seg.m[dept == "cardio"].sum() == 20
    assert seg.m[dept == "derm"].sum() == 20
    overall = eight_segments().fit_assign(f)
    assert overall.m[dept == "cardio"].sum() == 40
    assert overall.m[dept == "derm"].sum() <= 1


def test_small_group_falls_back_to_parent_then_overall():
    """ENT is too small: with a parent it gets the parent's cuts, otherwise the overall ones."""
    f = grouped_cohort()
    plain = GroupedSegmenter(eight_segments(), min_group_size=10).fit_assign(f)
    assert set(plain.cut_source[f.last_department == "ent"].tolist()) == {"overall"}
    assert set(plain.cut_source[f.last_department == "cardio"].tolist()) == {"group:cardio"}
    family = GroupedSegmenter(eight_segments(), min_group_size=10,
                              parents={"ent": "surgical", "derm": "surgical"})
    fitted = family.fit(f)
    seg = fitted.assign(f)
    assert set(seg.cut_source[f.last_department == "ent"].tolist()) == {"parent:surgical"}
    assert fitted.cuts_for("derm")[1] == "group:derm"
    assert fitted.cuts_for("never-seen")[1] == "overall"


def test_group_of_fits_per_family_and_round_trips():
    """group_of maps column values to families: cut points per family, kept in the JSON."""
    f = grouped_cohort()
    family = {"cardio": "internal", "ent": "surgical", "derm": "surgical"}
    fitted = GroupedSegmenter(eight_segments(), min_group_size=10, group_of=family).fit(f)
    assert set(fitted.groups) == {"internal", "surgical"}
    seg = fitted.assign(f)
    assert set(seg.group.tolist()) == {"internal", "surgical"}
    assert set(seg.cut_source[f.last_department == "ent"].tolist()) == {"group:surgical"}
    again = loads(fitted.to_json())
    assert again.group_of == family
    assert again.assign(f).codes.tolist() == seg.codes.tolist()


def test_grouped_rejects_non_text_columns():
    """Groups come from the department or diagnosis columns."""
    with pytest.raises(ConfigError, match="last_department"):
        GroupedSegmenter(by="spend_in_window")


# ----------------------------------------------------------------- JSON
def test_json_round_trip_keeps_every_cut_and_the_labels():
    """Fitted cut points saved as JSON label a snapshot exactly as before."""
    f = grouped_cohort()
    fitted = GroupedSegmenter(score_segments(5, eight_segments_from_scores(5)),
                              min_group_size=10, parents={"ent": "x"}).fit(f)
    again = FittedRFM.from_json(fitted.to_json())
    assert again.groups == fitted.groups
    assert again.overall == fitted.overall
    assert again.fitted_as_of == to_instant(AS_OF)
    assert again.fitted_patients == len(f)
    assert again.assign(f).codes.tolist() == fitted.assign(f).codes.tolist()


def test_fitted_as_of_is_the_instant_of_the_features_fitted_on():
    """fitted_as_of is the features' as_of (datetime64[s]), saved and read back to the second."""
    f = PatientFeatures.from_rfm(as_of="2024-06-30T12:00:00", patient_id=["a", "b", "c"],
                                 days_since_last_visit=[3, 40, 400], visits_in_window=[5, 2, 1],
                                 spend_in_window=[900.0, 90.0, 9.0])
    fitted = eight_segments().fit(f)
    assert fitted.fitted_as_of == f.as_of == np.datetime64("2024-06-30T12:00:00")
    assert fitted.fitted_as_of.dtype == np.dtype("datetime64[s]")
    assert json.loads(fitted.to_json())["fitted_as_of"] == "2024-06-30T12:00:00"
    assert FittedRFM.from_json(fitted.to_json()).fitted_as_of == fitted.fitted_as_of


def test_a_file_saved_with_a_bare_fit_date_still_loads(tmp_path):
    """A file holding fitted_as_of as a date (as saved before) loads as that day's last second."""
    f = grouped_cohort()
    fitted = GroupedSegmenter(min_group_size=10).fit(f)
    saved = json.loads(fitted.to_json())
    saved["fitted_as_of"] = "2024-06-30"
    path = tmp_path / "cuts.json"
    path.write_text(json.dumps(saved), encoding="utf-8")
    again = load(path)
    assert again.fitted_as_of == np.datetime64("2024-06-30T23:59:59")
    assert again.assign(f).codes.tolist() == fitted.assign(f).codes.tolist()
    saved["fitted_as_of"] = "30/06/2024"
    with pytest.raises(ConfigError, match="fitted_as_of"):
        FittedRFM.from_json(json.dumps(saved))


def test_json_refuses_foreign_or_broken_files():
    """Wrong format tag, bad JSON or descending edges are ConfigErrors."""
    with pytest.raises(ConfigError, match="not valid JSON"):
        loads("{")
    with pytest.raises(ConfigError, match="format"):
        loads(json.dumps({"format": "other"}))
    data = json.loads(FIXED.fit(EIGHT).to_json())
    data["overall"]["monetary"]["edges"] = [5.0, 1.0]
    data["overall"]["monetary"]["labels"] = [0, 1, 1]
    with pytest.raises(ConfigError, match="ascending"):
        loads(json.dumps(data))
    del data["overall"]
    with pytest.raises(ConfigError, match="missing the key 'overall'"):
        loads(json.dumps(data))
    good = json.loads(FIXED.fit(EIGHT).to_json())
    good["by"] = "spend_in_window"
    with pytest.raises(ConfigError, match="groups come from"):
        loads(json.dumps(good))


def test_save_and_load_file(tmp_path):
    """save/load write and read UTF-8 JSON files (Chinese names intact)."""
    from rfm_retention.segmentation import load

    path = tmp_path / "cuts.json"
    FIXED.fit(EIGHT).save(path)
    assert "核心客户" in path.read_text(encoding="utf-8")
    assert load(path).assign(EIGHT).codes.tolist() == EIGHT_EXPECTED


# ----------------------------------------------------------------- properties
@st.composite
def rfm_features(draw, min_size=1):
    """Features with realistic ties: few distinct visit counts, repeated days and fees."""
    n = draw(st.integers(min_value=min_size, max_value=60))
    days = draw(st.lists(st.sampled_from([0, 1, 7, 30, 30, 90, 180, 365, 700]),
                         min_size=n, max_size=n))
    visits = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 2, 3, 5, 12]), min_size=n,
                           max_size=n))
    spend = draw(st.lists(st.sampled_from([50.0, 50.0, 120.0, 999.5, 3000.0, 25000.0]),
                          min_size=n, max_size=n))
    dept = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    return features(days, visits, spend, department=dept)


SEGMENTERS = [
    eight_segments(),
    eight_segments(QuantileSplit(0.8), MedianSplit(), QuantileSplit(0.6)),
    score_segments(),
    score_segments(4, eight_segments_from_scores(4)),
    GroupedSegmenter(score_segments(), min_group_size=5),
    GroupedSegmenter(eight_segments(), min_group_size=3, parents={"a": "ab", "b": "ab"}),
    GroupedSegmenter(score_segments(), min_group_size=4, group_of={"a": "ab", "b": "ab"}),
]


@given(rfm_features(), st.sampled_from(SEGMENTERS), st.randoms(use_true_random=False))
def test_permutation_invariant(f, segmenter, rnd):
    """Shuffling the patients' rows changes nobody's labels or segment."""
    perm = np.array(rnd.sample(range(len(f)), len(f)))
    base = segmenter.fit_assign(f)
    shuffled = segmenter.fit_assign(f.take(perm))
    for name in ("r", "f", "m", "segment"):
        assert getattr(shuffled, name).tolist() == getattr(base, name)[perm].tolist()


@given(rfm_features(), st.sampled_from(SEGMENTERS))
def test_ties_share_labels(f, segmenter):
    """Patients with identical R, F, M (and group) get identical labels."""
    seg = segmenter.fit_assign(f)
    keys = {}
    for i in range(len(f)):
        key = (f.days_since_last_visit[i], f.visits_per_year[i], f.spend_in_window[i],
               f.last_department[i] if isinstance(segmenter, GroupedSegmenter) else "")
        labels = (seg.r[i], seg.f[i], seg.m[i])
        assert keys.setdefault(key, labels) == labels


@given(rfm_features(), st.sampled_from(SEGMENTERS), st.data())
def test_single_patient_equals_batch(f, segmenter, data):
    """Assigning one patient (check-in) gives what the batch gave that patient."""
    fitted = segmenter.fit(f)
    batch = fitted.assign(f)
    i = data.draw(st.integers(0, len(f) - 1))
    one = fitted.assign(f.take(np.array([i])))
    assert one.codes.tolist() == [batch.codes[i]]
    assert (one.r[0], one.f[0], one.m[0]) == (batch.r[i], batch.f[i], batch.m[i])
    assert one.patient(f.patient_id[i]) == batch.patient(f.patient_id[i])


@given(rfm_features(), st.sampled_from(SEGMENTERS))
def test_json_round_trip_property(f, segmenter):
    """Any fitted segmenter survives JSON and labels the snapshot identically."""
    fitted = segmenter.fit(f)
    again = loads(fitted.to_json())
    assert again.overall == fitted.overall
    assert dict(again.groups) == dict(fitted.groups)
    assert again.assign(f).segment.tolist() == fitted.assign(f).segment.tolist()


@given(rfm_features(min_size=2), st.floats(0, 1e5))
def test_more_spend_never_leaves_m_high(f, extra):
    """With fixed (fitted) cut points, adding spend never takes a patient from M-high to M-low."""
    fitted = eight_segments().fit(f)
    richer = PatientFeatures.from_rfm(
        as_of=AS_OF, patient_id=f.patient_id, days_since_last_visit=f.days_since_last_visit,
        visits_in_window=f.visits_in_window, spend_in_window=f.spend_in_window + extra,
    )
    before = fitted.assign(f).m
    after = fitted.assign(richer).m
    assert np.all(after >= before)
