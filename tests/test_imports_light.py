"""Importing the library pulls in no optional package."""

from __future__ import annotations

import json
import subprocess
import sys

OPTIONAL = ("pandas", "polars", "pyarrow", "hypothesis", "pytest", "matplotlib", "scipy",
            "lifetimes", "pymc_marketing", "mkdocs", "sklearn", "narwhals", "duckdb",
            "pyspark", "dask", "py4j")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return set(json.loads(run.stdout))


def test_import_loads_no_optional_package() -> None:
    """A fresh interpreter importing rfm_retention (and its data/features/btyd/CLI) stays lean."""
    loaded = _modules_after(
        "import rfm_retention, rfm_retention.data, rfm_retention.features, "
        "rfm_retention.btyd, rfm_retention.cli"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in OPTIONAL)
    assert heavy == []
    assert "numpy" in loaded
    assert "attrs" in loaded


def test_command_line_parser_loads_no_optional_package() -> None:
    """Building the CLI parser (every command module) imports nothing optional either."""
    loaded = _modules_after("from rfm_retention.cli import build_parser; build_parser()")
    assert sorted(m for m in loaded if m.split(".")[0] in OPTIONAL) == []
