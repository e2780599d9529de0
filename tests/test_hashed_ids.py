"""Text ids coded by arrow's hash give the ids, codes and order of the visit log's build."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.data._hashed_ids import hashed_ids

_id = st.text(alphabet="abP019-_", min_size=1, max_size=12)
_chunks = st.integers(min_value=1, max_value=7)


def _column(texts: list[str], chunk: int) -> pa.ChunkedArray:
    return pa.chunked_array([texts[at : at + chunk] for at in range(0, len(texts), chunk)],
                            type=pa.string())


@given(st.lists(_id, min_size=1, max_size=60), _chunks)
def test_text_ids_are_coded_in_the_visit_logs_order(texts: list[str], chunk: int) -> None:
    """The sorted distinct ids and each row's position, as the visit log builds them."""
    got = hashed_ids(_column(texts, chunk))
    assert got is not None
    log = VisitLog.from_arrays(patient_id=np.array(texts), visit_time=["2024-01-01"] * len(texts),
                               amount=[1.0] * len(texts))
    uniques, codes = np.unique(np.array(texts), return_inverse=True)
    assert got.patient_ids.dtype.kind == "U"
    assert got.patient_ids.tolist() == uniques.tolist() == log.patient_ids.tolist()
    assert got.codes.tolist() == codes.tolist()


@given(st.lists(_id, min_size=1, max_size=20), st.sampled_from([" ", "\t"]), _chunks)
def test_ids_validation_would_trim_or_reject_are_left_to_the_general_path(
    texts: list[str], pad: str, chunk: int
) -> None:
    """An empty id, or an id that trimming makes another's, gives None."""
    assert hashed_ids(_column([*texts, pad + texts[0]], chunk)) is None
    assert hashed_ids(_column([*texts, ""], chunk)) is None
