"""Test settings: hypothesis without deadlines (shared CI machines are noisy); one Spark session;
a counter of time conversions."""

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import rfm_retention.time as time_module

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile("thorough", deadline=None, max_examples=500)
settings.load_profile("default")


def _java_missing() -> str | None:
    """Why Spark cannot start here, or None when a Java runtime is on the machine."""
    import os
    import shutil

    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return None
    return "Spark tests need a Java runtime (no java on PATH and no JAVA_HOME)"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] SparkSession for the whole test session (UTC, small shuffles, quiet)."""
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    import os

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname lookup in local mode
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("rfm_retention-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


class ConversionCounter:
    """Stands in for to_instant everywhere the library bound it, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.original = time_module.to_instant

    def __call__(self, *args: Any, **kwargs: Any) -> np.datetime64:
        self.calls += 1
        return self.original(*args, **kwargs)


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> ConversionCounter:
    """Counts every call of ``rfm_retention.time.to_instant`` during the test."""
    counter = ConversionCounter()
    for name, module in list(sys.modules.items()):
        if name.startswith("rfm_retention") and (
            getattr(module, "to_instant", None) is counter.original
        ):
            monkeypatch.setattr(module, "to_instant", counter)
    return counter
