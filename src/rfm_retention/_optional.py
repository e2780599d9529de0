"""Optional packages, imported only when a call needs them.

The library's runtime needs only attrs, numpy and python-dateutil; pandas
views (``to_pandas``) and the dataframe engines (narwhals over DuckDB, Polars,
PySpark, Dask) are extras. Importing them lazily keeps ``import
rfm_retention`` light, and a missing package becomes one clear
:class:`~rfm_retention.errors.MissingDependencyError` with the install hint.
"""

from __future__ import annotations

import importlib
from typing import Any

from rfm_retention.errors import MissingDependencyError

__all__ = ["import_optional", "import_pandas"]


def import_optional(module: str, extra: str, purpose: str) -> Any:
    """The module ``module``, or MissingDependencyError naming ``purpose`` and the extra.

    Example:
        ``nw = import_optional("narwhals", "narwhals", "patient_features on a DuckDB table")``
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module.split(".")[0], extra, purpose) from exc


def import_pandas(purpose: str) -> Any:
    """The pandas module, or MissingDependencyError naming ``purpose`` when it is not installed.

    Example:
        ``pd = import_pandas("PatientFeatures.to_pandas")``, then ``pd.DataFrame(...)``.
    """
    return import_optional("pandas", "pandas", purpose)
