"""Notebook displays (``_repr_html_``) and readable ``__repr__`` of every result and table."""

from __future__ import annotations

import datetime as dt
import html.parser

import pytest

import rfm_retention as rr
from rfm_retention._display import Display
from rfm_retention.cli import main
from rfm_retention.features import patient_features
from rfm_retention.interventions import CaseBook, InMemoryCaseStore
from rfm_retention.loyalty import MemoryStore, PointsLedger
from rfm_retention.metrics import backtest
from rfm_retention.metrics._backtest import DaysSinceLastVisit
from rfm_retention.risk import WarningRecord
from rfm_retention.testing import synthetic_cohort
from rfm_retention.vocabulary import ReasonCode, RiskLevel


class _Cells(html.parser.HTMLParser):
    """Collects the text of every table cell and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.append(tag)
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1] += data


def _parse(markup: str) -> _Cells:
    p = _Cells()
    p.feed(markup)
    return p


@pytest.fixture(scope="module")
def cohort():
    return synthetic_cohort(200, seed=3)


def _results(cohort):
    data = cohort.data
    features = patient_features(data.visits, "2024-06-30")
    segments = rr.eight_segments().fit(features).assign(features)
    warnings = rr.scan(data, "2024-06-30")
    report = rr.kpi_report(data.visits, "2024-01-01", "2024-03-31", as_of="2024-06-30")
    bt = backtest(data, ["2023-06-30"], scorer=DaysSinceLastVisit(), baseline=_Named())
    ledger = PointsLedger(MemoryStore())
    ledger.earn("p1", 300, key="v1", at=dt.datetime(2024, 3, 1))
    book = CaseBook(InMemoryCaseStore())
    book.intake(WarningRecord("p9", RiskLevel.HIGH, ReasonCode.PRICE), dt.datetime(2024, 5, 6, 9))
    return {
        "VisitLog": data.visits, "RatingTable": data.ratings, "PatientFeatures": features,
        "Segmentation": segments, "SegmentSummary": segments.summary(),
        "WarningList": warnings, "PatientExplanation": warnings.explain(warnings.patient_id[0]),
        "KPIReport": report, "Backtest": bt, "PointsLedger": ledger,
        "Balance (lots)": ledger.balance("p1"), "CaseBook": book,
    }


class _Named(DaysSinceLastVisit):
    name = "second baseline"


def test_every_result_has_an_html_table_and_a_titled_repr(cohort) -> None:
    """Each result's notebook display is one table titled by its class, with its shape."""
    for title, result in _results(cohort).items():
        markup = result._repr_html_()
        parsed = _parse(markup)
        assert parsed.tags.count("table") == 1, title
        assert f"{title} <small>(" in markup
        assert "rows &times;" in markup
        assert repr(result).startswith(f"{title}: "), title


def test_long_tables_show_first_and_last_rows_and_mark_the_cut(cohort) -> None:
    """A 1,517-row visit log shows 5 + 5 rows with the 1,507 left out counted between them."""
    log = cohort.data.visits
    parsed = _parse(log._repr_html_())
    rows = parsed.tags.count("tr")
    assert rows == 1 + 10 + 1  # header, 10 rows, the cut marker
    assert f"{len(log) - 10:,} more row(s)" in log._repr_html_()
    first_id = str(log.patient_ids[0])
    last_id = str(log.patient_ids[-1])
    assert first_id in parsed.cells
    assert last_id in parsed.cells
    text = repr(log)
    assert f"{len(log):,} rows x 6 columns" in text
    assert f"... {len(log) - 10:,} more row(s) ..." in text


def test_explanation_shows_all_its_evidence_as_a_table(cohort) -> None:
    """A single patient's explanation lists every indicator with its evidence text."""
    warnings = rr.scan(cohort.data, "2024-06-30")
    explanation = warnings.explain(warnings.patient_id[0])
    parsed = _parse(explanation._repr_html_())
    for reading in explanation.readings:
        assert reading.name in parsed.cells
        assert reading.evidence in parsed.cells
    assert "more row" not in explanation._repr_html_()


def test_values_are_html_escaped() -> None:
    """Ids, free text and the title are escaped; markup in them never reaches the page raw."""
    log = rr.VisitLog.from_arrays(patient_id=["<script>alert(1)</script>", "o'\"k"],
                                  amount=[1.0, 2.0], visit_time=["2024-01-01", "2024-01-02"],
                                  department=["<b>x</b>", "&amp;"])
    markup = log._repr_html_()
    assert "<script>" not in markup
    assert "<b>x</b>" not in markup
    assert "&lt;script&gt;" in markup
    assert "&amp;amp;" in markup
    cells = _parse(markup).cells
    assert "<script>alert(1)</script>" in cells
    assert "o'\"k" in cells


def test_repr_leaves_out_columns_that_do_not_fit_the_width() -> None:
    """The text view keeps whole columns within the width and names the ones left out."""
    shown = Display("T", {"a": ["x" * 10], "b": ["y" * 10], "c": ["z" * 10]}).text(width=26)
    lines = shown.splitlines()
    assert all(len(line) <= 26 for line in lines[1:3])
    assert "x" * 10 in shown
    assert "y" * 10 in shown
    assert "z" * 10 not in shown
    assert lines[-1] == "  (1 more column(s): c)"


def test_cli_prints_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``rfm-retention --version`` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rfm-retention {rr.__version__}"


def test_terminal_tables_fit_the_width_and_cut_only_between_words() -> None:
    """A long text column is narrowed to the width; each cut cell is whole words plus '…'."""
    from rfm_retention.cli._format import format_table

    note = "interval_extension: last visit 328 days ago; usual interval 72 days (+356%)"
    table = format_table(["id", "score", "signal"], [["P1", 83.9, note], ["P2", 7.0, "ok"]],
                         width=50)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 50
    cut = lines[2].split("  ")[-1]
    assert cut.endswith("…")
    assert note.startswith(cut[:-1])
    assert note[len(cut) - 1] == " "  # the cut falls before a space, never inside a word
    assert "83.9" in lines[2]
    wide = format_table(["id", "signal"], [["P1", note]], width=200)
    assert note in wide


def test_ledger_history_is_a_tuple_that_shows_itself_as_a_table() -> None:
    """``PointsLedger.history`` stays a sequence of events and prints one row per event."""
    ledger = PointsLedger(MemoryStore())
    ledger.earn("p<1>", 100, key="k1", at=dt.datetime(2024, 3, 1))
    ledger.earn("p<1>", 50, key="<k2>", at=dt.datetime(2024, 4, 1))
    history = ledger.history("p<1>")
    assert isinstance(history, tuple)
    assert history == tuple(history)
    assert len(history[1:]) == 1
    text = repr(history)
    assert text.splitlines()[0] == "LedgerHistory: 2 rows x 7 columns; events=2; net points=150"
    assert "<k2>" in text
    assert "&lt;k2&gt;" in history._repr_html_()
