"""Every public entry point that takes a time converts each time argument exactly once.

The table below is the audit: one row per public function or method with a
parameter typed :data:`~rfm_retention.time.TimeLike`, found by walking every
public package's ``__all__``. A new entry point that the table does not
cover fails :func:`test_the_table_covers_every_entry_point`, so the audit
cannot go stale. Each row calls the entry point with ISO text and says how
many conversions (``rfm_retention.time.to_instant`` calls) it makes: one per
time argument given, never more. Input records (a ``Visit``, a ``CaseRecord``)
keep a time as given and say 0: the table built from them converts the whole
column at once. Each result reports ``as_of`` as the instant (``datetime64[s]``),
a period's ``start``/``end`` as dates, and a record its times as naive-UTC
datetimes.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import pytest

import rfm_retention
import rfm_retention.time as time_module
from conftest import ConversionCounter
from rfm_retention import (
    FeatureState,
    btyd,
    data,
    features,
    interventions,
    loyalty,
    metrics,
    plot,
    risk,
    segmentation,
    testing,
)
from rfm_retention import model as risk_models
from rfm_retention.cli import points as cli_points
from rfm_retention.cli import scan as cli_scan
from rfm_retention.metrics import conformance as metrics_kit
from rfm_retention.risk import conformance as risk_kit
from rfm_retention.time import to_instant
from rfm_retention.vocabulary import ReasonCode, RiskLevel

AS_OF, START, END = "2024-06-30", "2024-01-01", "2024-03-31"
EARLIER, LATER = "2023-09-30", "2024-02-01"
INSTANT = to_instant(AS_OF)
REWARD = loyalty.SPEC_REWARDS.rewards[0].code
FIRST_INDICATOR = next(iter(risk.default_indicators()))


@attrs.frozen
class World:
    """What the calls need, built once before any conversion is counted."""

    cohort: testing.SyntheticCohort
    model: Any
    cases: metrics.CaseColumns
    control: metrics.ControlGroup
    report: metrics.KPIReport
    learned: risk.LearnedScorePolicy

    @property
    def labels(self) -> dict[Any, bool]:
        ids = self.cohort.data.visits.patient_ids
        return {pid: n % 3 == 0 for n, pid in enumerate(ids.tolist())}

    @property
    def data(self) -> data.PatientData:
        return self.cohort.data

    @property
    def visits(self) -> data.VisitLog:
        return self.cohort.data.visits

    @property
    def patient(self) -> Any:
        return self.cohort.data.visits.patient_ids[0]

    def state(self) -> FeatureState:
        return FeatureState.from_visits(metrics.data_until(self.data, INSTANT).visits)

    def snapshot(self) -> risk.Snapshot:
        return risk.Snapshot.of(self.data, INSTANT)

    def ledger(self) -> loyalty.PointsLedger:
        ledger = loyalty.PointsLedger(loyalty.MemoryStore())
        ledger.earn(self.patient, 5000, key="seed", at=to_instant(START))
        return ledger

    def book(self) -> tuple[interventions.CaseBook, str]:
        book = interventions.CaseBook(interventions.InMemoryCaseStore())
        record = risk.WarningRecord("p1", RiskLevel.HIGH, ReasonCode.SERVICE)
        case = book.intake(record, to_instant(START)).case
        assert case is not None
        return book, case.case_id

    def closed_case(self) -> tuple[interventions.CaseBook, str]:
        book, case_id = self.book()
        book.close(case_id, at=to_instant(LATER), actor="nurse",
                   outcome=interventions.Outcome.NOT_NEEDED, note="moved away")
        return book, case_id

    def voucher(self) -> tuple[loyalty.PointsLedger, loyalty.Voucher]:
        ledger = self.ledger()
        return ledger, ledger.redeem(self.patient, REWARD, key="r", at=to_instant(LATER))


def _world() -> World:
    cohort = testing.synthetic_cohort(300, seed=3)
    ids = cohort.data.visits.patient_ids[:40]
    cases = metrics.CaseColumns.from_arrays(
        patient_id=ids[:20], level=["high"] * 20,
        first_contact_at=np.full(20, np.datetime64("2024-02-01T10:00", "s")),
    )
    control = metrics.ControlGroup.from_arrays(
        patient_id=ids[20:], level=["high"] * 20,
        warned_at=np.full(20, np.datetime64("2024-02-01T10:00", "s")),
    )
    return World(
        cohort=cohort,
        model=risk_models.train_risk_model(cohort.data, ["2023-03-31"], horizon_days=90),
        cases=cases, control=control,
        report=metrics.kpi_report(cohort.data.visits, START, END, as_of=AS_OF),
        learned=metrics.fit_learned_score(cohort.data, "2023-03-31", evaluate_from=EARLIER),
    )


class _Named(metrics.DaysSinceLastVisit):
    """The baseline under a second name, so a backtest can compare it with itself."""

    name = "again: days since last visit"


@attrs.frozen
class Row:
    """One entry point: how to call it with text times and how many conversions that takes."""

    call: Callable[[World], Any]
    conversions: int
    record: bool = False  # the result is a record: it holds the time as a naive-UTC datetime


_SCORE = metrics.DaysSinceLastVisit()
_CONTACT = {"actor": "nurse", "channel": interventions.Channel.PHONE,
            "result": interventions.ContactResult.REACHED}
_CONTACT_EVENT = {k: v for k, v in _CONTACT.items() if k != "actor"}
_CASE = {"level": RiskLevel.HIGH, "reason": ReasonCode.SERVICE}


def _indicator_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for indicator in risk.default_indicators():
        name = type(indicator).__name__
        rows[f"risk.indicators.{name}.evaluate"] = Row(
            lambda w, i=indicator: i.evaluate(w.snapshot(), AS_OF), 1)
    return rows


ROWS: dict[str, Row] = {
    # features and the feature state
    "features.patient_features": Row(lambda w: features.patient_features(w.visits, AS_OF), 1),
    "features.PatientFeatures.from_rfm": Row(lambda w: features.PatientFeatures.from_rfm(
        as_of=AS_OF, patient_id=["a"], days_since_last_visit=[3], visits_in_window=[2],
        spend_in_window=[10.0]), 1),
    "features.PatientFeatures.__init__": Row(
        lambda w: attrs.evolve(features.patient_features(w.visits, INSTANT), as_of=AS_OF), 1),
    "data.VisitLog.features": Row(lambda w: w.visits.features(AS_OF), 1),
    "data.VisitLog.btyd_summary": Row(lambda w: w.visits.btyd_summary(AS_OF), 1),
    "FeatureState.features": Row(lambda w: w.state().features(AS_OF), 1),
    "FeatureState.compact": Row(lambda w: w.state().compact(AS_OF), 1),
    # segmentation: the fitted cut points record the instant they were learned at
    "segmentation.FittedRFM.__init__": Row(lambda w: attrs.evolve(
        segmentation.eight_segments().fit(features.patient_features(w.visits, INSTANT)),
        fitted_as_of=AS_OF), 1),
    # BTYD
    "btyd.btyd_summary": Row(lambda w: btyd.btyd_summary(w.visits, AS_OF), 1),
    "btyd.lifetime_scores": Row(
        lambda w: btyd.lifetime_scores(w.visits, AS_OF, horizon_days=90), 1),
    # input records keep a time as given: the table built from them converts the column
    "data.Visit.__init__": Row(lambda w: data.Visit("p", AS_OF, 1.0), 0, record=True),
    "data.Rating.__init__": Row(lambda w: data.Rating("p", AS_OF, 90.0), 0, record=True),
    "data.Complaint.__init__": Row(lambda w: data.Complaint("p", AS_OF), 0, record=True),
    "data.Appointment.__init__": Row(
        lambda w: data.Appointment("p", AS_OF, "no_show"), 0, record=True),
    "data.Course.__init__": Row(lambda w: data.Course("p", START, END), 0, record=True),
    "data.Assessment.__init__": Row(
        lambda w: data.Assessment("p", AS_OF, 1.0, 2.0), 0, record=True),
    "data.Review.__init__": Row(lambda w: data.Review("p", AS_OF, 4.0), 0, record=True),
    "data.PatientEntry.__init__": Row(lambda w: data.PatientEntry(
        "p", START, deceased_at=END, transferred_at=AS_OF), 0, record=True),
    "loyalty.PostedReview.__init__": Row(lambda w: loyalty.PostedReview("p", AS_OF), 1,
                                         record=True),
    "loyalty.Referral.__init__": Row(lambda w: loyalty.Referral("p", "q", AS_OF), 1,
                                     record=True),
    "metrics.CaseRecord.__init__": Row(lambda w: metrics.CaseRecord(
        "p", "high", opened_at=START, first_contact_at=LATER, first_contact_due=LATER,
        plan_at=END, plan_due=END), 0, record=True),
    "metrics.Exclusion.__init__": Row(lambda w: metrics.Exclusion("p", AS_OF), 0, record=True),
    # risk
    "risk.scan": Row(lambda w: risk.scan(w.data, AS_OF), 1),
    "risk.evaluate": Row(lambda w: risk.evaluate(w.data, AS_OF), 1),
    "risk.Snapshot.of": Row(lambda w: risk.Snapshot.of(w.data, AS_OF), 1),
    "risk.Snapshot.__init__": Row(lambda w: risk.Snapshot(w.visits, instant=AS_OF), 1),
    "risk.trailing_year_spend": Row(lambda w: risk.trailing_year_spend(w.data, AS_OF), 1),
    "risk.Indicator.evaluate": Row(
        lambda w: FIRST_INDICATOR.evaluate(w.snapshot(), AS_OF), 1),
    "risk.IndicatorBase.evaluate": Row(
        lambda w: FIRST_INDICATOR.evaluate(w.snapshot(), AS_OF), 1),
    **_indicator_rows(),
    "risk.ScoreTrainer.fit": Row(lambda w: risk.ScoreTrainer().fit(
        w.data, EARLIER, w.labels), 1),
    "risk.ChurnEstimator.churn_odds": Row(
        lambda w: risk.LifetimeOdds().churn_odds(w.data, AS_OF, risk.evaluate(w.data, INSTANT)),
        1),
    "risk.LifetimeOdds.churn_odds": Row(
        lambda w: risk.LifetimeOdds().churn_odds(w.data, AS_OF, risk.evaluate(w.data, INSTANT)),
        1),
    "risk.LearnedScorePolicy.__init__": Row(lambda w: attrs.evolve(
        w.learned, labels_until=AS_OF), 1, record=True),
    # trained models
    "model.train_risk_model": Row(lambda w: risk_models.train_risk_model(
        w.data, ["2023-03-31", EARLIER], horizon_days=90), 2),
    "model.model_inputs": Row(lambda w: risk_models.model_inputs(w.data, AS_OF), 1),
    "model.RiskModel.predict": Row(lambda w: w.model.predict(w.data, AS_OF), 1),
    "model.RiskModel.inputs": Row(lambda w: w.model.inputs(w.data, AS_OF), 1),
    "model.RiskModel.churn_odds": Row(lambda w: w.model.churn_odds(w.data, AS_OF), 1),
    "model.RiskModel.check_date": Row(lambda w: w.model.check_date(AS_OF), 1, record=True),
    "model.RiskPrediction.__init__": Row(lambda w: attrs.evolve(
        w.model.predict(w.data, INSTANT), as_of=AS_OF), 1),
    "model.TrainingRecord.__init__": Row(lambda w: attrs.evolve(
        w.model.training, labels_until=AS_OF), 1, record=True),
    # KPIs
    "metrics.kpi_report": Row(
        lambda w: metrics.kpi_report(w.visits, START, END, as_of=AS_OF), 3),
    "metrics.kpi_report_by": Row(lambda w: metrics.kpi_report_by(
        w.visits, START, END, by="segment", as_of=AS_OF), 3),
    "metrics.causes_by_group": Row(lambda w: metrics.causes_by_group(
        w.visits, START, END, by="segment", as_of=AS_OF), 3),
    "metrics.programme_review": Row(lambda w: metrics.programme_review(
        w.visits, START, END, as_of=AS_OF, by="segment", causes=True,
        programme_start=LATER, registry=w.data.registry), 4),
    "metrics.acquisition_report": Row(lambda w: metrics.acquisition_report(
        w.data.registry, w.visits, START, END, as_of=AS_OF), 3),
    "metrics.referral_tree": Row(
        lambda w: metrics.referral_tree(w.data.registry, w.visits, as_of=AS_OF), 1),
    "metrics.segment_groups": Row(lambda w: metrics.segment_groups(w.visits, AS_OF), 1),
    "metrics.monthly_churn": Row(
        lambda w: metrics.monthly_churn(w.visits, START, END, as_of=AS_OF), 3),
    "metrics.lapse_events": Row(lambda w: metrics.lapse_events(w.visits, as_of=AS_OF), 1),
    "metrics.revisit_rate": Row(
        lambda w: metrics.revisit_rate(w.visits, START, END, as_of=AS_OF), 3),
    "metrics.revisit_rates_by_month": Row(
        lambda w: metrics.revisit_rates_by_month(w.visits, START, END, as_of=AS_OF), 3),
    "metrics.satisfaction_trend": Row(
        lambda w: metrics.satisfaction_trend(w.data.ratings, START, END), 2),
    "metrics.before_after": Row(lambda w: metrics.before_after(w.report, LATER), 1),
    "metrics.win_back_rate": Row(
        lambda w: metrics.win_back_rate(w.visits, w.cases, as_of=AS_OF), 1),
    "metrics.control_win_back": Row(
        lambda w: metrics.control_win_back(w.visits, w.control, as_of=AS_OF), 1),
    "metrics.win_back_uplift": Row(lambda w: metrics.win_back_uplift(
        w.visits, w.cases, control=w.control, as_of=AS_OF), 1),
    "metrics.followup_coverage": Row(
        lambda w: metrics.followup_coverage(w.cases, as_of=AS_OF), 1),
    "metrics.deadline_compliance": Row(lambda w: metrics.deadline_compliance(
        w.cases.first_contact_due, w.cases.first_contact_at, as_of=AS_OF), 1),
    # backtests
    "metrics.backtest": Row(lambda w: metrics.backtest(
        w.data, [EARLIER, "2023-12-31"], scorer=_SCORE, baseline=_Named(),
        observed_until=AS_OF), 3),
    "metrics.scored_outcomes": Row(lambda w: metrics.scored_outcomes(
        w.data, EARLIER, scorer=_SCORE, baseline=_Named(), observed_until=AS_OF), 2),
    "metrics.fit_learned_score": Row(lambda w: metrics.fit_learned_score(
        w.data, "2023-03-31", evaluate_from=EARLIER), 2),
    # plots
    "plot.kpi_lines": Row(lambda w: plot.kpi_lines(w.report, programme_start=LATER), 1),
    "plot.revisit_curves": Row(lambda w: plot.revisit_curves(w.visits, as_of=AS_OF), 1),
    "plot.report_page": Row(lambda w: plot.report_page(w.report, programme_start=LATER), 1),
    # loyalty
    "loyalty.PointsLedger.earn": Row(lambda w: w.ledger().earn(
        w.patient, 10, key="k", at=AS_OF, expires_at="2025-06-30"), 2, record=True),
    "loyalty.PointsLedger.adjust": Row(lambda w: w.ledger().adjust(
        w.patient, 10, key="k", at=AS_OF, actor="a", reason="r", expires_at="2025-06-30"),
        2, record=True),
    "loyalty.PointsLedger.award_visits": Row(
        lambda w: w.ledger().award_visits(w.visits, since=START), 1),
    "loyalty.PointsLedger.redeem": Row(lambda w: w.ledger().redeem(
        w.patient, REWARD, key="r", at=AS_OF),
        1, record=True),
    "loyalty.PointsLedger.cancel_voucher": Row(lambda w: _cancel_voucher(w), 1, record=True),
    "loyalty.PointsLedger.expire": Row(lambda w: w.ledger().expire(at=AS_OF), 1),
    "loyalty.PointsLedger.reverse": Row(lambda w: w.ledger().reverse("seed", at=AS_OF), 1,
                                        record=True),
    "loyalty.PointsLedger.reverse_visit": Row(lambda w: w.ledger().reverse_visit(
        at=AS_OF, patient_id=w.patient, visit_time=START), 2),
    "loyalty.Event.__init__": Row(lambda w: loyalty.Event(
        "k", loyalty.EventKind.EARN, "main", "p", 10, at=AS_OF, expires_at="2025-06-30"),
        2, record=True),
    "loyalty.enrol": Row(lambda w: loyalty.enrol(
        loyalty.PointsLedger(loyalty.MemoryStore()), "p", at=AS_OF, actor="desk"), 1,
        record=True),
    "loyalty.membership": Row(lambda w: loyalty.membership(
        w.patient, w.visits, as_of=AS_OF, ledger=w.ledger()), 1),
    "loyalty.privileges": Row(lambda w: loyalty.privileges(
        w.patient, w.visits, as_of=AS_OF, ledger=w.ledger()), 1),
    "loyalty.award_referrals": Row(lambda w: loyalty.award_referrals(
        w.ledger(), w.data.registry, w.visits, at=AS_OF), 1),
    "loyalty.reverse_referral": Row(lambda w: loyalty.reverse_referral(
        w.ledger(), "p", at=AS_OF), 1),
    # cases
    "interventions.CaseBook.intake": Row(lambda w: interventions.CaseBook(
        interventions.InMemoryCaseStore()).intake(
            risk.WarningRecord("p1", RiskLevel.HIGH, ReasonCode.SERVICE), AS_OF), 1),
    "interventions.intake_warnings": Row(lambda w: interventions.intake_warnings(
        interventions.CaseBook(interventions.InMemoryCaseStore()),
        risk.scan(w.data, INSTANT), warned_at=AS_OF), 1),
    "interventions.CaseBook.record_contact": Row(
        lambda w: _on_case(w, "record_contact", at=AS_OF, **_CONTACT), 1, record=True),
    "interventions.CaseBook.record_plan": Row(
        lambda w: _on_case(w, "record_plan", at=AS_OF, actor="nurse"), 1, record=True),
    "interventions.CaseBook.close": Row(lambda w: _on_case(
        w, "close", at=AS_OF, actor="nurse", outcome=interventions.Outcome.NOT_NEEDED,
        note="moved away"), 1, record=True),
    "interventions.CaseBook.reopen": Row(lambda w: _reopen(w), 1, record=True),
    "interventions.CaseBook.overdue": Row(lambda w: w.book()[0].overdue(AS_OF), 1),
    "interventions.CaseBook.escalate_overdue": Row(
        lambda w: w.book()[0].escalate_overdue(AS_OF), 1),
    "interventions.compose_care_batch": Row(lambda w: interventions.compose_care_batch(
        w.book()[0].cases(), channel=interventions.Channel.SMS, hospital="H",
        contact_line="123", as_of=AS_OF), 1),
    # the conformance kits (a plug-in author's checks)
    **{f"risk.conformance.{check.__name__}": Row(
        lambda w, c=check: c(FIRST_INDICATOR, w.data, AS_OF), 1)
       for check in (risk_kit.check_as_of, risk_kit.check_determinism,
                     risk_kit.check_independence, risk_kit.check_indicator,
                     risk_kit.check_row_order, risk_kit.check_shape)},
    "risk.conformance.up_to": Row(lambda w: risk_kit.up_to(w.data, AS_OF), 1),
    **{f"metrics.conformance.{check.__name__}": Row(
        lambda w, c=check: c(_SCORE, w.data, EARLIER), 1)
       for check in (metrics_kit.check_finite_scores, metrics_kit.check_higher_is_riskier,
                     metrics_kit.check_scores_deterministic,
                     metrics_kit.check_scores_each_patient_once)},
    # takes ``at`` only to share the kit's call shape; it reads no time
    "metrics.conformance.check_scorer_protocol": Row(
        lambda w: metrics_kit.check_scorer_protocol(_SCORE, w.data, EARLIER), 0),
    # case records and events: a record's time given as text is read once, like the book's
    "interventions.Contact.__init__": Row(lambda w: interventions.Contact(
        AS_OF, "nurse", interventions.Channel.PHONE, interventions.ContactResult.REACHED), 1,
        record=True),
    "interventions.PlanRecord.__init__": Row(
        lambda w: interventions.PlanRecord(AS_OF, "nurse", "call"), 1, record=True),
    "interventions.Due.__init__": Row(lambda w: interventions.Due(
        "first_contact", START, END, interventions.Milestone.ATTEMPT, met_at=AS_OF), 3,
        record=True),
    "interventions.StaffNotice.__init__": Row(lambda w: interventions.StaffNotice(
        interventions.NoticeKind.DEADLINE_BREACHED, AS_OF, "c1", "p1", "high",
        ReasonCode.SERVICE, ("nurse",), due_at=END), 2, record=True),
    **{f"interventions.{event.__name__}.__init__": Row(
        lambda w, e=event, x=extra: e(case_id="c1", seq=1, at=AS_OF, actor="nurse", **x), 1,
        record=True)
       for event, extra in (
           (interventions.CaseClosed, {"outcome": interventions.Outcome.NOT_NEEDED}),
           (interventions.CaseReopened, {"reason": "came back"}),
           (interventions.PlanRecorded, {"code": "call"}),
           (interventions.StaffNotified, {"key": "k", "roles": ("nurse",)}),
           (interventions.ContactRecorded, _CONTACT_EVENT),
           (interventions.CaseEscalated, _CASE),
           (interventions.CaseOpened, {**_CASE, "patient_id": "p1", "episode": 1}),
       )},
    # the synthetic cohort's ground truth
    "testing.ChurnTruth.churned_by": Row(lambda w: w.cohort.truth.churned_by(AS_OF), 1),
    # the demo's sections (the CLI's own building blocks)
    "cli.scan.warnings_section": Row(
        lambda w: cli_scan.warnings_section(w.cohort, AS_OF), 1),
    "cli.points.demo_section": Row(lambda w: cli_points.demo_section(w.cohort, AS_OF), 1),
}


def _on_case(world: World, method: str, **kwargs: Any) -> Any:
    book, case_id = world.book()
    return getattr(book, method)(case_id, **kwargs)


def _reopen(world: World) -> Any:
    book, case_id = world.closed_case()
    return book.reopen(case_id, at=AS_OF, actor="nurse", reason="came back worse")


def _cancel_voucher(world: World) -> Any:
    ledger, voucher = world.voucher()
    return ledger.cancel_voucher(voucher, at=AS_OF)


# -- discovery ---------------------------------------------------------------

_TIME_NAME = re.compile(r"^(as_of|at|since|until|when)$|_(at|of|until|from|since)$")


def _public_modules() -> Iterator[str]:
    yield rfm_retention.__name__
    for info in pkgutil.walk_packages(rfm_retention.__path__, f"{rfm_retention.__name__}."):
        parts = info.name.split(".")[1:]
        if not any(p.startswith("_") for p in parts) and info.name != time_module.__name__:
            yield info.name


def _public_name(obj: Any) -> str:
    """``obj``'s module path up to its first private part, without the root: ``metrics``."""
    parts = []
    for part in obj.__module__.split(".")[1:]:
        if part.startswith("_"):
            break
        parts.append(part)
    return ".".join(parts)


