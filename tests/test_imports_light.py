"""Importing the library pulls in no optional package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_features_command_loads_only_the_data_layer() -> None:
    """``rfm-retention features`` imports neither the ledger, the cases nor the risk model."""
    loaded = _modules_after(
        "from rfm_retention.cli import build_parser; "
        "build_parser('features').parse_args(['features', '--as-of', '2024-01-01'])"
    )
    for package in ("loyalty", "interventions", "risk", "metrics", "segmentation"):
        assert f"rfm_retention.{package}" not in loaded, package
    assert "rfm_retention.cli.data_commands" in loaded
    assert "rfm_retention.cli.points" not in loaded


def test_every_command_is_registered_by_the_module_the_table_names() -> None:
    """The command -> module table the fast start relies on matches what each module adds."""
    import argparse
    import importlib

    from rfm_retention.cli import _COMMAND_MODULES, _MODULE_OF_COMMAND

    registered: dict[str, str] = {}
    for module in _COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert registered == _MODULE_OF_COMMAND


def test_top_level_help_is_the_full_parsers_without_loading_commands() -> None:
    """``rfm-retention --help`` lists every command with its own help, importing none (a
    command's help changed in its module must be copied to ``_COMMANDS`` in ``cli``)."""
    from rfm_retention.cli import _summary_parser, build_parser

    assert _summary_parser().format_help() == build_parser().format_help()
    code = ("import contextlib, io, json, sys\n"
            "from rfm_retention.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = set(json.loads(run.stdout))
    assert not [m for m in loaded if m.startswith("rfm_retention.cli.") and
                m.split(".")[2] in {"demo", "data_commands", "points", "cases", "scan"}]
    assert "rfm_retention.loyalty" not in loaded


def test_top_level_analytics_names_load_on_first_use() -> None:
    """``rfm_retention.scan`` and friends still resolve, importing their package on demand."""
    loaded = _modules_after("import rfm_retention; rfm_retention.PointsLedger")
    assert "rfm_retention.loyalty" in loaded
    assert "rfm_retention.risk" not in _modules_after("import rfm_retention")


def test_features_command_reads_and_writes_with_arrow_without_loading_pandas(
    tmp_path: Path,
) -> None:
    """``rfm-retention features --visits FILE --out FILE`` uses pyarrow's reader and writer
    (the fast extra) without pyarrow loading pandas, whose import costs more than the job
    (a missing cell, a null to arrow, included)."""
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,visit_time,amount\n"
                      "1,2024-01-05,10\n1,2024-03-01,0.00001\n2,2024-02-01,2.5\n"
                      "3,2024-02-11T10:30:00,1e20\n4,2024-02-01,\n")  # a missing amount
    out = tmp_path / "f.csv"
    loaded = _modules_after(
        "from rfm_retention.cli import main; "
        f"main(['features', '--visits', {str(visits)!r}, '--as-of', '2024-06-30', "
        f"'--out', {str(out)!r}, '--quarantine'])"
    )
    assert {"pyarrow.csv", "pyarrow.compute"} <= loaded
    assert "pandas" not in loaded
    assert out.read_text().splitlines()[1].startswith("1,2024-01-05,2024-03-01,121,")
