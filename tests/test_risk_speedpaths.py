"""The scan's shortcuts (no re-sort, no bincount, no gather) equal the plain computations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rfm_retention.data import (
    AppointmentTable,
    ComplaintTable,
    PatientData,
    RatingTable,
    VisitLog,
)
from rfm_retention.risk import ScorePolicy, Snapshot, default_indicators
from rfm_retention.risk._panel import IndicatorPanel, evaluate
from rfm_retention.risk._reasons import REASON_ORDER, primary_reasons
from rfm_retention.risk._rows import (
    SourceRows,
    _sort_runs,
    scatter,
    visit_features,
    visit_gaps,
)
from rfm_retention.risk._score import dimension_scores
from rfm_retention.vocabulary import Dimension, ReasonCode

START = np.datetime64("2024-01-01T00:00:00")


def _bundle(seed: int, *, everyone_rates: bool = False) -> PatientData:
    """Visits and signal tables with many same-time rows (times on a few days)."""
    rng = np.random.default_rng(seed)
    n = 400
    patients = np.arange(40)

    def ids(k: int) -> np.ndarray:
        return np.concatenate([patients, rng.choice(patients, k - len(patients))])

    def times(k: int) -> np.ndarray:
        return START + (rng.integers(0, 6, k) * 86_400).astype("timedelta64[s]")

    pid = ids(n) if everyone_rates else rng.choice(patients[:30], n)
    return PatientData(
        visits=VisitLog.from_arrays(
            patient_id=ids(n), visit_time=times(n), amount=rng.integers(1, 9, n).astype(float)
        ),
        ratings=RatingTable.from_arrays(
            patient_id=pid, rated_at=times(n), score=rng.integers(0, 5, n) * 25.0
        ),
        appointments=AppointmentTable.from_arrays(
            patient_id=ids(n),
            scheduled_at=times(n),
            status=rng.choice(["attended", "no_show", "cancelled", "booked"], n),
        ),
        complaints=ComplaintTable.from_arrays(
            patient_id=ids(n),
            filed_at=times(n),
            valid=rng.random(n) < 0.5,
            category=rng.choice(["price", "service", "trust"], n),
        ),
    )


def _plain_rows(data: PatientData, source: str, instant: np.datetime64,
                tiebreak: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Kept rows and their patients, re-sorted by (patient, time, tiebreak...) explicitly."""
    table = getattr(data, source)
    rows = np.flatnonzero(~np.isnat(table.time) & (table.time <= instant))
    patient = data.rows_of(source)[rows]
    keys = [table.columns[c][rows] for c in reversed(tiebreak)]
    order = np.lexsort((*keys, table.time[rows], patient))
    return rows[order], patient[order]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("source", "tiebreak"),
    [("ratings", ("score",)), ("appointments", ("status",)),
     ("complaints", ("valid", "category", "handling_satisfaction"))],
)
def test_rows_equal_an_explicit_sort(seed: int, source: str, tiebreak: tuple[str, ...]) -> None:
    """Kept rows come in (patient, time, tiebreak) order whether or not a re-sort is skipped."""
    data = _bundle(seed, everyone_rates=seed % 2 == 0)
    for instant in (START + np.timedelta64(2, "D"), START + np.timedelta64(30, "D")):
        got = SourceRows.of(data, source, instant, tiebreak=tiebreak)
        rows, patient = _plain_rows(data, source, instant, tiebreak)
        assert got.rows.tolist() == rows.tolist()
        assert got.patient.tolist() == patient.tolist()
        table = getattr(data, source)
        for column in table.columns.values():
            np.testing.assert_array_equal(got.column(column), column[rows])


@pytest.mark.parametrize("seed", range(5))
def test_reductions_equal_plain_numpy(seed: int) -> None:
    """count, has_rows and argmax equal bincount and a full lexsort (ties to the latest row)."""
    data = _bundle(seed)
    rows = SourceRows.of(data, "ratings", START + np.timedelta64(3, "D"), tiebreak=("score",))
    n = rows.n_patients
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, rows.rows.shape[0]).astype(float)
    values[rng.random(values.shape[0]) < 0.2] = np.nan
    plain_count = np.bincount(rows.patient, minlength=n)
    assert rows.count().tolist() == plain_count.tolist()
    assert rows.has_rows().tolist() == (plain_count > 0).tolist()
    m = values.shape[0]
    order = np.lexsort((np.arange(m), np.nan_to_num(values, nan=-np.inf), rows.patient))
    last = np.append(rows.patient[order][1:] != rows.patient[order][:-1], True)
    plain = np.full(n, -1)
    plain[rows.patient[order][last]] = order[last]
    assert rows.argmax(values).tolist() == plain.tolist()


def test_scatter_of_every_position_is_a_copy() -> None:
    """Scattering onto every position equals the general scatter and never aliases the input."""
    values = np.array([3.0, 1.0, 2.0])
    out = scatter(3, np.arange(3), values, np.nan)
    assert out.tolist() == [3.0, 1.0, 2.0]
    assert out is not values
    assert scatter(4, np.array([0, 1, 3]), values, np.nan).tolist()[:2] == [3.0, 1.0]
    assert scatter(3, np.array([0, 2, 1]), values, -1.0).tolist() == [3.0, 2.0, 1.0]
    assert scatter(3, np.arange(3), np.array([1, 2, 3]), np.nan).dtype == np.float64


