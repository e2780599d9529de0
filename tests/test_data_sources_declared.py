"""Every source is declared once, on PatientData, and every list of sources is derived from it."""

from __future__ import annotations

import argparse
from pathlib import Path

import attrs

from rfm_retention.cli._common import add_signal_options
from rfm_retention.data import SOURCE_FILES, SOURCES, PatientData
from rfm_retention.data._bundle import source_table
from rfm_retention.testing import synthetic_cohort

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "input-data.md"


def test_sources_are_the_declared_fields_of_the_bundle() -> None:
    """SOURCES lists PatientData's source fields in order, each named after its table's schema."""
    fields = [f.name for f in attrs.fields(PatientData) if f.name not in ("patients",
                                                                           "_row_positions")]
    assert [s.name for s in SOURCES] == fields
    assert all(s.table.SCHEMA.source == s.name for s in SOURCES)
    assert {s.name: (s.filename, s.table) for s in SOURCES} == SOURCE_FILES


def test_command_line_has_one_input_option_per_declared_source() -> None:
    """The CLI's --ratings, --complaints ... options are the declared sources besides visits."""
    parser = argparse.ArgumentParser()
    add_signal_options(parser)
    options = {a.dest for a in parser._actions if a.dest != "help"}
    assert options == {s.name for s in SOURCES} - {"visits"}


def test_from_directory_finds_every_declared_default_file(tmp_path: Path) -> None:
    """A folder with each source's default file loads every source, none left out."""
    data = synthetic_cohort(60, seed=5).data
    for source in SOURCES:
        table = getattr(data, source.name)
        (tmp_path / source.filename).write_text(_csv(table), encoding="utf-8")
    loaded = PatientData.from_directory(tmp_path)
    assert loaded.available == {s.name for s in SOURCES}


def _csv(table: object) -> str:
    """The table's validated columns as CSV text (missing values as empty cells)."""
    columns = table.columns  # type: ignore[attr-defined]
    rows = zip(*(_texts(values) for values in columns.values()), strict=True)
    return "\n".join([",".join(columns), *(",".join(r) for r in rows)]) + "\n"


def _texts(column: object) -> list[str]:
    values = column.tolist()  # type: ignore[attr-defined]
    return ["" if v is None or v != v else str(v).replace(",", " ") for v in values]


def test_input_guide_table_is_built_from_the_declarations() -> None:
    """The guide's source table is generated from SOURCES, one row per declared source."""
    assert "print(source_table())" in GUIDE.read_text(encoding="utf-8")
    rows = source_table().splitlines()[2:]
    assert len(rows) == len(SOURCES)
    for source, row in zip(SOURCES, rows, strict=True):
        assert f"`{source.table.__name__}`" in row
        assert f"`{source.filename}`" in row
