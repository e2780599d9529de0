"""The guides document every input column and every output column the code has."""

from __future__ import annotations

from pathlib import Path

import pytest

from rfm_retention.btyd import BTYD_COLUMNS
from rfm_retention.data import SOURCE_FILES
from rfm_retention.data._bundle import column_tables
from rfm_retention.features import FEATURE_COLUMNS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "guide"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


@pytest.mark.parametrize("source", list(SOURCE_FILES))
def test_input_guide_lists_every_column_of_every_source(source: str) -> None:
    """docs/guide/input-data.md prints a documented table row for each field of each schema."""
    assert "print(column_tables())" in (DOCS / "input-data.md").read_text(encoding="utf-8")
    filename, table_cls = SOURCE_FILES[source]
    section = _section(column_tables(), f"### {filename}")
    for field in table_cls.SCHEMA.fields:
        assert f"| `{field.name}` |" in section, f"{filename}: {field.name} undocumented"
        assert field.doc.strip(), f"{filename}: {field.name} has no doc"


def test_features_guide_defines_every_column() -> None:
    """docs/guide/features.md defines every feature and every BTYD column."""
    text = (DOCS / "features.md").read_text(encoding="utf-8")
    for name in [*FEATURE_COLUMNS, *BTYD_COLUMNS]:
        assert f"| `{name}` |" in text, f"{name} undocumented"
