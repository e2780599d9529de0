"""The monthly review web page: self-contained, every section present, host text escaped."""

from __future__ import annotations

import csv
import html.parser
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from rfm_retention.cli import main
from rfm_retention.plot import SECTIONS
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

HOSTILE = "<script>alert(1)</script>\"'"


class _Page(html.parser.HTMLParser):
    """Ids of sections, count of inline svg charts, and every text node."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.svgs = 0
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.sections.append(dict(attrs).get("id") or "")
        self.svgs += tag == "svg"
        self.scripts += tag == "script"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page written by ``report --html`` from the sample, with a hostile patient id added."""
    folder = tmp_path_factory.mktemp("report")
    assert main(["sample", "--out", str(folder / "s")]) == 0
    visits = folder / "s" / "visits.csv"
    with visits.open() as handle:
        rows = list(csv.reader(handle))
    pid, vid = rows[0].index("patient_id"), rows[0].index("visit_id")
    extra = [list(r) for r in rows[1:30]]
    for i, r in enumerate(extra):
        r[pid], r[vid] = HOSTILE, f"X{i}"
    with visits.open("a", newline="") as handle:
        csv.writer(handle).writerows(extra)
    out = folder / "review.html"
    assert main(["report", "--visits", str(visits), "--from", "2024-01-01", "--to",
                 "2024-12-31", "--as-of", "2024-12-31", "--html", str(out)]) == 0
    return out


def test_page_has_every_section_and_inline_charts(page: Path) -> None:
    """Headline, charts, segments, high-risk, overdue and win-back sections; 5 SVG charts."""
    parsed = _Page()
    parsed.feed(page.read_text())
    assert parsed.sections[: len(SECTIONS)] == list(SECTIONS)
    assert parsed.svgs >= 5
    assert parsed.scripts == 0


def test_page_loads_nothing_from_the_network(page: Path) -> None:
    """No src/href pointing outside the file: it reads offline and can be mailed as is."""
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text


def test_host_text_is_escaped(page: Path) -> None:
    """A patient id holding a script tag and quotes is shown as text, never as markup."""
    import datetime as dt

    from rfm_retention.interventions import CaseBook, InMemoryCaseStore
    from rfm_retention.metrics import kpi_report
    from rfm_retention.plot import report_page
    from rfm_retention.testing import synthetic_cohort

    assert "<script>" not in page.read_text()
    data = synthetic_cohort(150, seed=2).data
    book = CaseBook(InMemoryCaseStore())
    book.intake(
        WarningRecord(HOSTILE, RiskLevel.HIGH, ReasonCode.PRICE), dt.datetime(2024, 6, 1, 9)
    )
    text = report_page(kpi_report(data.visits, "2024-01-01", "2024-06-30", as_of="2024-06-30"),
                       book=book, title=f"Review {HOSTILE}")
    assert "<script>" not in text
    parsed = _Page()
    parsed.feed(text)
    assert parsed.scripts == 0
    assert sum(HOSTILE in t for t in parsed.text) >= 3  # title, heading, overdue case


def test_page_reads_on_a_phone_and_prints(page: Path) -> None:
    """The page declares a device-width viewport and has print rules."""
    text = page.read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "@media print" in text
    assert "@media (max-width:600px)" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install "
                    "chromium)")
def test_a_real_browser_renders_every_section_without_console_errors(page: Path) -> None:
    """Headless chromium renders the page: every section and chart in its DOM, no JS errors."""
    browser = _chromium()
    assert browser is not None
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120, check=True,
        )
        dom = run.stdout
        for section in SECTIONS:
            assert f'id="{section}"' in dom
        assert dom.count("<svg") >= 5
        console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
        assert console == []
        shot = Path(os.environ.get("RFM_SCREENSHOT", page.with_suffix(".png")))
        subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--window-size=1100,2600",
             f"--screenshot={shot}", page.as_uri()],
            capture_output=True, timeout=120, check=True,
        )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
