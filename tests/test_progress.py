"""Progress callbacks of long operations and the command line's progress bar."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
import pytest

from rfm_retention import ProgressEvent
from rfm_retention.cli import _progress as bar_module
from rfm_retention.cli import main
from rfm_retention.cli._progress import ProgressBar, progress_bar
from rfm_retention.data import PatientData, VisitLog
from rfm_retention.data import _csv as csv_module
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty import MemoryStore, PointsLedger
from rfm_retention.metrics import ScanScorer, backtest, kpi_report
from rfm_retention.risk import evaluate, scan
from rfm_retention.testing import synthetic_cohort

AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def cohort_data() -> PatientData:
    return synthetic_cohort(150, seed=5).data


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(folder), "--patients", "120", "--seed", "3"]) == 0
    return folder


def _check_run(events: list[ProgressEvent], stage: str) -> None:
    """One stage's events: opens at 0, never goes back, ends at its total."""
    mine = [e for e in events if e.stage == stage]
    assert mine, f"no {stage!r} events in {events}"
    assert mine[0].done == 0
    assert [e.done for e in mine] == sorted(e.done for e in mine)
    assert mine[-1].finished
    assert mine[-1].fraction == 1.0
    assert len({e.total for e in mine}) == 1


def test_scan_reports_every_step_and_gives_the_same_list(cohort_data: PatientData) -> None:
    """scan(progress=) reports 0..total (indicators, odds, grading) and changes nothing."""
    events: list[ProgressEvent] = []
    with_progress = scan(cohort_data, AS_OF, progress=events.append)
    _check_run(events, "scan")
    assert events[-1].total == 11 + 2  # the built-in indicators, the odds, the grading
    silent = scan(cohort_data, AS_OF)
    assert with_progress.patient_id.tolist() == silent.patient_id.tolist()
    np.testing.assert_array_equal(with_progress.score, silent.score)


def test_evaluate_reports_each_indicator(cohort_data: PatientData) -> None:
    """The panel on its own reports one step per indicator, in its own stage."""
    events: list[ProgressEvent] = []
    panel = evaluate(cohort_data, AS_OF, progress=events.append)
    _check_run(events, "indicators")
    assert events[-1].total == len(panel.results)


def test_backtest_reports_each_scan_date(cohort_data: PatientData) -> None:
    """backtest(progress=) counts distinct scan dates, in unit "dates"."""
    events: list[ProgressEvent] = []
    dates = ["2023-06-30", "2023-09-30", "2023-06-30"]
    backtest(cohort_data, dates, scorer=ScanScorer(), progress=events.append)
    _check_run(events, "backtest")
    assert [(e.done, e.total, e.unit) for e in events] == [(i, 2, "dates") for i in range(3)]


def test_kpi_report_reports_each_month(cohort_data: PatientData) -> None:
    """kpi_report(progress=) has four shared steps, then one per month."""
    events: list[ProgressEvent] = []
    report = kpi_report(cohort_data.visits, "2024-01-01", "2024-06-30", as_of=AS_OF,
                        progress=events.append)
    _check_run(events, "kpi report")
    assert events[-1].total == 4 + len(report.months) == 10


def test_a_callback_that_raises_stops_the_work(cohort_data: PatientData) -> None:
    """Raising from the callback cancels the operation; the exception reaches the caller."""
    class Stop(Exception):
        pass

    def stop_at_one(event: ProgressEvent) -> None:
        if event.done == 1:
            raise Stop

    with pytest.raises(Stop):
        backtest(cohort_data, ["2023-06-30", "2023-09-30"], scorer=ScanScorer(),
                 progress=stop_at_one)


def test_a_progress_that_is_not_callable_is_a_config_error(cohort_data: PatientData) -> None:
    """progress= must be a callable: anything else is refused with a clear message."""
    with pytest.raises(ConfigError, match="progress must be a callable"):
        kpi_report(cohort_data.visits, "2024-01-01", "2024-02-29", as_of=AS_OF,
                   progress="yes")  # type: ignore[arg-type]


def test_csv_load_reports_each_chunk_then_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """from_csv (numpy's reader) reports bytes read chunk by chunk up to the file's size, then
    the build steps."""
    monkeypatch.setattr(csv_module, "CHUNK_BYTES", 256)  # several chunks from a small file
    path = tmp_path / "visits.csv"
    rows = "".join(f"p{i % 37},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{i % 90}.5\n"
                   for i in range(400))
    path.write_text("patient_id,visit_time,amount\n" + rows, encoding="utf-8")
    events: list[ProgressEvent] = []
    log = VisitLog.from_csv(path, progress=events.append, reader="numpy")
    assert len(log) == 400
    _check_run(events, "read csv")
    read = [e for e in events if e.stage == "read csv"]
    assert read[-1].total == path.stat().st_size
    assert read[-1].unit == "bytes"
    assert len(read) > 10  # one event per chunk, not one per row (400 rows)
    assert not any(e.finished for e in read[:-1])
    _check_run(events, "build visits")
    assert events[-1] == ProgressEvent("build visits", 4, 4, "steps")


def test_build_from_arrays_reports_its_four_steps() -> None:
    """from_arrays reports validation, factorisation, ordering and gathering."""
    events: list[ProgressEvent] = []
    VisitLog.from_arrays(patient_id=[2, 1, 2], visit_time=["2024-01-02"] * 3,
                         amount=[1.0, 2.0, 3.0], progress=events.append)
    assert [(e.stage, e.done, e.total) for e in events] == [
        ("build visits", i, 4) for i in range(5)
    ]