def _takes_time(function: Any) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any("TimeLike" in str(p.annotation) for p in parameters)


def entry_points() -> Iterator[tuple[str, Any]]:
    """Every public function and public-class method with a ``TimeLike`` parameter."""
    seen: set[str] = set()
    for name in _public_modules():
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", ()):
            obj = getattr(module, exported)
            if inspect.isclass(obj):
                members = [(f"{obj.__name__}.{m}", f) for m, f in vars(obj).items()
                           if (not m.startswith("_") or m == "__init__")]
                members += [(f"{obj.__name__}.{m}", getattr(obj, m)) for m in dir(obj)
                            if not m.startswith("_") and m not in vars(obj)]
            elif callable(obj) and hasattr(obj, "__module__"):
                members = [(obj.__name__, obj)]
            else:
                continue
            for member, function in members:
                function = getattr(function, "__func__", function)
                if not callable(function) or not _takes_time(function):
                    continue
                key = ".".join(filter(None, [_public_name(obj), member]))
                if key not in seen:
                    seen.add(key)
                    yield key, function


def test_the_table_covers_every_entry_point() -> None:
    """The audit table lists exactly the public entry points that take a TimeLike."""
    found = {key for key, _ in entry_points()}
    assert sorted(found - ROWS.keys()) == []
    assert sorted(ROWS.keys() - found) == []


