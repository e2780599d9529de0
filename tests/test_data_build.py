"""Building a table: the fast factorisation and the one-sort ordering agree with the plain
numpy reference (np.unique, np.lexsort) on every kind of id and time."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data._build import factorise, order_rows

TEXT = st.text(alphabet="abcXYZ019-é", max_size=10)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=60)
       | st.lists(st.integers(0, 50), max_size=60))
def test_integer_factorisation_matches_np_unique(values: list[int]) -> None:
    """Dense and sparse integer ids factorise exactly like np.unique."""
    ids = np.array(values, dtype=np.int64)
    uniques, codes = factorise(ids)
    expected, inverse = np.unique(ids, return_inverse=True)
    assert uniques.tolist() == expected.tolist()
    assert codes.tolist() == inverse.reshape(-1).tolist()


@given(st.lists(TEXT, max_size=60))
def test_text_factorisation_matches_np_unique(values: list[str]) -> None:
    """Short ASCII, longer and non-ASCII text ids factorise exactly like np.unique."""
    ids = np.array(values, dtype=str) if values else np.empty(0, "U1")
    uniques, codes = factorise(ids)
    expected, inverse = np.unique(ids, return_inverse=True)
    assert uniques.tolist() == expected.tolist()
    assert codes.tolist() == inverse.reshape(-1).tolist()
    assert (uniques[codes] == ids).all()


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-3, 3), st.booleans()), max_size=80),
       st.sampled_from([1, 86_400, 2**40, 2**50, 2**58]))
def test_order_matches_a_stable_lexsort(rows: list[tuple[int, int, bool]], scale: int) -> None:
    """The packed-key sort (or its wide fallback) gives np.lexsort's stable order and ties."""
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    seconds = np.array([r[1] * scale + (7 if r[2] and scale == 1 else 0) for r in rows],
                       dtype=np.int64)
    ordered = order_rows(codes, 7, seconds)
    expected = np.lexsort((seconds, codes))
    assert ordered.order.tolist() == expected.tolist()
    assert ordered.codes.tolist() == codes[expected].tolist()
    assert ordered.seconds.tolist() == seconds[expected].tolist()
    same = (codes[expected][1:] == codes[expected][:-1]) & (
        seconds[expected][1:] == seconds[expected][:-1])
    assert ordered.ties[:-1].tolist() == same.tolist()
