"""The plots draw what they say (labels, bars, lines, limits), headless, into the given axes."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure

from rfm_retention import plot
from rfm_retention.interventions import (
    CaseBook,
    Channel,
    ContactResult,
    InMemoryCaseStore,
    Outcome,
    intake_warnings,
)
from rfm_retention.metrics import ScanScorer, Scores, backtest, kpi_report, scored_outcomes
from rfm_retention.risk import WarningRecord, scan
from rfm_retention.segmentation import eight_segments, migration, score_segments
from rfm_retention.testing import synthetic_cohort
from rfm_retention.vocabulary import ReasonCode, RiskLevel


@pytest.fixture(scope="module")
def data():
    return synthetic_cohort(400, seed=5).data


def _ax():
    return Figure().subplots()


def test_segment_sizes_draws_two_bars_per_segment_summing_to_100(data) -> None:
    """Patients and spend shares: 2 bars per segment, each set adding up to 100 %."""
    f = data.visits.features("2024-06-30")
    seg = eight_segments().fit(f).assign(f)
    ax = plot.segment_sizes(seg, ax=_ax())
    widths = np.array([p.get_width() for p in ax.patches])
    assert len(widths) == 16
    assert widths[:8].sum() == pytest.approx(100.0)
    assert widths[8:].sum() == pytest.approx(100.0)
    assert next(t.get_text() for t in ax.get_yticklabels()) == "Core"
    assert ax.get_xlabel() == "share (%)"


def test_rfm_grid_writes_every_cell_count_and_they_add_up(data) -> None:
    """The 5 x 5 heat map's written counts add up to the patients segmented."""
    f = data.visits.features("2024-06-30")
    seg = score_segments().fit(f).assign(f)
    ax = plot.rfm_grid(seg, ax=_ax())
    counts = [int(t.get_text().replace(",", "")) for t in ax.texts]
    assert len(counts) == 25
    assert sum(counts) == len(seg)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("F label", "R label")


def test_migration_matrix_counts_match_the_matrix(data) -> None:
    """Each written cell is the matrix count; the title gives the patients who moved."""
    seg = eight_segments()
    a, b = data.visits.features("2023-12-31"), data.visits.features("2024-06-30")
    fitted = seg.fit(a)
    m = migration(fitted.assign(a), fitted.assign(b))
    ax = plot.migration_matrix(m, ax=_ax())
    written = np.array([int(t.get_text().replace(",", "")) for t in ax.texts]).reshape(8, 8)
    assert (written == m.counts).all()
    assert f"{m.moved():,} patients moved" in ax.get_title()


def test_risk_funnel_runs_from_scanned_to_won_back(data) -> None:
    """Bars: scanned, warned, 3 levels, cases opened, contacted, won back, in that order."""
    w = scan(data, "2024-06-30")
    book = CaseBook(InMemoryCaseStore())
    intake_warnings(book, w, warned_at=dt.datetime(2024, 6, 30, 9))
    cases = book.cases()
    for case in cases[:3]:
        book.record_contact(case.case_id, at=dt.datetime(2024, 7, 1, 9), actor="a",
                            channel=Channel.PHONE, result=ContactResult.REACHED)
    book.close(cases[0].case_id, at=dt.datetime(2024, 7, 9), actor="a", outcome=Outcome.WON_BACK)
    ax = plot.risk_funnel(w, book.cases(), ax=_ax())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["patients scanned", "warned", "high", "medium", "low", "cases opened",
                      "contacted", "won back"]
    widths = [p.get_width() for p in ax.patches]
    assert widths[0] == len(w.panel)
    assert widths[1] == len(w)
    assert sum(widths[2:5]) == len(w)
    assert widths[5:] == [len(cases), 3, 1]


def test_kpi_lines_mark_the_programme_start(data) -> None:
    """Churn and revisit lines over the months, satisfaction on the right, the start marked."""
    r = kpi_report(data.visits, "2023-01-01", "2023-12-31", as_of="2024-12-31",
                   ratings=data.ratings)
    ax = plot.kpi_lines(r, programme_start="2023-07-01", ax=_ax())
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"churn", "revisit 3 months", "revisit 6 months", "programme start"}
    assert len(lines["churn"].get_xdata()) == 12
    start = lines["programme start"].get_xdata()[0]
    assert matplotlib.dates.num2date(matplotlib.dates.date2num(start)).date() == dt.date(
        2023, 7, 1)
    right = [a for a in ax.figure.axes if a is not ax]
    assert right[0].get_ylabel() == "mean rating"


def test_revisit_curves_rise_and_stay_within_0_and_100(data) -> None:
    """One non-decreasing-from-zero curve per cohort, y within 0-100, x from day 0."""
    ax = plot.revisit_curves(data.visits, as_of="2024-12-31", by="year", ax=_ax())
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["2022", "2023", "2024"]
    for line in lines:
        y = np.asarray(line.get_ydata())
        assert y.min() >= 0
        assert y.max() <= 100
        assert line.get_xdata()[0] == 0
    assert ax.get_ylim() == (0, 100)


