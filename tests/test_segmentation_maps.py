"""The eight-segment enum and segment maps: coverage checked at construction, lookups exact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation import (
    EIGHT_SEGMENT_MAP,
    TEN_SEGMENT_MAP,
    Segment,
    SegmentInfo,
    SegmentMap,
    eight_segments_from_scores,
)

FLAGS = ((0, 1), (0, 1), (0, 1))


def test_enum_has_the_eight_source_segments_in_order():
    """Codes, English and Chinese names and patterns follow SPEC section 2's table."""
    expected = [
        ("core", "核心客户", (True, True, True)),
        ("value", "价值客户", (True, True, False)),
        ("potential", "潜力客户", (True, False, True)),
        ("general", "一般客户", (True, False, False)),
        ("at_risk", "预警客户", (False, True, True)),
        ("lost", "流失客户", (False, True, False)),
        ("dormant", "沉睡客户", (False, False, True)),
        ("inactive", "无效客户", (False, False, False)),
    ]
    assert [(s.value, s.name_zh, s.pattern) for s in Segment] == expected
    assert Segment.AT_RISK.name_en == "At risk"
    assert Segment("dormant") is Segment.DORMANT


def test_every_pattern_has_one_segment():
    """from_pattern is the inverse of pattern for all eight combinations."""
    for pattern in itertools.product((False, True), repeat=3):
        assert Segment.from_pattern(*pattern).pattern == pattern


def test_eight_map_reads_flags_r_then_f_then_m():
    """Flags '011' (R low, F high, M high) are at risk; '111' core; '000' inactive."""
    assert EIGHT_SEGMENT_MAP.code_of(0, 1, 1) == "at_risk"
    assert EIGHT_SEGMENT_MAP.code_of(1, 1, 1) == "core"
    assert EIGHT_SEGMENT_MAP.code_of(0, 0, 0) == "inactive"
    assert EIGHT_SEGMENT_MAP.code_of(1, 0, 1) == "potential"


def test_ten_map_covers_every_score_code_once():
    """All 125 R/F/M score codes map to one of the ten segments."""
    seen = {
        TEN_SEGMENT_MAP.code_of(r, f, m)
        for r, f, m in itertools.product(range(1, 6), repeat=3)
    }
    assert seen == set(TEN_SEGMENT_MAP.codes)
    assert len(TEN_SEGMENT_MAP.codes) == 10


@pytest.mark.parametrize(
    ("r", "f", "code"),
    [(5, 5, "champions"), (5, 4, "champions"), (4, 4, "loyal"), (3, 5, "loyal"),
     (5, 2, "potential_loyalist"), (4, 3, "potential_loyalist"), (5, 1, "new"),
     (4, 1, "promising"), (3, 3, "need_attention"), (3, 1, "about_to_sleep"),
     (2, 4, "at_risk"), (1, 3, "at_risk"), (2, 5, "cant_lose"), (1, 1, "hibernating"),
     (2, 2, "hibernating")],
)
def test_ten_map_cells(r, f, code):
    """The widely used recency x frequency grid, cell by cell (spend is ignored)."""
    for m in (1, 5):
        assert TEN_SEGMENT_MAP.code_of(r, f, m) == code


def test_eight_from_scores_threshold():
    """With high_from=4, scores 4-5 are high and 1-3 low."""
    smap = eight_segments_from_scores(5, high_from=4)
    assert smap.code_of(4, 4, 4) == "core"
    assert smap.code_of(3, 5, 5) == "at_risk"
    assert smap.code_of(5, 3, 1) == "general"
    assert eight_segments_from_scores(5).code_of(3, 3, 3) == "core"


def test_map_missing_a_combination_is_refused():
    """A map that leaves a label combination unnamed is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="no segment for 000"):
        SegmentMap(
            name="gap",
            segments=(SegmentInfo("a", "A"),),
            rules=(("1..", "a"), ("0[01]1", "a"), ("010", "a")),
            domain=FLAGS,
        )


def test_map_naming_a_combination_twice_is_refused():
    """Overlapping rules are a ConfigError naming the combination and both segments."""
    with pytest.raises(ConfigError, match=r"more than one segment for 111 -> \['a', 'b'\]"):
        SegmentMap(
            name="overlap",
            segments=(SegmentInfo("a", "A"), SegmentInfo("b", "B")),
            rules=(("1..", "a"), ("0..", "b"), ("111", "b")),
            domain=FLAGS,
        )


def test_map_rules_must_name_known_segments():
    """A rule pointing at an undeclared segment code is refused."""
    with pytest.raises(ConfigError, match="unknown segments"):
        SegmentMap(name="x", segments=(SegmentInfo("a", "A"),),
                   rules=(("...", "zzz"),), domain=FLAGS)


def test_map_round_trips_through_dict():
    """to_dict/from_dict rebuild an equivalent, re-checked map."""
    again = SegmentMap.from_dict(TEN_SEGMENT_MAP.to_dict())
    assert again.codes == TEN_SEGMENT_MAP.codes
    assert again.rules == TEN_SEGMENT_MAP.rules
    assert again.code_of(1, 5, 3) == "cant_lose"


def test_apply_is_vectorised_and_refuses_out_of_domain_labels():
    """apply maps arrays; labels outside the domain are a clear error."""
    r, f, m = (np.array(v, dtype=np.int8) for v in ([1, 0], [1, 1], [1, 1]))
    assert EIGHT_SEGMENT_MAP.apply(r, f, m).tolist() == [0, 4]
    with pytest.raises(ConfigError, match="outside its domain"):
        EIGHT_SEGMENT_MAP.apply(*(np.array([5], dtype=np.int8),) * 3)
