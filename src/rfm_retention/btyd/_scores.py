"""Lifetime-model scores for every patient of a visit log in one call.

:func:`lifetime_scores` builds the daily BTYD summary at ``as_of``, fits a visit
model and a spend model to it (no labels needed) and returns, per patient in
the order of ``visits.features(as_of).patient_id``: P(active), expected visits
and P(no visit) over the horizon, and expected spend over the next 12 months.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention._frozen import frozen_mapping
from rfm_retention._optional import import_pandas
from rfm_retention._tabular import Tabular
from rfm_retention.btyd._base import VisitModel
from rfm_retention.btyd._bgnbd import BGNBDModel, MBGNBDModel
from rfm_retention.btyd._gamma_gamma import GammaGammaModel
from rfm_retention.btyd._pareto_nbd import ParetoNBDModel
from rfm_retention.btyd._summary import BTYDSummary, btyd_summary
from rfm_retention.errors import ConfigError, ConvergenceError
from rfm_retention.time import TimeLike

if TYPE_CHECKING:
    from rfm_retention.data._sources import VisitLog
    from rfm_retention.data._table import IdArray

__all__ = ["LIFETIME_MODELS", "LifetimeScores", "lifetime_scores"]


LIFETIME_MODELS: Mapping[str, type[VisitModel]] = frozen_mapping({
    "bgnbd": BGNBDModel,
    "mbgnbd": MBGNBDModel,
    "paretonbd": ParetoNBDModel,
})
"""The visit models :func:`lifetime_scores` accepts, by name."""

DAYS_IN_12_MONTHS = 365


@attrs.frozen(eq=False)
class LifetimeScores(Tabular):
    """Per-patient lifetime-model outputs at ``as_of``, all float arrays in ``patient_id`` order.

    - ``p_active``: probability the patient is still a patient of the hospital.
    - ``expected_visits``: expected visit days in the next ``horizon_days``.
    - ``p_no_visit``: probability of no visit in the next ``horizon_days``
      (the lifetime model's churn probability for that horizon).
    - ``expected_spend_12m``: expected visit days in the next 365 days times
      the expected spend per visit day.

    ``visit_model`` and ``spend_model`` are the fitted models (``spend_model``
    is None when the log has too few repeat patients with a positive spend to
    fit one; spend per visit is then the patient's own mean repeat spend, or
    the mean of those, or 0 without any spend).
    """

    as_of: np.datetime64
    horizon_days: int
    model: str
    patient_id: IdArray
    p_active: FloatArray
    expected_visits: FloatArray
    p_no_visit: FloatArray
    expected_spend_12m: FloatArray
    visit_model: VisitModel
    spend_model: GammaGammaModel | None

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array: patient_id and the four scores."""
        return {
            "patient_id": self.patient_id,
            "p_active": self.p_active,
            "expected_visits": self.expected_visits,
            "p_no_visit": self.p_no_visit,
            "expected_spend_12m": self.expected_spend_12m,
        }

    def to_pandas(self) -> Any:
        """A DataFrame indexed by patient id (needs the optional pandas package)."""
        pd = import_pandas("LifetimeScores.to_pandas")
        columns = self.to_columns()
        ids = columns.pop("patient_id")
        return pd.DataFrame(columns, index=pd.Index(ids, name="patient_id"))


def _spend_per_visit(summary: BTYDSummary) -> tuple[FloatArray, GammaGammaModel | None]:
    """Expected spend per visit day from Gamma-Gamma, or a plain fallback it cannot be fitted."""
    repeat = (summary.frequency > 0) & (summary.monetary_value > 0)
    if int(repeat.sum()) >= 2:
        try:
            spend_model = GammaGammaModel().fit(summary)
        except ConvergenceError:
            pass
        else:
            if spend_model.params_["q"] > 1:
                return spend_model.expected_mean_spend(summary), spend_model
    if not repeat.any():
        return np.zeros(len(summary)), None
    mean = float(summary.monetary_value[repeat].mean())
    return np.where(repeat, summary.monetary_value, mean).astype(np.float64), None


def lifetime_scores(
    visits: VisitLog,
    as_of: TimeLike,
    *,
    horizon_days: int,
    model: str = "mbgnbd",
) -> LifetimeScores:
    """Fit a lifetime model to the visits up to ``as_of`` and score every patient.

    ``model`` is one of :data:`LIFETIME_MODELS` (``"mbgnbd"`` by default: it
    lets one-visit patients be gone, which BG/NBD does not). Periods are days;
    several visits on one day count as one visit day.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "a", "b", "b", "c", "d", "d"],
        ...     visit_time=["2024-01-02", "2024-02-01", "2024-03-01", "2024-01-10",
        ...                 "2024-01-20", "2024-01-05", "2024-02-10", "2024-03-20"],
        ...     amount=[50.0, 40.0, 60.0, 30.0, 25.0, 80.0, 20.0, 35.0],
        ... )
        >>> s = lifetime_scores(log, "2024-03-31", horizon_days=90)
        >>> s.patient_id.tolist()
        ['a', 'b', 'c', 'd']
        >>> bool(s.p_no_visit[1] > s.p_no_visit[0])  # b went quiet in January
        True
    """
    if model not in LIFETIME_MODELS:
        raise ConfigError(
            f"model must be one of {', '.join(LIFETIME_MODELS)}, not {model!r}"
        )
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer):
        raise ConfigError(f"horizon_days must be a whole number of days, not {horizon_days!r}")
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be at least 1, not {horizon_days}")
    summary = btyd_summary(visits, as_of, period="D")
    if len(summary) == 0:
        raise ConfigError(
            f"no patient has a visit on or before {summary.as_of}: nothing to fit"
        )
    visit_model = LIFETIME_MODELS[model]().fit(summary)
    spend_per_visit, spend_model = _spend_per_visit(summary)
    return LifetimeScores(
        as_of=summary.as_of,
        horizon_days=int(horizon_days),
        model=model,
        patient_id=summary.patient_id,
        p_active=visit_model.p_active(summary),
        expected_visits=visit_model.expected_visits(summary, float(horizon_days)),
        p_no_visit=visit_model.p_no_visit(summary, float(horizon_days)),
        expected_spend_12m=visit_model.expected_visits(summary, float(DAYS_IN_12_MONTHS))
        * spend_per_visit,
        visit_model=visit_model,
        spend_model=spend_model,
    )
