"""attrs converters shared by case records and events, so that a record rebuilds from JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rfm_retention.errors import ConfigError
from rfm_retention.time import TimeLike, to_datetime
from rfm_retention.vocabulary import RiskLevel

__all__ = ["moment", "optional_moment", "risk_level", "text_tuple"]


def moment(value: TimeLike) -> dt.datetime:
    """A record's time: what :func:`~rfm_retention.time.to_datetime` makes of ``value``.

    Stored ISO text, a host's date or datetime: the same meaning as everywhere
    (a bare date is the end of that day); a datetime the case book already
    converted is kept as it is.
    """
    return to_datetime(value, field="time")


def optional_moment(value: TimeLike | None) -> dt.datetime | None:
    """Like :func:`moment`, ``None`` passing through."""
    return None if value is None else moment(value)


def risk_level(value: Any) -> RiskLevel:
    """A :class:`RiskLevel` from the enum, its number, or its label (``"high"``)."""
    if isinstance(value, str):
        try:
            return RiskLevel.parse(value)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return RiskLevel(value)


def text_tuple(value: Any) -> tuple[str, ...]:
    """A tuple of strings from any iterable of them (a bare string is one item)."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)

