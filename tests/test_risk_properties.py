"""Invariants of the warning system, checked on random patient histories."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import (
    Appointment,
    Assessment,
    Complaint,
    Course,
    PatientData,
    Rating,
    Review,
    Visit,
)
from rfm_retention.risk import IntervalExtension, evaluate, scan
from rfm_retention.risk._registry import default_indicators
from rfm_retention.risk._scan import default_policy
from rfm_retention.risk.conformance import check_indicator, only_patients, shuffled_rows
from test_risk_support import AS_OF, bundle, day

offsets = st.integers(min_value=1, max_value=400)
scores = st.integers(min_value=0, max_value=100)


@st.composite
def histories(draw: Any, pid: str) -> dict[str, list[Any]]:
    """One patient's rows in every source (all before AS_OF; at least two visits)."""
    visits = [
        Visit(
            pid,
            day(o),
            float(draw(st.integers(0, 500))),
            diagnosis=draw(st.sampled_from(["", "I10", "E11.9", "J45"])),
        )
        for o in draw(st.lists(offsets, min_size=2, max_size=8))
    ]
    return {
        "visits": visits,
        "ratings": [
            Rating(pid, day(o), s)
            for o, s in draw(st.lists(st.tuples(offsets, scores), max_size=4))
        ],
        "complaints": [
            Complaint(pid, day(o), v, h)
            for o, v, h in draw(
                st.lists(
                    st.tuples(offsets, st.booleans(), st.one_of(st.none(), scores)), max_size=3
                )
            )
        ],
        "appointments": [
            Appointment(pid, day(o), s)
            for o, s in draw(
                st.lists(
                    st.tuples(offsets, st.sampled_from(["attended", "no_show", "cancelled"])),
                    max_size=4,
                )
            )
        ],
        "courses": [
            Course(
                pid,
                day(o),
                10,
                d,
                expected_end=day(o - 60),
                status=draw(st.sampled_from(["active", "abandoned"])),
            )
            for o, d in draw(
                st.lists(st.tuples(st.integers(61, 400), st.integers(0, 10)), max_size=2)
            )
        ],
        "outcomes": [
            Assessment(pid, day(o), s, e, a)
            for o, s, e, a in draw(st.lists(st.tuples(offsets, scores, scores, scores), max_size=2))
        ],
        "reviews": [
            Review(pid, day(o), s)
            for o, s in draw(st.lists(st.tuples(st.integers(1, 300), scores), max_size=2))
        ],
    }


def merge(*parts: dict[str, list[Any]]) -> PatientData:
    """A bundle with every source present, from per-patient histories."""
    rows: dict[str, list[Any]] = {k: [] for k in parts[0]}
    for part in parts:
        for k, v in part.items():
            rows[k] += v
    visits = rows.pop("visits")
    return bundle(visits, **rows)


cohorts = st.integers(2, 6).flatmap(lambda n: st.tuples(*[histories(f"p{k}") for k in range(n)]))


def worsen(h: dict[str, list[Any]], pid: str, how: str) -> dict[str, list[Any]]:
    """The same history with one signal made worse.

    Never data in a dimension that had none: the score re-weights dimensions
    without data, so going from "unknown" to "known and mildly bad" may lower
    it (documented); the invariant is about worse values of known signals.
    With two visits and the complaints source present, behaviour and
    experience always have data; outcomes, courses and reviews are only
    made worse where they exist.
    """
    out = {k: list(v) for k, v in h.items()}
    if how == "rating":
        out["ratings"].append(Rating(pid, AS_OF, 10))
    elif how == "complaint":
        out["complaints"].append(Complaint(pid, AS_OF, True, 5))
    elif how == "no_show":
        out["appointments"].append(Appointment(pid, AS_OF, "no_show"))
    elif how == "outcome":
        out["outcomes"] = [
            attrs.evolve(
                a,
                outcome_score=max(a.outcome_score - 30, 0),
                actual_progress=max(a.actual_progress - 30, 0),
            )
            for a in out["outcomes"]
        ]
    elif how == "course":
        out["courses"] = [attrs.evolve(c, completed_sessions=0) for c in out["courses"]]
    elif how == "review":
        out["reviews"] = [attrs.evolve(r, score=0) for r in out["reviews"]]
    return out