@pytest.mark.parametrize("everyone", [True, False])
def test_visit_feature_positions_equal_a_search(everyone: bool) -> None:
    """Feature rows map onto the patient universe as a search would find them."""
    data = _bundle(3, everyone_rates=not everyone)
    if not everyone:  # a rating-only patient: features cover fewer patients than the universe
        extra = RatingTable.from_arrays(patient_id=[999], rated_at=[START], score=[50.0])
        data = PatientData(visits=data.visits, ratings=extra)
    instant = np.datetime64(dt.datetime(2024, 1, 4, 12), "s")
    features, where = visit_features(data, instant)
    assert where.tolist() == np.searchsorted(data.patients, features.patient_id).tolist()
    snapshot = Snapshot.of(data, instant)
    shared, shared_where = visit_features(snapshot, instant)
    again, where_again = visit_features(snapshot, instant)
    assert again is shared  # one computation per snapshot
    assert where_again is shared_where
    assert shared_where.tolist() == where.tolist()
    assert visit_features(data, instant)[0] is not features  # a plain bundle holds nothing


def _plain_gaps(
    data: PatientData, instant: np.datetime64, min_seconds: int
) -> list[tuple[int, int]]:
    """(patient position, gap) pairs from a loop over patients, sorted."""
    log = data.visits
    seconds = log.time.astype(np.int64)
    out = []
    for g in range(log.n_patients):
        mine = seconds[log.group_starts[g]:log.group_starts[g + 1]]
        mine = mine[mine <= instant.astype(np.int64)]
        where = int(np.searchsorted(data.patients, log.patient_ids[g]))
        out += [(where, int(d)) for d in np.diff(mine) if d >= min_seconds]
    return sorted(out)


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("min_seconds", [0, 86_400, 3 * 86_400])
def test_visit_gaps_equal_a_loop(min_seconds: int, packed: bool,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Gaps per patient, sorted by patient then gap, equal a loop (packed sort or lexsort)."""
    if not packed:
        monkeypatch.setattr("rfm_retention.risk._rows._PACKED_BITS", 4)
    for seed, everyone in ((0, True), (1, False)):
        data = _bundle(seed, everyone_rates=not everyone)
        if not everyone:
            extra = RatingTable.from_arrays(patient_id=[-5], rated_at=[START], score=[50.0])
            data = PatientData(visits=data.visits, ratings=extra)
        for days in (3, 30):
            instant = (START + np.timedelta64(days, "D")).astype("datetime64[s]")
            who, gap = visit_gaps(data, instant, min_seconds)
            assert list(zip(who.tolist(), gap.tolist(), strict=True)) == _plain_gaps(
                data, instant, min_seconds
            )


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 15])
def test_chunked_sort_of_patient_runs_equals_a_full_sort(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorting cache-sized chunks cut at patient boundaries gives the fully sorted keys."""
    monkeypatch.setattr("rfm_retention.risk._rows._SORT_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    who = np.sort(rng.integers(0, 50, 2000))
    packed = (who << 20) | rng.integers(0, 1 << 20, who.shape[0])
    expected = np.sort(packed)
    _sort_runs(packed, 20)
    assert packed.tolist() == expected.tolist()


@pytest.mark.parametrize(
    "weights",
    [None, {"behaviour": 1.0, "experience": 0.0, "efficacy": 2.0, "reputation": 0.5},
     {"experience": 1.0}],
)
def test_scores_equal_the_weighted_matrix_formula(weights: dict[str, float] | None) -> None:
    """Scores computed dimension by dimension equal the weighted-matrix formula bit for bit."""
    data = _bundle(4)
    panel = evaluate(data, "2024-01-04", default_indicators())
    policy = ScorePolicy() if weights is None else ScorePolicy(weights=weights)
    dims = dimension_scores(panel)
    w = np.array([policy.weights.get(d, 0.0) for d in Dimension])[:, None]
    has = ~np.isnan(dims) & (w > 0)
    covered = np.sum(np.where(has, w, 0.0), axis=0)
    total = np.sum(np.where(has, w * np.nan_to_num(dims), 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.clip(np.where(covered > 0, 100.0 * total / covered, 0.0), 0.0, 100.0)
    assert policy.scores(panel).tolist() == plain.tolist()


@pytest.mark.parametrize("seed", [0, 1])
def test_row_positions_kept_by_the_bundle_equal_a_search(seed: int) -> None:
    """rows_of equals a search of each row's patient, and each call returns a fresh array."""
    data = _bundle(seed, everyone_rates=seed == 0)
    for name, table in data.sources():
        plain = np.searchsorted(data.patients, table.row_patient_ids())
        got = data.rows_of(name)
        assert got.tolist() == plain.tolist()
        got[:] = -1
        assert data.rows_of(name).tolist() == plain.tolist()


def _plain_primary_reasons(panel: IndicatorPanel) -> list[int]:
    """Primary reasons with a full per-patient code array for every indicator."""
    n = len(panel)
    behaviour = REASON_ORDER.index(ReasonCode.BEHAVIOUR_ONLY)
    best_key = np.full(n, -np.inf)
    best_code = np.full(n, behaviour, np.int64)
    for r in panel.results:
        code = np.full(n, REASON_ORDER.index(ReasonCode(r.reason)), np.int64)
        own = np.zeros(n, bool) if r.reasons is None else (r.reasons >= 0) & r.signal
        if r.reasons is not None:
            code = np.where(r.reasons >= 0, r.reasons, code)
        explanatory = (r.fired | (r.severity > 0) | own) & (code != behaviour)
        key = np.where(explanatory, r.severity * 100.0 - code * 1e-3, -np.inf)
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_code = np.where(better, code, best_code)
    return best_code.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_primary_reasons_equal_per_patient_codes(seed: int) -> None:
    """Indicators with one reason for everyone are judged as with a full code array."""
    data = _bundle(seed)
    panel = evaluate(data, "2024-01-05", default_indicators())
    assert primary_reasons(panel).tolist() == _plain_primary_reasons(panel)
