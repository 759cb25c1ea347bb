"""The Spark engine: one Spark session per process, and Ibis's PySpark backend over it.

`GPACCESS_ENGINE=spark` makes every snapshot read (measures, the fair comparison's inputs, the cohort's
queries) run on Spark, over the same Parquet files the manifest lists; writes (ingest, rollback) stay on DuckDB,
which parses the CSVs (DESIGN "Dependencies checked"). Only `storage/` knows which engine runs.

On a cluster (Databricks, Synapse) the platform's active session is used as it is. Without one, a local session
is started that listens on loopback only (`SPARK_LOCAL_IP=127.0.0.1`, `spark.driver.bindAddress`): starting it
takes about 20 s, so it is shared by everything in the process.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from gpaccess.errors import ConfigError

_lock = threading.Lock()
_sessions: dict[str, Any] = {}
_backends: dict[int, Any] = {}


class SparkUnavailableError(ConfigError):
    """GPACCESS_ENGINE=spark without PySpark (or Java) installed."""


@dataclass(frozen=True)
class SparkConfig:
    master: str = "local[2]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 8  # Spark's default (200) is for clusters; a practice-month table is small


def session(config: SparkConfig | None = None) -> Any:
    """The process's Spark session: the platform's active one if there is one, else a local one (started once)."""
    config = config or SparkConfig()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError(
            "GPACCESS_ENGINE=spark needs PySpark: install gpaccess with the spark extra "
            "(pip install 'gpaccess[spark]') and a Java runtime (scripts/system-packages java)"
        ) from None
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        if config.master in _sessions:
            return _sessions[config.master]
        if config.master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the JVM launcher: loopback only
        builder = (
            SparkSession.builder.master(config.master)
            .appName("gpaccess")
            .config("spark.driver.memory", config.driver_memory)
            .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        if config.master.startswith("local"):
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # no Java, or the JVM failed to start
            raise SparkUnavailableError(
                f"could not start a local Spark session ({exc.__class__.__name__}: {str(exc)[:200]}); Spark "
                "needs a Java runtime: run scripts/system-packages java"
            ) from exc
        spark.sparkContext.setLogLevel("ERROR")
        _sessions[config.master] = spark
        return spark


def backend(config: SparkConfig | None = None) -> Any:
    """Ibis's PySpark backend over the process's session (one per session)."""
    spark = session(config)
    with _lock:
        con = _backends.get(id(spark))
        if con is None:
            import ibis

            con = _backends[id(spark)] = ibis.pyspark.connect(spark)
        return con


def read_parquet(con: Any, files: list[str], name_prefix: str) -> Any:
    """The rows of `files` as one Ibis table on Spark, columns merged by name (files written by an older
    gpaccess may lack a column a newer one adds; it reads as null, as DuckDB's `union_by_name` does)."""
    spark = con._session
    try:
        frame = spark.read.option("mergeSchema", "true").parquet(*files)
    except Exception as exc:  # pyspark's AnalysisException: files disagree on a column's type
        if "merge" not in str(exc).lower():
            raise
        frame = _union_widened(spark, files)
    name = f"{name_prefix}_{uuid.uuid4().hex[:8]}"
    frame.createOrReplaceTempView(name)
    return con.table(name)


def _union_widened(spark: Any, files: list[str]) -> Any:
    """Files whose column types differ (a store written before the aggregate's counts were stored as int64 holds
    them as doubles): read each on its own, cast a column whose files disagree to double when every type is
    numeric (exact below 2^53, as the sums are) and to string otherwise, and union them by name."""
    from functools import reduce

    from pyspark.sql.types import NumericType

    frames = [spark.read.parquet(f) for f in files]
    types: dict[str, list[Any]] = {}
    for frame in frames:
        for f in frame.schema.fields:
            types.setdefault(f.name, []).append(f.dataType)
    wanted = {
        col: ("double" if all(isinstance(t, NumericType) for t in found) else "string")
        for col, found in types.items()
        if len(set(found)) > 1
    }
    cast = [frame.select(*[frame[c].cast(wanted[c]).alias(c) if c in wanted else frame[c] for c in frame.columns])
            for frame in frames]  # fmt: skip
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), cast)


def read_source(con: Any, source: str) -> Any:
    """A lake table as an Ibis table on Spark: a catalog table name (`lake.gpad_rows`), a Delta table folder
    (it holds `_delta_log/`) or a folder or file of Parquet."""
    spark = con._session
    if "/" not in source and not source.endswith(".parquet"):
        frame = spark.table(source)
    elif os.path.isdir(os.path.join(source, "_delta_log")):
        frame = spark.read.format("delta").load(source)
    else:
        frame = spark.read.parquet(source)
    name = f"lake_{uuid.uuid4().hex[:8]}"
    frame.createOrReplaceTempView(name)
    return con.table(name)
