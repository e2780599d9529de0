"""Monthly KPI report for 1M patients / 10M visits over 24 months vs an idiomatic pandas version.

One run times, on the same visits:

- ours: ``kpi_report(visits, start, end, as_of=...)``: monthly churn under the
  lapse rule (own mean interval after three visit days, else 180 days, plus
  30 days' grace) and the revisit rate at 3 **and** 6 months, right-censored;
- pandas: the same monthly churn and the 3-month revisit rate only, written
  the way an analyst would (``groupby``/``cumcount``/``shift``, one boolean
  mask per month, ``DateOffset`` for calendar months);

checks that both give the same counts (so the two compute the same thing)
and prints the ratio. The table build (``VisitLog.from_arrays``) is its own
line, and the whole job (build + report) is compared with pandas' (its
DataFrame from the same arrays + its KPIs). Goal: ours faster than pandas
while doing more.

``python benchmarks/run.py kpis [--small]`` (``--small``: 10k patients / 100k visits).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
from _harness import Result, best_time, report, whole_job

from rfm_retention.data import VisitLog
from rfm_retention.metrics import LapseRule, kpi_report

START = dt.date(2023, 1, 1)
END = dt.date(2024, 12, 31)
MONTHS = 24


def make_visits(n_patients: int, n_visits: int, seed: int = 11) -> dict[str, npt.NDArray[Any]]:
    """Visits over 24 months: every patient at least once, visit counts skewed per patient.

    Half the patients are regulars (a visit every few weeks), the rest come
    rarely, so the lapse rule sees both short and long gaps and churn is not
    trivially 0 or 1.
    """
    rng = np.random.default_rng(seed)
    weight = np.where(rng.random(n_patients) < 0.5, 4.0, 0.5) * rng.gamma(2.0, 1.0, n_patients)
    extra = rng.choice(n_patients, n_visits - n_patients, p=weight / weight.sum())
    ids = np.concatenate([np.arange(n_patients), extra]).astype(np.int64)
    span = (END - START).days + 1
    seconds = rng.integers(0, span * 86_400, n_visits)
    times = np.datetime64(START, "s") + seconds.astype("timedelta64[s]")
    amounts = np.round(rng.lognormal(mean=4.5, sigma=0.8, size=n_visits), 2)
    return {"patient_id": ids * 7919 + 1_000_000, "visit_time": times, "amount": amounts}


def ours(log: VisitLog) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """The library's monthly report (churn, revisit 3 and 6 months)."""
    rep = kpi_report(log, START, END, as_of=END, lapse_rule=LapseRule())
    churn = [(m.churn.active_at_start, m.churn.lapsed) for m in rep.months]
    rev = [(m.revisit_3m.index_patients, m.revisit_3m.censored, m.revisit_3m.revisited)
           for m in rep.months]
    return churn, rev


def pandas_kpis(df: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Monthly churn (lapse rule) and 3-month revisit rate in idiomatic pandas."""
    import pandas as pd

    rule = LapseRule()
    as_of = pd.Timestamp(END)
    d = pd.DataFrame({"patient_id": df["patient_id"], "day": df["visit_time"].dt.floor("D")})
    d = d[d["day"] <= as_of].drop_duplicates().sort_values(["patient_id", "day"])
    g = d.groupby("patient_id", sort=False)["day"]
    ordinal = g.cumcount()
    first = g.transform("first")
    d["next"] = g.shift(-1)
    own = (d["day"] - first).dt.days / ordinal.clip(lower=1)
    expected = own.where(ordinal >= rule.min_intervals, rule.default_interval_days)
    d["lapse"] = d["day"] + pd.to_timedelta(np.floor(expected + rule.grace_days) + 1, unit="D")
    end_active = d[["next", "lapse"]].min(axis=1)
    happened = (d["next"].isna() | (d["next"] >= d["lapse"])) & (d["lapse"] <= as_of)
    events = d.loc[happened, ["patient_id", "lapse"]]
    event_month = events["lapse"].dt.to_period("M")

    churn = []
    for start in pd.date_range(START, END, freq="MS"):
        if start > as_of:
            churn.append((0, 0))
            continue
        active_ids = d.loc[(d["day"] < start) & (end_active >= start), "patient_id"]
        in_month = events.loc[event_month == start.to_period("M"), "patient_id"]
        lapsed = in_month[in_month.isin(active_ids)].nunique()
        churn.append((len(active_ids), int(lapsed)))

    d["month"] = d["day"].dt.to_period("M")
    index = d.groupby(["patient_id", "month"], sort=False).head(1)
    index = index[(index["day"] >= pd.Timestamp(START)) & (index["day"] <= pd.Timestamp(END))]
    window_end = index["day"] + pd.DateOffset(months=3)
    censored = window_end > as_of
    revisited = ~censored & (index["next"] <= window_end)
    counts = pd.DataFrame({
        "month": index["month"], "index": 1, "censored": censored, "revisited": revisited,
    }).groupby("month").sum()
    months = pd.period_range(START, END, freq="M")
    counts = counts.reindex(months, fill_value=0)
    rev = [(int(r["index"]), int(r["censored"]), int(r["revisited"]))
           for _, r in counts.iterrows()]
    return churn, rev


def main(small: bool = False) -> None:
    """Time our monthly KPI report and the pandas version on one synthetic visit log."""
    import pandas as pd

    n_patients, n_visits = (10_000, 100_000) if small else (1_000_000, 10_000_000)
    print(f"building {n_visits:,} visits of {n_patients:,} patients over {MONTHS} months ...",
          flush=True)
    arrays = make_visits(n_patients, n_visits)
    repeat = 3 if small else 2
    build = best_time("VisitLog.from_arrays", lambda: VisitLog.from_arrays(**arrays),
                      repeat=repeat)
    log = build.value
    frame = best_time("pandas DataFrame from the arrays", lambda: pd.DataFrame(
        {"patient_id": arrays["patient_id"], "visit_time": arrays["visit_time"]}), repeat=repeat)
    df = frame.value
    mine = best_time("ours: kpi_report (churn, revisit 3m + 6m)", lambda: ours(log),
                     repeat=repeat)
    theirs = best_time("pandas: monthly churn + revisit 3m", lambda: pandas_kpis(df),
                       repeat=repeat)
    if mine.value != theirs.value:
        raise AssertionError(f"results differ:\nours   {mine.value}\npandas {theirs.value}")
    churn, rev = mine.value
    print(f"  results agree; e.g. {START:%Y-%m}+6: {churn[6][0]:,} active, {churn[6][1]:,} "
          f"lapsed; revisit 3m {rev[6][2]:,} of {rev[6][0] - rev[6][1]:,}", flush=True)
    title = f"monthly KPIs, {n_patients:,} patients / {n_visits:,} visits / {MONTHS} months"
    report(title, mine, theirs)
    whole_job(title, build, mine,
              peers=(Result("pandas: DataFrame + churn + revisit 3m",
                            frame.seconds + theirs.seconds),))


if __name__ == "__main__":
    import sys

    main(small="--small" in sys.argv)
