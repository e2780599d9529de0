"""The eight patient segments of the RFM model: a stable enum a host can store and route on.

Each segment is a high/low pattern of recency, frequency and monetary value
(SPEC section 2). The string value (``"at_risk"``) is the stable code to keep
in databases and files; the English and Chinese names are for people.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Segment", "SegmentInfo"]


@attrs.frozen
class SegmentInfo:
    """A named segment of any segment map: a stable code and names for people.

    Example:
        >>> SegmentInfo("champions", "Champions", "冠军患者").code
        'champions'
    """

    code: str
    name: str
    name_zh: str = ""
    meaning: str = ""


# code: (R high, F high, M high, English name, Chinese name, meaning)
_EIGHT: dict[str, tuple[bool, bool, bool, str, str, str]] = {
    "core": (True, True, True, "Core", "核心客户", "the hospital's gold mine"),
    "value": (True, True, False, "Value", "价值客户", "frequent, low spend"),
    "potential": (True, False, True, "Potential", "潜力客户", "high spend, infrequent"),
    "general": (True, False, False, "General", "一般客户", "ordinary"),
    "at_risk": (False, True, True, "At risk", "预警客户", "valuable but absent: churn risk"),
    "lost": (False, True, False, "Lost", "流失客户", "probably already gone"),
    "dormant": (False, False, True, "Dormant", "沉睡客户", "valuable, asleep"),
    "inactive": (False, False, False, "Inactive", "无效客户", "low value"),
}


class Segment(enum.StrEnum):
    """The eight RFM segments, in the source documents' order (R, then F, then M high first).

    Example:
        >>> Segment.AT_RISK.value, Segment.AT_RISK.name_zh, Segment.AT_RISK.pattern
        ('at_risk', '预警客户', (False, True, True))
        >>> Segment.from_pattern(True, True, True)
        <Segment.CORE: 'core'>
    """

    CORE = "core"
    VALUE = "value"
    POTENTIAL = "potential"
    GENERAL = "general"
    AT_RISK = "at_risk"
    LOST = "lost"
    DORMANT = "dormant"
    INACTIVE = "inactive"

    @property
    def pattern(self) -> tuple[bool, bool, bool]:
        """(recency high, frequency high, monetary high)."""
        r, f, m, *_ = _EIGHT[self.value]
        return r, f, m

    @property
    def name_en(self) -> str:
        """English name (``"At risk"``)."""
        return _EIGHT[self.value][3]

    @property
    def name_zh(self) -> str:
        """Chinese name used by the source documents (``"预警客户"``)."""
        return _EIGHT[self.value][4]

    @property
    def meaning(self) -> str:
        """One line on what the segment means for the hospital."""
        return _EIGHT[self.value][5]

    @property
    def info(self) -> SegmentInfo:
        """The segment as a :class:`SegmentInfo` (what segment maps hold)."""
        return SegmentInfo(self.value, self.name_en, self.name_zh, self.meaning)

    @classmethod
    def from_pattern(cls, recency_high: bool, frequency_high: bool, monetary_high: bool) -> Segment:
        """The segment of one high/low pattern."""
        wanted = (bool(recency_high), bool(frequency_high), bool(monetary_high))
        return next(s for s in cls if s.pattern == wanted)
