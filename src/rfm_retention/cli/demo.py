"""``rfm-retention demo``: every capability of the library, run on the embedded sample cohort."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from rfm_retention.cli._format import format_table
from rfm_retention.features import patient_features
from rfm_retention.testing import SyntheticCohort, sample_cohort

__all__ = ["register"]

# Each section is "module:function"; the function takes (cohort, as_of) and returns text.
SECTIONS = (
    "rfm_retention.cli.demo:features_section",
    "rfm_retention.cli.segment:segments_section",
    "rfm_retention.cli.scan:warnings_section",
    "rfm_retention.cli.points:demo_section",
    "rfm_retention.cli.cases:demo_section",
    "rfm_retention.cli.report:demo_section",
    "rfm_retention.cli.backtest:demo_section",
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run everything on the embedded sample cohort and print readable tables",
        description="Generate the sample cohort (fixed seed) and show features, segments, "
        "warnings, points and KPIs as of its last day.",
    )
    parser.set_defaults(func=run)


def features_section(cohort: SyntheticCohort, as_of: Any) -> str:
    """The visit log and a few patients' features."""
    log = cohort.data.visits
    features = patient_features(log, as_of)
    header = ["patient_id", "last_visit", "days_since", "visits", "visits/yr", "spend"]
    rows = [
        [
            str(features.patient_id[i]),
            str(features.last_visit[i]),
            int(features.days_since_last_visit[i]),
            int(features.visits_in_window[i]),
            float(features.visits_per_year[i]),
            float(features.spend_in_window[i]),
        ]
        for i in range(min(5, len(features)))
    ]
    sources = ", ".join(sorted(cohort.data.available))
    intro = (
        f"Sample cohort: {log.n_patients} patients, {len(log)} visits, as of {as_of}.\n"
        f"Sources: {sources}."
    )
    return intro + "\n\n" + format_table(header, rows, title="Patient features (first 5)")


def run(args: argparse.Namespace) -> int:
    cohort = sample_cohort()
    as_of = cohort.end
    for spec in SECTIONS:
        module, _, name = spec.partition(":")
        section = getattr(importlib.import_module(module), name)
        print(section(cohort, as_of))
        print()
    return 0
