"""The CSV reading options: one frozen value that the keyword entry points build once."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pytest

from rfm_retention.data import DateParsing, PatientData, VisitLog
from rfm_retention.data._csv import iter_csv_columns, read_csv_columns
from rfm_retention.data._csv_options import DEFAULT_OPTIONS, CsvOptions
from rfm_retention.errors import ConfigError


def test_options_are_frozen_and_keep_a_private_copy_of_the_mapping() -> None:
    """Changing the caller's mapping later, or the options themselves, changes nothing."""
    given = {"patient_id": "PID"}
    options = CsvOptions(mapping=given, delimiter=";")
    given["patient_id"] = "OTHER"
    assert dict(options.mapping) == {"patient_id": "PID"}
    with pytest.raises(TypeError):
        options.mapping["visit_time"] = "DAY"  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.delimiter = ","  # type: ignore[misc]
    assert (DEFAULT_OPTIONS.delimiter, DEFAULT_OPTIONS.encoding, DEFAULT_OPTIONS.reader,
            DEFAULT_OPTIONS.id_type, DEFAULT_OPTIONS.on_error) == (",", "utf-8", "auto", "text",
                                                                   "raise")
    assert DEFAULT_OPTIONS.parsing == DateParsing()
    assert dict(DEFAULT_OPTIONS.mapping) == {}


def test_from_csv_keywords_read_as_the_equivalent_options(tmp_path: Path) -> None:
    """``from_csv``'s keywords and the options object they become read the same file alike."""
    path = tmp_path / "visits.csv"
    path.write_bytes(b"PID;DAY;amount\n007;01/03/2024;5\n3;02/03/2024;m\xe9\n")
    keywords = {"mapping": {"patient_id": "PID", "visit_time": "DAY"}, "delimiter": ";",
                "encoding": "latin-1", "parsing": DateParsing(format="%d/%m/%Y"),
                "on_error": "quarantine", "id_type": "int", "reader": "numpy"}
    log = VisitLog.from_csv(path, **keywords)
    assert log.patient_ids.tolist() == [7]
    assert [i.line for i in log.rejected.issues] == [3]
    options = CsvOptions(**keywords)
    read = read_csv_columns(path, VisitLog.SCHEMA, options)
    assert read.lines.tolist() == [2, 3]
    assert read.columns["patient_id"].tolist() == ["007", "3"]
    batches = list(iter_csv_columns(path, VisitLog.SCHEMA, options, batch_rows=1))
    assert np.concatenate([b.lines for b in batches]).tolist() == [2, 3]


def test_bad_options_fail_where_they_always_did(tmp_path: Path) -> None:
    """A bad delimiter, reader or id type is still the same ConfigError from ``from_csv``."""
    path = tmp_path / "visits.csv"
    path.write_text("patient_id,visit_time,amount\np1,2024-01-05,3\n")
    with pytest.raises(ConfigError, match="delimiter must be one ASCII character"):
        VisitLog.from_csv(path, delimiter="ab", reader="numpy")
    with pytest.raises(ConfigError, match="reader must be one of"):
        VisitLog.from_csv(path, reader="pandas")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="id_type must be 'text' or 'int'"):
        VisitLog.from_csv(path, id_type="uuid")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="id_type must be 'text' or 'int'"):
        PatientData.from_directory(tmp_path, files={"visits": "visits.csv"},
                                   id_type="uuid")  # type: ignore[arg-type]


@pytest.mark.parametrize("later", [b"p9,2024-03-01,\xff\n", b"p9,2024-03-01,1,2,3\n"])
def test_a_chunks_problem_is_raised_before_a_later_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: bytes
) -> None:
    """Chunks are parsed two at a time, yet an earlier chunk's bad row is the error raised,
    not a later chunk's undecodable bytes or bad row."""
    from rfm_retention.data import _csv
    from rfm_retention.errors import InputFileError

    good = b"".join(b"p%d,2024-03-01,1\n" % k for k in range(40))
    path = tmp_path / "v.csv"
    path.write_bytes(b"patient_id,visit_time,amount\n" + good + b"p1,2024-03-01,1,2\n"
                     + good + later + good)
    monkeypatch.setattr(_csv, "CHUNK_BYTES", 64)  # many chunks
    with pytest.raises(InputFileError) as caught:
        list(iter_csv_columns(path, VisitLog.SCHEMA))
    assert caught.value.line == 42
    assert "4 cells but the header has 3" in str(caught.value)