def test_backtest_curves_draw_each_method_beside_the_baseline(data) -> None:
    """ROC, precision at k and the decile curve each hold the scan and the dashed baseline."""
    s = scored_outcomes(data, "2023-09-30", scorer=ScanScorer())
    roc = plot.roc_curves(s, ax=_ax())
    styles = {line.get_label().split(" (")[0]: line.get_linestyle() for line in roc.get_lines()}
    assert styles[s.baseline] == "--"
    assert len(styles) == 3
    for line in roc.get_lines()[:2]:
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.0, 1.0, 1.0)
        assert (np.diff(x) >= 0).all()
    pk = plot.precision_at_k(s, k=50, ax=_ax())
    assert pk.get_xlim() == (1, len(s.patient_id))
    base = next(line for line in pk.get_lines() if line.get_label() == "base rate")
    assert base.get_ydata()[0] == pytest.approx(s.base_rate * 100)
    cal = plot.calibration_curve(s, ax=_ax())
    assert [len(line.get_xdata()) for line in cal.get_lines()] == [10, 10]


def test_calibration_adds_the_predicted_line_for_probabilities(data) -> None:
    """A method scoring in [0, 1] gets its mean predicted probability beside the observed rate."""
    s = scored_outcomes(data, "2023-09-30", scorer=ScanScorer())
    probs = dict(s.scores)
    scan_name = s.methods[0]
    probs[scan_name] = (probs[scan_name] - probs[scan_name].min()) / np.ptp(probs[scan_name])
    ax = plot.calibration_curve(type(s)(s.at, s.patient_id, s.positive, probs, s.baseline),
                                ax=_ax())
    assert [line.get_label() for line in ax.get_lines()] == [
        f"{scan_name}: observed", f"{scan_name}: predicted", f"{s.baseline}: observed"]


def test_calibration_draws_the_predicted_line_from_stated_probabilities(data) -> None:
    """A scorer stating ``Scores.probability`` gets its mean stated probability per bin drawn."""
    scores = ScanScorer()

    class Stated:
        name = "stated"

        def score(self, past, at):
            s = scores.score(past, at)
            stated = np.full(len(s.score), 0.25)
            return Scores.of(s.patient_id, s.score, s.level, probability=stated)

    s = scored_outcomes(data, "2023-09-30", scorer=Stated())
    assert set(s.probabilities) == {"stated"}
    ax = plot.calibration_curve(s, ax=_ax())
    predicted = next(line for line in ax.get_lines() if line.get_label() == "stated: predicted")
    assert np.allclose(predicted.get_ydata(), 25.0)


def test_lead_time_histogram_counts_every_warned_departure(data) -> None:
    """Each method's step histogram holds exactly its warned departures."""
    bt = backtest(data, ["2023-03-31", "2023-06-30"], scorer=ScanScorer())
    ax = plot.lead_times(bt, ax=_ax())
    assert len(ax.patches) == len(bt.lead_times)
    for lead, label in zip(bt.lead_times, ax.get_legend().get_texts(), strict=True):
        assert label.get_text().startswith(f"{lead.method}: {lead.warned}/{lead.lapses}")


def test_patient_timeline_puts_each_event_on_its_row(data) -> None:
    """Visits, ratings, complaints, warnings and contacts each land on their own row."""
    w = scan(data, "2024-06-30")
    pid = w.patient_id[0].item()
    book = CaseBook(InMemoryCaseStore())
    case = book.intake(
        WarningRecord(pid, RiskLevel.HIGH, ReasonCode.SERVICE), dt.datetime(2024, 6, 30, 9)
    ).case
    book.record_contact(case.case_id, at=dt.datetime(2024, 7, 1, 10), actor="a",
                        channel=Channel.PHONE, result=ContactResult.REACHED)
    ax = plot.patient_timeline(data, pid, warnings=[w], cases=book.cases(), ax=_ax())
    rows = {c.get_label(): c for c in ax.collections}
    visits = data.visits
    n_visits = int(np.sum(visits.row_patient_ids() == pid))
    assert len(rows["visit"].get_offsets()) == n_visits
    assert set(np.asarray(rows["visit"].get_offsets())[:, 1]) == {0}
    assert np.asarray(rows["contact"].get_offsets())[0, 1] == 4
    warned = [c for c in ax.collections if len(c.get_offsets()) and c.get_offsets()[0][1] == 3]
    assert len(warned) == 1


def test_without_an_ax_a_pyplot_figure_is_opened() -> None:
    """No ``ax``: the function opens its own figure and returns its axes."""
    import matplotlib.pyplot as plt

    f = synthetic_cohort(100, seed=1).data.visits.features("2024-06-30")
    ax = plot.segment_sizes(eight_segments().fit(f).assign(f))
    try:
        assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    finally:
        plt.close("all")


def test_missing_matplotlib_gives_the_install_hint() -> None:
    """Without matplotlib the module imports, and a call raises the hint naming the extra."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from rfm_retention import plot\n"
        "from rfm_retention.testing import synthetic_cohort\n"
        "from rfm_retention.segmentation import eight_segments\n"
        "f = synthetic_cohort(50, seed=1).data.visits.features('2024-06-30')\n"
        "try:\n    plot.segment_sizes(eight_segments().fit(f).assign(f))\n"
        "except ImportError as e:\n    print(type(e).__name__, str(e).splitlines()[-1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "MissingDependencyError Hint: pip install 'rfm-retention[plot]'")


@pytest.mark.parametrize("name", ["rfm_retention.plot._segments", "rfm_retention.plot._risk",
                                  "rfm_retention.plot._kpis", "rfm_retention.plot._backtest",
                                  "rfm_retention.metrics._scored"])
def test_docstring_examples(name: str) -> None:
    """Every docstring example of the plot modules and the scored outcomes passes."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
