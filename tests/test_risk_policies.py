"""Rule and score policies: the rule table as data, validation, weights and re-weighting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rfm_retention.data import Complaint, Course, Rating, Visit
from rfm_retention.errors import ConfigError
from rfm_retention.risk import (
    SPEC_RULE_TABLE,
    RiskLevel,
    RulePolicy,
    ScorePolicy,
    WorstOf,
    default_indicators,
    evaluate,
)
from rfm_retention.risk._score import dimension_scores
from test_risk_support import AS_OF, bundle, day, lapse, visits_every


def levels(policy, data):  # type: ignore[no-untyped-def]
    """{patient: level} under ``policy``."""
    panel = evaluate(data, AS_OF)
    verdict = policy.assess(panel)
    pairs = zip(data.patients.tolist(), verdict.level, strict=True)
    return {p: RiskLevel(int(v)) for p, v in pairs}


def test_spec_rule_bands_of_interval_extension() -> None:
    """+30 % is low, exactly +50 % low, +75 % medium, exactly +100 % medium, +110 % high."""
    rows = []
    for pid, ago in (("a", 52), ("b", 60), ("c", 70), ("d", 80), ("e", 84), ("f", 40)):
        rows += lapse(pid, ago)
    got = levels(RulePolicy.spec(), bundle(rows))
    assert got == {
        "a": RiskLevel.LOW,
        "b": RiskLevel.LOW,
        "c": RiskLevel.MEDIUM,
        "d": RiskLevel.MEDIUM,
        "e": RiskLevel.HIGH,
        "f": RiskLevel.NONE,
    }


def test_spec_rule_no_visit_for_3_months_and_course_not_completed_is_high() -> None:
    """No visit in 3 months plus an abandoned course is high; the lapse alone is medium."""
    rows = visits_every("p", 200, 2, last_ago=100) + visits_every("q", 200, 2, last_ago=100)
    data = bundle(
        rows,
        courses=[
            Course("p", day(150), 10, 2, status="abandoned"),
            Course("q", day(150), 10, 10, status="completed"),
        ],
    )
    got = levels(RulePolicy.spec(), data)
    assert got["p"] == RiskLevel.HIGH
    assert got["q"] == RiskLevel.MEDIUM


def test_spec_rule_repeated_complaints_with_bad_handling_is_high() -> None:
    """Two valid complaints plus handling rated below 70 is high; one of the two alone is not."""
    rows = visits_every("p", 30, 3, last_ago=5) + visits_every("q", 30, 3, last_ago=5)
    complaints = [
        Complaint("p", day(20), True, 40),
        Complaint("p", day(40), True),
        Complaint("q", day(20), True, 90),
        Complaint("q", day(40), True),
    ]
    got = levels(RulePolicy.spec(), bundle(rows, complaints=complaints))
    assert got == {"p": RiskLevel.HIGH, "q": RiskLevel.NONE}


def test_spec_rule_single_low_rating_is_medium() -> None:
    """One satisfaction rating below 80 is medium (the first document's rule)."""
    rows = visits_every("p", 30, 3, last_ago=5)
    got = levels(RulePolicy.spec(), bundle(rows, ratings=[Rating("p", day(3), 79)]))
    assert got["p"] == RiskLevel.MEDIUM


def test_rule_table_round_trips_through_json_and_toml() -> None:
    """The preset survives JSON; a TOML file with the same rule parses to the same rules."""
    policy = RulePolicy.spec()
    again = RulePolicy.from_json(json.dumps(policy.to_mapping()))
    assert again.rules == policy.rules
    toml = """
name = "rules"
[[rules]]
level = "high"
label = "interval extension over 100%"
[[rules.conditions]]
indicator = "interval_extension"
op = ">"
value = 1.0
"""
    assert RulePolicy.from_toml(toml).rules == (policy.rules[1],)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indicator": "interval_extenson"}, "unknown indicator 'interval_extenson'"),
        ({"measure": "__class__"}, "has no measure '__class__'"),
        ({"op": "=~"}, "unknown operator"),
        ({"value": "1; import os"}, "must be a number"),
        ({"extra": 1}, "unknown field(s) ['extra']"),
        ({"measure": "fired", "value": 1}, "true/false"),
    ],
)
def test_rule_files_are_validated(change, message) -> None:  # type: ignore[no-untyped-def]
    """Unknown indicators, measures, operators, fields and non-numeric thresholds are refused."""
    condition = {"indicator": "interval_extension", "op": ">", "value": 1.0, **change}
    table = {"rules": [{"level": "high", "conditions": [condition]}]}
    with pytest.raises(
        ConfigError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        RulePolicy.from_mapping(table)


def test_rule_file_structure_errors_name_the_rule() -> None:
    """A bad level or a missing conditions list names the rule."""
    with pytest.raises(ConfigError, match="rule 1"):
        RulePolicy.from_mapping({"rules": [{"level": "severe", "conditions": []}]})
    with pytest.raises(ConfigError, match="unknown field"):
        RulePolicy.from_mapping({"rules": [], "version": 2})
    with pytest.raises(ConfigError, match="not valid JSON"):
        RulePolicy.from_json("{rules: }")


def test_rules_validated_against_host_indicator_set() -> None:
    """A rule naming an indicator the scan will not run is refused by validate()."""
    policy = RulePolicy.from_mapping(SPEC_RULE_TABLE)
    with pytest.raises(ConfigError, match="no_shows"):
        policy.validate(default_indicators().without("no_shows"))


def test_score_policy_spec_weights_with_all_dimensions() -> None:
    """With data in every dimension the score is 100 x the weighted sum of dimension maxima."""
    rows = visits_every("p", 40, 3, last_ago=80)  # +100 %: behaviour severity 1
    data = bundle(
        rows,
        ratings=[Rating("p", day(3), 90)],
        complaints=[],
        courses=[Course("p", day(100), 10, 5, status="abandoned")],
        outcomes=[],
        reviews=[],
    )
    panel = evaluate(data, AS_OF)
    dims = dimension_scores(panel)[:, 0]
    assert dims.tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(dims[3])
    # reputation has no data: its 10 % is shared out, weights 0.4, 0.3, 0.2 over 0.9
    assert ScorePolicy().scores(panel)[0] == pytest.approx(100 * (0.4 + 0.2) / 0.9)


def test_score_policy_reweights_missing_dimensions_not_zero() -> None:
    """A behaviour-only patient is scored on behaviour alone (re-weighted), not diluted by zeros."""
    data = bundle(visits_every("p", 40, 3, last_ago=80))
    assert ScorePolicy().scores(evaluate(data, AS_OF))[0] == pytest.approx(100.0)
    assert levels(ScorePolicy(), data)["p"] == RiskLevel.HIGH


def test_score_policy_validates_weights_and_cutoffs() -> None:
    """Unknown dimensions, negative weights and unordered cut-offs are refused."""
    with pytest.raises(ConfigError):
        ScorePolicy(weights={"mood": 1.0})
    with pytest.raises(ConfigError):
        ScorePolicy(weights={"behaviour": -1.0})
    with pytest.raises(ConfigError):
        ScorePolicy(cutoffs=(40.0, 60.0, 80.0))


def test_worst_of_takes_the_higher_level() -> None:
    """WorstOf returns the higher level of its policies for each patient."""
    rows = visits_every("p", 200, 2, last_ago=10)
    data = bundle(rows, outcomes=[], courses=[Course("p", day(300), 10, 0, status="abandoned")])
    assert levels(RulePolicy.spec(), data)["p"] == RiskLevel.NONE
    lenient = ScorePolicy(cutoffs=(80.0, 60.0, 30.0))
    worst = WorstOf((RulePolicy.spec(), lenient))
    assert levels(worst, data)["p"] == levels(lenient, data)["p"] == RiskLevel.LOW


def test_no_data_patient_scores_zero() -> None:
    """A patient with no signal anywhere (only a future visit) scores 0, level none."""
    data = bundle([Visit("p", day(-10), 5.0)])
    assert ScorePolicy().scores(evaluate(data, AS_OF)).tolist() == [0.0]
