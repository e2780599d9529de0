"""The row searches and segment sums behind features equal the plain computations exactly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta

from rfm_retention.data import VisitLog
from rfm_retention.features import _bounded_sums, _suffix_lengths, patient_features


def _sum(values: np.ndarray) -> float:
    """A segment's sum in ``np.add.reduceat``'s order: first row + pairwise sum of the rest."""
    return 0.0 if values.size == 0 else float(values[0] + np.sum(values[1:]))


def _groups(rng: np.random.Generator, n_groups: int, max_size: int) -> tuple[np.ndarray, ...]:
    sizes = rng.integers(0, max_size + 1, n_groups)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    seconds = rng.integers(-10**9, 10**9, int(ends[-1]) if n_groups else 0)
    for s, e in zip(starts, ends, strict=True):
        seconds[s:e].sort()
    return seconds, starts.astype(np.int64), ends.astype(np.int64)


@pytest.mark.parametrize("max_size", [0, 1, 3, 40, 300])
def test_suffix_lengths_equal_a_count_per_group(max_size: int) -> None:
    """The galloping search counts the rows at or after a threshold, group by group."""
    rng = np.random.default_rng(max_size)
    seconds, starts, ends = _groups(rng, 200, max_size)
    tails = seconds[ends - 1] if seconds.size else np.zeros(len(ends), np.int64)
    for threshold in [-(2**62), -5 * 10**8, 0, 7 * 10**8, 2**62, *rng.integers(-10**9, 10**9, 5)]:
        got = _suffix_lengths(seconds, starts, ends, int(threshold), tails)
        expected = [
            int(np.count_nonzero(seconds[s:e] >= threshold))
            for s, e in zip(starts, ends, strict=True)
        ]
        assert got.tolist() == expected


@pytest.mark.parametrize(("max_size", "gap"), [(5, 0), (5, 50), (60, 0), (60, 2000)])
def test_bounded_sums_equal_plain_sums_bit_for_bit(max_size: int, gap: int) -> None:
    """Segment sums (dense, sparse, back-to-back layouts) equal each slice's own sum exactly."""
    rng = np.random.default_rng(max_size + gap)
    m = 300
    lengths = rng.integers(0, max_size, (3, m))
    gaps = rng.integers(0, gap + 1, m)
    per_entry = lengths.sum(axis=0) + gaps
    base = np.concatenate(([0], np.cumsum(per_entry)[:-1])) + gaps
    a = base
    b = a + lengths[0]
    c = b + lengths[1]
    values = rng.lognormal(3, 2, int(c[-1]) + int(rng.integers(0, 3)))
    first, second = _bounded_sums(values, (a, b, c))
    assert first.tolist() == [_sum(values[x:y]) for x, y in zip(a, b, strict=True)]
    assert second.tolist() == [_sum(values[x:y]) for x, y in zip(b, c, strict=True)]
    (whole,) = _bounded_sums(values, (a, c))
    assert whole.tolist() == [_sum(values[x:y]) for x, y in zip(a, c, strict=True)]


def _plain_features(log: VisitLog, as_of: dt.date, window: int | None) -> dict[str, list[float]]:
    """Counts and sums patient by patient, straight from the definitions."""
    day = log.time.astype("datetime64[D]").astype(np.int64)
    end_day = (as_of - dt.date(1970, 1, 1)).days
    three = (as_of - relativedelta(months=3) - dt.date(1970, 1, 1)).days
    six = (as_of - relativedelta(months=6) - dt.date(1970, 1, 1)).days
    since = -(10**9) if window is None else end_day - window
    out: dict[str, list[float]] = {k: [] for k in ("n", "win", "spend", "l3", "p3", "sl3", "sp3")}
    for g in range(log.n_patients):
        s, e = log.group_starts[g], log.group_starts[g + 1]
        d, amount = day[s:e], log.amount[s:e]
        kept = d <= end_day
        if not kept.any():
            continue
        d, amount = d[kept], amount[kept]
        for key, lo, hi in (("win", since, end_day), ("l3", three, end_day), ("p3", six, three)):
            inside = (d > lo) & (d <= hi)
            out[key].append(int(inside.sum()))
            if key != "win":
                out["s" + key].append(_sum(amount[inside]))
            else:
                out["spend"].append(_sum(amount[inside]))
        out["n"].append(int(kept.sum()))
    return out


@pytest.mark.parametrize("window", [None, 30, 400])
def test_features_equal_the_plain_computation(window: int | None) -> None:
    """Counts and spends of the vectorised features equal a per-patient loop exactly."""
    rng = np.random.default_rng(0 if window is None else window)
    n = 3000
    start = np.datetime64("2019-01-01T00:00:00")
    heavy = rng.random(n) < 0.1  # some patients with many visits at the end
    seconds = np.where(
        heavy, rng.integers(1500 * 86400, 1830 * 86400, n), rng.integers(0, 1830 * 86400, n)
    )
    log = VisitLog.from_arrays(
        patient_id=rng.integers(0, 150, n),
        visit_time=start + seconds.astype("timedelta64[s]"),
        amount=np.round(rng.lognormal(4, 1, n), 2),
    )
    as_of = dt.date(2023, 6, 30)
    f = patient_features(log, as_of, window=window)
    plain = _plain_features(log, as_of, window)
    assert f.total_visits.tolist() == plain["n"]
    assert f.visits_in_window.tolist() == plain["win"]
    assert f.spend_in_window.tolist() == plain["spend"]
    assert f.visits_last_3_months.tolist() == plain["l3"]
    assert f.visits_prior_3_months.tolist() == plain["p3"]
    assert f.spend_last_3_months.tolist() == plain["sl3"]
    assert f.spend_prior_3_months.tolist() == plain["sp3"]
