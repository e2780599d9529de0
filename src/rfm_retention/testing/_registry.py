"""The synthetic cohort's patient registry: first contact, channel, referrer, departures.

Drawn after everything else, from its own random stream, so adding it left
the other tables exactly as they were. Patients who come back often are more
likely to have come by referral (word of mouth brings loyal patients); a
referrer is an earlier patient, chosen in proportion to their visit days
(retained patients refer more). A few patients die or transfer after their
last visit, inside the period.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention.data import PatientRegistry, VisitLog
from rfm_retention.time import SECONDS_PER_DAY

__all__ = ["CHANNEL_WEIGHTS", "draw_registry"]

CHANNEL_WEIGHTS = frozen_mapping({
    "walk_in": 0.30, "referral": 0.22, "free_clinic": 0.15, "media": 0.15, "talk": 0.10,
    "online": 0.08,
})
"""Share of new patients per acquisition channel (before the loyalty tilt)."""
DEPARTURE_SHARE = 0.01
"""Share of patients who die, and again who transfer, after their last visit."""


def draw_registry(
    visits: VisitLog, seed: int, start_day: int, end_day: int
) -> PatientRegistry:
    """One registry row per patient of ``visits``; first contacts inside the period."""
    rng = np.random.default_rng([int(seed), 16])
    n = visits.n_patients
    starts = visits.group_starts
    first = visits.time[starts[:-1]].astype("datetime64[D]").astype(np.int64)
    last = visits.time[starts[1:] - 1].astype("datetime64[D]").astype(np.int64)
    days = visits.time.astype("datetime64[D]").astype(np.int64)
    new_day = np.ones(len(days), bool)
    new_day[1:] = (days[1:] != days[:-1]) | (visits.patient_index[1:] != visits.patient_index[:-1])
    visit_days = np.bincount(visits.patient_index[new_day], minlength=n)
    contact = np.maximum(first - rng.integers(0, 22, n), start_day)

    names = list(CHANNEL_WEIGHTS)
    weights = np.tile(np.array(list(CHANNEL_WEIGHTS.values())), (n, 1))
    loyal = visit_days >= 3
    weights[loyal, names.index("referral")] *= 1.5
    weights[loyal, names.index("media")] *= 0.7
    cum = np.cumsum(weights, axis=1)
    pick = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
    channel = np.asarray(names)[pick]

    order = np.argsort(contact, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    cum_days = np.cumsum(visit_days[order])
    referral = channel == "referral"
    channel[referral & (rank == 0)] = "walk_in"
    referral &= rank > 0
    referred_by = np.full(n, "", dtype=object)
    r = rank[referral]
    target = rng.random(len(r)) * cum_days[r - 1]
    referrer_rank = np.minimum(np.searchsorted(cum_days, target, side="right"), r - 1)
    referred_by[referral] = visits.patient_ids[order[referrer_rank]].astype(str)

    def departure() -> npt.NDArray[np.datetime64]:
        day = last + rng.integers(10, 200, n)
        chosen = (rng.random(n) < DEPARTURE_SHARE) & (day <= end_day)
        out = np.full(n, np.datetime64("NaT", "s"))
        out[chosen] = (day[chosen] * SECONDS_PER_DAY).astype("datetime64[s]")
        return out

    deceased = departure()
    transferred = departure()
    transferred[~np.isnat(deceased)] = np.datetime64("NaT", "s")
    return PatientRegistry.from_columns({
        "patient_id": visits.patient_ids,
        "first_contact": (contact * SECONDS_PER_DAY).astype("datetime64[s]"),
        "channel": channel.astype(str),
        "referred_by": referred_by.astype(str),
        "deceased_at": deceased,
        "transferred_at": transferred,
    })
