"""The features command without pyarrow writes the file the command writes with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_NUMPY_ONLY = """
import sys
sys.modules["pyarrow"] = None  # import pyarrow fails: the numpy reader and writer run
from rfm_retention.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _visits(path: Path, ids: list[str]) -> int:
    """Write 20,000 random visits of the given patients; how many patients they name."""
    rng = np.random.default_rng(7)
    n = 20_000
    days = np.datetime64("2022-01-01") + rng.integers(0, 1100, n).astype("timedelta64[D]")
    amounts = np.round(rng.lognormal(4, 1, n), 2)
    patients = rng.choice(ids, n).tolist()
    rows = zip(patients, days.astype(str).tolist(), amounts.tolist(), strict=True)
    path.write_text("patient_id,visit_time,amount\n"
                    + "".join(f"{p},{d},{a}\n" for p, d, a in rows), encoding="utf-8")
    return len(set(patients))


@pytest.mark.parametrize("ids", [
    [str(k) for k in range(3000)],  # digit ids: aggregated from codes
    [f"{k:06d}" for k in range(3000)],  # zero-padded medical record numbers
    [f"p{k}" for k in range(3000)],  # text ids: in batches
])
def test_numpy_only_command_writes_the_same_bytes_as_with_pyarrow(
    tmp_path: Path, ids: list[str]
) -> None:
    """Digit, zero-padded and text ids give byte-identical feature files whether the numpy
    reader and writer or pyarrow's run."""
    visits = tmp_path / "v.csv"
    patients = _visits(visits, ids)
    args = ["features", "--visits", str(visits), "--as-of", "2024-12-31"]
    subprocess.run([sys.executable, "-c", _NUMPY_ONLY, *args, "--out", str(tmp_path / "a.csv")],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "rfm_retention", *args, "--out",
                    str(tmp_path / "b.csv")], check=True, capture_output=True)
    written = (tmp_path / "a.csv").read_bytes()
    assert written == (tmp_path / "b.csv").read_bytes()
    assert written.count(b"\n") == patients + 1  # every patient, and the header
