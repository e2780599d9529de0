"""The set of indicators a scan runs, looked up by name.

Rule files name indicators; a :class:`IndicatorSet` is what they are
validated against, so a typo in a rule file is an error at load time, not a
silently dead rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from rfm_retention.errors import ConfigError
from rfm_retention.risk._indicator import STANDARD_MEASURES, Indicator
from rfm_retention.risk.indicators import BUILT_IN_INDICATORS

__all__ = ["IndicatorSet", "default_indicators"]


def _as_tuple(items: Iterable[Indicator]) -> tuple[Indicator, ...]:
    return tuple(items)


@attrs.frozen
class IndicatorSet:
    """An ordered collection of indicators with unique names.

    Example:
        >>> from rfm_retention.risk.indicators import IntervalExtension
        >>> s = default_indicators().replaced(IntervalExtension(threshold=0.8))
        >>> s["interval_extension"].threshold
        0.8
    """

    indicators: tuple[Indicator, ...] = attrs.field(converter=_as_tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for ind in self.indicators:
            if not isinstance(ind, Indicator):
                raise ConfigError(
                    f"{ind!r} is not an indicator: it needs name, dimension, sources, "
                    "measures and evaluate(data, as_of)"
                )
            if ind.name in seen:
                raise ConfigError(f"two indicators are named {ind.name!r}; names must be unique")
            seen.add(ind.name)

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, name: object) -> bool:
        return any(i.name == name for i in self.indicators)

    def __getitem__(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(f"no indicator named {name!r}; known: {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        """Indicator names, in order."""
        return tuple(i.name for i in self.indicators)

    def measures_of(self, name: str) -> tuple[str, ...]:
        """What rules may compare for indicator ``name``: value, severity, fired + its measures."""
        return STANDARD_MEASURES + tuple(self[name].measures)

    def replaced(self, *indicators: Indicator) -> IndicatorSet:
        """This set with same-named indicators swapped for ``indicators`` (others appended)."""
        new = {i.name: i for i in indicators}
        kept = [new.pop(i.name, i) for i in self.indicators]
        return IndicatorSet([*kept, *new.values()])

    def without(self, *names: str) -> IndicatorSet:
        """This set minus the named indicators."""
        return IndicatorSet([i for i in self.indicators if i.name not in names])

    @classmethod
    def of(cls, indicators: Iterable[Indicator] | IndicatorSet | None) -> IndicatorSet:
        """Coerce ``None`` (the defaults), an iterable or a set into an IndicatorSet."""
        if indicators is None:
            return default_indicators()
        if isinstance(indicators, IndicatorSet):
            return indicators
        return cls(list(indicators))


def default_indicators() -> IndicatorSet:
    """Every built-in indicator with the documents' default thresholds (SPEC section 4)."""
    return IndicatorSet(kind() for kind in BUILT_IN_INDICATORS)
