"""Building a table: the fast factorisation and the one-sort ordering agree with the plain
numpy reference (np.unique, np.lexsort) on every kind of id and time."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data._build import factorise, order_rows

TEXT = st.text(alphabet="abcXYZ019-é", max_size=10)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=60)
       | st.lists(st.integers(0, 50), max_size=60))
def test_integer_factorisation_matches_np_unique(values: list[int]) -> None:
    """Dense and sparse integer ids factorise exactly like np.unique."""
    ids = np.array(values, dtype=np.int64)
    uniques, codes = factorise(ids)
    expected, inverse = np.unique(ids, return_inverse=True)
    assert uniques.tolist() == expected.tolist()
    assert codes.tolist() == inverse.reshape(-1).tolist()


@given(st.lists(TEXT, max_size=60))
def test_text_factorisation_matches_np_unique(values: list[str]) -> None:
    """Short ASCII, longer and non-ASCII text ids factorise exactly like np.unique."""
    ids = np.array(values, dtype=str) if values else np.empty(0, "U1")
    uniques, codes = factorise(ids)
    expected, inverse = np.unique(ids, return_inverse=True)
    assert uniques.tolist() == expected.tolist()
    assert codes.tolist() == inverse.reshape(-1).tolist()
    assert (uniques[codes] == ids).all()


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-3, 3), st.booleans()), max_size=80),
       st.sampled_from([1, 86_400, 2**40, 2**50, 2**58]))
def test_order_matches_a_stable_lexsort(rows: list[tuple[int, int, bool]], scale: int) -> None:
    """The packed-key sort (or its wide fallback) gives np.lexsort's stable order and ties."""
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    seconds = np.array([r[1] * scale + (7 if r[2] and scale == 1 else 0) for r in rows],
                       dtype=np.int64)
    ordered = order_rows(codes, 7, seconds)
    expected = np.lexsort((seconds, codes))
    assert ordered.order.tolist() == expected.tolist()
    assert ordered.codes.tolist() == codes[expected].tolist()
    assert ordered.seconds.tolist() == seconds[expected].tolist()
    same = (codes[expected][1:] == codes[expected][:-1]) & (
        seconds[expected][1:] == seconds[expected][:-1])
    assert ordered.ties[:-1].tolist() == same.tolist()


def _reference_table(
    ids: list[int], days: list[int], amounts: list[float]
) -> list[tuple[int, int, float]]:
    """(patient, time, amount) rows in (patient, time, amount) order, by plain sorting
    (same-time rows of a patient follow their other columns)."""
    return sorted(zip(ids, days, amounts, strict=True))


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 40), st.floats(0, 100)),
                max_size=60),
       st.sampled_from(["D", "h", "s"]), st.booleans(), st.integers(-5, 5))
def test_table_rows_follow_patient_then_time_from_any_time_unit(
    rows: list[tuple[int, int, float]], unit: str, presorted: bool, shift: int
) -> None:
    """Any id range, time unit, and input order (sorted or not) give the plain sorted table."""
    from rfm_retention.data import VisitLog

    if presorted:
        rows = sorted(rows)
    ids = [p + shift for p, _, _ in rows]
    step = {"D": 1, "h": 24, "s": 86_400}[unit]
    days = [d for _, d, _ in rows]
    amounts = [a for _, _, a in rows]
    times = (np.datetime64("2024-01-01", unit) + np.array(days, np.int64) * step
             if rows else np.empty(0, f"M8[{unit}]"))
    log = VisitLog.from_arrays(patient_id=np.array(ids, np.int64), visit_time=times,
                               amount=np.array(amounts, np.float64))
    expected = _reference_table(ids, days, amounts)
    got_days = ((log.time - np.datetime64("2024-01-01", "s"))
                // np.timedelta64(1, "D")).tolist()
    got = list(zip(log.row_patient_ids().tolist(), got_days, log.amount.tolist(), strict=True))
    assert got == expected
    assert log.columns["patient_id"].tolist() == [p for p, _, _ in expected]
    assert log.time.dtype == np.dtype("M8[s]")
    assert np.array_equal(log.amount[log.source_row.argsort()], np.array(amounts))
    assert log.group_starts.tolist() == np.searchsorted(
        log.patient_index, np.arange(log.n_patients + 1)).tolist()


def test_sorted_input_is_used_as_given() -> None:
    """Rows already in (patient, time) order are not gathered: the table keeps the columns."""
    from rfm_retention.data import VisitLog

    amount = np.array([1.0, 2.0, 3.0])
    log = VisitLog.from_arrays(patient_id=np.array([1, 1, 2]),
                               visit_time=np.array(["2024-01-01", "2024-01-02", "2024-01-01"],
                                                   "M8[D]"), amount=amount)
    assert np.shares_memory(log.amount, amount)
    assert log.source_row.tolist() == [0, 1, 2]


def test_absent_optional_columns_cost_no_memory() -> None:
    """A column the input lacks is one default value viewed at every row, not n copies."""
    from rfm_retention.data import VisitLog

    log = VisitLog.from_arrays(patient_id=np.arange(1000) % 7, visit_time=np.full(1000,
                               np.datetime64("2024-01-01", "D")), amount=np.ones(1000))
    assert log.department.tolist() == [""] * 1000
    assert log.department.strides == (0,)


def test_reviews_filled_from_stars_follow_their_rows() -> None:
    """A score filled from stars is reordered with its row, like every other column."""
    from rfm_retention.data import ReviewTable

    table = ReviewTable.from_arrays(patient_id=["p2", "p1"],
                                    posted_at=["2024-05-01", "2024-05-02"], stars=[5, 1])
    assert table.row_patient_ids().tolist() == ["p1", "p2"]
    assert table.stars.tolist() == [1.0, 5.0]
    assert table.score.tolist() == [0.0, 100.0]


@given(st.lists(st.tuples(TEXT | st.sampled_from(["007", "7", "70", "a", "ab"]),
                          st.integers(0, 5)), max_size=60),
       st.sampled_from(["U", "S"]))
def test_text_ids_factorise_and_order_in_one_layout(rows: list[tuple[str, int]],
                                                    kind: str) -> None:
    """Text ids (packed straight into the sort key, or factorised first) give sorted str
    ids, rows ordered by (id, time, input row), and one group per id."""
    from rfm_retention.data._build import layout_rows

    if kind == "S":
        rows = [(t.encode("utf-8"), d) for t, d in rows if t.isascii()]  # type: ignore[misc]
    ids = np.array([r[0] for r in rows]) if rows else np.empty(0, f"{kind}1")
    times = np.array([r[1] for r in rows], "M8[D]")
    layout = layout_rows(ids, times)
    expected = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))
    order = layout.order.tolist() if layout.order is not None else list(range(len(rows)))
    assert order == expected
    as_text = ids.astype(str) if kind == "S" else ids  # bytes ids come out as str
    assert layout.patient_ids.tolist() == sorted(set(as_text.tolist()))
    assert (layout.patient_ids[layout.codes] == as_text[expected]).all()
    assert layout.group_starts.tolist() == np.searchsorted(
        layout.codes, np.arange(len(layout.patient_ids) + 1)).tolist()


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from([1.0, 2.0, 0.0]),
                          st.sampled_from(["", "er", "cardio"]), st.sampled_from(["x", "", "a"])),
                max_size=60))
