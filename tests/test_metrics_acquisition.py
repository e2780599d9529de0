"""The patient registry, acquisition KPIs per channel, costs and the referral tree."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.data import PatientRegistry, VisitLog
from rfm_retention.errors import ConfigError, ValidationError
from rfm_retention.metrics import (
    ChannelCosts,
    Exclusions,
    acquisition_report,
    channel_groups,
    kpi_report_by,
    referral_tree,
)
from rfm_retention.testing import sample_cohort


def _registry() -> PatientRegistry:
    return PatientRegistry.from_arrays(
        patient_id=["a", "b", "c", "d"],
        first_contact=["2024-01-02", "2024-01-05", "2024-02-01", "2024-02-10"],
        channel=["talk", "referral", "referral", "media"],
        referred_by=["", "a", "b", ""],
        deceased_at=[None, None, None, "2024-03-01"],
    )


def _log() -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=["a", "a", "b", "b", "c", "d"], amount=[1.0] * 6,
        visit_time=["2024-01-03", "2024-01-04", "2024-01-06", "2024-03-01", "2024-02-02",
                    "2024-02-11"],
    )


def test_registry_is_validated_like_every_source() -> None:
    """Duplicate patients, self-referrals and death before contact are bad rows, all reported."""
    with pytest.raises(ValidationError) as err:
        PatientRegistry.from_arrays(
            patient_id=["a", "a", "b"], first_contact=["2024-01-01"] * 3,
            referred_by=["", "", "b"], deceased_at=[None, None, "2023-01-01"],
        )
    text = str(err.value)
    assert "duplicate" in text
    assert "is the patient themself" in text
    assert "before first_contact" in text


def test_exclusions_from_the_registry() -> None:
    """deceased_at / transferred_at become exclusions (the earlier day wins)."""
    reg = PatientRegistry.from_arrays(
        patient_id=["a", "b"], first_contact=["2024-01-01"] * 2,
        deceased_at=["2024-05-01", None], transferred_at=["2024-04-01", "2024-06-01"],
    )
    ex = Exclusions.from_registry(reg)
    assert ex.patient_id.tolist() == ["a", "b"]
    assert ex.reason.tolist() == ["transferred", "transferred"]


def test_new_patients_per_channel_and_month_with_revisit_and_cost() -> None:
    """Acquired by first contact month; revisit from the first visit; cost per new/retained."""
    costs = ChannelCosts.from_records([("referral", "2024-01", 300.0), ("media", "2024-02", 50)])
    r = acquisition_report(_registry(), _log(), "2024-01-01", "2024-02-29",
                           as_of="2024-12-31", costs=costs)
    rows = {(m.channel, m.month.month): m for m in r.rows}
    ref_jan = rows[("referral", 1)]
    assert (ref_jan.acquired, ref_jan.visited, ref_jan.retained) == (1, 1, 1)
    assert ref_jan.cost_per_acquired == 300.0
    assert ref_jan.cost_per_retained == 300.0
    media = rows[("media", 2)]
    assert media.revisit_6m.excluded == 1  # died before coming back
    assert math.isnan(media.cost_per_retained)
    assert rows[("talk", 1)].revisit_3m.revisited == 1
    assert sum(m.acquired for m in r.rows) == 4


def test_channel_costs_are_checked() -> None:
    """A bad month, a negative cost or a repeated channel-month raises naming the row."""
    with pytest.raises(ConfigError, match="row 0"):
        ChannelCosts.from_records([("media", "January", 10)])
    with pytest.raises(ConfigError, match=">= 0"):
        ChannelCosts.from_records([("media", "2024-01", -1)])
    with pytest.raises(ConfigError, match="twice"):
        ChannelCosts.from_records([("media", "2024-01", 1), ("media", "2024-01-15", 2)])


def test_referral_tree_counts_generations_and_retained_referrers() -> None:
    """b was referred by a returning patient; c by b (second generation)."""
    tree = referral_tree(_registry(), _log(), as_of="2024-12-31")
    assert tree.referred.tolist() == ["b", "c"]
    assert tree.generation.tolist() == [1, 2]
    assert tree.referrer_retained.tolist() == [True, False]
    assert tree.referrers() == {"referrer": ["a", "b"], "referred": [1, 1], "visited": [1, 1],
                                "descendants": [2, 1]}


def test_referral_loops_are_refused() -> None:
    """A chain of referrals that comes back to itself is an error, not an endless walk."""
    reg = PatientRegistry.from_arrays(patient_id=["a", "b"], first_contact=["2024-01-01"] * 2,
                                      referred_by=["b", "a"])
    with pytest.raises(ConfigError, match="loop"):
        referral_tree(reg, _log(), as_of="2024-12-31")


def test_kpis_by_channel_reconcile_on_the_sample() -> None:
    """Grouping the sample's KPIs by channel adds up to the whole, every month."""
    data = sample_cohort().data
    assert data.registry is not None
    by = kpi_report_by(data.visits, "2024-01-01", "2024-06-30", by=channel_groups(data.registry),
                       as_of="2024-12-31")
    for i, m in enumerate(by.overall.months):
        assert sum(g.months[i].churn.lapsed for g in by.groups) == m.churn.lapsed
    assert {"referral", "walk_in"} <= {g.group for g in by.groups}


def test_sample_registry_has_referrals_by_retained_patients() -> None:
    """The demo data's registry has every channel and referrers who had come back before."""
    data = sample_cohort().data
    assert data.registry is not None
    tree = referral_tree(data.registry, data.visits, as_of="2024-12-31")
    assert tree.by_retained > 0
    assert int(tree.generation.max()) >= 2
    assert np.all(data.registry.first_contact <= data.visits.time[data.visits.group_starts[:-1]])


def test_cli_report_with_registry_and_costs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report --registry --costs --by channel --out`` writes channel rows and acquisition."""
    assert main(["sample", "--out", str(tmp_path / "s"), "--patients", "150"]) == 0
    costs = tmp_path / "costs.csv"
    costs.write_text("channel,month,cost\nmedia,2023-01,900\n", encoding="utf-8")
    s = tmp_path / "s"
    assert main(["report", "--visits", str(s / "visits.csv"), "--registry",
                 str(s / "patients.csv"), "--costs", str(costs), "--from", "2023-01-01",
                 "--to", "2023-06-30", "--by", "channel", "--out", str(tmp_path / "r.csv")]) == 0
    with open(tmp_path / "r.acquisition.csv") as a, open(tmp_path / "r.referrals.csv") as b:
        acq, refs = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert {r["channel"] for r in acq} >= {"referral", "media"}
    assert refs
    assert main(["report", "--visits", str(s / "visits.csv"), "--from", "2023-01-01",
                 "--to", "2023-06-30", "--by", "channel"]) != 0
    assert "needs --registry" in capsys.readouterr().err