def test_time_parameters_are_typed_timelike() -> None:
    """A public parameter named like a time that takes any input says so: TimeLike, not Any."""
    loose = []
    for name in _public_modules():
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", ()):
            obj = getattr(module, exported)
            functions = ([f for m, f in vars(obj).items() if not m.startswith("_")
                          or m == "__init__"] if inspect.isclass(obj) else [obj])
            for function in functions:
                function = getattr(function, "__func__", function)
                try:
                    parameters = inspect.signature(function).parameters.values()
                except (TypeError, ValueError):
                    continue
                loose += [f"{exported}({p.name}: {p.annotation})" for p in parameters
                          if _TIME_NAME.search(p.name)
                          and str(p.annotation) in {"Any", "dt.date | dt.datetime | str"}]
    assert sorted(set(loose) - COLUMNS) == []


COLUMNS = {
    # whole columns of times, converted vectorised by the table they build
    "CaseColumns(opened_at: Any)", "CaseColumns(first_contact_at: Any)",
    "CaseColumns(plan_at: Any)", "ControlGroup(warned_at: Any)",
    "ChurnOutcome(churned_from: Any)", "win_back_uplift(control_warned_at: Any)",
}


# -- the audit ---------------------------------------------------------------




@pytest.fixture(scope="module")
def world() -> World:
    return _world()




