"""The numpy array types the library's annotations use, named once.

A module annotating columns imports these names rather than spelling
``npt.NDArray[np.float64]`` again, so every module means the same thing by
"an array of floats".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray", "TextArray", "TimeArray"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
TextArray = npt.NDArray[np.str_]
TimeArray = npt.NDArray[np.datetime64]
