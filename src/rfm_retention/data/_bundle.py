"""The bundle of whatever sources a hospital has, keyed by one set of patient ids."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention._progress import Progress
from rfm_retention.data._csv_options import CsvOptions, IdType
from rfm_retention.data._schema import OnError
from rfm_retention.data._sources import (
    Appointment,
    AppointmentTable,
    Assessment,
    AssessmentTable,
    Complaint,
    ComplaintTable,
    Course,
    CourseTable,
    PatientEntry,
    PatientRegistry,
    Rating,
    RatingTable,
    Review,
    ReviewTable,
    Visit,
    VisitLog,
)
from rfm_retention.data._table import IdArray, PatientTable, union_patients
from rfm_retention.data._time import ISO, DateParsing
from rfm_retention.errors import ConfigError

__all__ = ["SOURCES", "SOURCE_FILES", "DataSource", "PatientData", "as_patient_data"]

_SOURCE = "rfm_retention.source"


@attrs.frozen
class DataSource:
    """One source of the bundle, declared once, as its :class:`PatientData` field.

    ``name`` is the field (and the schema's source name, the CLI option
    ``--<name>``, the key of ``from_frames``/``from_directory``), ``table``
    the validated table class, ``record`` the row record, ``filename`` the
    default CSV file in a folder, ``label`` what it is in words. Everything
    that lists the sources (:data:`SOURCES`, :data:`SOURCE_FILES`, the
    bundle's loaders, the command line's input options, the input guide's
    table) is derived from these declarations.

    Example:
        >>> first_two = [s.filename for s in SOURCES[:2]]
        >>> first_two
        ['visits.csv', 'ratings.csv']
    """

    name: str
    table: type[PatientTable]
    record: type
    filename: str
    label: str


def _source(
    table: type[PatientTable], record: type, filename: str, label: str
) -> dict[str, DataSource]:
    """The metadata that declares a :class:`PatientData` field a source."""
    return {_SOURCE: DataSource(table.SCHEMA.source, table, record, filename, label)}


def _local_visits(visits: Any, mapping: Mapping[str, str] | None = None) -> VisitLog:
    """``visits`` as a local log: an engine table's visit columns are pulled once."""
    from rfm_retention._engines import is_engine_source

    if isinstance(visits, (VisitLog, str)) or not is_engine_source(visits):
        return visits  # type: ignore[no-any-return]
    from rfm_retention._engines._visits import engine_visit_log

    return engine_visit_log(visits, mapping)


