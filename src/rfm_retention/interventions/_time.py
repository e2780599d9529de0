"""Host-supplied times as naive-UTC :class:`datetime.datetime` values (case times are records)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from rfm_retention.data._time import to_instant
from rfm_retention.errors import ConfigError

__all__ = ["instant", "iso"]


def instant(value: Any, *, field: str = "time") -> dt.datetime:
    """``value`` as a naive-UTC datetime (seconds); a bare date means the end of that day.

    Reuses the data layer's reading of times so that a case time and a visit
    time given the same way mean the same instant.
    """
    if not isinstance(value, dt.date | np.datetime64 | str):
        raise ConfigError(f"{field} must be a date, datetime or ISO text, got {value!r}")
    try:
        moment = to_instant(value)
    except ConfigError as exc:
        raise ConfigError(f"{field}: {exc}") from None
    if np.isnat(moment):
        raise ConfigError(f"{field} is missing (NaT)")
    result: dt.datetime = moment.astype(dt.datetime)
    return result


def iso(moment: dt.datetime) -> str:
    """Seconds-precision ISO text, the form stored and shown everywhere."""
    return moment.isoformat(timespec="seconds")
