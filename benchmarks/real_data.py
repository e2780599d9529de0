"""The library's backtest on a real purchase-only transaction log fetched at run time.

The log is CDNOW's master file (Fader and Hardie): 69,659 purchases by 23,570
customers of an online music store, January 1997 to June 1998, with dollar
amounts. It is not in the repository: the script takes it from the wheel of the
``lifetimes`` package (``pip download lifetimes --no-deps``, nothing is
installed) into a cache folder outside the repository, then runs the same
protocol as ``rfm-retention backtest`` (``rfm_retention.metrics._backtest``: at
each scan date, score on the data as it stood, judge against "no visit within
the horizon") on ``--population all`` and on the default active population,
and prints every method's AUC beside the baseline's.

    python benchmarks/real_data.py                     # every method, both populations
    python benchmarks/real_data.py --methods lifetime-mbgnbd --population all
    python benchmarks/real_data.py --cache /tmp/cdnow --at 1997-12-31

Methods are named in ``METHODS``: each maps a name to a factory that takes the
backtest horizon and returns a :class:`rfm_retention.metrics.Scorer`. Add a
method by adding an entry; the baseline (days since the last visit) is always
reported. The equivalent CLI run is printed, for the methods the CLI has.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable

import numpy as np

from rfm_retention.btyd import LifetimeScorer
from rfm_retention.data import PatientData, VisitLog
from rfm_retention.metrics import ChurnOutcome, Scorer, backtest
from rfm_retention.metrics._scorers import ScanScorer

CACHE = pathlib.Path.home() / ".cache" / "rfm_retention" / "cdnow"
WHEEL = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
SCAN_DATES = ("1997-09-30", "1997-12-31", "1998-03-31")
HORIZON = 90

METHODS: dict[str, Callable[[int], Scorer]] = {
    "lifetime-mbgnbd": lambda h: LifetimeScorer(horizon_days=h, model="mbgnbd"),
    "lifetime-bgnbd": lambda h: LifetimeScorer(horizon_days=h, model="bgnbd"),
    "lifetime-paretonbd": lambda h: LifetimeScorer(horizon_days=h, model="paretonbd"),
    "scan": lambda h: ScanScorer(),
}
"""Backtested methods by name: horizon in days -> scorer."""

CLI_FLAGS = {
    "lifetime-mbgnbd": "--lifetime mbgnbd",
    "lifetime-bgnbd": "--lifetime bgnbd",
    "lifetime-paretonbd": "--lifetime paretonbd",
}


def fetch_cdnow(cache: pathlib.Path) -> pathlib.Path:
    """CDNOW_master.txt in ``cache``, taken from the lifetimes wheel on first use."""
    target = cache / "CDNOW_master.txt"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-q", "-d", tmp],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read(MEMBER))
    return target


def read_cdnow(path: pathlib.Path) -> VisitLog:
    """One visit per purchase line after the header: customer id, date (YYYYMMDD), CDs, dollars."""
    raw = np.loadtxt(path, dtype=np.float64, skiprows=1)
    days = raw[:, 1].astype(np.int64)
    iso = np.char.add(
        np.char.add(np.char.add((days // 10_000).astype(str), "-"),
                    np.char.zfill((days // 100 % 100).astype(str), 2)),
        np.char.add("-", np.char.zfill((days % 100).astype(str), 2)),
    )
    return VisitLog.from_arrays(
        patient_id=raw[:, 0].astype(np.int64),
        visit_time=iso.astype("datetime64[D]").astype("datetime64[s]"),
        amount=raw[:, 3],
    )


def write_visits_csv(log: VisitLog, path: pathlib.Path) -> None:
    """The log as a visits CSV for the equivalent ``rfm-retention backtest`` command."""
    if path.exists():
        return
    days = log.time.astype("datetime64[D]").astype(str)
    ids = log.patient_ids[log.patient_index]
    with path.open("w") as out:
        out.write("patient_id,visit_time,amount\n")
        for pid, day, amount in zip(ids.tolist(), days.tolist(), log.amount.tolist(),
                                    strict=True):
            out.write(f"{pid},{day},{amount:.2f}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=pathlib.Path, default=CACHE,
                        help=f"folder for the downloaded log (default {CACHE})")
    parser.add_argument("--at", action="append", help=f"scan dates (default {SCAN_DATES})")
    parser.add_argument("--horizon", type=int, default=HORIZON)
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS),
                        default=["lifetime-mbgnbd", "lifetime-bgnbd", "lifetime-paretonbd"])
    parser.add_argument("--population", choices=("all", "active"), action="append",
                        help="populations to judge (default both)")
    args = parser.parse_args()
    at = args.at or list(SCAN_DATES)
    populations = args.population or ["all", "active"]

    log = read_cdnow(fetch_cdnow(args.cache))
    print(f"CDNOW: {len(log):,} purchases, {len(log.patient_ids):,} customers, "
          f"{log.time.min().astype('datetime64[D]')}..{log.time.max().astype('datetime64[D]')}")
    csv = args.cache / "visits.csv"
    write_visits_csv(log, csv)
    flags = " ".join(CLI_FLAGS[m] for m in args.methods if m in CLI_FLAGS)
    dates = " ".join(f"--at {a}" for a in at)
    data = PatientData(visits=log)
    outcome = ChurnOutcome(horizon_days=args.horizon)
    for population in populations:
        print(f"\nequivalent: rfm-retention backtest --visits {csv} {dates} "
              f"--horizon {args.horizon} --population {population} {flags}")
        scorers = [METHODS[m](args.horizon) for m in args.methods]
        start = time.perf_counter()
        result = backtest(data, at, scorer=scorers, outcome=outcome, population=population)
        seconds = time.perf_counter() - start
        names = [r.method for r in result.results if r.at == result.results[0].at]
        print(f"population {population} ({seconds:.1f} s), AUC, no visit within "
              f"{args.horizon} days:")
        print(f"  {'method':34} " + " ".join(f"{a:>10}" for a in at) + f" {'mean':>7}")
        for name in names:
            aucs = [r.auc for r in result.results if r.method == name]
            print(f"  {name:34} " + " ".join(f"{v:10.3f}" for v in aucs)
                  + f" {np.mean(aucs):7.3f}")
        patients = [r.patients for r in result.results if r.method == names[0]]
        left = [r.base_rate for r in result.results if r.method == names[0]]
        print("  patients " + ", ".join(f"{p:,} ({100 * b:.0f} % left)"
                                         for p, b in zip(patients, left, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
