"""Who the patients are: condition, arrival, latent experience and efficacy, hidden churn.

Everything here is one value per patient, drawn in one vectorised pass.
Times are float day numbers (days since 1970-01-01); a whole number is the
start of that day.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import BoolArray, FloatArray, IntArray
from rfm_retention._frozen import frozen_mapping
from rfm_retention.testing._presets import ACUTE, CHRONIC, CHURN_REASONS, REHAB, CohortSettings

DAYS_PER_MONTH = 30.4375
ARRIVAL_MARGIN_DAYS = 30
"""Nobody arrives in the cohort's last month, so every patient has some history."""
EXISTING_SPAN_DAYS = 90

KIND_CODES = frozen_mapping({CHRONIC: 0, REHAB: 1, ACUTE: 2})
NO_REASON = -1


@attrs.frozen(eq=False)
class Population:
    """One value per patient (struct of arrays), in patient-id order."""

    ids: npt.NDArray[np.str_]
    condition: IntArray
    """Index into ``settings.conditions`` of the chronic/rehab condition; -1 if acute-only."""
    kind: IntArray
    """0 chronic, 1 rehab, 2 acute-only (see KIND_CODES)."""
    arrival: FloatArray
    """Time of the first visit."""
    satisfaction: FloatArray
    efficacy: FloatArray
    price_sensitivity: FloatArray
    spend_level: FloatArray
    """Per-patient multiplier on every charge (some patients buy more)."""
    churn_day: FloatArray
    """Whole day from which the patient no longer visits; inf if not within the cohort."""
    degrade_day: FloatArray
    """Whole day from which the churner's signals degrade; inf if not churning."""
    reason: IntArray
    """Index into CHURN_REASONS of the main driver; -1 when the patient did not churn."""
    stretch: FloatArray
    """Factor on revisit intervals from ``degrade_day`` on."""
    stop: FloatArray
    """Visits happen strictly before this: churn_day, or the day after the cohort ends."""

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def degrading(self, patient: IntArray, t: FloatArray) -> BoolArray:
        """For events of ``patient`` at time ``t``: inside the patient's lead time?"""
        result: BoolArray = t >= self.degrade_day[patient]
        return result

    def ramp(self, patient: IntArray, t: FloatArray) -> FloatArray:
        """0 at the start of the lead time, 1 at the churn date (0 outside the lead time)."""
        start = self.degrade_day[patient]
        inside = np.isfinite(start) & (t >= start)
        origin = np.where(inside, start, 0.0)
        length = np.maximum(np.where(inside, self.churn_day[patient], 1.0) - origin, 1.0)
        value = np.where(inside, (t - origin) / length, 0.0)
        clipped: FloatArray = np.clip(value, 0.0, 1.0)
        return clipped


def numbered(prefix: str, n: int, min_width: int) -> npt.NDArray[np.str_]:
    """``prefix`` + a zero-padded running number from 1, so text order is number order."""
    width = max(min_width, len(str(n)))
    if n == 0:
        return np.empty(0, f"U{len(prefix) + width}")
    digits = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    ids: npt.NDArray[np.str_] = np.char.add(prefix, digits)
    return ids


def patient_ids(n: int) -> npt.NDArray[np.str_]:
    """``P000001``-style ids."""
    return numbered("P", n, 6)


def draw_population(
    rng: np.random.Generator, n: int, start_day: int, end_day: int, settings: CohortSettings
) -> Population:
    """Draw every patient-level quantity, including the hidden churn date and driver."""
    conditions = settings.conditions
    planned = [i for i, c in enumerate(conditions) if c.kind != ACUTE]
    weights = np.array([conditions[i].share for i in planned], np.float64)
    acute_only = rng.random(n) < settings.acute_only_share
    chosen = (
        rng.choice(np.array(planned, np.int64), size=n, p=weights / weights.sum())
        if planned
        else np.full(n, -1, np.int64)
    )
    condition = np.where(acute_only, -1, chosen).astype(np.int64)
    kind_of = np.array([KIND_CODES[c.kind] for c in conditions], np.int64)
    kind = np.where(acute_only, KIND_CODES[ACUTE], kind_of[np.maximum(condition, 0)])

    last_arrival = max(end_day - ARRIVAL_MARGIN_DAYS, start_day + 1)
    existing = rng.random(n) < settings.existing_share
    early = start_day + rng.random(n) * min(EXISTING_SPAN_DAYS, last_arrival - start_day)
    later = start_day + rng.random(n) * (last_arrival - start_day)
    arrival = np.where(existing, early, later)

    sig = settings.signals
    satisfaction = np.clip(rng.normal(sig.satisfaction_mean, sig.satisfaction_sd, n), 20, 100)
    efficacy = np.clip(rng.normal(sig.efficacy_mean, sig.efficacy_sd, n), 20, 100)
    price_sensitivity = rng.lognormal(0.0, 0.6, n) / np.exp(0.18)
    spend_level = rng.lognormal(0.0, 0.25, n)

    hazards = _monthly_hazards(settings, satisfaction, efficacy, price_sensitivity, kind)
    waits = rng.exponential(1.0, (n, len(CHURN_REASONS))) / hazards * DAYS_PER_MONTH
    first = np.argmin(waits, axis=1)
    churn_day = np.floor(arrival + waits[np.arange(n), first]) + 1.0
    churned = churn_day <= end_day
    lo, hi = settings.churn.lead_days
    lead = rng.uniform(lo, hi, n)
    degrade = np.maximum(np.floor(arrival) + 1.0, churn_day - np.round(lead))
    slo, shi = settings.churn.stretch
    stretch = rng.uniform(slo, shi, n)
    inf = np.full(n, np.inf)
    churn_day = np.where(churned, churn_day, inf)
    return Population(
        ids=patient_ids(n),
        condition=condition,
        kind=kind,
        arrival=arrival,
        satisfaction=satisfaction,
        efficacy=efficacy,
        price_sensitivity=price_sensitivity,
        spend_level=spend_level,
        churn_day=churn_day,
        degrade_day=np.where(churned, degrade, inf),
        reason=np.where(churned, first, NO_REASON).astype(np.int64),
        stretch=np.where(churned, stretch, 1.0),
        stop=np.minimum(churn_day, float(end_day + 1)),
    )


def _monthly_hazards(
    settings: CohortSettings,
    satisfaction: FloatArray,
    efficacy: FloatArray,
    price_sensitivity: FloatArray,
    kind: IntArray,
) -> FloatArray:
    """(n, reasons) monthly hazards, columns in CHURN_REASONS order."""
    h = settings.churn
    n = satisfaction.shape[0]
    service_factor = np.exp((h.service_pivot - satisfaction) / h.service_scale)
    columns = {
        "efficacy": h.efficacy * np.exp((h.efficacy_pivot - efficacy) / h.efficacy_scale),
        "service": h.service * service_factor,
        "price": h.price * price_sensitivity,
        "competition": np.full(n, h.competition),
        "trust": h.trust * np.sqrt(service_factor),
        "behaviour_only": np.full(n, h.behaviour_only),
    }
    table = np.stack([columns[r.value] for r in CHURN_REASONS], axis=1)
    boost = np.where(kind == KIND_CODES[ACUTE], h.acute_multiplier, 1.0)
    result: FloatArray = np.maximum(table * boost[:, None], 1e-12)
    return result
