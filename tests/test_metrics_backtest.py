"""Ranking metrics (ties included), replay without peeking, labels, lead times, baseline."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import PatientData, RatingTable, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.metrics import LapseRule
from rfm_retention.metrics._backtest import (
    DaysSinceLastVisit,
    Scores,
    backtest,
    match_levels,
)
from rfm_retention.metrics._ranking import auc, lift_at, precision_at_k, recall_at_k
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.risk._care_intervals import CareIntervals
from rfm_retention.testing import synthetic_cohort
from rfm_retention.time import day_number

scores_and_outcomes = st.integers(2, 7).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@given(scores_and_outcomes)
def test_auc_equals_pairwise_count(data: tuple[list[int], list[bool]]) -> None:
    """AUC is the share of (positive, negative) pairs ordered right, ties counting half."""
    s, y = data
    pos = [a for a, t in zip(s, y, strict=True) if t]
    neg = [a for a, t in zip(s, y, strict=True) if not t]
    got = auc(s, y)
    if not pos or not neg:
        assert math.isnan(got)
        return
    pairs = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    assert got == pytest.approx(pairs / (len(pos) * len(neg)))


@settings(max_examples=60)
@given(scores_and_outcomes, st.integers(1, 8))
def test_precision_at_k_is_the_mean_over_tie_orders(
    data: tuple[list[int], list[bool]], k: int
) -> None:
    """Precision at k equals its average over every way of breaking ties."""
    s, y = data
    top = min(k, len(s))
    hits = []
    for perm in itertools.permutations(range(len(s))):
        if all(s[perm[i]] >= s[perm[i + 1]] for i in range(len(s) - 1)):
            hits.append(sum(y[i] for i in perm[:top]) / top)
    assert precision_at_k(s, y, k) == pytest.approx(sum(hits) / len(hits))


def test_ranking_by_hand() -> None:
    """Hand-worked precision, recall at k and top-decile lift."""
    score = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0] + [0] * 9 + [1]
    assert precision_at_k(score, y, 2) == 1.0
    assert recall_at_k(score, y, 4) == 0.75
    # top 10 % = 2 patients, both positive: precision 1.0 / base rate 4/20 = 5
    assert lift_at(score, y, 0.1) == pytest.approx(5.0)
    with pytest.raises(ConfigError, match="NaN"):
        auc([1.0, float("nan")], [1, 0])


def test_match_levels_copies_counts() -> None:
    """The baseline gets as many high/medium/low as the method, by rank, ties by id."""
    ref = np.array([3, 2, 2, 0, 1, 0])
    got = match_levels(np.array([5.0, 1.0, 9.0, 9.0, 0.0, 3.0]), np.array(list("abcdef")), ref)
    # order: c(9), d(9), a(5), f(3), b(1), e(0) -> c high, d+a medium, f low
    assert got.tolist() == [2, 0, 3, 2, 0, 1]


@pytest.fixture
def small() -> PatientData:
    log = VisitLog.from_arrays(
        patient_id=["a", "a", "a", "b", "b", "c", "c", "d"],
        visit_time=["2024-01-01", "2024-02-01", "2024-03-01",
                    "2024-01-15", "2024-06-20",
                    "2024-02-10", "2024-03-10",
                    "2023-01-01"],
        amount=[1.0] * 8,
    )
    ratings = RatingTable.from_arrays(
        patient_id=["a", "c"], rated_at=["2024-03-01", "2024-05-01"], score=[90, 40]
    )
    return PatientData(visits=log, ratings=ratings)


RULE = LapseRule(grace_days=0, default_interval_days=40, min_intervals=2, norms=CareIntervals())


def test_outcome_labels_by_hand(small: PatientData) -> None:
    """Population: seen by the date, not lapsed; outcome: no visit or a lapse in the horizon."""
    at = day_number("2024-03-15")
    no_visit = outcome_labels(small.visits, at, ChurnOutcome(horizon_days=90, rule=RULE),
                              observed_until_day=day_number("2024-12-31"))
    # a: last 03-01, own mean 30 -> lapse 04-01, active; b: 01-15 -> lapse 02-25, lapsed;
    # c: 03-10 -> lapse 04-20, active; d: long gone.
    assert no_visit.patient_id.tolist() == ["a", "c"]
    assert no_visit.positive.tolist() == [True, True]
    everyone = outcome_labels(small.visits, at, ChurnOutcome(horizon_days=120, rule=RULE),
                              observed_until_day=day_number("2024-12-31"), population="all")
    # b comes back on 06-20, inside 120 days
    assert everyone.patient_id.tolist() == ["a", "b", "c", "d"]
    assert everyone.positive.tolist() == [True, False, True, True]
    lapse = outcome_labels(small.visits, at, ChurnOutcome("lapse", horizon_days=20, rule=RULE),
                           observed_until_day=day_number("2024-12-31"))
    # within 20 days (to 04-04): a lapses 04-01, c only on 04-20
    assert lapse.positive.tolist() == [True, False]


def test_horizon_past_the_data_is_refused(small: PatientData) -> None:
    """A horizon that ends after the data cannot be labelled."""
    with pytest.raises(ConfigError, match="ends after the data"):
        outcome_labels(small.visits, day_number("2024-06-01"), ChurnOutcome(horizon_days=90),
                       observed_until_day=day_number("2024-06-20"))


def test_data_until_cuts_every_source(small: PatientData) -> None:
    """The cut data has no row after the date and is grouped like freshly built data."""
    cut = data_until(small, np.datetime64("2024-02-29T23:59:59"))
    assert cut.visits.time.max() <= np.datetime64("2024-02-29T23:59:59")
    assert cut.ratings is not None
    assert len(cut.ratings) == 0
    fresh = VisitLog.from_arrays(
        patient_id=["a", "a", "b", "c", "d"],
        visit_time=["2024-01-01", "2024-02-01", "2024-01-15", "2024-02-10", "2023-01-01"],
        amount=[1.0] * 5,
    )
    assert cut.visits.patient_ids.tolist() == fresh.patient_ids.tolist()
    assert cut.visits.group_starts.tolist() == fresh.group_starts.tolist()
    assert cut.visits.patient_index.tolist() == fresh.patient_index.tolist()


class Peeker:
    """A scorer that fails if it is shown data after its date; flags a fixed set."""

    name = "fixed"

    def __init__(self, flagged: dict[str, set[str]]) -> None:
        self.flagged = flagged

    def score(self, data: PatientData, at: dt.date) -> Scores:
        limit = np.datetime64(at, "s") + np.timedelta64(86399, "s")
        for _, table in data.sources():
            assert not len(table) or table.time.max() <= limit
        ids = data.visits.patient_ids
        chosen = self.flagged.get(at.isoformat(), set())
        level = np.array([3 if str(p) in chosen else 0 for p in ids])
        return Scores.of(ids, level.astype(float), level)


FLAGS = {"2024-03-15": {"c"}, "2024-03-20": {"a", "c"}}


def test_backtest_lead_time_by_hand(small: PatientData) -> None:
    """Lapse outcome: lead time = lapse day minus the first scan date that flagged the patient."""
    scorer = Peeker(FLAGS)
    bt = backtest(small, ["2024-03-20", "2024-03-15"], scorer=scorer,
                  outcome=ChurnOutcome("lapse", horizon_days=60, rule=RULE), k=1)
    assert [r.at.isoformat() for r in bt.results][::2] == ["2024-03-15", "2024-03-20"]
    lead = bt.lead_time_of("fixed")
    # lapses with a scan date in between: a (03-01 -> 04-01), c (03-10 -> 04-20).
    # b lapsed 02-25 (no scan before it), b after 06-20 -> 07-31 (no scan). d long before.
    # a first flagged 03-20 -> 12 days; c first flagged 03-15 -> 36 days.
    assert (lead.lapses, lead.warned) == (2, 2)
    assert sorted(lead.days.tolist()) == [12, 36]
    assert lead.median_days == 24.0
    first = bt.results[0]
    assert (first.method, first.patients, first.positives) == ("fixed", 2, 2)
    assert first.by_level[0].flagged == 1  # high: c only
    base = bt.results[1]
    assert base.method == "baseline: days since last visit"
    assert base.by_level[0].flagged == 1  # matched to the method's one high
    cols = {name: column.tolist() for name, column in bt.to_columns().items()}
    assert cols["method"] == ["fixed", DaysSinceLastVisit.name] * 2
    assert cols["median_lead_days"][0] == 24.0


def test_lead_time_follows_no_visit_outcome(small: PatientData) -> None:
    """No-visit outcome: a departure is a silence longer than the horizon, gone on v + H + 1."""
    bt = backtest(small, ["2024-03-15", "2024-03-20"], scorer=Peeker(FLAGS),
                  outcome=ChurnOutcome(horizon_days=60, rule=RULE), k=1)
    lead = bt.lead_time_of("fixed")
    # data end 06-20. a: silent after 03-01 -> gone 05-01; b: 01-15 to 06-20 is 157 days
    # -> gone 03-16 (scan 03-15 in between, not flagged); c: after 03-10 -> gone 05-10;
    # d: 2023-01-01 -> 2023-03-03 (no scan in between); b after 06-20: not seen yet.
    # a first flagged 03-20 -> 42 days; c first flagged 03-15 -> 56 days.
    assert (lead.lapses, lead.warned) == (3, 2)
    assert sorted(lead.days.tolist()) == [42, 56]
    assert lead.median_days == 49.0


def test_lead_time_follows_known_churn_dates(small: PatientData) -> None:
    """Known outcome: lead time runs to the known churn day, from after the last visit before it."""
    truth = ChurnOutcome.known_churn(
        ["a", "b", "c", "zz"],
        np.array(["2024-03-25", "2024-02-01", "2024-04-01", "2024-03-30"], "datetime64[D]"),
        horizon_days=60, rule=RULE,
    )
    bt = backtest(small, ["2024-03-15", "2024-03-20"], scorer=Peeker(FLAGS), outcome=truth, k=1)
    lead = bt.lead_time_of("fixed")
    # a: last visit 03-01, gone 03-25, scans 03-15 and 03-20 between, flagged 03-20 -> 5 days.
    # b: 01-15 -> 02-01, no scan between. c: 03-10 -> 04-01, flagged 03-15 -> 17 days.
    # zz has no visit: skipped.
    assert (lead.lapses, lead.warned) == (2, 2)
    assert sorted(lead.days.tolist()) == [5, 17]
    base = bt.lead_time_of(DaysSinceLastVisit.name)
    assert base.lapses == 2


def test_backtest_refuses_same_names(small: PatientData) -> None:
    """The method and the baseline must be told apart in the report."""
    with pytest.raises(ConfigError, match="distinct names"):
        backtest(small, ["2024-03-15"], scorer=DaysSinceLastVisit(),
                 outcome=ChurnOutcome(horizon_days=30))


def test_backtest_on_synthetic_truth() -> None:
    """On a synthetic cohort with known churn dates, the naive baseline beats chance."""
    cohort = synthetic_cohort(600, seed=11)
    outcome = ChurnOutcome.known_churn(cohort.truth.patient_id, cohort.truth.churned_from,
                                  horizon_days=90)

    class Frequency:
        name = "low frequency"

        def score(self, data: PatientData, at: dt.date) -> Scores:
            f = patient_features(data.visits, at)
            return Scores.of(f.patient_id, -f.visits_per_year)

    bt = backtest(cohort.data, ["2023-03-31", "2023-09-30"], scorer=Frequency(),
                  outcome=outcome, k=50)
    base = [r for r in bt.results if r.method == DaysSinceLastVisit.name]
    assert len(base) == 2
    for r in base:
        assert r.positives > 0
        assert r.auc > 0.6
        assert r.lift_top_decile > 1.0


def test_learned_score_ignores_everything_after_the_evaluation_date() -> None:
    """Training sees nothing past the first evaluation date: later visits change nothing."""
    from rfm_retention.metrics._scorers import ScanScorer, fit_learned_score

    cohort = synthetic_cohort(400, seed=8)
    full = fit_learned_score(cohort.data, "2023-03-31", evaluate_from="2023-07-15")
    cut = data_until(cohort.data, np.datetime64("2023-07-15T23:59:59"))
    assert len(cut.visits) < len(cohort.data.visits)
    short = fit_learned_score(cut, "2023-03-31", evaluate_from="2023-07-15")
    assert full.coefficients == short.coefficients
    assert full.intercept == short.intercept
    with pytest.raises(ConfigError, match="after the first evaluation date"):
        fit_learned_score(cohort.data, "2023-03-31", evaluate_from="2023-06-01")
    bt = backtest(cohort.data, ["2023-07-15", "2023-10-31"],
                  scorer=[ScanScorer(full, label="learned"), ScanScorer()])
    assert [r.method for r in bt.results[:3]] == [
        "learned", "scan: worst(rules, score)", DaysSinceLastVisit.name]


def test_a_level_that_flagged_nobody_shows_a_dash(small: PatientData) -> None:
    """A level with no flagged patient reads '—' in to_rows and the CLI table, not '/0 (n=0)'."""
    from rfm_retention.cli.backtest import render

    bt = backtest(small, ["2024-03-15", "2024-03-20"], scorer=Peeker({"2024-03-20": {"a"}}),
                  outcome=ChurnOutcome("lapse", horizon_days=60, rule=RULE), k=1)
    header, rows = bt.to_rows()
    high = header.index("high P/R %")
    cells = {(row[0], row[1]): row[high] for row in rows}
    assert cells[("2024-03-15", "fixed")] == "—"
    assert cells[("2024-03-20", "fixed")] == "100/50 (n=1)"
    table = render(bt)
    assert "(n=0)" not in table
    assert "—" in table
