"""Arrow bitmaps read as numpy booleans, straight from the buffer.

pyarrow's own ``to_numpy`` of a boolean or nullable array imports pandas
(about a quarter of a second), so the CSV reader (validity bitmaps) and the
CSV writer (boolean results of compute kernels) read the bits themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["bitmap_flags"]


def bitmap_flags(buffer: Any, offset: int, n: int) -> npt.NDArray[np.bool_]:
    """Bits ``offset .. offset + n`` of an arrow bitmap buffer (least significant bit first).

    Example:
        >>> bitmap_flags(bytes([0b00000110]), 1, 3)
        array([ True,  True, False])
    """
    bits = np.frombuffer(buffer, np.uint8)
    return np.unpackbits(bits, count=offset + n, bitorder="little")[offset:].view(np.bool_)