def _times_reported(result: Any) -> Iterator[tuple[str, Any]]:
    first = result[0] if isinstance(result, list | tuple) and result else result
    for name in ("as_of", "fitted_as_of", "start", "end"):
        value = getattr(first, name, None)
        if value is not None and not callable(value):
            yield name, value


@pytest.mark.parametrize("key", sorted(ROWS))
def test_each_entry_point_converts_each_time_once(
    key: str, world: World, conversions: ConversionCounter
) -> None:
    """Called with ISO text, the entry point converts each time argument given exactly once."""
    row = ROWS[key]
    result = row.call(_Prepared(world, conversions))
    assert conversions.calls == row.conversions, key
    for name, value in _times_reported(result):
        if name.endswith("as_of") and not row.record:
            assert isinstance(value, np.datetime64), key
            assert value.dtype == INSTANT.dtype, key
            assert value == INSTANT, key
        elif row.record:  # a record holds its times as naive-UTC datetimes, never an as_of
            assert isinstance(value, dt.date), key
            assert not name.endswith("as_of"), key
        else:  # a period reports its first and last day as dates
            assert type(value) is dt.date, key


class _Prepared:
    """The world, whose set-up work (a ledger, a case book) is not counted."""

    def __init__(self, world: World, counter: ConversionCounter) -> None:
        self._world = world
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._world, name)
        if not callable(value):
            return value

        def uncounted(*args: Any, **kwargs: Any) -> Any:
            before = self._counter.calls
            out = value(*args, **kwargs)
            self._counter.calls = before
            return out
        return uncounted