@attrs.frozen(eq=False)
class PatientData:
    """Visits plus whichever other sources the host has.

    A source the host does not have is ``None`` (absent), which indicators read
    as "no signal", never as "no complaints, so all is well". An empty table,
    by contrast, says "we have this source and nothing happened".

    ``visits`` may also be a table on a dataframe engine (a DuckDB relation,
    a Polars ``LazyFrame`` or ``DataFrame``, a PySpark or Dask ``DataFrame``):
    only the visit columns the library reads are selected there and pulled
    once into a local :class:`~rfm_retention.data.VisitLog` (see
    :func:`as_patient_data` for renamed columns).

    ``patients`` is the sorted union of every source's patient ids: the rows of
    every per-patient result.

    Example:
        >>> from rfm_retention.data import RatingTable, VisitLog
        >>> visits = VisitLog.from_arrays(
        ...     patient_id=["p2", "p1"], visit_time=["2024-01-02", "2024-01-03"], amount=[5, 9]
        ... )
        >>> ratings = RatingTable.from_arrays(
        ...     patient_id=["p3"], rated_at=["2024-01-04"], score=[40]
        ... )
        >>> data = PatientData(visits=visits, ratings=ratings)
        >>> data.patients.tolist(), sorted(data.available), data.complaints is None
        (['p1', 'p2', 'p3'], ['ratings', 'visits'], True)
        >>> data.rows_of("ratings").tolist()
        [2]
    """

    # The sources, each declared once: its table, record, default file and label.
    visits: VisitLog = attrs.field(
        converter=_local_visits, metadata=_source(VisitLog, Visit, "visits.csv", "visits")
    )
    ratings: RatingTable | None = attrs.field(
        default=None, metadata=_source(RatingTable, Rating, "ratings.csv", "satisfaction ratings")
    )
    complaints: ComplaintTable | None = attrs.field(
        default=None, metadata=_source(ComplaintTable, Complaint, "complaints.csv", "complaints")
    )
    appointments: AppointmentTable | None = attrs.field(default=None, metadata=_source(
        AppointmentTable, Appointment, "appointments.csv", "appointments"))
    courses: CourseTable | None = attrs.field(
        default=None, metadata=_source(CourseTable, Course, "courses.csv", "treatment courses")
    )
    outcomes: AssessmentTable | None = attrs.field(default=None, metadata=_source(
        AssessmentTable, Assessment, "outcomes.csv", "outcome / rehabilitation assessments"))
    reviews: ReviewTable | None = attrs.field(
        default=None, metadata=_source(ReviewTable, Review, "reviews.csv", "external reviews")
    )
    registry: PatientRegistry | None = attrs.field(default=None, metadata=_source(
        PatientRegistry, PatientEntry, "patients.csv", "patient registry (acquisition)"))
    patients: IdArray = attrs.field(init=False, repr=False)
    _row_positions: dict[str, npt.NDArray[np.int64]] = attrs.field(
        init=False, repr=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        patients = union_patients(t for _, t in self.sources())
        if len(patients) == 0:
            patients = self.visits.patient_ids[:0]
        object.__setattr__(self, "patients", patients)
        for name, table in self.sources():  # fail early on mixed id types
            positions = table.positions_in(patients)
            if table.patient_ids.shape != patients.shape:  # equal shapes: the same ids
                self._row_positions[name] = positions  # kept for rows_of

    def sources(self) -> Iterator[tuple[str, PatientTable]]:
        """The (name, table) pairs of the sources present."""
        for name in SOURCE_FILES:
            table = getattr(self, name)
            if table is not None:
                yield name, table

    @property
    def available(self) -> frozenset[str]:
        """Names of the sources present."""
        return frozenset(name for name, _ in self.sources())

    def rows_of(self, source: str) -> npt.NDArray[np.int64]:
        """For each row of ``source``, its patient's position in :attr:`patients`."""
        table = getattr(self, source)
        if table is None:
            raise KeyError(f"source {source!r} is absent")
        kept = self._row_positions.get(source)
        positions: npt.NDArray[np.int64] = (
            kept.copy() if kept is not None else table.positions_in(self.patients)
        )
        return positions

    @classmethod
    def from_frames(
        cls,
        *,
        mappings: Mapping[str, Mapping[str, str]] | None = None,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        progress: Progress | None = None,
        **frames: Any,
    ) -> PatientData:
        """Build every source from a DataFrame (pandas, Polars, Arrow, DuckDB), by source name.

        ``visits`` is required; ``mappings`` gives a column mapping per source
        (see :meth:`PatientTable.from_frame <rfm_retention.data.PatientTable.from_frame>`);
        ``progress`` hears of each table's build.

        Example:
            >>> import pandas as pd
            >>> data = PatientData.from_frames(
            ...     visits=pd.DataFrame({"patient_id": [1], "visit_time": ["2024-01-02"],
            ...                          "amount": [5.0]}),
            ...     ratings=pd.DataFrame({"patient_id": [2], "rated_at": ["2024-01-04"],
            ...                           "score": [40]}))
            >>> data.patients.tolist(), sorted(data.available)
            ([1, 2], ['ratings', 'visits'])
        """
        unknown = set(frames) - set(SOURCE_FILES)
        if unknown:
            raise ConfigError(
                f"unknown source(s) {sorted(unknown)}; sources are {list(SOURCE_FILES)}"
            )
        if "visits" not in frames:
            raise ConfigError("from_frames needs visits=FRAME")
        loaded = {
            name: SOURCE_FILES[name][1].from_frame(
                frame, mapping=(mappings or {}).get(name), parsing=parsing, on_error=on_error,
                progress=progress,
            )
            for name, frame in frames.items()
            if frame is not None
        }
        return cls(**loaded)  # type: ignore[arg-type]

    @classmethod
    def from_directory(
        cls,
        directory: str | os.PathLike[str],
        *,
        files: Mapping[str, str | os.PathLike[str]] | None = None,
        mappings: Mapping[str, Mapping[str, str]] | None = None,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        encoding: str = "utf-8",
        id_type: IdType = "text",
        progress: Progress | None = None,
    ) -> PatientData:
        """Load the sources' CSV files from one folder.

        Without ``files``: ``visits.csv`` and whichever of the other default
        files (:data:`SOURCE_FILES`) exist. With ``files`` (source name -> file
        name, relative to ``directory`` or absolute): exactly the sources named
        there, each from its own file, plus ``visits.csv`` when ``visits`` is
        not named - so an export whose visits file is ``encounters.csv`` loads
        without renaming anything, and its other files are not mistaken for
        sources. An unknown source name, or a named file that does not exist,
        is a ConfigError.

        ``mappings`` gives a column mapping per source name; ``encoding`` is the
        files' text encoding; ``id_type="int"`` reads every file's patient ids
        as integers; ``progress`` hears of each file's reading and build.

        Example:
            >>> import pathlib, tempfile
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     text = "PATIENT,START,COST\\na,2024-01-02,5\\nb,2024-01-03,9\\n"
            ...     _ = (pathlib.Path(folder) / "encounters.csv").write_text(text)
            ...     data = PatientData.from_directory(
            ...         folder, files={"visits": "encounters.csv"},
            ...         mappings={"visits": {"patient_id": "PATIENT", "visit_time": "START",
            ...                              "amount": "COST"}})
            >>> data.patients.tolist(), sorted(data.available)
            (['a', 'b'], ['visits'])
        """
        folder = Path(directory)
        paths = _source_paths(folder, files)
        unmapped = set(mappings or {}) - set(SOURCE_FILES if files is None else paths)
        if unmapped:
            raise ConfigError(
                f"mappings= names source(s) {sorted(unmapped)} that are not loaded; "
                f"loaded: {sorted(paths)}; sources are {list(SOURCE_FILES)}"
            )
        options = CsvOptions(parsing=parsing, on_error=on_error, encoding=encoding,
                             id_type=id_type)
        loaded: dict[str, PatientTable] = {
            name: SOURCE_FILES[name][1]._read_csv(
                path, attrs.evolve(options, mapping=(mappings or {}).get(name)), progress
            )
            for name, path in paths.items()
        }
        return cls(**loaded)  # type: ignore[arg-type]


def _declared_sources() -> tuple[DataSource, ...]:
    """The sources :class:`PatientData` declares, in field order; each field is named after
    its table's schema (checked here, when the library is imported)."""
    out = []
    for field in attrs.fields(PatientData):
        declared = field.metadata.get(_SOURCE)
        if declared is None:
            continue
        if declared.name != field.name:
            raise RuntimeError(
                f"PatientData.{field.name} declares the source {declared.name!r}: a source "
                "field must be named after its table's schema"
            )
        out.append(declared)
    return tuple(out)


SOURCES: tuple[DataSource, ...] = _declared_sources()
"""Every source, in the bundle's order (visits first), as declared on :class:`PatientData`."""

SOURCE_FILES: Mapping[str, tuple[str, type[PatientTable]]] = frozen_mapping(
    {s.name: (s.filename, s.table) for s in SOURCES}
)
"""Source name -> (default file name, table class), derived from :data:`SOURCES`."""


def source_table() -> str:
    """The input guide's table of sources (markdown), derived from :data:`SOURCES`.

    Example:
        >>> source_table().splitlines()[2]
        '| visits | `Visit` | `VisitLog` | `visits.csv` |'
    """
    lines = ["| source | record | table | default file |", "| --- | --- | --- | --- |"]
    lines += [f"| {s.label} | `{s.record.__name__}` | `{s.table.__name__}` | `{s.filename}` |"
              for s in SOURCES]
    return "\n".join(lines)


_KIND_SHOWN = {"score": "score 0-100", "stars": "stars 1-5"}


def column_tables() -> str:
    """The input guide's columns of every source (markdown), derived from each table's schema.

    One section per source, headed by its default file: each field's name,
    kind, whether it is required and its ``doc``. The guide prints it when
    the docs are built, so a new source's columns are documented by its schema.

    Example:
        >>> column_tables().splitlines()[4]
        "| `patient_id` | id | yes | The host's patient identifier. |"
    """
    sections = []
    for source in SOURCES:
        schema = source.table.SCHEMA
        one_of = {name: "one of " + "/".join(group) for group in schema.one_of for name in group}
        lines = [f"### {source.filename}", "", "| column | kind | required | meaning |",
                 "| --- | --- | --- | --- |"]
        for f in schema.fields:
            kind = _KIND_SHOWN.get(f.kind, f.kind) + (", unique" if f.unique else "")
            required = "yes" if f.required else one_of.get(f.name, "no")
            lines.append(f"| `{f.name}` | {kind} | {required} | {f.doc} |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _source_paths(
    folder: Path, files: Mapping[str, str | os.PathLike[str]] | None
) -> dict[str, Path]:
    """Source name -> the file to load it from, in :data:`SOURCE_FILES` order."""
    if files is None:
        defaults = {name: folder / filename for name, (filename, _) in SOURCE_FILES.items()}
        return {name: path for name, path in defaults.items()
                if name == "visits" or path.exists()}
    unknown = sorted(set(files) - set(SOURCE_FILES))
    if unknown:
        raise ConfigError(f"files= names unknown source(s) {unknown}; sources are "
                          f"{list(SOURCE_FILES)}")
    named = {"visits": SOURCE_FILES["visits"][0], **files}
    paths = {name: folder / named[name] for name in SOURCE_FILES if name in named}
    missing = [f"{name}: {path}" for name, path in paths.items() if not path.is_file()]
    if missing:
        raise ConfigError(f"no such file for source(s) {'; '.join(missing)}\nHint: files= "
                          "names each source's file, relative to the folder or absolute.")
    return paths


def as_patient_data(
    data: Any, *, mapping: Mapping[str, str] | None = None, what: str = "this step"
) -> PatientData:
    """``data`` as a bundle: the one door of every step that reads visits.

    A :class:`PatientData` is returned as is; a :class:`~rfm_retention.data.VisitLog`
    is the bundle of visits alone; a table on a dataframe engine (DuckDB
    relation, table name or query; Polars ``LazyFrame``/``DataFrame``; PySpark
    or Dask ``DataFrame``) is selected down, on the engine, to the visit
    columns (patient id, time, amount, and department, diagnosis and visit id
    when present; ``mapping`` renames them as for
    :func:`~rfm_retention.features.patient_features`) and pulled once into a
    local log. Anything else is a ConfigError naming ``what``.

    Example:
        >>> import polars as pl
        >>> visits = pl.LazyFrame({"patient_id": ["a", "b"], "amount": [5.0, 7.0],
        ...     "visit_time": pl.Series(["2024-01-02", "2024-01-03"]).str.to_datetime()})
        >>> as_patient_data(visits).patients.tolist()
        ['a', 'b']
    """
    from rfm_retention._engines import is_engine_source

    if isinstance(data, PatientData):
        if mapping:
            raise ConfigError(f"{what}: mapping= is for engine tables; a bundle has its fields")
        return data
    if isinstance(data, VisitLog) or (not isinstance(data, str) and is_engine_source(data)):
        return PatientData(visits=_local_visits(data, mapping))
    raise ConfigError(
        f"{what} needs a PatientData bundle, a VisitLog or an engine table of visits (DuckDB, "
        f"Polars, PySpark, Dask), got {type(data).__name__}; hint: PatientData(visits=log, "
        "ratings=...) bundles the sources"
    )