def test_same_time_rows_follow_every_other_column_then_input_order(
    rows: list[tuple[int, int, float, str, str]],
) -> None:
    """Rows sharing (patient, time) are ordered by amount, department, diagnosis, then
    their input row, whatever order they came in."""
    from rfm_retention.data import VisitLog

    log = VisitLog.from_arrays(
        patient_id=np.array([r[0] for r in rows], np.int64),
        visit_time=np.array([r[1] for r in rows], "M8[D]"),
        amount=np.array([r[2] for r in rows], np.float64),
        department=np.array([r[3] for r in rows], "U6"),
        diagnosis=np.array([r[4] for r in rows], "U1"),
    )
    expected = sorted(range(len(rows)), key=lambda i: (*rows[i], i))
    assert log.source_row.tolist() == expected
    assert log.department.tolist() == [rows[i][3] for i in expected]


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from([None, 5.0, 50.0]),
                          st.sampled_from([None, 10.0, 20.0])), min_size=1, max_size=60))
def test_same_time_rows_put_missing_values_last(
    rows: list[tuple[int, float | None, float | None]],
) -> None:
    """Among same-time rows a missing (NaN) value sorts after every number, as in numpy."""
    from rfm_retention.data import AssessmentTable

    rows = [(p, a, b if a is not None or b is not None else 1.0) for p, a, b in rows]
    table = AssessmentTable.from_arrays(
        patient_id=np.array([r[0] for r in rows], np.int64),
        assessed_at=np.full(len(rows), np.datetime64("2024-01-01", "D")),
        outcome_score=np.array([np.nan if r[1] is None else r[1] for r in rows]),
        expected_progress=np.array([np.nan if r[2] is None else r[2] for r in rows]),
    )

    def missing_last(value: float | None) -> tuple[bool, float]:
        return (value is None, value or 0.0)

    expected = sorted(range(len(rows)), key=lambda i: (
        rows[i][0], missing_last(rows[i][1]), missing_last(rows[i][2]), i))
    assert table.source_row.tolist() == expected


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 1000)), min_size=1, max_size=60),
       st.sampled_from([("i1", -128), ("i2", 32_000), ("i4", -(2**31)), ("i8", 2**62),
                        ("i8", -(2**63)), ("i8", 0)]),
       st.sampled_from([("s", "1700-01-01"), ("m", "2262-01-01"), ("h", "1970-01-01"),
                        ("D", "2024-02-29")]))
def test_integer_ids_of_any_width_and_offset_order_like_a_plain_sort(
    rows: list[tuple[int, int]], id_type: tuple[str, int], time_type: tuple[str, str],
) -> None:
    """Integer ids of every width near their type's limits, and times far from 1970 in any
    unit, give the plain (id, time, input row) order and the sorted distinct ids."""
    from rfm_retention.data._build import layout_rows

    dtype, base = id_type
    limit = int(np.iinfo(dtype).max)
    ids = np.array([min(base + p, limit) if base >= 0 else base + p for p, _ in rows], dtype)
    unit, start = time_type
    times = np.datetime64(start, unit) + np.array([t for _, t in rows], np.int64)
    layout = layout_rows(ids, times)
    ticks = times.view(np.int64)
    expected = sorted(range(len(rows)), key=lambda i: (int(ids[i]), int(ticks[i]), i))
    order = layout.order.tolist() if layout.order is not None else list(range(len(rows)))
    assert order == expected
    assert layout.patient_ids.tolist() == sorted(set(ids.tolist()))
    assert layout.patient_ids.dtype == ids.dtype
    seconds = times.astype("M8[s]").view(np.int64)
    assert layout.seconds.tolist() == seconds[expected].tolist()
