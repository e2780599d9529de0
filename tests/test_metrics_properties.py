"""The vectorised KPIs agree with a plain per-patient reference on random visit logs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.metrics import (
    Exclusions,
    LapseRule,
    monthly_churn,
    revisit_rates_by_month,
    win_back_rate,
)
from rfm_retention.metrics._cases import CaseColumns
from rfm_retention.risk._care_intervals import CareIntervals, CareNorm

BASE = dt.date(2023, 1, 1)
START, END, AS_OF = dt.date(2023, 2, 1), dt.date(2023, 12, 31), dt.date(2023, 11, 15)

visit = st.tuples(
    st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
    st.integers(0, 400),
    st.sampled_from(["", "I10", "E11"]),
)
logs = st.lists(visit, min_size=1, max_size=40)
rules = st.builds(
    LapseRule,
    grace_days=st.integers(0, 40),
    min_intervals=st.integers(1, 3),
    default_interval_days=st.integers(5, 120),
    norms=st.just(CareIntervals((
        CareNorm("h", 30, 45, codes=("I10",)), CareNorm("d", 60, 75, codes=("E11",))
    ))),
)
excl = st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.integers(0, 400), max_size=2)


def build(rows: list[tuple[str, int, str]]) -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=[r[0] for r in rows],
        visit_time=[np.datetime64(BASE + dt.timedelta(days=r[1]), "s") for r in rows],
        amount=[1.0] * len(rows),
        diagnosis=[r[2] for r in rows],
    )


def per_patient_days(rows: list[tuple[str, int, str]]) -> dict[str, list[tuple[dt.date, str]]]:
    """Distinct visit days up to AS_OF with the day's last diagnosis.

    Visits at the same instant are ordered by content (the visit log's rule), so
    the day's last diagnosis is the greatest.
    """
    out: dict[str, dict[dt.date, str]] = {}
    for pid, d, diag in sorted(rows):
        day = BASE + dt.timedelta(days=d)
        if day <= AS_OF:
            out.setdefault(pid, {})[day] = diag
    return {p: sorted(v.items()) for p, v in out.items()}


def reference_lapses(days: list[tuple[dt.date, str]], rule: LapseRule) -> list[dt.date | None]:
    """For each visit day, the day the patient would lapse after it."""
    out: list[dt.date | None] = []
    for k, (day, diag) in enumerate(days):
        expected = (day - days[0][0]).days / k if k >= rule.min_intervals else rule.norm_for(diag)
        out.append(day + dt.timedelta(days=math.floor(expected + rule.grace_days) + 1))
    return out


def months() -> list[tuple[dt.date, dt.date]]:
    spans, m = [], dt.date(START.year, START.month, 1)
    while m <= END:
        nxt = m + relativedelta(months=1)
        spans.append((m, nxt))
        m = nxt
    return spans


@settings(max_examples=150)
@given(logs, rules, excl)
def test_churn_matches_reference(
    rows: list[tuple[str, int, str]], rule: LapseRule, exclusions: dict[str, int]
) -> None:
    """Active-at-start and lapsed counts equal a day-by-day reading of each patient."""
    ex = Exclusions.from_records(
        [(p, BASE + dt.timedelta(days=d)) for p, d in exclusions.items()]
    )
    got = monthly_churn(build(rows), START, END, as_of=AS_OF, rule=rule, exclusions=ex)
    expected = []
    per = per_patient_days(rows)
    for m0, m1 in months():
        active = lapsed = 0
        for pid, days in per.items():
            if pid in exclusions and BASE + dt.timedelta(days=exclusions[pid]) < m1:
                continue
            lapse = reference_lapses(days, rule)
            before = [k for k, (d, _) in enumerate(days) if d < m0]
            if m0 > AS_OF or not before:
                continue
            k = before[-1]
            lk = lapse[k]
            assert lk is not None
            if lk < m0:
                continue
            active += 1
            for j, (_, _) in enumerate(days):
                lj = lapse[j]
                assert lj is not None
                nxt = days[j + 1][0] if j + 1 < len(days) else None
                if m0 <= lj < m1 and lj <= AS_OF and (nxt is None or nxt >= lj):
                    lapsed += 1
                    break
        expected.append((active, lapsed))
    assert [(m.active_at_start, m.lapsed) for m in got] == expected


@settings(max_examples=150)
@given(logs, st.sampled_from([1, 3, 6]))
def test_revisit_matches_reference(rows: list[tuple[str, int, str]], window: int) -> None:
    """Index, censored and revisited counts equal a per-patient calendar reading."""
    _, got = revisit_rates_by_month(build(rows), START, END, as_of=AS_OF, months=window)
    per = per_patient_days(rows)
    expected = []
    for m0, m1 in months():
        idx = cen = rev = 0
        for days in per.values():
            in_month = [d for d, _ in days if m0 <= d < m1]
            if not in_month:
                continue
            idx += 1
            first = in_month[0]
            end = first + relativedelta(months=window)
            if end > AS_OF:
                cen += 1
            elif any(first < d <= end for d, _ in days):
                rev += 1
        expected.append((idx, cen, rev))
    assert [(r.index_patients, r.censored, r.revisited) for r in got] == expected
    for r in got:
        assert r.revisited <= r.eligible <= r.index_patients


@settings(max_examples=100)
@given(logs, st.lists(st.tuples(st.sampled_from(["p1", "p2", "p9"]), st.integers(0, 400)),
                      max_size=8), st.integers(1, 60),
       st.dictionaries(st.sampled_from(["p1", "p2", "p9"]), st.integers(0, 400), max_size=2))
def test_win_back_matches_reference(
    rows: list[tuple[str, int, str]], contacts: list[tuple[str, int]], within: int,
    exclusions: dict[str, int],
) -> None:
    """Won-back and excluded cases equal a direct reading of (contact, contact + N days]."""
    log = build(rows)
    at = [np.datetime64(BASE + dt.timedelta(days=d), "s") + np.timedelta64(12, "h")
          for _, d in contacts]
    cases = CaseColumns.from_arrays(
        patient_id=[c[0] for c in contacts], level=["high"] * len(contacts),
        first_contact_at=np.array(at, dtype="datetime64[s]"),
    )
    ex = Exclusions.from_records(
        [(p, BASE + dt.timedelta(days=d)) for p, d in exclusions.items()]
    )
    got = win_back_rate(log, cases, as_of=AS_OF, within_days=within, exclusions=ex)
    cutoff = np.datetime64(AS_OF, "s") + np.timedelta64(86399, "s")
    times = {p: [np.datetime64(BASE + dt.timedelta(days=d), "s") for q, d, _ in rows if q == p]
             for p in {"p1", "p2", "p9"}}
    contacted = censored = won = excluded = 0
    for (pid, _), t in zip(contacts, at, strict=True):
        if t > cutoff:
            continue
        contacted += 1
        end = t + np.timedelta64(within, "D")
        gone = (np.datetime64(BASE + dt.timedelta(days=exclusions[pid]), "D")
                if pid in exclusions else None)
        if end > cutoff:
            censored += 1
        elif any(t < v <= end and (gone is None or v.astype("datetime64[D]") <= gone)
                 for v in times[pid]):
            won += 1
        elif gone is not None and gone <= end.astype("datetime64[D]"):
            excluded += 1
    assert (got.contacted, got.censored, got.won_back, got.excluded) == (
        contacted, censored, won, excluded)
    assert got.won_back <= got.eligible


@settings(max_examples=100)
@given(logs, st.integers(0, 330), st.integers(5, 60))
def test_no_visit_labels_have_their_departure(
    rows: list[tuple[str, int, str]], at: int, horizon: int
) -> None:
    """Every "no visit within H days" label has its departure: (v, v + H + 1), v its last visit."""
    from rfm_retention.metrics import ChurnOutcome, departures, outcome_labels
    from rfm_retention.time import day_number

    log = build(rows)
    observed = day_number(AS_OF)
    outcome = ChurnOutcome(horizon_days=horizon)
    at_day = day_number(BASE) + at
    if at_day + horizon + 1 > observed:
        return
    labels = outcome_labels(log, at_day, outcome, observed_until_day=observed, population="all")
    gone = departures(log, outcome, observed)
    pairs = {(int(p), int(v), int(d)) for p, v, d in
             zip(gone.patient, gone.last_visit_day, gone.day, strict=True)}
    assert all(d == v + horizon + 1 for _, v, d in pairs)
    pos = log.patient_ids.tolist()
    for pid, positive in zip(labels.patient_id.tolist(), labels.positive.tolist(), strict=True):
        last = max(day_number(BASE) + d for q, d, _ in rows if q == pid and d <= at)
        # no visit in (t, t + H] means the silence after v passed H days: a departure on v + H + 1
        assert not positive or (pos.index(pid), last, last + horizon + 1) in pairs
