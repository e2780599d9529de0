"""Patient features computed on a dataframe engine (DuckDB, Polars, PySpark, Dask).

One aggregation, written once over narwhals' lazy API, runs where the visits
live and returns one row per patient; :func:`engine_features` turns that row
set into the same :class:`~rfm_retention.features.PatientFeatures` the numpy
path builds. Nothing here is imported by ``import rfm_retention``: narwhals and
the engines load on the first engine call.
"""

from rfm_retention._engines._aggregate import engine_features
from rfm_retention._engines._sources import is_engine_source, to_lazy_visits

__all__ = ["engine_features", "is_engine_source", "to_lazy_visits"]
