"""Optional packages, imported only when a call needs them.

The library's runtime needs only attrs, numpy and python-dateutil; pandas
views (``to_pandas``) are extras. Importing pandas lazily keeps ``import
rfm_retention`` light, and a missing package becomes one clear
:class:`~rfm_retention.errors.MissingDependencyError` with the install hint.
"""

from __future__ import annotations

from typing import Any

from rfm_retention.errors import MissingDependencyError

__all__ = ["import_pandas"]


def import_pandas(purpose: str) -> Any:
    """The pandas module, or MissingDependencyError naming ``purpose`` when it is not installed.

    Example:
        ``pd = import_pandas("PatientFeatures.to_pandas")``, then ``pd.DataFrame(...)``.
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("pandas", "bench", purpose) from exc
    return pd
