"""The trainable score: deterministic fit, learned weights, errors, and use as a policy."""

from __future__ import annotations

import numpy as np
import pytest

from rfm_retention.data import Course
from rfm_retention.errors import ConfigError
from rfm_retention.risk import RiskLevel, default_indicators, evaluate, scan
from rfm_retention.risk._training import LearnedScorePolicy, ScoreTrainer
from test_risk_support import AS_OF, bundle, day, lapse, visits_every


def history(n: int = 60):  # type: ignore[no-untyped-def]
    """Patients whose lapse predicts churn; courses are noise. Returns (data, labels)."""
    rng = np.random.default_rng(7)
    rows, courses, labels = [], [], {}
    for k in range(n):
        pid = f"p{k:03d}"
        lapsed = k % 2 == 0
        rows += lapse(pid, 85 if lapsed else 30)
        if rng.random() < 0.5:
            courses.append(Course(pid, day(120), 10, int(rng.integers(0, 11)), status="abandoned"))
        labels[pid] = lapsed if k % 10 else not lapsed  # 10 % label noise
    return bundle(rows, courses=courses), labels


def test_fit_learns_the_predictive_indicator() -> None:
    """The interval indicator gets a large positive weight; the fit is reported."""
    data, labels = history()
    policy = ScoreTrainer().fit(data, AS_OF, labels)
    weights = dict(zip(policy.indicators, policy.coefficients, strict=True))
    assert weights["interval_extension"] > 1.0
    assert all(c >= 0 for c in policy.coefficients)  # monotone by default
    assert policy.report is not None
    assert policy.report.n_patients == 60
    assert "interval_extension" in str(policy.report)


def test_fit_is_deterministic() -> None:
    """Two fits on the same history give identical coefficients."""
    data, labels = history()
    a = ScoreTrainer().fit(data, AS_OF, labels)
    b = ScoreTrainer().fit(data, AS_OF, labels)
    assert a.to_mapping() == b.to_mapping()


def test_single_class_labels_are_a_clear_error() -> None:
    """All-churned (or all-retained) labels raise ConfigError saying so."""
    data, labels = history(10)
    with pytest.raises(ConfigError, match="all 10 labelled patients churned"):
        ScoreTrainer().fit(data, AS_OF, dict.fromkeys(labels, True))


def test_unknown_labelled_patient_is_an_error() -> None:
    """A label for a patient not in the data names the patient."""
    data, labels = history(10)
    with pytest.raises(ConfigError, match="ghost"):
        ScoreTrainer().fit(data, AS_OF, {**labels, "ghost": True})


def test_stronger_regularisation_shrinks_weights() -> None:
    """A larger l2 gives smaller weights."""
    data, labels = history()
    loose = ScoreTrainer(l2=0.01).fit(data, AS_OF, labels)
    tight = ScoreTrainer(l2=100.0).fit(data, AS_OF, labels)
    assert sum(tight.coefficients) < sum(loose.coefficients)


def test_learned_policy_scores_and_scans() -> None:
    """The learned policy ranks lapsed patients above regular ones and runs in a scan."""
    data, labels = history()
    policy = ScoreTrainer().fit(data, AS_OF, labels)
    panel = evaluate(data, AS_OF)
    p = policy.probabilities(panel)
    lapsed = np.array([int(pid[1:]) % 2 == 0 for pid in data.patients.tolist()])
    assert p[lapsed].mean() > p[~lapsed].mean() + 0.3
    warnings = scan(data, AS_OF, policy=policy)
    assert warnings.policy == "learned"
    assert all(w.level > RiskLevel.NONE for w in warnings)


def test_learned_policy_round_trips_and_validates() -> None:
    """to_mapping re-creates the policy; a scan without its indicators is refused."""
    data, labels = history()
    policy = ScoreTrainer().fit(data, AS_OF, labels)
    again = LearnedScorePolicy(**policy.to_mapping())
    assert again == policy
    with pytest.raises(ConfigError, match="needs indicator"):
        scan(
            bundle(visits_every("x", 30, 3, last_ago=5)),
            AS_OF,
            indicators=default_indicators().without("interval_extension"),
            policy=policy,
        )


def test_trainer_parameters_are_validated() -> None:
    """Non-positive l2 and max_iter are refused."""
    with pytest.raises(ConfigError):
        ScoreTrainer(l2=0)
    with pytest.raises(ConfigError):
        ScoreTrainer(max_iter=0)