def test_directory_load_reports_every_file(sample_dir: Path) -> None:
    """PatientData.from_directory reports the reading and the build of each source file."""
    events: list[ProgressEvent] = []
    data = PatientData.from_directory(sample_dir, progress=events.append)
    stages = {e.stage for e in events}
    assert {"read csv", "build visits", "build ratings"} <= stages
    assert sum(e.stage == "build visits" and e.finished for e in events) == 1
    assert len(data.visits) > 0


def test_award_reports_its_steps_and_a_cancel_writes_nothing(cohort_data: PatientData) -> None:
    """award_visits reports its steps up to the commit; raising before it leaves the store empty."""
    events: list[ProgressEvent] = []
    ledger = PointsLedger(MemoryStore())
    result = ledger.award_visits(cohort_data.visits, progress=events.append)
    assert result.awarded > 0
    _check_run(events, "award")
    assert {e.stage for e in events} == {"award"}

    class Stop(Exception):
        pass

    def stop_before_commit(event: ProgressEvent) -> None:
        if event.total is not None and event.done == event.total - 1:  # written, not committed
            raise Stop

    fresh = PointsLedger(MemoryStore())
    with pytest.raises(Stop):
        fresh.award_visits(cohort_data.visits, progress=stop_before_commit)
    assert len(fresh.store) == 0


class _Clock:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_bar_stays_hidden_for_quick_work_and_shows_for_slow_work() -> None:
    """Nothing is drawn in the first two seconds; after that the stage, percent and counts."""
    quick, slow = io.StringIO(), io.StringIO()
    fast_bar = ProgressBar(quick, clock=_Clock(0.01), width=80)
    slow_bar = ProgressBar(slow, clock=_Clock(1.0), width=80)
    for done in range(0, 6):
        fast_bar(ProgressEvent("backtest", done, 10, "dates"))
        slow_bar(ProgressEvent("backtest", done, 10, "dates"))
    fast_bar.close()
    assert quick.getvalue() == ""
    drawn = slow.getvalue().split("\r\x1b[K")
    assert drawn[-1].startswith("backtest")
    assert " 50%" in drawn[-1]
    assert "5/10 dates" in drawn[-1]
    assert all(len(line) < 80 for line in drawn)
    slow_bar.close()
    assert slow.getvalue().endswith("\r\x1b[K")  # erased: the next output starts clean


def test_bar_without_a_total_shows_the_count() -> None:
    """A stage with an unknown total shows how much is done, without a bar."""
    out = io.StringIO()
    bar = ProgressBar(out, clock=_Clock(3.0), width=80)
    bar(ProgressEvent("read csv", 5_000_000, None, "bytes"))
    assert out.getvalue().endswith("5.0 MB  3s")
    assert "[#" not in out.getvalue()
    assert "[." not in out.getvalue()


def test_progress_bar_is_none_off_a_terminal() -> None:
    """Off a terminal (a file, a pipe, a closed stream) there is no bar and no cost."""
    closed = io.StringIO()
    closed.close()
    for stream in (io.StringIO(), closed):
        with progress_bar(stream) as progress:
            assert progress is None


def _scan_args(sample_dir: Path, out: Path) -> list[str]:
    return ["scan", "--visits", str(sample_dir / "visits.csv"),
            f"--ratings={sample_dir / 'ratings.csv'}", "--as-of", AS_OF, "--out", str(out)]


def test_cli_prints_no_bar_when_stderr_is_not_a_terminal(
    sample_dir: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With stderr captured (not a terminal) a slow command writes only its own messages."""
    monkeypatch.setattr(bar_module, "_now", _Clock(5.0))  # every step "takes" five seconds
    assert main(_scan_args(sample_dir, tmp_path / "w.csv")) == 0
    err = capfd.readouterr().err
    assert "\r" not in err
    assert "\x1b[K" not in err
    assert "[#" not in err
    assert err.startswith("scan ")
    assert err.count("\n") <= 3


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, list[bytes]]]:
    """A text stream on the slave side of a pseudo-terminal, and what the terminal received."""
    master, slave = os.openpty()
    received: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the slave side closed
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    assert stream.isatty()
    yield stream, received
    stream.close()
    reader.join(timeout=5)
    os.close(master)


def _scan_on_terminal(
    step: float, sample_dir: Path, tmp_path: Path, terminal: tuple[TextIO, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """What ``scan`` writes to a terminal stderr when each clock reading is ``step`` s later."""
    stream, received = terminal
    monkeypatch.setattr(bar_module, "_now", _Clock(step))
    monkeypatch.setattr(sys, "stderr", stream)
    assert main(_scan_args(sample_dir, tmp_path / "w.csv")) == 0
    stream.flush()
    return _settled(received, "warning")


def test_cli_draws_a_bar_on_a_terminal_when_the_work_is_slow(
    sample_dir: Path, tmp_path: Path, terminal: tuple[TextIO, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, work past two seconds draws the scan's bar, erased before the summary."""
    text = _scan_on_terminal(1.0, sample_dir, tmp_path, terminal, monkeypatch)
    assert "scan " in text
    assert "%" in text
    assert "[#" in text
    assert text.rindex("\x1b[K") < text.rindex("warning")  # erased before the summary


def test_cli_draws_nothing_on_a_terminal_when_the_work_is_quick(
    sample_dir: Path, tmp_path: Path, terminal: tuple[TextIO, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, work done within two seconds leaves stderr as it always was."""
    text = _scan_on_terminal(0.001, sample_dir, tmp_path, terminal, monkeypatch)
    assert "\x1b[K" not in text
    assert "[#" not in text


def _settled(received: list[bytes], marker: str) -> str:
    """What the terminal received, once ``marker`` (the summary's word) has arrived."""
    for _ in range(500):
        text = b"".join(received).decode("utf-8", "replace")
        if marker in text:
            return text
        threading.Event().wait(0.01)
    raise AssertionError(f"the terminal never received {marker!r}: {received!r}")