@settings(max_examples=40)
@given(
    history=histories("p"),
    how=st.sampled_from(["rating", "complaint", "no_show", "outcome", "course", "review"]),
)
def test_a_worse_signal_never_lowers_level_or_score(history, how) -> None:  # type: ignore[no-untyped-def]
    """Making one signal worse never lowers the level or the score (default policy)."""
    policy = default_policy()
    before = policy.assess(evaluate(merge(history), AS_OF))
    after = policy.assess(evaluate(merge(worsen(history, "p", how)), AS_OF))
    assert after.level[0] >= before.level[0]
    assert after.score[0] >= before.score[0] - 1e-9


@settings(max_examples=25)
@given(parts=cohorts, seed=st.integers(0, 2**16))
def test_row_order_does_not_matter(parts, seed) -> None:  # type: ignore[no-untyped-def]
    """Feeding every source's rows in another order gives the same warnings."""
    data = merge(*parts)
    a, b = scan(data, AS_OF), scan(shuffled_rows(data, seed), AS_OF)
    assert a.patient_id.tolist() == b.patient_id.tolist()
    assert np.array_equal(a.level, b.level)
    assert np.array_equal(a.score, b.score)
    assert [w.evidence for w in a] == [w.evidence for w in b]


@settings(max_examples=25)
@given(parts=cohorts, keep=st.integers(1, 5))
def test_patient_result_independent_of_other_patients(parts, keep) -> None:  # type: ignore[no-untyped-def]
    """A patient's level, score, reasons and evidence are the same whoever else is in the data.

    Their churn odds are not: the lifetime model is fitted on the population.
    """
    data = merge(*parts)
    subset = data.patients[: min(keep, len(data.patients))]
    full, part = scan(data, AS_OF), scan(only_patients(data, subset), AS_OF)
    for pid in subset.tolist():
        a, b = full.explain(pid), part.explain(pid)
        assert (a.level, a.score) == (b.level, b.score)
        x, y = full.get(pid), part.get(pid)
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert (x.level, x.score, x.reasons, x.indicators) == (
                y.level, y.score, y.reasons, y.indicators
            )


@settings(max_examples=15)
@given(parts=cohorts)
def test_builtin_indicators_pass_the_conformance_kit(parts) -> None:  # type: ignore[no-untyped-def]
    """Every built-in indicator passes every conformance check on random data."""
    data = merge(*parts)
    for indicator in default_indicators():
        report = check_indicator(indicator, data, AS_OF)
        assert report.ok, str(report)


def test_conformance_kit_catches_a_broken_indicator() -> None:
    """An indicator whose result depends on row order and other patients is reported."""

    @attrs.frozen
    class Leaky(IntervalExtension):
        def measure(self, data, instant):  # type: ignore[no-untyped-def]
            m = super().measure(data, instant)
            noise = float(data.visits.amount[0]) + len(data.patients)
            return attrs.evolve(m, value=m.value + noise)

    data = merge(
        *[
            {
                "visits": [Visit(p, day(10 + k), float(a)) for k in range(3)],
                "ratings": [],
                "complaints": [],
                "appointments": [],
                "courses": [],
                "outcomes": [],
                "reviews": [],
            }
            for p, a in (("a", 5), ("b", 50), ("c", 500))
        ]
    )
    report = check_indicator(Leaky(), data, AS_OF)
    assert not report.ok
    assert "independence" in report.failures
    assert {"protocol", "shape", "determinism"} <= set(report.passed)


def test_conformance_kit_rejects_non_indicators() -> None:
    """An object without the protocol's members fails the protocol check only."""
    report = check_indicator(
        object(),
        merge(
            {
                "visits": [Visit("a", day(1), 1.0)],
                "ratings": [],
                "complaints": [],
                "appointments": [],
                "courses": [],
                "outcomes": [],
                "reviews": [],
            }
        ),
        AS_OF,
    )
    assert list(report.failures) == ["protocol"]


@settings(max_examples=25)
@given(parts=cohorts)
def test_scores_in_range_and_levels_follow_cutoffs(parts) -> None:  # type: ignore[no-untyped-def]
    """Scores stay within 0-100 and the score policy's levels are exactly its cut-off bands."""
    from rfm_retention.risk import ScorePolicy
    from rfm_retention.risk._policy import levels_from_scores

    panel = evaluate(merge(*parts), AS_OF)
    verdict = ScorePolicy().assess(panel)
    assert np.all((verdict.score >= 0) & (verdict.score <= 100))
    assert np.array_equal(verdict.level, levels_from_scores(verdict.score))
    for result in panel.results:
        assert not np.any(result.fired & ~result.signal)
