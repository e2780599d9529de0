"""Digit ids coded as numbers give the ids, codes and order of factorising their text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data._digit_ids import digit_ids

_plain = st.integers(min_value=0, max_value=10**17 - 1).map(str)
_small = st.integers(min_value=0, max_value=3_000).map(str)  # dense: counted, not sorted
_ids = st.lists(st.one_of(_plain, _small), min_size=1, max_size=60)
_chunks = st.integers(min_value=1, max_value=7)


def _column(texts: list[str], chunk: int) -> pa.ChunkedArray:
    return pa.chunked_array([texts[at : at + chunk] for at in range(0, len(texts), chunk)],
                            type=pa.string())


@given(_ids, _chunks)
def test_plain_digit_ids_are_coded_in_text_order(texts: list[str], chunk: int) -> None:
    """Ids without leading zeros: the sorted distinct texts and each row's position."""
    got = digit_ids(_column(texts, chunk), "text")
    assert got is not None
    uniques, codes = np.unique(np.array(texts), return_inverse=True)
    assert got.patient_ids.dtype.kind == "U"
    assert got.patient_ids.tolist() == uniques.tolist()
    assert got.codes.tolist() == codes.tolist()


@given(st.lists(st.integers(min_value=0, max_value=99_999), min_size=1, max_size=60), _chunks)
def test_equal_width_ids_keep_their_leading_zeros(numbers: list[int], chunk: int) -> None:
    """Zero-padded ids of one width stay as written (``000123``), in text order."""
    texts = [f"{n:06d}" for n in numbers]
    got = digit_ids(_column(texts, chunk), "text")
    assert got is not None
    uniques, codes = np.unique(np.array(texts), return_inverse=True)
    assert got.patient_ids.tolist() == uniques.tolist()
    assert got.codes.tolist() == codes.tolist()


@given(st.lists(st.one_of(_small, _small.map(lambda t: "0" + t)), min_size=1, max_size=60),
       _chunks)
def test_integer_ids_merge_the_texts_of_one_number(texts: list[str], chunk: int) -> None:
    """``id_type="int"``: ``007`` and ``7`` are one patient, in numeric order."""
    got = digit_ids(_column(texts, chunk), "int")
    assert got is not None
    uniques, codes = np.unique(np.array([int(t) for t in texts]), return_inverse=True)
    assert got.patient_ids.dtype == np.int64
    assert got.patient_ids.tolist() == uniques.tolist()
    assert got.codes.tolist() == codes.tolist()


@pytest.mark.parametrize("texts", [
    ["007", "7"],  # two texts, one number: text ids keep them apart elsewhere
    ["12", "a1"], ["12", ""], ["12", " 3"], ["+5"], ["-5"], ["1" * 18], ["١٢"],
])
def test_other_ids_are_left_to_the_general_path(texts: list[str]) -> None:
    """Ids that are not plain digits, or whose text is not one with their number, give None."""
    assert digit_ids(_column(texts, 1), "text") is None


def test_an_empty_column_has_no_patients() -> None:
    """No rows: no patients and no codes."""
    got = digit_ids(pa.chunked_array([[]], type=pa.string()), "text")
    assert got is not None
    assert (got.patient_ids.tolist(), got.codes.tolist()) == ([], [])
